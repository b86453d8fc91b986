"""The server's settings, read once from the environment (SECURITY.md lists the limits and their variables)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dlcore.limits import Limits, env_number
from dlcore.train import available_devices

LIMITS = Limits.from_env()
UPDATES_PER_SECOND = env_number("DLCORE_UI_UPDATES_PER_SECOND", 8.0)  # live UI refresh rate while training
BOUNDARY_EVERY = 0.5  # seconds between decision-boundary redraws
TRAIN_CONCURRENCY = int(env_number("DLCORE_TRAIN_CONCURRENCY", 2))  # training jobs at once, all users together
PREDICT_CONCURRENCY = int(env_number("DLCORE_PREDICT_CONCURRENCY", 8))
QUEUE_SIZE = int(env_number("DLCORE_QUEUE_SIZE", 64))
# Threads per torch op. Several jobs share the process, and torch's thread pools collapse when oversubscribed (a
# 512x512 matmul ran 6x slower on 2 threads than on 1 with one other busy core here), so split the cores between the
# training slots unless DLCORE_TORCH_THREADS says otherwise.
TORCH_THREADS = int(os.environ.get("DLCORE_TORCH_THREADS", "0") or 0) or max(1, (os.cpu_count() or 1) // TRAIN_CONCURRENCY)
DEVICE_CHOICES = ["auto", *available_devices()]
# Trials one user's sweep runs at once (the Seed lab's compare panel): half the cores, so one class member cannot
# take them all; the sweep itself is one job of the shared training slots (TRAIN_CONCURRENCY).
SWEEP_TRIALS_PER_USER = int(env_number("DLCORE_SWEEP_TRIALS_PER_USER", max(1, (os.cpu_count() or 1) // 2)))
OFFLINE = os.environ.get("DLCORE_OFFLINE", "") in ("1", "true", "True")
DOWNLOAD_DIR = Path(tempfile.mkdtemp(prefix="dlcore-models-"))
DOWNLOAD_TTL = 3600.0  # seconds a model file stays in DOWNLOAD_DIR (gradio serves its own copy from its cache)


def remove_download_dir() -> None:
    """Delete this process's download folder (at exit)."""
    shutil.rmtree(DOWNLOAD_DIR, ignore_errors=True)
