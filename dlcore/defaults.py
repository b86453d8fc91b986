"""Embedded default models, so the Digits and Boston tabs predict before anyone trains.

The weights are made by `python scripts/train_defaults.py`, which records each one's held-out metrics in its
checkpoint metadata (`meta["metrics"]`) and in `dlcore/weights/README.md`.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from .checkpoint import from_bytes
from .records import TrainedModel

DEFAULTS = {"digits": "digits_default.safetensors", "boston": "boston_default.safetensors"}


@cache
def _blob(name: str) -> bytes:
    return resources.files("dlcore").joinpath("weights", DEFAULTS[name]).read_bytes()


def load_default(name: str) -> TrainedModel:
    """A fresh copy of the shipped default model "digits" or "boston" (on the CPU, in eval mode)."""
    if name not in DEFAULTS:
        raise KeyError(f"no default model {name!r}; choose from {sorted(DEFAULTS)}")
    return from_bytes(_blob(name))
