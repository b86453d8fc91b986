"""The dataset registry: the spiral formula, Boston's split and standardisation, MNIST and its offline fallback, Fashion."""

import math
import urllib.error

import numpy as np
import pytest
import torch

from dlcore import data as data_mod
from dlcore.config import ConfigError, RunConfig
from dlcore.data import (
    MNIST_MEAN,
    MNIST_STD,
    DataError,
    boston_split,
    boston_table,
    embedded_mnist,
    load_data,
    spiral_points,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------ spiral

def test_spiral_follows_the_seed_formula():
    c, n = 3, 200
    x, y = spiral_points(c, n, noise=0.0, seed=0)
    assert x.shape == (c * n, 2) and x.dtype == torch.float32
    assert y.tolist() == [0] * n + [1] * n + [2] * n
    t = torch.linspace(0, 1, n)
    for k in range(c):
        arm = x[k * n:(k + 1) * n]
        theta = torch.linspace(2 * math.pi * k / c, 2 * math.pi * (2 + k) / c, n)
        expected = torch.stack([t * torch.sin(theta), t * torch.cos(theta)], dim=1)  # x = t*sin, y = t*cos
        assert torch.allclose(arm, expected, atol=1e-6)


@pytest.mark.parametrize("classes,points,noise", [(3, 100, 0.2), (5, 40, 1.0), (2, 10, 0.0)])
def test_spiral_radius_is_t_in_0_1_whatever_the_noise(classes, points, noise):
    x, y = spiral_points(classes, points, noise, seed=3)
    r = x.norm(dim=1)
    assert r.min() >= 0 and r.max() <= 1 + 1e-6
    assert torch.allclose(r, torch.linspace(0, 1, points).repeat(classes), atol=1e-5)  # noise turns, never stretches
    assert torch.bincount(y).tolist() == [points] * classes


def test_spiral_is_seeded():
    a, _ = spiral_points(3, 50, 0.2, seed=7)
    b, _ = spiral_points(3, 50, 0.2, seed=7)
    c, _ = spiral_points(3, 50, 0.2, seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    d1 = load_data(RunConfig(dataset="spiral", points=50, seed=7))
    d2 = load_data(RunConfig(dataset="spiral", points=50, seed=7))
    assert torch.equal(d1.x_train, d2.x_train) and torch.equal(d1.y_test, d2.y_test)


@pytest.mark.parametrize("fraction,n_train", [(0.8, 2400), (0.5, 1500), (0.05, 150)])
def test_spiral_train_fraction_splits_every_point_once(fraction, n_train):
    d = load_data(RunConfig(dataset="spiral", points=1000, train_fraction=fraction))
    assert len(d.x_train) == n_train and len(d.x_test) == 3000 - n_train
    assert d.task == "classification" and d.num_outputs == 3 and d.input_shape == (2,)
    assert d.class_names == ["0", "1", "2"] and d.feature_names == ["x", "y"]
    x, y = spiral_points(3, 1000, 0.2, seed=0)
    both = torch.cat([d.x_train, d.x_test])
    key = lambda a: a[torch.argsort(a[:, 0] * 1000 + a[:, 1])]  # noqa: E731  (row order, for comparing as sets)
    assert torch.equal(key(both), key(x))
    assert sorted(torch.cat([d.y_train, d.y_test]).tolist()) == sorted(y.tolist())


# ------------------------------------------------------------------ boston

def test_boston_standardized_with_the_training_split():
    d = load_data(RunConfig(dataset="boston"))
    assert (len(d.x_train), len(d.x_test)) == (430, 76)  # 85/15: ceil(506 * 0.15) = 76 held out
    assert d.x_train.shape[1] == 13 and d.y_train.shape == (430, 1) and d.task == "regression" and d.num_outputs == 1
    assert torch.allclose(d.x_train.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(d.x_train.std(0, unbiased=False), torch.ones(13), atol=1e-4)
    assert not torch.allclose(d.x_test.mean(0), torch.zeros(13), atol=1e-2)  # the test rows did not set the statistics
    # the stored statistics turn the tensors back into the raw CSV rows, so raw inputs can be predicted later
    header, table = boston_table()
    tr, te = boston_split(506, random_state=0)
    mean, std = np.array(d.norm["mean"]), np.array(d.norm["std"])
    assert np.allclose(d.x_train.numpy() * std + mean, table[tr, :13], atol=1e-3)
    assert np.allclose(d.x_test.numpy() * std + mean, table[te, :13], atol=1e-3)
    assert np.allclose(d.y_test.numpy()[:, 0], table[te, 13], atol=1e-4)
    assert np.allclose(mean, table[tr, :13].mean(0)) and d.feature_names == header[:13]
    assert set(d.info["features"]) == set(header[:13]) and "B" in d.info["b_note"]
    assert d.source.startswith("embedded CSV")


def test_boston_drop_b_removes_the_column():
    full = load_data(RunConfig(dataset="boston"))
    nb = load_data(RunConfig(dataset="boston", drop_b=True))
    assert "B" not in nb.feature_names and nb.x_train.shape == (430, 12) and len(nb.norm["mean"]) == 12
    keep = [j for j, n in enumerate(full.feature_names) if n != "B"]
    assert torch.allclose(nb.x_train, full.x_train[:, keep])
    assert "B" in nb.info["features"]  # a form can still show all 13 inputs


def test_boston_split_is_sklearns_and_seeded():
    tr, te = boston_split(506, random_state=73)
    assert len(te) == 76 and len(tr) == 430 and set(tr) | set(te) == set(range(506))
    assert np.array_equal(te, np.random.RandomState(73).permutation(506)[:76])  # train_test_split(random_state=73)
    a, b = load_data(RunConfig(dataset="boston", seed=1)), load_data(RunConfig(dataset="boston", seed=2))
    assert not torch.equal(a.y_test, b.y_test)


# ------------------------------------------------------------------ mnist

def _assert_embedded(d):
    assert d.source.startswith("embedded subset"), d.source
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
    assert torch.bincount(d.y_test).tolist() == [100] * 10
    assert d.x_train.min().item() == pytest.approx(-MNIST_MEAN / MNIST_STD, abs=1e-5)  # normalised as the seed does
    assert d.class_names == [str(k) for k in range(10)]


def test_embedded_mnist_when_asked_for():
    d = load_data(RunConfig(dataset="mnist", mnist_source="embedded"))
    _assert_embedded(d)
    assert d.source_reason == "the embedded subset was asked for"
    xtr, _, xte, _ = embedded_mnist()
    assert xtr.dtype == torch.uint8 and xtr.max() == 255 and xtr[:, 0, :].float().mean() < 5  # white ink on black


def test_offline_setting_uses_the_embedded_subset():
    d = load_data(RunConfig(dataset="mnist"))  # conftest sets DLCORE_OFFLINE=1
    _assert_embedded(d)
    assert "DLCORE_OFFLINE" in d.source_reason
    with pytest.raises(DataError, match="mnist_source='download' asks for the full MNIST, but DLCORE_OFFLINE is set"):
        load_data(RunConfig(dataset="mnist", mnist_source="download"))  # never the subset when the full set was asked for


@pytest.fixture
def online(monkeypatch, tmp_path):
    """dlcore as a user runs it: DLCORE_OFFLINE unset, data in a fresh folder."""
    monkeypatch.delenv("DLCORE_OFFLINE", raising=False)
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    return monkeypatch


@pytest.mark.parametrize("error,shown", [
    (urllib.error.URLError("[Errno -3] Temporary failure in name resolution"), "URLError"),
    (RuntimeError("File not found or corrupted."), "File not found or corrupted"),
    (OSError(101, "Network is unreachable"), "Network is unreachable"),
])
def test_download_failure_falls_back_to_the_embedded_subset(online, error, shown):
    def fail(root):
        raise error

    online.setattr(data_mod, "_download_mnist", fail)
    d = load_data(RunConfig(dataset="mnist"))
    _assert_embedded(d)
    assert "could not be downloaded" in d.source_reason and shown in d.source_reason


def test_download_only_raises_a_data_error(online):
    def fail(root):
        raise urllib.error.URLError("no route to host")

    online.setattr(data_mod, "_download_mnist", fail)
    with pytest.raises(DataError, match="MNIST download into .* failed .*URLError.*use mnist_source='embedded'"):
        load_data(RunConfig(dataset="mnist", mnist_source="download"))


def test_a_working_download_is_used(online, tmp_path):
    imgs = torch.zeros(20, 28, 28, dtype=torch.uint8)
    imgs[:, 10:18, 12:16] = 255
    labels = torch.arange(20) % 10
    seen = []

    def fake(root):
        seen.append(root)
        return imgs, labels, imgs[:5], labels[:5]

    online.setattr(data_mod, "_download_mnist", fake)
    d = load_data(RunConfig(dataset="mnist"))
    assert seen == [tmp_path] and d.source == "full MNIST (torchvision)" and str(tmp_path) in d.source_reason
    assert d.x_train.shape == (20, 1, 28, 28) and len(d.x_test) == 5
    assert d.x_train.max().item() == pytest.approx((1 - MNIST_MEAN) / MNIST_STD, abs=1e-5)


# ------------------------------------------------------------------ fashion

@pytest.mark.skipif(not data_mod.FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed "
                    "(scripts/test installs it)")
def test_fashion_from_debian(monkeypatch, tmp_path):
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    d = load_data(RunConfig(dataset="fashion"))
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(d.y_test).tolist() == [1000] * 10
    assert "Debian" in d.source and d.class_names[0] == "T-shirt/top" and d.class_names[9] == "Ankle boot"
    assert (tmp_path / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def test_fashion_absent_is_a_clear_error(monkeypatch, tmp_path):
    import torchvision

    monkeypatch.setattr(data_mod, "FASHION_DIR", tmp_path / "absent")
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("DLCORE_DATA", str(empty))
    attempts = []

    def no_network(self, *a, **k):
        attempts.append(self)
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", no_network)
    with pytest.raises(DataError) as e:
        load_data(RunConfig(dataset="fashion"))
    assert "apt-get install dataset-fashion-mnist" in str(e.value) and "Network is unreachable" in str(e.value)
    assert attempts, "with no Debian files it should have tried the download"


def test_unknown_dataset_is_refused():
    with pytest.raises(ConfigError, match="dataset 'cifar' is unknown"):
        load_data(RunConfig(dataset="cifar"))
