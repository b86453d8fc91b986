"""Checkpoints: a round trip gives identical predictions; anything that is not an intact dlcore checkpoint is refused."""

import contextlib
import errno
import json
import os
import pickle
import stat

import pytest
import torch
from safetensors.torch import save as st_save

from dlcore import checkpoint
from dlcore.checkpoint import CheckpointError
from dlcore.config import Limits, RunConfig
from dlcore.data import load_data
from dlcore.errors import ConfigError
from dlcore.predict import predict_price
from dlcore.train import train

pytestmark = pytest.mark.usefixtures("one_thread")

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]


@pytest.fixture(scope="module")
def spiral_model():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # as the one_thread fixture does; module-scoped fixtures run before it
    try:
        return train(RunConfig(dataset="spiral", points=100, hidden=(16, 8), epochs=20, lr=1e-2, device="cpu"))[0]
    finally:
        torch.set_num_threads(before)


def _small_mnist(cfg):
    d = load_data(cfg)
    d.x_train, d.y_train, d.x_test, d.y_test = d.x_train[:256], d.y_train[:256], d.x_test[:64], d.y_test[:64]
    return d


@pytest.mark.parametrize("cfg", [
    RunConfig(dataset="spiral", points=100, hidden=(16, 8), epochs=5, batch_norm=True, dropout=0.1),
    RunConfig(dataset="boston", model="mlp", hidden=(8,), epochs=5),
    RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2, epochs=5, drop_b=True),
    RunConfig(dataset="mnist", mnist_source="embedded", model="cnn", epochs=1, batch_size=64),
], ids=["spiral", "boston-mlp", "boston-drop-b", "cnn"])
def test_round_trip_gives_identical_predictions(cfg, tmp_path):
    cfg = cfg.replace(device="cpu")
    tm, _ = train(cfg, data=_small_mnist(cfg) if cfg.dataset == "mnist" else None)
    path = checkpoint.save(tm, tmp_path / "m.safetensors")
    assert path == tmp_path / "m.safetensors" and os.listdir(tmp_path) == ["m.safetensors"]
    for back in (checkpoint.load(path), checkpoint.from_bytes(checkpoint.to_bytes(tm))):
        assert back.cfg == tm.cfg and back.meta == json.loads(json.dumps(tm.meta))
        assert not back.model.training and back.device.type == "cpu"
        x = torch.randn(16, *tm.meta["input_shape"])
        tm.model.eval()
        with torch.no_grad():
            assert torch.equal(tm.model(x), back.model(x))
        if cfg.dataset == "boston":
            assert predict_price(tm, HOUSE) == predict_price(back, HOUSE)
            assert back.meta["feature_names"] == tm.meta["feature_names"] and len(back.meta["norm"]["mean"]) == (
                12 if cfg.drop_b else 13)


def test_an_ensemble_answers_with_its_nets_mean_probability_and_round_trips(spiral_model):
    """Nets trained alike with other seeds answer together (the shipped digits model is three); saved and loaded, the
    ensemble answers exactly as before, and it can be trained further as one model (teach, Continue)."""
    from dlcore.session import resume_of
    from dlcore.train import ensemble

    other = train(spiral_model.cfg.replace(seed=1))[0]
    tm = ensemble([spiral_model, other])
    assert tm.members == 2 and tm.meta["member_seeds"] == [0, 1]
    x = torch.randn(32, 2)
    with torch.no_grad():
        mean = (spiral_model.model.eval()(x).softmax(1) + other.model.eval()(x).softmax(1)) / 2
        assert torch.allclose(tm.model(x).softmax(1), mean, atol=1e-6)
        back = checkpoint.from_bytes(checkpoint.to_bytes(tm))
        assert back.members == 2 and torch.equal(back.model(x), tm.model(x))
    further, _ = train(tm.cfg.replace(epochs=2), resume=resume_of(back))
    assert further.members == 2 and checkpoint.from_bytes(checkpoint.to_bytes(further)).members == 2
    with pytest.raises(ConfigError, match="only the seed may differ"):
        ensemble([spiral_model, train(spiral_model.cfg.replace(epochs=3))[0]])
    with pytest.raises(ConfigError, match="2 to 5 trained models, not 1"):
        ensemble([spiral_model])
    with pytest.raises(ConfigError, match="only the seed may differ"):
        ensemble([spiral_model, tm])  # an ensemble is no net of another


