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
from .features import FEATURES
from .limits import Limits
from .planar import PLANAR, planar_classes

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


TASKS = {"spiral": "classification", "boston": "regression", "mnist": "classification", "fashion": "classification",
         **{name: s.task for name, s in PLANAR.items()}}  # the 2-D sets: circle, xor, ..., plane, gaussian_mix
DATASETS = tuple(TASKS)
MAX_ADDED_POINTS = 1000  # points a user may add to a 2-D set by clicking
ADDED_LIM = 2.0  # added points lie within [-2, 2]²; the 2-D sets lie in [-1, 1]²
DATASETS = (*TASKS, "csv")  # csv: your own table, its task from the target (or the user)
TABLE_TASKS = ("auto", "regression", "classification")  # csv: the task follows the target unless the user says
DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse"}


LEGACY_FIELDS = {"extra"}  # fields older checkpoints carry that no longer mean anything; ignored when read


def _flags(cfg, names: tuple[str, ...]) -> None:
    """Booleans only as booleans: "false" (a non-empty string) or 1 from a crafted checkpoint must not read as true."""
    for name in names:
        if not isinstance(getattr(cfg, name), bool):
            raise ConfigError(f"{name.replace('_', ' ')} {getattr(cfg, name)!r} is not true or false; "
                              "use a boolean, true or false")


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
    added_points: tuple[tuple[float, float, float], ...] = ()  # 2-D sets: (x1, x2, class or value) added to training
    mnist_source: str = "auto"  # mnist: "auto" (download, else embedded), "download" or "embedded"
    # model
    features: tuple[str, ...] = ()  # 2-D sets: the input features (dlcore.features); () = the raw x1, x2
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
    # early stopping: a validation part of the training split, never the test split
    patience: int = 0  # epochs without a better validation loss before training stops; 0 = off
    val_fraction: float = 0.15  # share of the training split held out as validation when patience > 0
    # csv: the user's own table (dlcore/tabular.py); the split is train_fraction's, as Boston's 85/15
    csv: str = ""  # the table's path (the CLI's --csv; in the app, the uploaded file)
    target: str = ""  # the column to predict
    features: tuple[str, ...] = ()  # the feature columns; () = every column but the target
    table_task: str = "auto"  # auto (from the target's values) | regression | classification
    missing: str = "drop"  # a row with a missing value: "drop" it, or "fill" it (training median / most frequent)
    # k-fold cross-validation: the data cut into `folds` seeded parts, part `fold` held out (0 = the usual split)
    folds: int = 0
    fold: int = 0

    @property
    def task(self) -> str:
        """classification or regression; a table's is "auto" until its target has been read (tabular.resolve)."""
        return self.table_task if self.dataset == "csv" else TASKS[self.dataset]

    @property
    def loss_name(self) -> str:
        return self.loss or DEFAULT_LOSS.get(self.task, "")

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
        if isinstance(d.get("features"), list):
            d["features"] = tuple(d["features"])
        if isinstance(d.get("added_points"), list):  # JSON has lists; a frozen config is hashable with tuples
            d["added_points"] = tuple(tuple(p) if isinstance(p, list) else p for p in d["added_points"])
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
        _flags(self, ("drop_b", "batch_norm", "nesterov"))
        choice("model", self.model, models.ARCHITECTURES)
        choice("activation", self.activation, models.ACTIVATIONS)
        choice("optimizer", self.optimizer, optim.OPTIMIZERS)
        choice("scheduler", self.scheduler, optim.SCHEDULERS)
        self._validate_loss_and_table(choice)
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
        whole("patience", self.patience, 0, lim.max_epochs, "use 0 (no early stopping) or a number of epochs such as 20")
        number("validation fraction", self.val_fraction, 0.05, 0.5, "use a validation fraction between 0.05 and 0.5")
        if not isinstance(self.hidden, (tuple, list)) or not all(type(h) is int for h in self.hidden):
            raise ConfigError(f"hidden layers {self.hidden!r} must be a list of whole numbers; use e.g. (100, 25)")
        parse_hidden(list(self.hidden), lim)
        if self.model == "mlp" and not self.hidden:
            raise ConfigError('hidden layers are empty; give at least one size such as "100,25", or choose the linear model')
        _check_planar(self)
        return self

    def _validate_loss_and_table(self, choice) -> None:
        choice("task", self.table_task, TABLE_TASKS)
        choice("missing values", self.missing, ("drop", "fill"))
        if self.task in optim.LOSSES:
            choice(f"loss for {self.task}", self.loss_name, optim.LOSSES[self.task])
        elif self.loss:  # a table whose task is still "auto": the loss must suit one of the tasks
            choice("loss", self.loss, sorted(set().union(*optim.LOSSES.values())))
        if self.folds != 0 and (isinstance(self.folds, bool) or not isinstance(self.folds, int) or not 2 <= self.folds <= 100):
            raise ConfigError(f"folds {self.folds!r} is out of range; use 0 (one seeded split) or 2 to 100 folds")
        if isinstance(self.fold, bool) or not isinstance(self.fold, int) or not 0 <= self.fold < max(self.folds, 1):
            raise ConfigError(f"fold {self.fold!r} is out of range; use 0 to {max(self.folds - 1, 0)}")
        for name in ("csv", "target"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} {getattr(self, name)!r} must be text")
        if not isinstance(self.features, (tuple, list)) or not all(isinstance(f, str) for f in self.features):
            raise ConfigError(f"features {self.features!r} must be a list of column names; use e.g. ('age', 'city')")
        if self.dataset == "csv" and not self.target.strip():
            raise ConfigError("the target column is not given; name the column to predict (--target COL)")


