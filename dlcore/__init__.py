"""dlcore: the shared PyTorch core of the neural-network playground (data, models, optimizers, training)."""

from .config import RunConfig, parse_hidden
from .errors import CheckpointError, ConfigError, DataError, DlcoreError, InputError
from .limits import Limits
from .records import Progress, TrainedModel
from .train import Trainer, available_devices, resolve_device, train

__all__ = ["CheckpointError", "ConfigError", "DataError", "DlcoreError", "InputError", "Limits", "Progress",
           "RunConfig", "TrainedModel", "Trainer", "available_devices", "parse_hidden", "resolve_device", "train"]
__version__ = "0.1.0"
