"""The records every part of dlcore passes around: a progress record and a trained model with its metadata.

Kept apart from the trainer so that prediction, checkpoints, plots and the UI can use them without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .config import RunConfig


@dataclass
class Progress:
    """One progress record; `metrics` holds train_/test_ accuracy, or test_rmse/test_mae/test_r2."""

    epoch: float  # fractional inside an epoch, e.g. 2.5
    epochs: int
    step: int  # optimizer steps so far
    train_loss: float  # mean training loss since the previous record (final record: full-set evaluation)
    test_loss: float | None  # None inside an epoch, where the test set is not evaluated
    metrics: dict = field(default_factory=dict)
    samples_per_second: float = 0.0  # training samples per second of training time (evaluation excluded)
    elapsed: float = 0.0  # wall-clock seconds since the start
    lr: float = 0.0
    done: bool = False
    status: str = "running"  # running | finished | stopped | time_limit | diverged
    message: str = ""
    layers: list[dict] | None = None  # per weighted layer (dlcore.netstats): weight_norm, grad_norm, saturated/dead
    best_epoch: float | None = None  # early stopping: the epoch whose weights the model keeps (final record only)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainedModel:
    """A model with everything needed to use it later: its config and the data's normalisation and names."""

    cfg: RunConfig
    model: nn.Module
    meta: dict  # input_shape, num_outputs, class_names, feature_names, norm, info, data_source, metrics

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def members(self) -> int:
        """How many nets answer together (an ensemble, dlcore.models.Ensemble); 1 for a single net."""
        return int(self.meta.get("members", 1))
