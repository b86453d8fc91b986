"""Test-wide settings and shared fixtures: never touch the network, keep downloads in a temporary folder, CPU only.

The package is installed (`pip install -e .`, done by scripts/test), so nothing here edits sys.path. Servers: the
client and browser tests share one in-process app (`server`); the load tests start `python app.py` themselves.
"""

import os
from pathlib import Path

import pytest

# Set before any test imports dlcore or gradio: MNIST comes from the embedded subset, nothing phones home.
os.environ.setdefault("DLCORE_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # screenshots the browser tests leave for people

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]  # the first row of the CSV


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory):
    """Datasets unpacked or downloaded during tests go to a temporary folder, not the user's cache."""
    if "DLCORE_DATA" not in os.environ:
        os.environ["DLCORE_DATA"] = str(tmp_path_factory.mktemp("dlcore_data"))
    yield


@pytest.fixture
def one_thread():
    """One torch thread for the test, restored afterwards (the default count is left alone everywhere else).

    The models here are tiny: a second thread gains nothing, and two spinning threads slow down many times over when
    other processes share the cores (on this 2-core machine under load: a 1000-epoch spiral run 65 s vs 4.7 s,
    with identical results).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small_spiral():
    """A small spiral config that trains in well under a second."""
    from dlcore.config import RunConfig

    return RunConfig(dataset="spiral", points=100, model="mlp", hidden=(16,), epochs=30, lr=1e-2, device="cpu")


@pytest.fixture(scope="session")
def server():
    """The app served from this process on a free loopback port, shared by the client and browser tests."""
    from playground.serve import launch_here

    demo, url = launch_here()
    yield url
    demo.close()


@pytest.fixture(scope="session")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


@pytest.fixture(scope="module")
def browser(server):
    """Headless chromium for one test module, against the shared app (`server`); skipped without Debian's chromium."""
    from playground.serve import CHROMIUM, chromium

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium() as b:
        yield b
