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
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .config import RunConfig
from .errors import CheckpointError, ConfigError
from .limits import Limits
from .models import build_model
from .records import TrainedModel

FORMAT = "dlcore-checkpoint/1"


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
    """Write a checkpoint atomically (a temporary file renamed into place), so a full disk leaves no half file."""
    path = Path(path)
    blob = to_bytes(tm)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as f:
            f.write(blob)
        tmp.replace(path)
    except OSError as e:
        with contextlib.suppress(OSError):  # e.g. NotADirectoryError when the "folder" is a file
            tmp.unlink(missing_ok=True)
        raise CheckpointError(f"could not save the model to {str(path)!r}: {e.strerror or e}; {_save_fix(e)}") from e
    return path


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
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"the safetensors header is not valid JSON ({e}); the file is damaged") from e
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
        raise CheckpointError(f"the checkpoint's config is damaged ({e}); save the model again") from e
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
        model = build_model(cfg, tuple(meta["input_shape"]), int(meta["num_outputs"]), limits)
        model.load_state_dict(tensors, strict=True)
    except (ConfigError, RuntimeError, KeyError, TypeError, ValueError, OverflowError) as e:
        raise CheckpointError(f"the weights do not fit the model described in the checkpoint ({str(e)[:200]}); "
                              "the file was altered or comes from an incompatible version") from e
    # checked last, so an edited architecture is reported as such; this catches damage the checks above let through
    if "meta_sha256" in meta_raw and meta_raw["meta_sha256"] != _meta_digest(meta_raw):
        raise CheckpointError("the checkpoint's settings do not match their checksum: the file was altered or "
                              "damaged; save the model again")
    model.to(device).eval()
    return TrainedModel(cfg, model, meta)


def load(path: str | os.PathLike, device: str | torch.device = "cpu", expect_dataset: str | None = None,
         limits: Limits | None = None) -> TrainedModel:
    """Load a checkpoint file saved by `save`."""
    limits = limits or Limits.from_env()
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise CheckpointError(f"cannot read {str(path)!r}: {e.strerror or e}; check the path") from e
    if size > limits.max_upload_bytes:
        raise CheckpointError(f"{path.name} is {size:,} bytes, over the limit of {limits.max_upload_bytes:,}; "
                              "use a smaller checkpoint (or raise DLCORE_MAX_UPLOAD_BYTES)")
    return from_bytes(path.read_bytes(), device, expect_dataset, limits)
