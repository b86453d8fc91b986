"""Checkpoints: weights in safetensors, the run's config and the data's metadata as JSON in its header.

Loading rebuilds the model from the stored config and loads the weights strictly. Nothing is ever unpickled:
a pickle or `torch.save` file, a truncated or edited file, or one whose weights no longer match the stored
checksum is refused with a CheckpointError that says what is wrong.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import stat
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import RunConfig
from .data import io_shape
from .errors import CheckpointError, ConfigError, DlcoreError
from .limits import Limits, read_regular_file
from .models import build_model
from .records import TrainedModel

FORMAT = "dlcore-checkpoint/1"
MAX_HEADER = 8_000_000  # bytes of JSON header read at most (a playground checkpoint's is a few kB)
BOSTON_FEATURES = ("CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT")


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def to_bytes(tm: TrainedModel) -> bytes:
    """Serialise a trained model to safetensors bytes (weights + config + metadata + checksum)."""
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tm.model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": tm.cfg.to_json(),
        "meta": json.dumps(tm.meta, sort_keys=True, default=float),
        "sha256": _digest(tensors),
    }
    metadata["meta_sha256"] = _meta_digest(metadata)
    return st_save(tensors, metadata=metadata)


def _meta_digest(meta_raw: dict) -> str:
    """Checksum of the config and metadata JSON, so a damaged byte there is caught like one in the weights."""
    return hashlib.sha256(f"{meta_raw.get('config')}\n{meta_raw.get('meta')}".encode("utf-8", "surrogatepass")).hexdigest()


def save(tm: TrainedModel, path: str | os.PathLike) -> Path:
    """Write a checkpoint atomically (a new temporary file renamed into place), so a full disk leaves no half file;
    only a regular file (or nothing) at `path` is ever replaced."""
    path = Path(path)
    blob = to_bytes(tm)
    tmp = fd = None
    try:
        _refuse_special(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.",
                                   suffix=".part")  # created anew (O_EXCL): never an existing FIFO, device or link
        with open(fd, "wb") as f:
            fd = None  # the file object owns it now
            f.write(blob)
        _refuse_special(path)  # again just before the rename: the target may have changed during the write
        os.replace(tmp, path)
    except (OSError, CheckpointError) as e:
        with contextlib.suppress(OSError):
            if fd is not None:
                os.close(fd)
            if tmp is not None:
                os.unlink(tmp)
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"could not save the model to {str(path)!r}: {e.strerror or e}; {_save_fix(e)}") from e
    return path


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_special(path: Path) -> None:
    """A checkpoint replaces only a regular file: a FIFO, a device, a socket or a folder there is left as it is."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # nothing there (a missing folder is reported by the write)
        return
    except OSError as e:
        raise CheckpointError(f"could not save the model to {str(path)!r}: {e.strerror or e}; choose another file") from e
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"could not save the model to {str(path)!r}: it is {_kind(mode)}, not a regular file; "
                              "give the name of a new or existing .safetensors file")


def _save_fix(e: OSError) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space or choose another folder"
    if e.errno == errno.ENOENT:
        return "create the folder first or choose another folder"
    return "choose another folder"


