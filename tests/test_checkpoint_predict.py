"""Checkpoints (round trip, refusals) and prediction helpers (sketches, house features, spiral points)."""

import io
import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from dlcore import checkpoint
from dlcore.checkpoint import CheckpointError
from dlcore.config import Limits, RunConfig
from dlcore.data import embedded_mnist
from dlcore.defaults import load_default
from dlcore.predict import (
    BOSTON_ORDER,
    InputError,
    decision_grid,
    predict_digit,
    predict_points,
    predict_price,
    preprocess_sketch,
    validate_features,
)
from dlcore.train import train

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]


@pytest.fixture(scope="module")
def spiral_model():
    return train(RunConfig(dataset="spiral", points=100, hidden=(16, 8), epochs=20, lr=1e-2, device="cpu"))[0]


@pytest.mark.parametrize("cfg", [
    RunConfig(dataset="spiral", points=100, hidden=(16, 8), epochs=5, batch_norm=True, dropout=0.1),
    RunConfig(dataset="boston", model="mlp", hidden=(8,), epochs=5),
    RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2, epochs=5, drop_b=True),
    RunConfig(dataset="mnist", mnist_source="embedded", model="cnn", epochs=1, batch_size=500),
], ids=["spiral", "boston-mlp", "boston-noB", "cnn"])
def test_round_trip_gives_identical_predictions(cfg, tmp_path):
    tm, _ = train(cfg.replace(device="cpu"))
    path = checkpoint.save(tm, tmp_path / "m.safetensors")
    back = checkpoint.load(path)
    assert back.cfg == tm.cfg and back.meta["norm"] == tm.meta["norm"]
    shape = tm.meta["input_shape"]
    x = torch.randn(16, *shape)
    tm.model.eval()
    with torch.no_grad():
        assert torch.equal(tm.model(x), back.model(x))
    if cfg.dataset == "boston":
        assert predict_price(tm, HOUSE) == predict_price(back, HOUSE)


