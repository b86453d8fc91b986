"""dlcore: the shared PyTorch core of the neural-network playground (data, models, optimizers, training)."""

from .config import ConfigError, Limits, RunConfig, parse_hidden
from .train import Progress, TrainedModel, Trainer, available_devices, resolve_device, train

__all__ = ["ConfigError", "Limits", "Progress", "RunConfig", "TrainedModel", "Trainer", "available_devices",
           "parse_hidden", "resolve_device", "train"]
__version__ = "0.1.0"