def check_target(path: str | os.PathLike) -> Path:
    """Before a long run: the folder a checkpoint will be saved into exists and is writable, or a CheckpointError."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise CheckpointError(f"cannot save the model to {str(path)!r}: it is a folder; give a file name such as "
                              f"{str(path / 'model.safetensors')!r}")
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise CheckpointError(f"cannot save the model to {str(path)!r}: the folder {str(folder)!r} {what}; "
                              "create the folder first or choose another folder")
    if not os.access(folder, os.W_OK):
        raise CheckpointError(f"cannot save the model to {str(path)!r}: the folder {str(folder)!r} is not writable; "
                              "choose another folder")
    _refuse_special(path)
    return path


def _header(blob: bytes) -> dict:
    # a pickle starts with 0x80 (protocol 2+), torch.save with a ZIP's "PK"; a safetensors file with its header's size,
    # whose first byte is 0x80 for one size in 256, so the JSON header's "{" at byte 8 tells the two apart
    if (blob[:1] == b"\x80" and blob[8:9] != b"{") or blob[:4] == b"PK\x03\x04":
        raise CheckpointError("the file is a pickle / torch.save file, which dlcore never loads (unpickling can run "
                              "code); upload a .safetensors checkpoint saved by the playground")
    if len(blob) < 10:
        raise CheckpointError(f"the file has only {len(blob)} bytes, not a safetensors checkpoint; "
                              "upload a .safetensors file saved by the playground")
    n = int.from_bytes(blob[:8], "little")
    if n <= 0 or 8 + n > len(blob):
        raise CheckpointError("the file is truncated or not a safetensors checkpoint (its header runs past the end); "
                              "download the checkpoint again")
    if n > MAX_HEADER:
        raise CheckpointError(f"the safetensors header is {n:,} bytes, over the {MAX_HEADER:,} a playground checkpoint "
                              "could have; upload a checkpoint saved by the playground")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"the safetensors header is not valid JSON ({e}); the file is damaged") from e
    except RecursionError:
        raise CheckpointError("the safetensors header is nested too deeply to be a playground checkpoint; upload a "
                              "checkpoint saved by the playground") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("the file is a safetensors file but not a dlcore checkpoint (no dlcore config in it); "
                              "upload a checkpoint saved by the playground or `python -m dlcore train --out`")
    return meta


def from_bytes(blob: bytes, device: str | torch.device = "cpu", expect_dataset: str | None = None,
               limits: Limits | None = None) -> TrainedModel:
    """Rebuild a trained model from checkpoint bytes, refusing anything that is not an intact dlcore checkpoint."""
    limits = limits or Limits.from_env()
    if len(blob) > limits.max_upload_bytes:
        raise CheckpointError(f"the file is {len(blob):,} bytes, over the limit of {limits.max_upload_bytes:,}; "
                              "upload a smaller checkpoint (or raise DLCORE_MAX_UPLOAD_BYTES)")
    meta_raw = _header(blob)
    try:
        cfg = RunConfig.from_json(meta_raw["config"])
        meta = json.loads(meta_raw["meta"])
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"the checkpoint's config is damaged ({str(e)[:200]}); save the model again") from e
    except RecursionError:
        raise CheckpointError("the checkpoint's config is nested too deeply; save the model again") from None
    if not isinstance(meta, dict):
        raise CheckpointError("the checkpoint's metadata is not a JSON object; save the model again")
    if expect_dataset is not None and cfg.dataset != expect_dataset:
        raise CheckpointError(f"this checkpoint was trained on {cfg.dataset!r}, not {expect_dataset!r}; "
                              f"upload it in the {cfg.dataset} tab, or upload a {expect_dataset} checkpoint")
    try:
        tensors = st_load(blob)
    except (SafetensorError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"the weights cannot be read ({e}); the file is truncated or damaged") from e
    if _digest(tensors) != meta_raw.get("sha256"):
        raise CheckpointError("the weights do not match the checkpoint's checksum: the file was altered or damaged; "
                              "save the model again")
    try:
        cfg.validate(limits)
        _check_meta(cfg, meta)
        _check_weights(tensors)
        model = build_model(cfg, tuple(meta["input_shape"]), int(meta["num_outputs"]), limits,
                            meta.get("members", 1))
        model.load_state_dict(tensors, strict=True)
    except CheckpointError:
        raise
    except (ConfigError, RuntimeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"the weights do not fit the model described in the checkpoint ({str(e)[:200]}); "
                              "the file was altered or comes from an incompatible version") from e
    # checked last, so an edited architecture is reported as such; this catches damage the checks above let through
    if "meta_sha256" in meta_raw and meta_raw["meta_sha256"] != _meta_digest(meta_raw):
        raise CheckpointError("the checkpoint's settings do not match their checksum: the file was altered or "
                              "damaged; save the model again")
    model.to(device).eval()
    return TrainedModel(cfg, model, meta)


def _check_meta(cfg: RunConfig, meta: dict) -> None:
    """The metadata predictions read (shapes, names, normalisation, the Boston feature ranges), checked against the
    config: a checkpoint whose checksums were recomputed after an edit must not answer NaN or crash later."""
    if cfg.dataset == "csv":  # a table's sizes come from its file, which is not at hand: its own record must be sane
        _check_table_meta(meta)
        return
    shape, outputs = io_shape(cfg)
    if list(meta.get("input_shape") or []) != list(shape) or meta.get("num_outputs") != outputs:
        raise CheckpointError(f"the checkpoint describes inputs {meta.get('input_shape')!r} and "
                              f"{meta.get('num_outputs')!r} outputs, but a {cfg.dataset} model takes {list(shape)} and "
                              f"gives {outputs}; the file was altered")
    names = meta.get("class_names")
    if cfg.task == "classification" and (not isinstance(names, list) or len(names) != outputs
                                         or not all(isinstance(n, str) for n in names)):
        raise CheckpointError(f"the checkpoint's class names {str(names)[:100]} do not match its {outputs} classes; "
                              "the file was altered")
    width = shape[0] if len(shape) == 1 else 1
    norm = meta.get("norm")
    for key in ("mean", "std"):
        values = norm.get(key) if isinstance(norm, dict) else None
        if not _finite_list(values, width) or (key == "std" and min(values) <= 0):
            raise CheckpointError(f"the checkpoint's input normalisation ({key} {str(values)[:100]}) is not {width} "
                                  f"finite{' positive' if key == 'std' else ''} numbers; the file was altered")
    if cfg.dataset == "boston":
        _check_boston(meta, width)


def _check_table_meta(meta: dict) -> None:
    """A table model's recorded sizes and preprocessing (dlcore.tabular.Prep) are whole, finite and consistent."""
    from .tabular import Prep  # tabular builds on the data module, as this one does

    shape, outputs = meta.get("input_shape"), meta.get("num_outputs")
    if not (isinstance(shape, list) and len(shape) == 1 and type(shape[0]) is int and shape[0] > 0
            and type(outputs) is int and outputs > 0):
        raise CheckpointError(f"the checkpoint describes inputs {str(shape)[:60]} and {str(outputs)[:20]} outputs, "
                              "which no table model has; the file was altered")
    try:
        Prep.from_dict(meta["info"]["table"])
    except (KeyError, TypeError, ValueError, DlcoreError) as e:
        raise CheckpointError(f"the checkpoint's table preprocessing is damaged ({str(e)[:120]}); the file was "
                              "altered") from None