class _Marker:
    """Unpickling this would create a file: the proof that a loader unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(_Marker(str(marker))))
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.load(bad)
    assert not marker.exists()
    torch_file = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, torch_file)
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.load(torch_file)


def test_damaged_files_are_refused(spiral_model, tmp_path):
    blob = checkpoint.to_bytes(spiral_model)
    with pytest.raises(CheckpointError, match="truncated|damaged"):
        checkpoint.from_bytes(blob[: len(blob) // 2])
    flipped = bytearray(blob)
    flipped[-5] ^= 0xFF
    with pytest.raises(CheckpointError, match="checksum"):
        checkpoint.from_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="bytes"):
        checkpoint.from_bytes(b"hi")
    with pytest.raises(CheckpointError, match="not 'boston'"):
        checkpoint.from_bytes(blob, expect_dataset="boston")
    with pytest.raises(CheckpointError, match="over the limit"):
        checkpoint.from_bytes(blob, limits=Limits(max_upload_bytes=100))


def test_edited_config_is_refused(spiral_model):
    blob = checkpoint.to_bytes(spiral_model)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    cfg = json.loads(header["__metadata__"]["config"])
    cfg["hidden"] = [32, 8]
    header["__metadata__"]["config"] = json.dumps(cfg)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    with pytest.raises(CheckpointError, match="do not fit"):
        checkpoint.from_bytes(len(new).to_bytes(8, "little") + new + blob[8 + n:])


def test_save_failure_is_reported_and_leaves_nothing(spiral_model, tmp_path):
    with pytest.raises(CheckpointError, match="could not save"):
        checkpoint.save(spiral_model, tmp_path / "missing" / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ sketches

def _sketch(draw, mode="RGBA", size=280):
    """A Sketchpad-like value: white background, black strokes drawn by `draw(ImageDraw)`."""
    from PIL import ImageDraw

    img = Image.new("RGB", (size, size), "white")
    draw(ImageDraw.Draw(img))
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw(ImageDraw.Draw(layer))
    return {"background": np.asarray(Image.new(mode, (size, size), "white")), "layers": [np.asarray(layer)],
            "composite": np.asarray(img.convert(mode))}


def test_sketch_is_prepared_like_mnist():
    value = _sketch(lambda d: d.line([(60, 40), (90, 240)], fill="black", width=22))
    img = preprocess_sketch(value)
    assert img.shape == (28, 28) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
    ys, xs = np.nonzero(img > 0.05)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 in (20, 21)
    cy, cx = (np.indices(img.shape) * img).reshape(2, -1).sum(1) / img.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA"])
def test_sketch_modes_agree(mode):
    draw = lambda d: d.ellipse([80, 60, 200, 220], outline="black", width=20)  # noqa: E731
    ref = preprocess_sketch(_sketch(draw, "RGBA"))
    img = preprocess_sketch(_sketch(draw, mode))
    assert np.abs(img - ref).max() < 0.05
    only_layers = preprocess_sketch({"background": None, "layers": _sketch(draw)["layers"], "composite": None})
    assert np.abs(only_layers - ref).max() < 0.05


@pytest.mark.parametrize("value,fragment", [
    (None, "no drawing"),
    ({"background": None, "layers": [None], "composite": None}, "empty"),
    ({"background": None, "layers": [], "composite": np.full((280, 280, 4), 255, np.uint8)}, "blank"),
    ({"background": None, "layers": [], "composite": np.dstack([np.zeros((280, 280, 3), np.uint8),
                                                                 np.full((280, 280), 255, np.uint8)])}, "whole canvas"),
    (b"not an image at all", "not a readable image"),
    (np.zeros((3, 3, 5)), "not a grey, RGB or RGBA"),
])
def test_bad_sketches_get_clear_errors(value, fragment):
    with pytest.raises(InputError, match=fragment):
        preprocess_sketch(value)


def test_huge_image_is_refused():
    buf = io.BytesIO()
    Image.new("L", (5000, 5000), 255).save(buf, "PNG")
    with pytest.raises(InputError, match="over the limit"):
        preprocess_sketch(buf.getvalue(), Limits(max_image_pixels=1_000_000))


def test_default_digit_model_reads_drawn_and_mnist_digits():
    tm = load_default("digits")
    assert tm.meta["metrics"]["test_accuracy"] >= 0.97
    _, _, xte, yte = embedded_mnist()
    right = 0
    for i in range(0, 1000, 25):
        img = xte[i].numpy()
        big = np.asarray(Image.fromarray(255 - img).resize((280, 280)))  # black ink on white, like the Sketchpad
        probs, seen = predict_digit(tm, {"background": None, "layers": [], "composite": big})
        right += max(probs, key=probs.get) == str(int(yte[i]))
        assert seen.shape == (28, 28) and sum(probs.values()) == pytest.approx(1, abs=1e-4)
    assert right >= 38  # of 40
    probs, _ = predict_digit(tm, xte[0].numpy())  # white on black (an MNIST file) is kept as it is
    assert max(probs, key=probs.get) == str(int(yte[0]))


# ------------------------------------------------------------------ houses and points

@pytest.fixture(scope="module")
def info():
    return load_default("boston").meta["info"]["features"]


@pytest.mark.parametrize("index,value,fragment", [
    (0, "", "CRIM is empty"), (5, "abc", "RM 'abc' is not a number"), (2, float("nan"), "INDUS"),
    (9, float("inf"), "TAX"), (0, -1, "CRIM -1 cannot be negative"), (3, 0.5, "CHAS 0.5 must be 1"),
    (6, 150, "AGE 150 is a percentage"),
])
def test_bad_house_features(info, index, value, fragment):
    values = list(HOUSE)
    values[index] = value
    with pytest.raises(InputError, match=fragment):
        validate_features(values, info)


def test_house_features_extrapolation_warns(info):
    x, warnings = validate_features(HOUSE, info)
    assert warnings == [] and x.tolist() == [float(v) for v in HOUSE]
    far = list(HOUSE)
    far[5] = 12.0  # rooms
    price, warnings = predict_price(load_default("boston"), far)
    assert np.isfinite(price) and len(warnings) == 1 and "RM" in warnings[0] and "extrapolates" in warnings[0]
    with pytest.raises(InputError, match="13 feature values"):
        validate_features(HOUSE[:12], info)


def test_default_price_is_plausible():
    tm = load_default("boston")
    assert tm.meta["feature_names"] == BOSTON_ORDER
    price, _ = predict_price(tm, HOUSE)
    assert 18 < price < 35  # the first house in the data sold for 24.0


def test_points_and_grid(spiral_model):
    p = predict_points(spiral_model, [[0.1, 0.2], [-0.3, 0.4]])
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    xs, ys, probs = decision_grid(spiral_model, res=50)
    assert xs.shape == (50,) and probs.shape == (50, 50, 3)
    assert np.allclose(probs[10, 20], predict_points(spiral_model, [[xs[20], ys[10]]])[0], atol=1e-5)


def test_full_disk_is_reported(spiral_model, tmp_path, monkeypatch):
    import errno

    class FullDisk:
        def __init__(self, path, mode):
            self.path = path
            open(path, "wb").close()  # the partial file exists, as on a real disk

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "open", FullDisk, raising=False)
    with pytest.raises(CheckpointError, match="No space left on device; free some disk space"):
        checkpoint.save(spiral_model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind
