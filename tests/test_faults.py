"""Fault tests: the world misbehaves (no network, a corrupt cache, a missing GPU, a full disk, a diverging run, a
hostile upload, odd server limits) and dlcore says what happened, keeps what it had, and never crashes oddly."""

import errno
import io
import json
import os
import pickle
import socket
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from dlcore import checkpoint
from dlcore.__main__ import main
from dlcore.checkpoint import CheckpointError
from dlcore.config import ConfigError, Limits, RunConfig
from dlcore.data import DataError, load_data
from dlcore.predict import InputError, predict_points, preprocess_sketch
from dlcore.train import DeviceError, Trainer, available_devices, resolve_device, train

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SPIRAL = RunConfig(dataset="spiral", points=60, hidden=(16,), epochs=15, lr=1e-2, device="cpu")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every outgoing connection in this module fails at once, as on a machine without a network; attempts are logged."""
    attempts = []

    def unreachable(address, *args, **kwargs):
        attempts.append(address)
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: unreachable((host, port)))
    monkeypatch.setattr(socket.socket, "connect", lambda self, address: unreachable(address))
    return attempts


@pytest.fixture
def online_mnist(monkeypatch, tmp_path):
    """dlcore as a user runs it (DLCORE_OFFLINE unset), with its data folder in a fresh temporary directory."""
    monkeypatch.delenv("DLCORE_OFFLINE", raising=False)
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    monkeypatch.setenv("DLCORE_DOWNLOAD_TIMEOUT", "2")
    return tmp_path / "MNIST" / "raw"


def _assert_embedded(d, *reason_parts):
    assert d.source.startswith("embedded subset"), d.source
    assert (len(d.x_train), len(d.x_test)) == (4000, 1000) and d.x_train.shape[1:] == (1, 28, 28)
    assert d.source_reason, "the fallback must say why"
    for part in reason_parts:
        assert part in d.source_reason, d.source_reason


# ---------------------------------------------------------------- MNIST download failures

def test_no_network_falls_back_to_the_embedded_subset(online_mnist, no_network):
    timeout = socket.getdefaulttimeout()
    d = load_data(RunConfig(dataset="mnist"))
    _assert_embedded(d, "could not be downloaded", "Network is unreachable")
    assert any("amazonaws" in str(a) or "lecun" in str(a) for a in no_network)  # it did try, and was stopped here
    assert socket.getdefaulttimeout() == timeout  # the download's socket timeout is put back


def test_urlopen_failing_falls_back_to_the_embedded_subset(online_mnist, monkeypatch):
    def no_route(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", no_route)
    _assert_embedded(load_data(RunConfig(dataset="mnist")), "no route to host")


def test_offline_switch_makes_no_attempt(monkeypatch, tmp_path, no_network):
    monkeypatch.setenv("DLCORE_OFFLINE", "1")
    monkeypatch.setenv("DLCORE_DATA", str(tmp_path))
    _assert_embedded(load_data(RunConfig(dataset="mnist")), "DLCORE_OFFLINE")
    assert no_network == [] and not (tmp_path / "MNIST").exists()


@pytest.mark.parametrize("damage", ["all-four-truncated", "garbage-gz-and-partial-file", "empty-files"])
def test_corrupt_partial_cache_falls_back_to_the_embedded_subset(online_mnist, no_network, damage):
    raw = online_mnist
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    if damage == "all-four-truncated":  # every file there, each cut short: torchvision reads them, no download
        for name in MNIST_FILES:
            (raw / name).write_bytes(b"\x00\x00\x08\x03\x00\x00\xea\x60" + rng.bytes(100))
    elif damage == "garbage-gz-and-partial-file":  # a .gz that fails its checksum: torchvision downloads again
        (raw / "train-images-idx3-ubyte.gz").write_bytes(rng.bytes(5000))
        (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\xea\x60")
    else:
        for name in MNIST_FILES:
            (raw / name).write_bytes(b"")
            (raw / f"{name}.gz").write_bytes(b"")
    d = load_data(RunConfig(dataset="mnist"))
    _assert_embedded(d, "could not be downloaded")
    assert "Error" in d.source_reason  # the exception's type or torchvision's message, not an empty reason
    if damage == "garbage-gz-and-partial-file":
        assert "Network is unreachable" in d.source_reason and no_network


def test_download_only_raises_a_data_error(online_mnist, tmp_path):
    with pytest.raises(DataError) as e:
        load_data(RunConfig(dataset="mnist", mnist_source="download"))
    msg = str(e.value)
    assert "MNIST download" in msg and str(tmp_path) in msg and "Network is unreachable" in msg
    assert "mnist_source='embedded'" in msg  # the way out


def test_embedded_source_needs_no_network(online_mnist, no_network):
    _assert_embedded(load_data(RunConfig(dataset="mnist", mnist_source="embedded")), "asked for")
    assert no_network == []


# ---------------------------------------------------------------- devices that are not there

@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as one without CUDA or MPS, whatever it really has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_missing_accelerator_is_a_clear_config_error(cpu_only, device):
    assert available_devices() == ["cpu"]
    with pytest.raises(DeviceError, match=rf"device '{device}' is not available.*available: \['cpu'\].*'cpu'"):
        resolve_device(device)
    with pytest.raises(ConfigError, match=f"device '{device}' is not available"):
        Trainer(SPIRAL.replace(device=device))
    assert resolve_device("auto") == torch.device("cpu")


def test_missing_mps_on_a_cuda_machine_lists_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceError, match=r"device 'mps' is not available on this machine \(available: \['cuda', 'cpu'\]\)"):
        resolve_device("mps")


def test_unknown_device_lists_the_choices():
    with pytest.raises(DeviceError, match=r"device 'tpu' is unknown; choose from \['auto', 'cpu', 'cuda', 'mps'\]"):
        resolve_device("tpu")


@pytest.mark.parametrize("device", ["cuda", "mps"])
def test_cli_missing_accelerator_exits_2_with_one_line(cpu_only, capsys, device):
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "spiral", "--points", "20", "--epochs", "1", "--device", device, "--quiet"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dlcore: error: ") and f"device '{device}'" in err, err


# ---------------------------------------------------------------- saving a model on a full or unwritable disk

@pytest.fixture(scope="module")
def spiral_model():
    return train(SPIRAL)[0]


@pytest.fixture(scope="module")
def big_model():
    """A checkpoint larger than Python's write buffer, so ENOSPC surfaces in write() rather than at close()."""
    return train(SPIRAL.replace(hidden=(128, 64), epochs=2))[0]