def _check_boston(meta: dict, width: int) -> None:
    names = meta.get("feature_names")
    if not isinstance(names, list) or len(names) != width or not set(names) <= set(BOSTON_FEATURES):
        raise CheckpointError(f"the checkpoint's feature names {str(names)[:150]} are not {width} of the Boston "
                              "features; the file was altered")
    features = (meta.get("info") or {}).get("features") if isinstance(meta.get("info"), dict) else None
    for name in BOSTON_FEATURES:
        f = features.get(name) if isinstance(features, dict) else None
        if not isinstance(f, dict) or not _finite_list([f.get("min"), f.get("max"), f.get("median")], 3) \
                or not f["min"] <= f["median"] <= f["max"]:
            raise CheckpointError(f"the checkpoint's range for {name} is missing or not finite; the file was altered")


def _finite_list(values, n: int) -> bool:
    return (isinstance(values, list) and len(values) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values))


def _check_weights(tensors: dict[str, torch.Tensor]) -> None:
    """Every weight finite, whatever the checksum says (one that was recomputed after an edit proves nothing)."""
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise CheckpointError(f"the checkpoint's weights {name!r} hold NaN or infinite values; the file was altered "
                                  "or comes from a diverged run")


def load(path: str | os.PathLike, device: str | torch.device = "cpu", expect_dataset: str | None = None,
         limits: Limits | None = None) -> TrainedModel:
    """Load a checkpoint file saved by `save`: a regular file under the size limit, read with a bounded read."""
    limits = limits or Limits.from_env()
    blob = read_regular_file(path, limits.max_upload_bytes, "checkpoint", CheckpointError,
                             fix="use a smaller checkpoint (or raise DLCORE_MAX_UPLOAD_BYTES)")
    return from_bytes(blob, device, expect_dataset, limits)
