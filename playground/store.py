"""Models as a session sees them: the shipped defaults, download files, uploads, and the code view."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import gradio as gr
from gradio.context import LocalContext
from gradio.processing_utils import save_file_to_cache
from gradio.utils import get_upload_folder

from dlcore import checkpoint
from dlcore.codegen import to_pytorch_code
from dlcore.config import RunConfig
from dlcore.data import io_shape
from dlcore.defaults import load_default
from dlcore.errors import ConfigError
from dlcore.models import estimate_params
from dlcore.records import TrainedModel
from dlcore.session import describe_model

from . import settings
from .settings import DOWNLOAD_DIR, DOWNLOAD_TTL

MB = 1e6


@functools.cache
def default_model(name: str) -> TrainedModel:
    """The shipped default model, loaded once per process and only read (eval mode, no_grad)."""
    return load_default(name)


def default_label(name: str) -> str:
    """The built-in model described with its recorded held-out metric."""
    tm = default_model(name)
    m = tm.meta.get("metrics", {})
    if name == "digits":
        kind = {"cnn_bn": "CNN", "cnn": "LeNet-style CNN", "cnn_patch": "patch CNN"}.get(  # the tab's words
            tm.cfg.model, tm.cfg.model.upper())
        nets = f"{tm.members} nets answering together, " if tm.members > 1 else ""
        return f"the built-in default {kind} ({nets}held-out accuracy {m.get('test_accuracy', float('nan')):.3f})"
    arch = f"MLP {','.join(map(str, tm.cfg.hidden))}" if tm.cfg.model == "mlp" else tm.cfg.model
    spread = m.get("test_rmse_std")
    rmse = f"test RMSE {m.get('test_rmse', float('nan')):.2f}" + (f" ± {spread:.2f} over 10 splits" if spread else "")
    return f"the built-in default model ({arch}; {rmse})"


def session_model(state: dict | None, default: str | None = None) -> TrainedModel | None:
    """The session's own model, else the shipped default `default` (or None)."""
    own = (state or {}).get("model")
    return own if own is not None or default is None else default_model(default)


def which_model(state: dict | None, default: str) -> str:
    """Which model answers, for the notes under a prediction."""
    return describe_model((state or {}).get("model"), default_label(default))


def _prune_downloads() -> None:
    """Delete this process's staging files (a comparison CSV) older than DOWNLOAD_TTL: gradio serves its own copy."""
    cutoff = time.time() - DOWNLOAD_TTL
    for folder in DOWNLOAD_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


CACHE_BYTES = [0]  # what settings.CACHE_DIR held at the last sweep (the admission middleware reads it)


def sweep_cache(age: float) -> int:
    """Delete the files in this process's folder of gradio's files (settings.CACHE_DIR) older than `age` seconds,
    except the download files a tab still offers, and the folders left empty; count what stays (CACHE_BYTES).
    Returns how many files went."""
    cutoff, gone, kept = time.time() - age, 0, 0
    for root, _, names in os.walk(settings.CACHE_DIR, topdown=False):  # a folder after its files
        for name in names:
            path = os.path.join(root, name)
            with contextlib.suppress(OSError):  # gone meanwhile
                info = os.lstat(path)
                if path not in KEEP and info.st_mtime < cutoff:
                    os.unlink(path)
                    gone += 1
                else:
                    kept += info.st_size
        with contextlib.suppress(OSError):  # an emptied folder goes a minute later (gradio may be about to use it)
            if root != str(settings.CACHE_DIR) and not os.listdir(root) and os.lstat(root).st_mtime < time.time() - 60:
                os.rmdir(root)
    CACHE_BYTES[0] = kept
    return gone


async def pruner(every: float = 10.0) -> None:
    """Every `every` seconds, for the server's lifetime: prune the staging folder and sweep gradio's files of this
    process (those older than CACHE_AGE go; the rest are counted for the upload cap)."""
    while True:
        await asyncio.sleep(every)
        await asyncio.to_thread(_prune_downloads)
        await asyncio.to_thread(sweep_cache, settings.CACHE_AGE)


# Each tab's Download button offers one file: its model's checkpoint, written once into gradio's cache (where gradio
# would copy it anyway) and deleted when no tab offers it any more (a newer model, or the session expired). Identical
# models of two sessions are one file, hence the count. Held files are exempt from gradio's age-based clean-up.
_held: Counter[str] = Counter()
_held_lock = threading.Lock()
KEEP: set[str] = set()  # the held files, as the Download buttons' keep_in_cache (see protect)


def protect(button: gr.DownloadButton) -> gr.DownloadButton:
    """Exempt the files this button offers from gradio's delete_cache (the tab frees them itself)."""
    button.keep_in_cache = KEEP
    return button
def download_file(name: str) -> Path:
    """A fresh path named `name` in this process's download folder (old files pruned), for a file a handler returns."""
    _prune_downloads()
    return Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR)) / name


