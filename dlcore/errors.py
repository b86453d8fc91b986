"""One error hierarchy for everything dlcore refuses on purpose, with the exit code the command line uses.

A `ConfigError` (and its kinds) is the user's value: the message names the value and the fix, and the CLI exits 2.
A `DataError` is a dataset that cannot be had (no network, a missing package): the CLI exits 1. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class DlcoreError(Exception):
    """Base of every error dlcore raises on purpose; `exit_code` is what `python -m dlcore` exits with."""

    exit_code = 1


class ConfigError(DlcoreError, ValueError):
    """A user-supplied value is out of range; the message names the value and the fix."""

    exit_code = 2


class InputError(ConfigError):
    """A prediction input is unusable (an image, a house's features, a point)."""


class CheckpointError(ConfigError):
    """A file is not a usable dlcore checkpoint; the message says why and what to do."""


class DeviceError(ConfigError):
    """An explicitly requested device is not available here."""


class DataError(DlcoreError, RuntimeError):
    """A dataset cannot be loaded; the message says how to get it."""

    exit_code = 1
