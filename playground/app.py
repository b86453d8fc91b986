"""The whole app: the tabs in order, the queue, and the launch settings (no outside calls at start)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import threading

import gradio as gr
from starlette.middleware import Middleware

from . import admission, sessions, settings, store
from .assets import CSS, digit_hold_head
from .settings import DEVICE_CHOICES, DOWNLOAD_DIR, remove_download_dir
from .tabs import about, digits, seedlab, spiral, tables
from .training import warm_up
from .widgets import quiet_choice_refusals

atexit.register(remove_download_dir)  # and this process's folder of gradio's files (settings.CACHE_DIR)


def build_demo() -> gr.Blocks:
    """The app. Event names given with api_name are a contract for API clients (see the README)."""
    quiet_choice_refusals()
    # gradio deletes the files it made (outputs, uploads) once they are CACHE_AGE seconds old, and all of them at exit
    with gr.Blocks(title="Neural Network Playground",
                   delete_cache=(min(60, int(settings.CACHE_AGE)), int(settings.CACHE_AGE))) as demo:
        gr.Markdown("# 🧠 Neural Network Playground\nPick a model, train it live, then ask it questions. "
                    f"Training runs on **{DEVICE_CHOICES[1].upper()}**; see *About* for what each control does.")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab in sight on a phone, not behind a "..." menu
            tabs = {"spiral": spiral.build(demo), "tables": tables.build(demo), "digits": digits.build(demo)}
            seedlab.build(demo, tabs["spiral"])
            about.build(demo)
        # The admission gate (playground/admission.py) caps training and the other events separately, so gradio's
        # single max_size is off; api_open=False: no queued event runs outside the queue through /gradio_api/run/<name>
        # (the events that skip it are small, or bounded on their own: the Digits tab's stroke reads, QUICK_CONCURRENCY).
        demo.queue(max_size=None, default_concurrency_limit=settings.PREDICT_CONCURRENCY, api_open=False)
        admission.install(demo)
    demo.tabs = tabs  # the training tabs' widgets and specs, for tests
    return demo


def lifespan(demo: gr.Blocks):
    """The server's background work while it runs: the admission sweep, session expiry, download clean-up."""
    @contextlib.asynccontextmanager
    async def run(app):
        holder = sessions.install(app)
        tasks = [asyncio.create_task(admission.sweeper(demo.gate)),
                 asyncio.create_task(sessions.expirer(holder, settings.SESSION_TTL, demo.gate.busy_sessions,
                                                      every=min(5.0, settings.SESSION_TTL))),
                 asyncio.create_task(store.pruner())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return run


def _close_on_signals(demo: gr.Blocks) -> None:
    """SIGTERM (a Space stopping, `kill`) and SIGINT (Ctrl-C) close the app as demo.close() does: the queue stops,
    open streams and heartbeats end, the server shuts down and the exit clean-up runs (files deleted). By default
    SIGTERM killed the process at once, leaving its files, and Ctrl-C left the heartbeats open, so the server's
    shutdown outlasted gradio's 5 s wait. A second signal interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        return

    def close(signum, frame):
        if not demo.is_running:  # the second signal: stop waiting
            raise KeyboardInterrupt
        demo.close(verbose=False)

    signal.signal(signal.SIGTERM, close)
    signal.signal(signal.SIGINT, close)


def launch(demo: gr.Blocks, **kwargs):
    """Serve the app: torch's threads split between the training slots, the page's style, the upload cap, the
    admission middleware and the background clean-up."""
    import torch

    torch.set_num_threads(settings.TORCH_THREADS)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app_kwargs = {"middleware": [Middleware(admission.ListenerMiddleware, gate=demo.gate)],
                  "lifespan": lifespan(demo)}
    # the first run's one-time costs (torch._dynamo's import, the first step), paid in the background while the
    # server starts, not by the first user
    if os.environ.get("DLCORE_WARM_UP", "1") != "0":  # 0: off (bench/bench_first_update.py compares)
        threading.Thread(target=warm_up, args=(spiral.SPEC,), name="warm-up", daemon=True).start()
    options = {"ssr_mode": False, "css": CSS, "head": digit_hold_head(), "show_error": True,
               "max_file_size": settings.LIMITS.max_upload_bytes,
               "allowed_paths": [str(DOWNLOAD_DIR)], "app_kwargs": app_kwargs, **kwargs}
    if not options.get("prevent_thread_lock"):
        _close_on_signals(demo)
    return demo.launch(**options)
