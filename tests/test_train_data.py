"""The trainer (progress records, determinism, divergence guard, stopping) and the dataset registry."""

import math

import numpy as np
import pytest
import torch

from dlcore import data as data_mod
from dlcore.config import ConfigError, Limits, RunConfig, parse_hidden
from dlcore.data import DataError, boston_split, load_data, spiral_points
from dlcore.train import DeviceError, Trainer, available_devices, resolve_device, train


def test_progress_records_and_final_metrics(small_spiral):
    records = list(Trainer(small_spiral).run())
    per_epoch = [r for r in records if not r.done]
    assert [r.epoch for r in per_epoch] == list(range(1, 31))
    assert all(r.test_loss is not None and "test_accuracy" in r.metrics for r in per_epoch)
    final = records[-1]
    assert final.done and final.status == "finished" and final.epoch == 30
    assert {"train_accuracy", "test_accuracy"} <= set(final.metrics)
    assert final.train_loss < per_epoch[0].train_loss
    assert final.samples_per_second > 0 and final.elapsed > 0


def test_long_epochs_report_inside_the_epoch():
    cfg = RunConfig(dataset="spiral", points=1000, batch_size=8, epochs=1, device="cpu")
    records = list(Trainer(cfg).run(report_every=50))
    inside = [r for r in records if r.test_loss is None]
    assert len(inside) >= 5 and all(0 < r.epoch < 1 for r in inside)


def test_deterministic_for_a_seed(small_spiral):
    a, b = Trainer(small_spiral), Trainer(small_spiral)
    la, lb = [r.train_loss for r in a.run()], [r.train_loss for r in b.run()]
    assert la == lb
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))
    c = Trainer(small_spiral.replace(seed=1))
    assert [r.train_loss for r in c.run()] != la


@pytest.mark.parametrize("dataset,optimizer", [("boston", "sgd"), ("spiral", "adam"), ("boston", "gd")])
def test_divergence_guard_keeps_last_good_weights(dataset, optimizer):
    cfg = RunConfig(dataset=dataset, points=100, optimizer=optimizer, lr=1e6, epochs=50, device="cpu")
    trainer = Trainer(cfg)
    final = list(trainer.run())[-1]
    assert final.status == "diverged"
    assert "diverged at epoch" in final.message and "lower learning rate" in final.message
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert math.isfinite(final.train_loss)


def test_stop_and_time_budget(small_spiral):
    calls = iter(range(1000))
    final = list(Trainer(small_spiral.replace(epochs=500)).run(should_stop=lambda: next(calls) >= 10))[-1]
    assert final.done and final.status == "stopped" and final.epoch == 10
    final = list(Trainer(small_spiral.replace(epochs=20000, time_budget=0.3)).run())[-1]
    assert final.status == "time_limit" and final.epoch < 20000 and "time budget" in final.message


def test_closing_the_generator_stops_training(small_spiral):
    trainer = Trainer(small_spiral.replace(epochs=1000))
    gen = trainer.run()
    for _ in range(3):
        next(gen)
    gen.close()
    assert len(trainer.history) == 3


def test_devices():
    assert available_devices()[-1] == "cpu"
    assert resolve_device("auto").type == available_devices()[0]
    for name in ("cuda", "mps"):
        if name not in available_devices():
            with pytest.raises(DeviceError, match=f"'{name}' is not available"):
                resolve_device(name)
            with pytest.raises(ConfigError, match=name):
                Trainer(RunConfig(device=name))


@pytest.mark.parametrize("text,fragment", [("", None), ("10,,5", "empty size at position 2"), ("abc", "'abc'"),
                                           ("-3", "-3"), ("0", "at least 1"), ("99999", "over the limit"),
                                           (",".join(["4"] * 40), "layers is over the limit")])
def test_parse_hidden_errors(text, fragment):
    if fragment is None:
        assert parse_hidden(text) == ()
        return
    with pytest.raises(ConfigError, match=fragment) as e:
        parse_hidden(text)
    assert any(fix in str(e.value) for fix in ("e.g.", "fewer", "smaller"))
    assert parse_hidden(" 100, 25 ") == (100, 25)


