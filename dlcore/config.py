"""One flat, frozen run configuration, the server-side limits, and the validation of user input.

Every entry point (CLI, Gradio handlers, API, checkpoints) builds a `RunConfig`; validation lives here so a
value that bypasses a slider (the API does) gets the same clear error as one typed in a box.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass

from . import augment as augmentations  # the registries a config is checked against
from . import models, optim
from .errors import ConfigError
from .limits import Limits

__all__ = ["DATASETS", "TASKS", "ConfigError", "Limits", "RunConfig", "parse_hidden"]


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (JSON allows one)
        return False


def parse_hidden(text: str | list | tuple, limits: Limits | None = None) -> tuple[int, ...]:
    """Parse a hidden-layers spec such as "100,25" (or a list) into a tuple of positive sizes."""
    limits = limits or Limits.from_env()
    if isinstance(text, (list, tuple)):
        parts = [str(p) for p in text]
        shown = ",".join(parts)
    else:
        shown = "" if text is None else str(text)
        stripped = shown.strip().strip("[]()")
        if stripped == "":
            return ()
        parts = [p.strip() for p in stripped.replace(";", ",").split(",")]
    sizes = []
    for i, part in enumerate(parts, start=1):
        if part == "":
            raise ConfigError(f'hidden layers "{shown}": empty size at position {i}; use e.g. "100,25"')
        try:
            size = int(part)
        except ValueError:
            raise ConfigError(
                f'hidden layers "{shown}": {part!r} at position {i} is not a whole number; use e.g. "100,25"'
            ) from None
        if size <= 0:
            raise ConfigError(f'hidden layers "{shown}": size {size} at position {i} must be at least 1; use e.g. "100,25"')
        if size > limits.max_layer:
            raise ConfigError(
                f'hidden layers "{shown}": size {size} at position {i} is over the limit of {limits.max_layer} units; '
                f"use a smaller layer (or raise DLCORE_MAX_LAYER)"
            )
        sizes.append(size)
    if len(sizes) > limits.max_layers:
        raise ConfigError(
            f'hidden layers "{shown}": {len(sizes)} layers is over the limit of {limits.max_layers}; use fewer layers'
        )
    return tuple(sizes)


DATASETS = ("spiral", "boston", "mnist", "fashion")
TASKS = {"spiral": "classification", "boston": "regression", "mnist": "classification", "fashion": "classification"}
DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse"}


LEGACY_FIELDS = {"extra"}  # fields older checkpoints carry that no longer mean anything; ignored when read


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; JSON-serialisable, stored in every checkpoint."""

    # data
    dataset: str = "spiral"  # one of DATASETS
    classes: int = 3  # spiral: number of arms/classes
    points: int = 1000  # spiral: points per class
    noise: float = 0.2  # spiral: std of the angle noise (radians)
    train_fraction: float = 0.8  # spiral: share of points used for training, the rest held out
    drop_b: bool = False  # boston: train without the B column (see the data README)
    mnist_source: str = "auto"  # mnist: "auto" (download, else embedded), "download" or "embedded"
    # model
    model: str = "mlp"  # linear | mlp | ffn | cnn
    hidden: tuple[int, ...] = (100,)  # mlp hidden sizes, input to output
    activation: str = "relu"  # between layers only, never after the output
    dropout: float = 0.0  # mlp: dropout after each hidden activation (ffn uses the seed's 0.2)
    batch_norm: bool = False  # mlp: BatchNorm1d before each hidden activation
    augment: str = "none"  # images: training-time augmentation of each batch (dlcore.augment), e.g. "digits"
    # optimisation
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.0  # sgd / rmsprop
    nesterov: bool = False  # sgd
    weight_decay: float = 0.0  # the optimizer's own decay (decoupled for adamw)
    scheduler: str = "none"  # none | step (x0.9 per epoch, seed 001) | cosine
    loss: str = ""  # "" = the task's default (cross_entropy or mse)
    l1: float = 0.0  # weight of sum|w| added to the loss
    l2: float = 0.0  # weight of sum w^2 added to the loss (seed 001's L = L1 + lambda*L2)
    epochs: int = 100
    batch_size: int = 0  # 0 = full batch
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | mps
    time_budget: float = 0.0  # seconds; 0 = the server limit only

    @property
    def task(self) -> str:
        return TASKS[self.dataset]

    @property
    def loss_name(self) -> str:
        return self.loss or DEFAULT_LOSS[self.task]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k not in LEGACY_FIELDS}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown config fields {unknown}; known fields are {sorted(known)}")
        d = dict(d)
        if "hidden" in d:
            d["hidden"] = tuple(d["hidden"])
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def _images_only(self) -> None:
        """Image models and augmentations on image data only."""
        if self.dataset in ("mnist", "fashion"):
            return
        if self.model in models.IMAGE_MODELS:
            raise ConfigError(f"model {self.model!r} is for 28x28 images; use 'linear' or 'mlp' for {self.dataset}")
        if self.augment != "none":
            raise ConfigError(f"augment {self.augment!r} is for 28x28 images; use 'none' for {self.dataset}")

    def validate(self, limits: Limits | None = None) -> RunConfig:
        """Check every field against its range and the server limits; raise ConfigError naming the fix."""
        lim = limits or Limits.from_env()

        def choice(name: str, value: str, options) -> None:
            if not isinstance(value, str) or value not in options:  # a list would be unhashable in a dict registry
                raise ConfigError(f"{name} {value!r} is unknown; choose from {sorted(options)}")

        def number(name: str, value, lo: float, hi: float, fix: str, *, lo_open: bool = False) -> None:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
                raise ConfigError(f"{name} {value!r} is not a finite number; {fix}")
            if (value <= lo if lo_open else value < lo) or value > hi:
                raise ConfigError(f"{name} {value!r} is out of range; {fix}")

        def whole(name: str, value, lo: int, hi: int, fix: str) -> None:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} {value!r} is not a whole number; {fix}")
            if value < lo or value > hi:
                raise ConfigError(f"{name} {value} is out of range; {fix}")

        choice("dataset", self.dataset, DATASETS)
        choice("model", self.model, models.ARCHITECTURES)
        choice("activation", self.activation, models.ACTIVATIONS)
        choice("optimizer", self.optimizer, optim.OPTIMIZERS)
        choice("scheduler", self.scheduler, optim.SCHEDULERS)
        choice(f"loss for {self.task}", self.loss_name, optim.LOSSES[self.task])
        choice("mnist source", self.mnist_source, ("auto", "download", "embedded"))
        choice("device", self.device, ("auto", "cpu", "cuda", "mps"))
        choice("augment", self.augment, augmentations.AUGMENTATIONS)
        self._images_only()
        whole("classes", self.classes, 2, lim.max_classes, f"use 2 to {lim.max_classes} classes")
        whole("points per class", self.points, 10, lim.max_points, f"use 10 to {lim.max_points} points per class")
        number("noise", self.noise, 0.0, 2.0, "use a noise between 0 and 2 (the seed uses 0.2)")
        number("train fraction", self.train_fraction, 0.05, 0.95, "use a train fraction between 0.05 and 0.95")
        number("learning rate", self.lr, 0.0, 1e6, "use a positive value such as 1e-3", lo_open=True)
        number("momentum", self.momentum, 0.0, 0.999, "use a momentum between 0 and 0.999 (0.9 is common)")
        number("weight decay", self.weight_decay, 0.0, 1.0, "use a weight decay between 0 and 1 (e.g. 1e-5)")
        number("dropout", self.dropout, 0.0, 0.9, "use a dropout between 0 and 0.9")
        number("L1 penalty", self.l1, 0.0, 10.0, "use an L1 weight between 0 and 10 (e.g. 1e-4)")
        number("L2 penalty", self.l2, 0.0, 10.0, "use an L2 weight between 0 and 10 (e.g. 1e-4)")
        whole("epochs", self.epochs, 1, lim.max_epochs, f"use 1 to {lim.max_epochs} epochs (or raise DLCORE_MAX_EPOCHS)")
        whole("batch size", self.batch_size, 0, 1_000_000, "use 0 for full batch or a positive batch size such as 64")
        whole("seed", self.seed, 0, 2**31 - 1, "use a seed between 0 and 2147483647")
        number("time budget", self.time_budget, 0.0, 1e9, "use 0 (no budget) or a number of seconds")
        if not isinstance(self.hidden, (tuple, list)) or not all(type(h) is int for h in self.hidden):
            raise ConfigError(f"hidden layers {self.hidden!r} must be a list of whole numbers; use e.g. (100, 25)")
        parse_hidden(list(self.hidden), lim)
        if self.model == "mlp" and not self.hidden:
            raise ConfigError('hidden layers are empty; give at least one size such as "100,25", or choose the linear model')
        return self