def _assert_save_refused(tm, target, *message_parts):
    with pytest.raises(CheckpointError) as e:
        checkpoint.save(tm, target)
    msg = str(e.value)
    assert msg.startswith("could not save the model to") and str(target) in msg, msg
    for part in message_parts:
        assert part in msg, msg
    return msg


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("size", ["small", "big"])
def test_full_disk_via_dev_full(spiral_model, big_model, tmp_path, size):
    """The temporary file is a link to /dev/full, whose every write fails with ENOSPC: a real full disk."""
    tm = spiral_model if size == "small" else big_model
    target = tmp_path / "model.safetensors"

    def onto_dev_full(dir, prefix, suffix):  # the save's fresh temporary file, made a link to /dev/full
        link = Path(dir) / f"{prefix}x{suffix}"
        link.symlink_to("/dev/full")
        return os.open(link, os.O_WRONLY), str(link)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checkpoint.tempfile, "mkstemp", onto_dev_full)
        _assert_save_refused(tm, target, "No space left on device", "free some disk space")
    assert list(tmp_path.iterdir()) == []  # neither the half file nor the model


class _FillsUp:
    """A real file that takes the first half of what is written, then reports a full disk."""

    def __init__(self, path, mode="r", *args, **kwargs):
        self._f = open(path, mode, *args, **kwargs)

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()  # the half is on disk, as after a real ENOSPC
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()
        return False


def test_full_disk_leaves_no_partial_file_and_keeps_the_old_model(spiral_model, big_model, tmp_path):
    target = tmp_path / "model.safetensors"
    checkpoint.save(spiral_model, target)  # yesterday's model
    before = target.read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checkpoint, "open", _FillsUp, raising=False)
        _assert_save_refused(big_model, target, "No space left on device", "free some disk space")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # the .part is gone
    assert target.read_bytes() == before  # the old checkpoint is intact and still loads
    pts = np.random.default_rng(0).uniform(-1, 1, (64, 2))
    assert np.array_equal(predict_points(checkpoint.load(target), pts), predict_points(spiral_model, pts))