def _check_planar(cfg: RunConfig) -> None:
    """The 2-D sets' own settings: known input features, and added points inside the plane with a valid label."""
    planar = cfg.dataset in PLANAR
    if cfg.dataset == "csv":  # a table's features are its columns (checked with the table)
        return
    if not isinstance(cfg.features, (tuple, list)) or not all(isinstance(f, str) for f in cfg.features):
        raise ConfigError(f"input features {cfg.features!r} must be a list of names; choose from {list(FEATURES)}")
    if cfg.features and not planar:
        raise ConfigError(f"input features {list(cfg.features)} apply to the 2-D sets only; leave them out for "
                          f"{cfg.dataset}")
    unknown = [f for f in cfg.features if f not in FEATURES]
    if unknown or len(set(cfg.features)) != len(cfg.features):
        raise ConfigError(f"input features {list(cfg.features)}: {unknown or 'a repeated name'}; choose each at most "
                          f"once from {list(FEATURES)}")
    pts = cfg.added_points
    if not isinstance(pts, (tuple, list)):
        raise ConfigError(f"added points {pts!r} must be a list of (x1, x2, label) triples")
    if pts and not planar:
        raise ConfigError(f"added points apply to the 2-D sets only, not to {cfg.dataset}; leave them out")
    if len(pts) > MAX_ADDED_POINTS:
        raise ConfigError(f"{len(pts)} added points is over the limit of {MAX_ADDED_POINTS}; clear some")
    classes = planar_classes(cfg.dataset, cfg.classes) if planar else 0
    for i, p in enumerate(pts, start=1):
        ok = isinstance(p, (tuple, list)) and len(p) == 3 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and _finite(v) for v in p)
        if not ok or abs(p[0]) > ADDED_LIM or abs(p[1]) > ADDED_LIM:
            raise ConfigError(f"added point {i} {p!r} must be three numbers x1, x2, label with x1 and x2 within "
                              f"[-{ADDED_LIM:g}, {ADDED_LIM:g}]; e.g. (0.3, -0.2, 1)")
        if classes and (p[2] != int(p[2]) or not 0 <= p[2] < classes):
            raise ConfigError(f"added point {i} has class {p[2]:g}; this set has classes 0 to {classes - 1}")
        if not classes and abs(p[2]) > 10:
            raise ConfigError(f"added point {i} has the value {p[2]:g}; use a value between -10 and 10")
