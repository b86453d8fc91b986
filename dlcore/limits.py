"""The server-side caps, each settable by an environment variable (SECURITY.md lists them)."""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from .errors import ConfigError


def env_number(name: str, default: float) -> float:
    """A positive number from the environment variable `name`, or `default` when it is unset or empty."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:  # "inf" or "nan" would crash int(); 0 or less would refuse everything
        raise ConfigError(f"environment variable {name}={raw!r} is not a positive number; unset it or give e.g. {default:g}")
    return value


@dataclass(frozen=True)
class Limits:
    """Caps enforced on the server: defaults suit a free 2-core CPU Space; raise them with DLCORE_MAX_* variables."""

    max_params: int = 5_000_000  # trainable parameters in one model
    max_layer: int = 4096  # units in one hidden layer
    max_layers: int = 16  # hidden layers
    max_epochs: int = 20_000
    max_points: int = 20_000  # spiral points per class
    max_classes: int = 10  # spiral classes
    max_seconds: float = 600.0  # wall-clock budget of one training job
    max_image_pixels: int = 16_000_000  # decoded pixels of an uploaded image
    max_upload_bytes: int = 50_000_000  # checkpoint or image upload
    max_trials: int = 64  # trials in one sweep (grid size x samples)

    @classmethod
    def from_env(cls) -> Limits:
        """The default limits, each overridable by DLCORE_MAX_<FIELD> (e.g. DLCORE_MAX_EPOCHS=100000)."""
        kwargs = {}
        for f in dataclasses.fields(cls):
            value = env_number(f"DLCORE_MAX_{f.name.removeprefix('max_').upper()}", f.default)
            kwargs[f.name] = type(f.default)(value)
        return cls(**kwargs)
