"""Shared bits of the benchmarks: machine/version banner, medians, and a JSON result line."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> dict:
    """Where and with what the numbers were taken."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "torch": torch.__version__, "platform": platform.platform(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        info["gradio"] = importlib.metadata.version("gradio")
    except importlib.metadata.PackageNotFoundError:
        pass
    return info


def banner(title: str) -> dict:
    m = machine()
    print(f"== {title}")
    print("   " + ", ".join(f"{k}={v}" for k, v in m.items()))
    return m


def median(xs) -> float:
    return statistics.median(xs)


def emit(result: dict) -> None:
    """The last stdout line: one JSON object with everything measured."""
    print(json.dumps(result, default=float))