@pytest.mark.parametrize("field,value,fragment", [
    ("lr", 0.0, "learning rate"), ("lr", float("nan"), "learning rate"), ("lr", -1.0, "learning rate"),
    ("epochs", 0, "epochs"), ("batch_size", -1, "batch size"), ("points", 5, "points"), ("noise", 3.0, "noise"),
    ("train_fraction", 1.0, "train fraction"), ("optimizer", "Adam", "optimizer 'Adam'"), ("activation", "x", "activation"),
    ("dataset", "cifar", "dataset"), ("device", "tpu", "device"), ("classes", 1, "classes"),
])
def test_config_validation_names_the_value(field, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        RunConfig(**{field: value}).validate()


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_EPOCHS", "5")
    with pytest.raises(ConfigError, match="DLCORE_MAX_EPOCHS"):
        RunConfig(epochs=10).validate()
    monkeypatch.setenv("DLCORE_MAX_EPOCHS", "lots")
    with pytest.raises(ConfigError, match="DLCORE_MAX_EPOCHS"):
        Limits.from_env()


def test_batch_larger_than_the_data_is_refused():
    with pytest.raises(ConfigError, match="larger than the 160 training samples"):
        Trainer(RunConfig(dataset="spiral", points=100, classes=2, batch_size=500))


def test_config_json_round_trip():
    cfg = RunConfig(dataset="boston", hidden=(64, 32), drop_b=True, lr=3e-4)
    assert RunConfig.from_json(cfg.to_json()) == cfg


# ------------------------------------------------------------------ data

def test_spiral_follows_the_seed_formula():
    x, y = spiral_points(3, 200, 0.0, seed=0)
    assert x.shape == (600, 2) and y.tolist() == [0] * 200 + [1] * 200 + [2] * 200
    r = x.norm(dim=1)
    assert torch.allclose(r[:200], torch.linspace(0, 1, 200), atol=1e-6)
    theta = torch.atan2(x[1:200, 0], x[1:200, 1])  # x = t sin(theta), y = t cos(theta)
    expected = torch.linspace(0, 2 * math.pi * 2 / 3, 200)[1:]
    assert torch.allclose(torch.remainder(theta - expected + math.pi, 2 * math.pi) - math.pi, torch.zeros(199), atol=1e-4)
    a, _ = spiral_points(3, 50, 0.2, seed=7)
    b, _ = spiral_points(3, 50, 0.2, seed=7)
    assert torch.equal(a, b)


def test_spiral_split():
    d = load_data(RunConfig(dataset="spiral", points=1000, train_fraction=0.8))
    assert len(d.x_train) == 2400 and len(d.x_test) == 600
    assert d.num_outputs == 3 and d.task == "classification"


def test_boston_standardized_with_training_statistics():
    d = load_data(RunConfig(dataset="boston"))
    assert len(d.x_train) == 430 and len(d.x_test) == 76 and d.x_train.shape[1] == 13
    assert torch.allclose(d.x_train.mean(0), torch.zeros(13), atol=1e-5)
    assert torch.allclose(d.x_train.std(0, unbiased=False), torch.ones(13), atol=1e-4)
    assert not torch.allclose(d.x_test.mean(0), torch.zeros(13), atol=1e-3)
    assert set(d.info["features"]) == set(d.feature_names) and "B" in d.info["b_note"]
    nb = load_data(RunConfig(dataset="boston", drop_b=True))
    assert "B" not in nb.feature_names and nb.x_train.shape[1] == 12
    assert "B" in nb.info["features"]  # the form still knows B


def test_boston_split_matches_sklearn_semantics():
    tr, te = boston_split(506, random_state=73)
    assert len(te) == 76 and len(tr) == 430 and set(tr) | set(te) == set(range(506))
    assert np.array_equal(te, np.random.RandomState(73).permutation(506)[:76])


def test_embedded_mnist():
    d = load_data(RunConfig(dataset="mnist", mnist_source="embedded"))
    assert d.x_train.shape == (4000, 1, 28, 28) and d.x_test.shape == (1000, 1, 28, 28)
    assert torch.bincount(d.y_test).tolist() == [100] * 10
    assert d.source.startswith("embedded subset") and d.source_reason


def test_mnist_download_failure_falls_back(monkeypatch, tmp_path):
    monkeypatch.delenv("DLCORE_OFFLINE", raising=False)
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))

    def no_network(root):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(data_mod, "_download_mnist", no_network)
    d = load_data(RunConfig(dataset="mnist"))
    assert d.source.startswith("embedded subset") and "name resolution" in d.source_reason
    with pytest.raises(DataError, match="download"):
        load_data(RunConfig(dataset="mnist", mnist_source="download"))


def test_fashion_missing_gives_a_clear_error(monkeypatch, tmp_path):
    import torchvision

    monkeypatch.setattr(data_mod, "FASHION_DIR", tmp_path / "absent")
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))

    def refuse(self, *a, **k):
        raise RuntimeError("no network")

    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", refuse)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_data(RunConfig(dataset="fashion"))


@pytest.mark.skipif(not data_mod.FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_from_debian():
    d = load_data(RunConfig(dataset="fashion"))
    assert d.x_train.shape == (60000, 1, 28, 28) and d.x_test.shape == (10000, 1, 28, 28)
    assert "Debian" in d.source and d.class_names[0] == "T-shirt/top"


def test_train_convenience_returns_model_and_final(small_spiral):
    tm, final = train(small_spiral)
    assert final.done and tm.meta["metrics"]["test_accuracy"] == final.metrics["test_accuracy"]


def test_corrupt_partial_mnist_cache_falls_back(monkeypatch, tmp_path):
    import torchvision

    monkeypatch.delenv("DLCORE_OFFLINE", raising=False)
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"\x00\x00\x08\x03 truncated")  # a download cut short
    d = load_data(RunConfig(dataset="mnist"))
    assert d.source.startswith("embedded subset") and "could not be downloaded" in d.source_reason

    (raw / "t10k-labels-idx1-ubyte").unlink()  # now incomplete: torchvision tries to download, and the network fails

    def offline(self, *a, **k):
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", offline)
    d = load_data(RunConfig(dataset="mnist"))
    assert d.source.startswith("embedded subset") and "Network is unreachable" in d.source_reason