def save_for_download(tm: TrainedModel, stem: str) -> str:
    """Write the model as .safetensors into gradio's cache, where it is served from; returns the path."""
    _prune_downloads()
    folder = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR))
    try:
        return save_file_to_cache(checkpoint.save(tm, folder / f"{stem}.safetensors"), get_upload_folder())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _hold(state: dict, path: str | None) -> None:
    """The tab's Download button now offers `path` (or nothing): count it, and delete a file nobody offers."""
    with _held_lock:
        old = state.pop("download_file", None)
        if path is not None:
            state["download_file"] = path
            _held[path] += 1
            KEEP.add(path)
        if old is not None:
            _held[old] -= 1
            if _held[old] <= 0:
                del _held[old]
                KEEP.discard(old)
                Path(old).unlink(missing_ok=True)


def download_update(state: dict | None):
    """The Download button for the tab's current model (disabled while there is none), named after its dataset."""
    tm = (state or {}).get("model")
    if tm is None:
        if state is not None:
            _hold(state, None)
        return gr.update(value=None, interactive=False)
    path = state.get("download_file")
    if state.get("download_model") is not tm or path is None or not Path(path).exists():
        path = save_for_download(tm, tm.cfg.dataset)
        state["download_model"] = tm
        _hold(state, path)
    return gr.update(value=path, interactive=True)


def forget(state) -> None:
    """A tab's gr.State is deleted (its session expired): stop its live run, free its model and its download file."""
    if not isinstance(state, dict):
        return
    run = state.get("run")
    if run is not None:
        run.stop("user")
    _hold(state, None)
    state.clear()


# ---------------------------------------------------------------- memory for kept models

def model_bytes(tm: TrainedModel | None) -> int:
    """The memory a kept model holds: its parameters and buffers."""
    if tm is None:
        return 0
    return sum(t.numel() * t.element_size() for t in itertools.chain(tm.model.parameters(), tm.model.buffers()))


def config_bytes(cfg: RunConfig) -> int:
    """The memory the model `cfg` describes will hold once kept (float32 parameters)."""
    return 4 * estimate_params(cfg, *io_shape(cfg))


def _sessions() -> tuple[str, list[tuple[str, list]]] | None:
    """(this session's hash, [(session hash, its gr.State values)]) from inside a handler, or None outside a server."""
    blocks, request = LocalContext.blocks.get(None), LocalContext.request.get(None)
    holder = getattr(blocks, "state_holder", None)
    if holder is None or request is None or request.session_hash is None:
        return None
    with holder.lock:
        sessions = list(holder.session_data.items())
    return request.session_hash, [(sid, list(s.state_data.values())) for sid, s in sessions]


def _kept(values: list) -> int:
    return sum(model_bytes(v.get("model")) for v in values if isinstance(v, dict))


def check_room(nbytes: int, state: dict | None, what: str) -> None:
    """Refuse, naming it, a model of `nbytes` that would take this session's or all sessions' kept models over their
    caps (DLCORE_SESSION_MODEL_MB, DLCORE_TOTAL_MODEL_MB). It would replace the tab's current model, if any."""
    found = _sessions()
    if found is None:  # called outside a server (tests, benchmarks): nothing to share
        return
    me, sessions = found
    replaced = model_bytes((state or {}).get("model"))
    mine = sum(_kept(values) for sid, values in sessions if sid == me) - replaced + nbytes
    total = sum(_kept(values) for _, values in sessions) - replaced + nbytes
    size = f"{what} ({nbytes / MB:.3g} MB)"
    if mine > settings.SESSION_MODEL_MB * MB:
        raise ConfigError(f"{size} would bring this session's kept models to {mine / MB:.3g} MB, over the cap of "
                          f"{settings.SESSION_MODEL_MB:g} MB (DLCORE_SESSION_MODEL_MB); use a smaller model")
    if total > settings.TOTAL_MODEL_MB * MB:
        raise ConfigError(f"{size} would bring the models kept for all users to {total / MB:.3g} MB, over the "
                          f"server's cap of {settings.TOTAL_MODEL_MB:g} MB (DLCORE_TOTAL_MODEL_MB); use a smaller "
                          "model, or try again later (idle sessions are freed)")


def describe_config(cfg: RunConfig) -> str:
    """The model a config describes, by name: e.g. 'the spiral MLP 2048,2048 (4,210,691 parameters)'."""
    arch = f"MLP {','.join(map(str, cfg.hidden))}" if cfg.model == "mlp" else cfg.model.upper()
    return f"the {cfg.dataset} {arch} ({estimate_params(cfg, *io_shape(cfg)):,} parameters)"


def restore_upload(path: str | None, datasets: tuple[str, ...]) -> TrainedModel:
    """A user's uploaded checkpoint, refused with a clear reason unless it is an intact dlcore model for this tab."""
    if not path:
        raise ConfigError("no file was uploaded; choose a .safetensors model saved by the playground")
    tm = checkpoint.load(path, limits=settings.LIMITS)
    if tm.cfg.dataset not in datasets:
        raise ConfigError(f"this model was trained on {tm.cfg.dataset!r}; upload it in its own tab, or upload a "
                          f"model for {' or '.join(datasets)}")
    return tm


def code_for(state: dict | None) -> str:
    """'Copy as PyTorch code' for the tab's current model: a standalone script with the same settings."""
    tm = (state or {}).get("model")
    if tm is None:
        return "# Train a model first: its settings become a standalone PyTorch script here."
    return to_pytorch_code(tm.cfg)