def test_the_checkpoint_is_plain_safetensors_with_the_config(spiral_model):
    from safetensors.torch import load as st_load

    blob = checkpoint.to_bytes(spiral_model)
    header = _header(blob)
    meta = header["__metadata__"]
    assert meta["format"] == "dlcore-checkpoint/1" and RunConfig.from_json(meta["config"]) == spiral_model.cfg
    assert set(st_load(blob)) == set(spiral_model.model.state_dict())


# ------------------------------------------------------------------ refusals

class _Marker:
    """Unpickling this creates a directory: the proof that a loader unpickled."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Marker(str(control))))
    assert control.is_dir()  # the payload really does act when unpickled
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Marker(str(marker)))
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(payload)
    with pytest.raises(CheckpointError, match="pickle / torch.save file, which dlcore never loads"):
        checkpoint.load(evil)
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.from_bytes(payload)
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):  # old protocols do not start with 0x80
        with pytest.raises(CheckpointError):
            checkpoint.from_bytes(pickle.dumps(_Marker(str(marker)), protocol=protocol))
    assert not marker.exists()


@pytest.mark.parametrize("zipped", [True, False])
def test_a_torch_save_file_is_refused(spiral_model, tmp_path, zipped):
    path = tmp_path / "model.pt"
    torch.save(spiral_model.model.state_dict(), path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(CheckpointError, match="pickle / torch.save file"):
        checkpoint.load(path)


def test_truncated_files_are_refused(spiral_model):
    blob = checkpoint.to_bytes(spiral_model)
    n = int.from_bytes(blob[:8], "little")
    for cut in (0, 5, 8, 9, 8 + n // 2, 8 + n, len(blob) // 2 + n // 2, len(blob) - 1):
        with pytest.raises(CheckpointError, match="bytes|truncated|damaged"):
            checkpoint.from_bytes(blob[:cut])


def test_a_flipped_weight_byte_is_refused(spiral_model):
    blob = checkpoint.to_bytes(spiral_model)
    data_start = 8 + int.from_bytes(blob[:8], "little")
    for pos in (data_start, (data_start + len(blob)) // 2, len(blob) - 1):
        flipped = bytearray(blob)
        flipped[pos] ^= 0x01
        with pytest.raises(CheckpointError, match="do not match the checkpoint's checksum"):
            checkpoint.from_bytes(bytes(flipped))


def _header(blob: bytes) -> dict:
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n])


def _edited(blob: bytes, edit) -> bytes:
    """The checkpoint with its header's __metadata__ changed by edit(metadata); the weight bytes untouched."""
    n = int.from_bytes(blob[:8], "little")
    header = _header(blob)
    edit(header["__metadata__"])
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    return len(new).to_bytes(8, "little") + new + blob[8 + n:]


def _edit_config(**changes):
    def edit(meta):
        cfg = json.loads(meta["config"])
        cfg.update(changes)
        meta["config"] = json.dumps(cfg)
    return edit


