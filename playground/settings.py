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
QUEUE_SIZE = int(env_number("DLCORE_QUEUE_SIZE", 64))  # waiting predictions and other short events, all users
# The Digits tab's reads at each stroke's end skip the queue (its join and result stream cost the live answer 25-40 ms):
# this many at once, all users together; a stroke that finds them busy is answered by the editor's queued picture.
QUICK_CONCURRENCY = int(env_number("DLCORE_QUICK_CONCURRENCY", 2))
# Admission control (playground/admission.py): training has places of its own, which predictions never share.
TRAIN_QUEUE = int(env_number("DLCORE_TRAIN_QUEUE", 8))  # training jobs waiting for a place, all users together
SESSION_TRAININGS = int(env_number("DLCORE_SESSION_TRAININGS", 2))  # one session's training jobs waiting or running
LISTEN_GRACE = env_number("DLCORE_LISTEN_GRACE", 10.0)  # seconds a training job waits for its client to listen
# Bounded state (playground/sessions.py, playground/store.py)
SESSION_TTL = env_number("DLCORE_SESSION_TTL", 3600.0)  # idle seconds after which a session and its models are freed
SESSION_MODEL_MB = env_number("DLCORE_SESSION_MODEL_MB", 64.0)  # kept models of one session (3 tabs x 5 M params)
TOTAL_MODEL_MB = env_number("DLCORE_TOTAL_MODEL_MB", 1024.0)  # kept models of all sessions together
CACHE_AGE = env_number("DLCORE_CACHE_AGE", 1800.0)  # seconds a file in gradio's cache (outputs, uploads) is kept
BLOB_MB = env_number("DLCORE_BLOB_MB", 200.0)  # drawings' image blobs parked in memory, all users together
CACHE_MB = env_number("DLCORE_CACHE_MB", 2000.0)  # gradio's files of this process (CACHE_DIR) before uploads are refused
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
DOWNLOAD_TTL = 60.0  # seconds a file stays in DOWNLOAD_DIR (gradio serves its own copy from its cache)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _private_cache() -> Path:
    """This process's own folder for gradio's files, made GRADIO_TEMP_DIR before any component exists.

    Everything gradio writes for the app (outputs, uploads, cached downloads) lands in one folder that the app sweeps
    by age and removes at exit, including files gradio loses track of (those made for a component a handler updated
    are listed only on that session's copy of it, which its delete_cache never sees). Folders left by processes that
    died (SIGKILL) are removed when the next one starts."""
    base = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")
    base.mkdir(parents=True, exist_ok=True)
    for old in base.glob("dlcore-cache-*-*"):
        pid = old.name.split("-")[2]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"dlcore-cache-{os.getpid()}-", dir=base))
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


CACHE_DIR = _private_cache()


def remove_download_dir() -> None:
    """Delete this process's download folder and its folder of gradio's files (at exit)."""
    shutil.rmtree(DOWNLOAD_DIR, ignore_errors=True)
    shutil.rmtree(CACHE_DIR, ignore_errors=True)
