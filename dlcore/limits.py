"""The server-side caps, each settable by an environment variable (SECURITY.md lists them)."""

from __future__ import annotations

import dataclasses
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

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
    max_rows: int = 200_000  # rows of an uploaded table (CSV)
    max_columns: int = 200  # columns of an uploaded table
    max_categories: int = 50  # distinct values of a text column one-hot encoded (and classes of a table's target)
    max_trials: int = 64  # trials in one sweep (grid size x samples)

    @classmethod
    def from_env(cls) -> Limits:
        """The default limits, each overridable by DLCORE_MAX_<FIELD> (e.g. DLCORE_MAX_EPOCHS=100000)."""
        kwargs = {}
        for f in dataclasses.fields(cls):
            value = env_number(f"DLCORE_MAX_{f.name.removeprefix('max_').upper()}", f.default)
            kwargs[f.name] = type(f.default)(value)
        return cls(**kwargs)


def read_regular_file(path: str | os.PathLike, limit: int, what: str, error: type[ConfigError] = ConfigError,
                      fix: str = "use a smaller file") -> bytes:
    """The bytes of a regular file of at most `limit` bytes, read with a bounded read; anything else (a folder, a FIFO,
    a device such as /dev/zero, a file too large or unreadable) is refused with `error`, naming the path."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except OSError as e:
        raise error(f"cannot read the {what} {shown!r}: {e.strerror or e}; check the path") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, FIFO or socket)"
            raise error(f"the {what} {shown!r} is {kind}; give the path of a file")
        if info.st_size > limit:
            raise error(f"the {what} {Path(path).name} is {info.st_size:,} bytes, over the limit of {limit:,}; {fix}")
        with os.fdopen(os.dup(fd), "rb") as f:
            blob = f.read(limit + 1)  # bounded: a file that grows, or claims size 0 (/proc), cannot exceed the limit
    except OSError as e:
        raise error(f"cannot read the {what} {shown!r}: {e.strerror or e}; give the path of a regular file") from e
    finally:
        os.close(fd)
    if len(blob) > limit:
        raise error(f"the {what} {Path(path).name} is over the limit of {limit:,} bytes; {fix}")
    return blob
