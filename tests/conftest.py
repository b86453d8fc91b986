"""Test-wide settings: never touch the network, keep downloads in a temporary folder, CPU only."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DLCORE_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory):
    """Datasets unpacked or downloaded during tests go to a temporary folder, not the user's cache."""
    if "DLCORE_DATA" not in os.environ:
        os.environ["DLCORE_DATA"] = str(tmp_path_factory.mktemp("dlcore_data"))
    yield


@pytest.fixture
def small_spiral():
    """A small spiral config that trains in well under a second."""
    from dlcore.config import RunConfig

    return RunConfig(dataset="spiral", points=100, model="mlp", hidden=(16,), epochs=30, lr=1e-2, device="cpu")
