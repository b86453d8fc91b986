"""Models as a session sees them: the shipped defaults, download files, uploads, and the code view."""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from pathlib import Path

import gradio as gr

from dlcore import checkpoint
from dlcore.codegen import to_pytorch_code
from dlcore.defaults import load_default
from dlcore.errors import ConfigError
from dlcore.records import TrainedModel
from dlcore.session import describe_model

from . import settings
from .settings import DOWNLOAD_DIR, DOWNLOAD_TTL


@functools.cache
def default_model(name: str) -> TrainedModel:
    """The shipped default model, loaded once per process and only read (eval mode, no_grad)."""
    return load_default(name)


def default_label(name: str) -> str:
    """The built-in model described with its recorded held-out metric."""
    tm = default_model(name)
    m = tm.meta.get("metrics", {})
    if name == "digits":
        return f"the built-in default {tm.cfg.model.upper()} (held-out accuracy {m.get('test_accuracy', float('nan')):.3f})"
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
    cutoff = time.time() - DOWNLOAD_TTL
    for folder in DOWNLOAD_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def download_file(name: str) -> Path:
    """A fresh path named `name` in this process's download folder (old files pruned), for a file a handler returns."""
    _prune_downloads()
    return Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR)) / name


def save_for_download(tm: TrainedModel, stem: str) -> str:
    """Write the model as .safetensors into this process's download folder; returns the path for gr.DownloadButton."""
    _prune_downloads()
    folder = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR))
    return str(checkpoint.save(tm, folder / f"{stem}.safetensors"))


def download_update(state: dict | None):
    """The Download button for the tab's current model (disabled while there is none), named after its dataset."""
    tm = (state or {}).get("model")
    if tm is None:
        return gr.update(value=None, interactive=False)
    return gr.update(value=save_for_download(tm, tm.cfg.dataset), interactive=True)


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