def test_rename_failing_removes_the_temporary_file(spiral_model, tmp_path):
    def cross_device(self, target):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(checkpoint.os, "replace", lambda src, dst: cross_device(None, dst))
        _assert_save_refused(spiral_model, tmp_path / "m.safetensors", "Invalid cross-device link")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder", "parent-is-a-file", "permission-denied"])
def test_unwritable_destination_is_reported(spiral_model, tmp_path, where):
    mp = pytest.MonkeyPatch()
    if where == "missing-folder":
        target = tmp_path / "no" / "such" / "folder" / "m.safetensors"
    elif where == "parent-is-a-file":
        (tmp_path / "notes.txt").write_text("a file, not a folder")
        target = tmp_path / "notes.txt" / "m.safetensors"
    else:  # root ignores chmod, so the refusal the OS would give is simulated
        def denied(path, *args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        mp.setattr(checkpoint, "open", denied, raising=False)
        target = tmp_path / "m.safetensors"
    try:
        _assert_save_refused(spiral_model, target, "choose another folder")
    finally:
        mp.undo()
    assert not target.exists() and not Path(str(target) + ".part").exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write to a read-only folder")
def test_read_only_folder_is_reported(spiral_model, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _assert_save_refused(spiral_model, folder / "m.safetensors", "Permission denied", "choose another folder")
    finally:
        folder.chmod(0o700)
    assert list(folder.iterdir()) == []


# ---------------------------------------------------------------- a diverging run (lr = 1e6)

@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_divergence_is_stopped_and_nothing_good_is_lost(spiral_model, optimizer):
    pts = np.random.default_rng(1).uniform(-1.1, 1.1, (200, 2))
    before_probs = predict_points(spiral_model, pts)
    before_weights = {k: v.clone() for k, v in spiral_model.model.state_dict().items()}

    trainer = Trainer(SPIRAL.replace(lr=1e6, optimizer=optimizer, epochs=20))
    initial = trainer.evaluate("test")["loss"]
    records = list(trainer.run())
    final = records[-1]
    assert final.done and final.status == "diverged"
    assert final.epoch < 20  # stopped early, not run to the end
    assert "diverged at epoch" in final.message and "lower learning rate" in final.message
    assert all(np.isfinite(r.train_loss) for r in records)
    # "the model keeps its last good weights": the weights it is left with are not the exploded ones
    assert np.isfinite(final.test_loss) and final.test_loss <= 10 * initial, (initial, final.test_loss)
    assert np.isfinite(predict_points(trainer.trained(), pts)).all()
    # the model from the earlier run is untouched
    assert np.array_equal(predict_points(spiral_model, pts), before_probs)
    after_weights = spiral_model.model.state_dict()
    assert all(torch.equal(before_weights[k], after_weights[k]) for k in before_weights)


def test_cli_reports_divergence(capsys):
    code = main(["train", "--dataset", "spiral", "--points", "30", "--hidden", "8", "--epochs", "10", "--lr", "1e6",
                 "--device", "cpu", "--quiet", "--json"])
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and summary["status"] == "diverged"
    assert "lower learning rate" in err and "diverged at epoch" in err


# ---------------------------------------------------------------- hostile or damaged model uploads

@pytest.fixture(scope="module")
def blob(spiral_model):
    return checkpoint.to_bytes(spiral_model)


def _header_length(b: bytes) -> int:
    return int.from_bytes(b[:8], "little")


def _resaved(b: bytes, edit) -> bytes:
    """The same weights and weight checksum, the config/meta JSON edited as someone with a text editor would.

    Only the known checksum fields are kept, so what is tested is the check that the weights fit the described model.
    """
    n = _header_length(b)
    meta = json.loads(b[8:8 + n])["__metadata__"]
    cfg, info = json.loads(meta["config"]), json.loads(meta["meta"])
    edit(cfg, info)
    meta = {"format": meta["format"], "sha256": meta["sha256"],
            "config": json.dumps(cfg, sort_keys=True), "meta": json.dumps(info, sort_keys=True)}
    return st_save(st_load(b), metadata=meta)


class _Payload:
    """Unpickling this creates the marker file: proof that a loader ran code from the upload."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_pickle_payload_is_live(tmp_path):
    """Guard for the next test: unpickling the payload really does create the marker."""
    marker = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()


@pytest.mark.parametrize("kind", ["pickle-protocol-0", "pickle-protocol-2", "pickle-protocol-5", "torch-save",
                                  "pickle-after-safetensors-length"])
def test_pickles_are_refused_without_being_unpickled(tmp_path, kind):
    marker = tmp_path / "pwned"
    payload = {"state_dict": _Payload(marker)}
    if kind.startswith("pickle-protocol"):
        data = pickle.dumps(payload, protocol=int(kind[-1]))
    elif kind == "torch-save":
        buf = io.BytesIO()
        torch.save(payload, buf)
        data = buf.getvalue()
    else:  # a plausible 8-byte length, then a pickle where the JSON header should be
        body = pickle.dumps(payload, protocol=2)
        data = len(body).to_bytes(8, "little") + body
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    for attempt in (lambda: checkpoint.from_bytes(data), lambda: checkpoint.load(path)):
        with pytest.raises(CheckpointError, match="pickle|not a safetensors|truncated|not valid JSON"):
            attempt()
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 4, 9, 100, "half", "last-byte"])
def test_truncated_checkpoints_are_refused(blob, cut):
    keep = {"half": len(blob) // 2, "last-byte": len(blob) - 1}.get(cut, cut)
    with pytest.raises(CheckpointError, match="truncated|only \\d+ bytes|cannot be read|damaged"):
        checkpoint.from_bytes(blob[:keep])


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
def test_a_flipped_byte_in_the_weights_fails_the_checksum(blob, where):
    start = 8 + _header_length(blob)
    at = start + int(where * (len(blob) - start - 1))
    damaged = bytearray(blob)
    damaged[at] ^= 0x01
    with pytest.raises(CheckpointError, match="do not match the checkpoint's checksum"):
        checkpoint.from_bytes(bytes(damaged))


def test_a_damaged_byte_in_the_metadata_is_refused(blob):
    """A byte flipped in the stored metadata (here 'class_names' -> 'class_nZmes') must not load and crash later."""
    n = _header_length(blob)
    header = blob[8:8 + n]
    at = header.index(b"class_names") + len("class_n")
    damaged = bytearray(blob)
    damaged[8 + at] = ord("Z")
    with pytest.raises(CheckpointError):
        checkpoint.from_bytes(bytes(damaged))


def _other_architecture(cfg, meta):
    cfg["hidden"] = [32, 8]


def _linear(cfg, meta):
    cfg["model"] = "linear"


def _more_classes(cfg, meta):
    meta["num_outputs"] = 5


@pytest.mark.parametrize("edit", [_other_architecture, _linear, _more_classes])
def test_metadata_edited_to_another_architecture_is_refused(blob, edit):
    with pytest.raises(CheckpointError, match="do not fit the model described in the checkpoint|the file was altered"):
        checkpoint.from_bytes(_resaved(blob, edit))


@pytest.mark.parametrize("field, value", [("lr", 10**400), ("epochs", -1), ("dataset", "cifar"), ("optimizer", ["adam"])],
                         ids=["lr-int-too-big-for-a-float", "negative-epochs", "unknown-dataset", "optimizer-as-a-list"])
def test_metadata_edited_to_an_invalid_config_is_refused(blob, field, value):
    def edit(cfg, meta):
        cfg[field] = value

    with pytest.raises(CheckpointError):
        checkpoint.from_bytes(_resaved(blob, edit))


def test_checkpoint_for_another_dataset_is_refused(blob, tmp_path):
    with pytest.raises(CheckpointError, match="trained on 'spiral', not 'boston'; upload it in the spiral tab"):
        checkpoint.from_bytes(blob, expect_dataset="boston")
    path = tmp_path / "spiral.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match="not 'mnist'"):
        checkpoint.load(path, expect_dataset="mnist")
    assert checkpoint.from_bytes(blob, expect_dataset="spiral").cfg.dataset == "spiral"


def test_oversize_upload_is_refused_before_parsing(blob, tmp_path):
    small = Limits(max_upload_bytes=len(blob) - 1)
    with pytest.raises(CheckpointError, match=f"{len(blob):,} bytes, over the limit of {len(blob) - 1:,}"):
        checkpoint.from_bytes(blob, limits=small)
    path = tmp_path / "m.safetensors"
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match="over the limit"):
        checkpoint.load(path, limits=small)
    assert checkpoint.from_bytes(blob, limits=Limits(max_upload_bytes=len(blob))).cfg == SPIRAL


def test_plain_safetensors_and_garbage_are_refused():
    plain = st_save({"weight": torch.zeros(3, 2)})
    with pytest.raises(CheckpointError, match="not a dlcore checkpoint"):
        checkpoint.from_bytes(plain)
    garbage = np.random.default_rng(0).bytes(4096)
    with pytest.raises(CheckpointError):
        checkpoint.from_bytes(garbage)


def test_random_damage_never_escapes_as_another_error(blob):
    """Seeded byte flips and cuts anywhere in the file: a CheckpointError or a model that predicts as before."""
    rng = np.random.default_rng(5)
    pts = np.random.default_rng(2).uniform(-1, 1, (32, 2))
    want = predict_points(checkpoint.from_bytes(blob), pts)
    for i in range(300):
        data = bytearray(blob)
        if i % 3 == 0:
            data = data[: rng.integers(0, len(data))]
        elif i % 3 == 1:
            data[rng.integers(len(data))] ^= 1 << int(rng.integers(8))
        else:
            at = rng.integers(len(data))
            data[at:at + 8] = rng.bytes(8)
        try:
            tm = checkpoint.from_bytes(bytes(data))
        except CheckpointError:
            continue
        assert np.array_equal(predict_points(tm, pts), want)


# ---------------------------------------------------------------- server limits from the environment

def test_env_limit_on_epochs(monkeypatch):
    monkeypatch.setenv("DLCORE_MAX_EPOCHS", "5")
    assert Limits.from_env().max_epochs == 5
    with pytest.raises(ConfigError, match=r"epochs 10 is out of range; use 1 to 5 epochs \(or raise DLCORE_MAX_EPOCHS\)"):
        RunConfig(epochs=10).validate()
    assert RunConfig(epochs=5).validate().epochs == 5
    with pytest.raises(ConfigError, match="DLCORE_MAX_EPOCHS"):
        Trainer(SPIRAL.replace(epochs=6))


@pytest.mark.parametrize("raw", ["lots", "5 epochs", "1,000", "inf", "nan", "-inf"])
def test_unusable_env_limit_is_a_clear_config_error(monkeypatch, raw):
    monkeypatch.setenv("DLCORE_MAX_EPOCHS", raw)
    for attempt in (Limits.from_env, lambda: RunConfig().validate()):
        with pytest.raises(ConfigError) as e:
            attempt()
        assert "DLCORE_MAX_EPOCHS" in str(e.value) and repr(raw) in str(e.value) and "e.g." in str(e.value)


@pytest.mark.parametrize("var, value, cfg, match", [
    ("DLCORE_MAX_POINTS", "50", SPIRAL.replace(points=60), "points per class 60 is out of range"),
    ("DLCORE_MAX_LAYER", "10", SPIRAL, "over the limit of 10 units"),
    ("DLCORE_MAX_LAYERS", "1", SPIRAL.replace(hidden=(4, 4)), "over the limit of 1"),
    ("DLCORE_MAX_CLASSES", "2", SPIRAL.replace(classes=3), "classes 3 is out of range"),
    ("DLCORE_MAX_PARAMS", "50", SPIRAL, "DLCORE_MAX_PARAMS"),
])
def test_other_env_limits_are_enforced_by_the_trainer(monkeypatch, var, value, cfg, match):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match=match):
        Trainer(cfg)


def test_env_limits_on_uploads_and_images(monkeypatch, blob):
    monkeypatch.setenv("DLCORE_MAX_UPLOAD_BYTES", str(len(blob) - 1))
    with pytest.raises(CheckpointError, match="over the limit.*DLCORE_MAX_UPLOAD_BYTES"):
        checkpoint.from_bytes(blob)
    monkeypatch.setenv("DLCORE_MAX_IMAGE_PIXELS", "10000")
    huge = np.full((200, 200), 255, np.uint8)
    huge[50:150, 95:105] = 0
    with pytest.raises(InputError, match="200x200 pixels, over the limit of 10,000"):
        preprocess_sketch(huge)
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(huge).save(png, "PNG")
    with pytest.raises(InputError, match="over the limit of 10,000"):
        preprocess_sketch(png.getvalue())
    monkeypatch.delenv("DLCORE_MAX_IMAGE_PIXELS")
    assert preprocess_sketch(png.getvalue()).shape == (28, 28)