@pytest.mark.parametrize("changes,fragment", [
    ({"model": "linear"}, "do not fit the model described in the checkpoint"),
    ({"hidden": [32, 8]}, "do not fit the model described in the checkpoint"),
    ({"activation": "tanh"}, "settings do not match their checksum"),  # same shapes: caught by the settings checksum
    ({"lr": -1.0}, "learning rate -1.0"),
    ({"model": "cnn"}, "model 'cnn' is for 28x28 images"),
])
def test_an_edited_config_is_refused(spiral_model, changes, fragment):
    blob = checkpoint.to_bytes(spiral_model)
    assert checkpoint.from_bytes(_edited(blob, lambda meta: None)).cfg == spiral_model.cfg  # re-encoding alone is fine
    with pytest.raises(CheckpointError, match=fragment):
        checkpoint.from_bytes(_edited(blob, _edit_config(**changes)))


def test_edited_metadata_is_refused(spiral_model):
    blob = checkpoint.to_bytes(spiral_model)

    def rename_classes(meta):
        m = json.loads(meta["meta"])
        m["class_names"] = ["a", "b", "c"]
        meta["meta"] = json.dumps(m)

    with pytest.raises(CheckpointError, match="settings do not match their checksum"):
        checkpoint.from_bytes(_edited(blob, rename_classes))
    with pytest.raises(CheckpointError, match="config is damaged"):
        checkpoint.from_bytes(_edited(blob, lambda meta: meta.update(config="{not json")))
    with pytest.raises(CheckpointError, match="not a dlcore checkpoint"):
        checkpoint.from_bytes(_edited(blob, lambda meta: meta.update(format="other/1")))


def test_other_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not a dlcore checkpoint"):
        checkpoint.from_bytes(st_save({"w": torch.zeros(3)}))  # safetensors, but not ours
    with pytest.raises(CheckpointError, match="not a dlcore checkpoint"):
        checkpoint.from_bytes(st_save({"w": torch.zeros(3)}, metadata={"format": "pt"}))
    with pytest.raises(CheckpointError, match="header is not valid JSON"):
        checkpoint.from_bytes((6).to_bytes(8, "little") + b"{nope}" + b"\0" * 8)
    with pytest.raises(CheckpointError, match="truncated"):
        checkpoint.from_bytes((2**40).to_bytes(8, "little") + b"{}" * 8)
    png = tmp_path / "digit.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(CheckpointError):
        checkpoint.load(png)
    with pytest.raises(CheckpointError, match="cannot read .*missing.safetensors"):
        checkpoint.load(tmp_path / "missing.safetensors")


def test_expect_dataset(spiral_model):
    blob = checkpoint.to_bytes(spiral_model)
    assert checkpoint.from_bytes(blob, expect_dataset="spiral").cfg.dataset == "spiral"
    with pytest.raises(CheckpointError, match="trained on 'spiral', not 'boston'; upload it in the spiral tab"):
        checkpoint.from_bytes(blob, expect_dataset="boston")


def test_oversize_is_refused(spiral_model, tmp_path):
    blob = checkpoint.to_bytes(spiral_model)
    small = Limits(max_upload_bytes=len(blob) - 1)
    with pytest.raises(CheckpointError, match=f"{len(blob):,} bytes, over the limit of {len(blob) - 1:,}"):
        checkpoint.from_bytes(blob, limits=small)
    path = checkpoint.save(spiral_model, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="over the limit"):
        checkpoint.load(path, limits=small)
    assert checkpoint.load(path, limits=Limits(max_upload_bytes=len(blob))).cfg == spiral_model.cfg


# ------------------------------------------------------------------ saving where it cannot be written

