"""The whole app: the tabs in order, the queue, and the launch settings (no outside calls at start)."""

from __future__ import annotations

import atexit
import os

import gradio as gr

from . import settings
from .assets import CSS
from .settings import DEVICE_CHOICES, DOWNLOAD_DIR, remove_download_dir
from .tabs import about, digits, seedlab, spiral, tables

atexit.register(remove_download_dir)


def build_demo() -> gr.Blocks:
    """The app. Event names given with api_name are a contract for API clients (see the README)."""
    with gr.Blocks(title="Neural Network Playground") as demo:
        gr.Markdown("# 🧠 Neural Network Playground\nPick a model, train it live, then ask it questions. "
                    f"Training runs on **{DEVICE_CHOICES[1].upper()}**; see *About* for what each control does.")
        with gr.Tabs():
            tabs = {"spiral": spiral.build(demo), "tables": tables.build(demo), "digits": digits.build(demo)}
            seedlab.build(demo, tabs["spiral"])
            about.build(demo)
        demo.queue(max_size=settings.QUEUE_SIZE, default_concurrency_limit=settings.PREDICT_CONCURRENCY)
    demo.tabs = tabs  # the training tabs' widgets and specs, for tests
    return demo


def launch(demo: gr.Blocks, **kwargs):
    """Serve the app: torch's threads split between the training slots, the page's style, the upload cap."""
    import torch

    torch.set_num_threads(settings.TORCH_THREADS)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    options = {"ssr_mode": False, "css": CSS, "max_file_size": settings.LIMITS.max_upload_bytes, "show_error": True,
               "allowed_paths": [str(DOWNLOAD_DIR)], **kwargs}
    return demo.launch(**options)