def test_save_into_a_missing_folder(spiral_model, tmp_path):
    with pytest.raises(CheckpointError, match="could not save the model to .*missing.*choose another folder"):
        checkpoint.save(spiral_model, tmp_path / "missing" / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_save_over_a_folder_or_under_a_file(spiral_model, tmp_path):
    (tmp_path / "a_folder").mkdir()
    with pytest.raises(CheckpointError, match="could not save"):
        checkpoint.save(spiral_model, tmp_path / "a_folder")
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(CheckpointError, match="could not save"):
        checkpoint.save(spiral_model, tmp_path / "a_file" / "m.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "a_folder"] and not any((tmp_path / "a_folder").iterdir())


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_is_reported_and_leaves_no_half_file(spiral_model, tmp_path, monkeypatch):
    # save() writes a new temporary file and renames it into place; writing it to /dev/full instead makes every write
    # fail with ENOSPC, a real full disk (the temporary file is created anew, so a name cannot be pointed at it)
    monkeypatch.setattr(checkpoint, "open", lambda fd, mode: (os.close(fd), open("/dev/full", mode))[1], raising=False)
    with pytest.raises(CheckpointError, match="No space left on device; free some disk space or choose another folder"):
        checkpoint.save(spiral_model, tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == [] and os.path.exists("/dev/full")


def test_an_existing_checkpoint_survives_a_failed_save(spiral_model, tmp_path, monkeypatch):
    path = checkpoint.save(spiral_model, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def fail(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "open", fail, raising=False)
    with pytest.raises(CheckpointError):
        checkpoint.save(spiral_model, path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("name,dataset", [("digits", "mnist"), ("boston", "boston")])
def test_the_shipped_default_models_load(name, dataset):
    from dlcore.defaults import load_default

    tm = load_default(name)
    assert tm.cfg.dataset == dataset and not tm.model.training and tm.meta["metrics"]


# ------------------------------------------------------------------ crafted checkpoints whose checksums were recomputed

def _crafted(tm, weights=None, meta=None, config=None) -> bytes:
    """A checkpoint written the way a forger would: edited weights, metadata or config, every checksum recomputed."""
    tensors = {k: v.detach().clone() for k, v in tm.model.state_dict().items()}
    if weights:
        weights(tensors)
    m = json.loads(json.dumps(tm.meta, default=float))
    if meta:
        meta(m)
    cfg = json.loads(tm.cfg.to_json())
    if config:
        config(cfg)
    metadata = {"format": checkpoint.FORMAT, "config": json.dumps(cfg, sort_keys=True),
                "meta": json.dumps(m, sort_keys=True), "sha256": checkpoint._digest(tensors)}
    metadata["meta_sha256"] = checkpoint._meta_digest(metadata)
    return st_save(tensors, metadata=metadata)


@pytest.fixture(scope="module")
def boston_model():
    from dlcore.defaults import load_default

    return load_default("boston")


def _nan_first(tensors):
    first = sorted(tensors)[0]
    tensors[first][(0,) * tensors[first].dim()] = float("nan")


@pytest.mark.parametrize("edit,fragment", [
    ({"weights": _nan_first}, "hold NaN or infinite values"),
    ({"weights": lambda t: t.update({k: v * float("inf") for k, v in t.items()})}, "hold NaN or infinite values"),
    ({"meta": lambda m: m["norm"].update(std=[0.0] * 13)}, "normalisation"),
    ({"meta": lambda m: m["norm"].update(mean=[float("nan")] * 13)}, "normalisation"),
    ({"meta": lambda m: m["norm"].update(mean=[1.0])}, "normalisation"),
    ({"meta": lambda m: m.update(input_shape=[12])}, "describes inputs"),
    ({"meta": lambda m: m.update(num_outputs=3)}, "describes inputs"),
    ({"meta": lambda m: m.update(feature_names=["CRIM"] * 12 + ["nope"])}, "feature names"),
    ({"meta": lambda m: m["info"]["features"]["TAX"].update(max=float("inf"))}, "range for TAX"),
    ({"meta": lambda m: m["info"]["features"].pop("RM")}, "range for RM"),
    ({"config": lambda c: c.update(drop_b="false")}, "drop b 'false' is not true or false"),
    ({"meta": lambda m: m.update(members=99)}, "an ensemble has 1 to 5 members, not 99"),
    ({"meta": lambda m: m.update(members="3")}, "an ensemble has 1 to 5 members, not '3'"),
    ({"meta": lambda m: m.update(members=3)}, "it is for classifiers, not regression"),
])
def test_a_crafted_checkpoint_is_refused_whatever_its_checksums(boston_model, edit, fragment):
    assert checkpoint.from_bytes(_crafted(boston_model)).cfg == boston_model.cfg  # crafting alone changes nothing
    with pytest.raises(CheckpointError, match=fragment):
        checkpoint.from_bytes(_crafted(boston_model, **edit))


def test_crafted_class_names_are_refused(spiral_model):
    with pytest.raises(CheckpointError, match="class names"):
        checkpoint.from_bytes(_crafted(spiral_model, meta=lambda m: m.update(class_names=["a"])))
    with pytest.raises(CheckpointError, match="describes inputs"):  # a 3-class model's weights for 4 classes
        checkpoint.from_bytes(_crafted(spiral_model, meta=lambda m: m.update(num_outputs=4)))


def test_a_deeply_nested_header_is_refused_in_one_line():
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(CheckpointError, match="nested too deeply") as e:
        checkpoint.from_bytes(len(deep).to_bytes(8, "little") + deep + b"\0" * 8)
    assert "\n" not in str(e.value)
    config = "[" * 50_000 + "]" * 50_000
    head = json.dumps({"__metadata__": {"format": checkpoint.FORMAT, "config": config, "meta": "{}"}}).encode()
    with pytest.raises(CheckpointError, match="nested too deeply"):
        checkpoint.from_bytes(len(head).to_bytes(8, "little") + head + b"\0" * 8)
    huge = (checkpoint.MAX_HEADER + 1).to_bytes(8, "little") + b" " * (checkpoint.MAX_HEADER + 16)
    with pytest.raises(CheckpointError, match="header is .* bytes, over"):
        checkpoint.from_bytes(huge)


# ------------------------------------------------------------------ special files: read bounded, never replaced

def test_only_a_regular_file_is_loaded(spiral_model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, fragment in [(tmp_path, "is a folder"), (fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                           ("/proc/self/mem", "cannot read the checkpoint")]:
        with pytest.raises(CheckpointError, match=fragment):  # at once: /dev/zero and the FIFO are never read
            checkpoint.load(path)
    path = checkpoint.save(spiral_model, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="over the limit"):
        checkpoint.load(path, limits=Limits(max_upload_bytes=100))


def test_a_fifo_or_device_is_never_replaced(spiral_model, tmp_path):
    fifo, device = tmp_path / "pipe", tmp_path / "null"
    os.mkfifo(fifo)
    targets = [fifo]
    # a copy of /dev/null's node (never the real one: an old build would rename over it as root)
    with contextlib.suppress(PermissionError):
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        targets.append(device)
    for target in targets:
        with pytest.raises(CheckpointError, match="not a regular file"):
            checkpoint.check_target(target)
        with pytest.raises(CheckpointError, match="not a regular file"):
            checkpoint.save(spiral_model, target)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert len(targets) == 1 or stat.S_ISCHR(os.stat(device).st_mode)
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p in targets)  # no temporary file left behind
def test_a_header_size_whose_first_byte_is_0x80_is_not_taken_for_a_pickle(spiral_model):
    # safetensors starts with its header's size (8 bytes, little-endian): one size in 256 begins with the byte a pickle
    # begins with; such a checkpoint (a table model's long metadata hit it) must load, and a real pickle stay refused
    tm = checkpoint.TrainedModel(spiral_model.cfg, spiral_model.model, dict(spiral_model.meta))
    for pad in range(256):
        tm.meta["note"] = "x" * pad
        blob = checkpoint.to_bytes(tm)
        if blob[0] == 0x80:
            break
    assert blob[0] == 0x80
    back = checkpoint.from_bytes(blob)
    assert back.meta["note"] == tm.meta["note"]
    with pytest.raises(CheckpointError, match="pickle"):
        checkpoint.from_bytes(pickle.dumps({"weights": [1.0] * 100}))
