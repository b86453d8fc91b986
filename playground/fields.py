"""The field tables: every training setting declared once, with its label, widget, help, parser and layout group.

A table is the ordered tuple of a tab's fields. The same table
- builds the tab's widgets (`playground.widgets`), with defaults from the dataset's preset (`dlcore.presets`);
- turns the widgets' values into a validated `RunConfig` (`build_config`);
- names and orders the training endpoint's API parameters (`/train_spiral` takes `classes, points, ...`);
- gives tests and benchmarks their arguments by name (`args(SPIRAL, epochs=50)`).

Adding a field: declare it in FIELDS, put its name in the tables of the tabs that offer it (new fields go at the end,
so positional API clients keep working), and make sure `RunConfig` and the trainer know it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from dlcore.config import RunConfig, parse_hidden
from dlcore.data import FASHION_DIR
from dlcore.errors import ConfigError
from dlcore.features import FEATURES, RAW, parse_features
from dlcore.models import ACTIVATIONS
from dlcore.optim import LOSSES, OPTIMIZERS, SCHEDULERS
from dlcore.planar import PLANAR, parse_points, points_text
from dlcore.presets import preset
from dlcore.session import parse_lr, parse_number

from . import settings
from .settings import DEVICE_CHOICES, OFFLINE

LR_CHOICES = ("1e-5", "3e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2", "3e-2", "0.1", "0.3", "1", "3", "10")


@dataclass(frozen=True)
class Field:
    """One setting: how it is shown, what it accepts, and which config fields it sets."""

    name: str  # the API parameter's name, and the RunConfig field it sets unless `labels` says otherwise
    label: str
    kind: str  # int | float | lr | choice | radio | text | bool | multi (a set of toggles, e.g. input features)
    group: str  # where a tab lays it out: "data", "model" or "training"
    help: str = ""  # the widget's info line
    example: str = ""  # what an error message suggests, e.g. "1000"
    choices: tuple = ()  # choice/radio: the values offered
    labels: dict | None = None  # choice: label shown -> the config fields it sets (Digits' dataset, architecture)
    params: bool = False  # changes the parameter count shown under the architecture
    show: Callable[[object], object] | None = None  # config value -> widget value (default: as is)
    source: str = ""  # the config attribute the default is read from, when not `name` (e.g. loss_name)
    applies: dict | None = None  # config field -> the values for which this field matters; hidden otherwise

    @property
    def decides(self) -> set[str]:
        """The config fields this field's value sets."""
        return set(next(iter(self.labels.values()))) if self.labels else {self.name}
    read: Callable[[object], object] | None = None  # text/multi: widget value -> config value (may raise ConfigError)
    view: bool = False  # a display option (e.g. the network view on or off): an API parameter, not part of the config
    initial: object = None  # a view option's starting value

    def parse(self, value) -> dict:
        """The widget's (or an API caller's) value as config updates; a ConfigError naming the field otherwise."""
        kind = self.kind
        if kind in ("int", "float"):
            return {self.name: parse_number(self.label.lower(), value, whole=kind == "int", example=self.example)}
        if kind == "lr":
            return {self.name: parse_lr(value)}
        if kind == "bool":
            if not isinstance(value, bool):  # "false" is a non-empty string: it must not read as True
                raise ConfigError(f"{self.label.lower()} {value!r} is not true or false; send a boolean")
            return {self.name: value}
        if kind in ("choice", "radio"):
            options = list(self.labels or self.choices)
            if not isinstance(value, str) or value not in options:
                raise ConfigError(f"{self.label.lower()} {value!r} is unknown; choose from {options}")
            return dict(self.labels[value]) if self.labels else {self.name: value}
        if kind in ("text", "multi"):
            # a text box's value as text, unless its reader takes a list (added points sent as a list over the API)
            if kind == "text" and not (self.read and isinstance(value, (list, tuple))):
                value = "" if value is None else str(value)
            return {self.name: self.read(value) if self.read else (tuple(value) if kind == "multi" else value)}
        raise ValueError(f"field {self.name!r} has an unknown kind {kind!r}")

    def default(self, cfg: RunConfig):
        """The widget value that stands for the config's setting of this field."""
        if self.view:
            return self.initial
        if self.labels:
            for label, updates in self.labels.items():
                if all(getattr(cfg, k) == v for k, v in updates.items()):
                    return label
            return next(iter(self.labels))
        value = getattr(cfg, self.source or self.name)
        return self.show(value) if self.show else value


def _lr_text(lr: float) -> str:
    """1e-3 as the learning-rate list shows it ("1e-3"), or as typed."""
    return next((c for c in LR_CHOICES if float(c) == lr), f"{lr:g}")


def _loss(task: str) -> Field:
    return Field("loss", "Loss", "choice", "training", choices=tuple(sorted(LOSSES[task])), source="loss_name")


DIGIT_DATASETS = {"MNIST": {"dataset": "mnist", "mnist_source": "auto"},
                  "MNIST, built-in 5,000 digits": {"dataset": "mnist", "mnist_source": "embedded"}}
if FASHION_DIR.is_dir() or not OFFLINE:  # Fashion-MNIST where it can be had: Debian's package, or a download
    DIGIT_DATASETS["Fashion-MNIST"] = {"dataset": "fashion", "mnist_source": "auto"}
DIGIT_MODELS = {"logistic regression": {"model": "linear"}, "feed-forward net (seed 001)": {"model": "ffn"},
                "CNN": {"model": "cnn_bn"}, "LeNet-style CNN (the tab's CNN before 2026-11)": {"model": "cnn"},
                "patch CNN (fast; Fashion-MNIST's default)": {"model": "cnn_patch"}}

FIELDS: dict[str, Field] = {f.name: f for f in (
    # data
    Field("classes", "Classes", "int", "data", example="3", params=True),
    Field("points", "Points per class", "int", "data", example="1000"),
    Field("noise", "Noise", "float", "data", example="0.2"),
    Field("train_fraction", "Train fraction", "float", "data", example="0.8"),
    Field("seed", "Seed", "int", "data", example="0"),
    Field("drop_b", "Train without B", "bool", "data"),
    # model
    Field("model", "Architecture", "radio", "model", choices=("linear", "mlp"), params=True),
    Field("activation", "Activation", "choice", "model", choices=tuple(sorted(ACTIVATIONS)), params=True,
          # a linear model has no layer between input and output
          applies={"model": ("mlp", "ffn", "cnn", "cnn_bn", "cnn_patch")}),
    Field("hidden", "Hidden layers", "text", "model", help="sizes, input to output", example='"100,25"', params=True,
          show=lambda h: ",".join(map(str, h)), applies={"model": ("mlp",)}),
    Field("dropout", "Dropout", "float", "model", example="0", applies={"model": ("mlp",)}),
    Field("l1", "L1 penalty λ", "float", "model", example="0"),
    Field("l2", "L2 penalty λ", "float", "model", example="0"),
    # training
    Field("optimizer", "Optimizer", "choice", "training", help="gd = hand-written gradient descent",
          choices=tuple(sorted(OPTIMIZERS))),
    Field("lr", "Learning rate", "lr", "training", help="pick or type, e.g. 0.005", choices=LR_CHOICES, show=_lr_text),
    Field("epochs", "Epochs", "int", "training", example="1000"),
    Field("batch_size", "Batch size", "int", "training", help="0 = full batch", example="0 (full batch) or 64"),
    Field("weight_decay", "Weight decay", "float", "training", example="1e-5"),
    Field("momentum", "Momentum", "float", "training", help="sgd and rmsprop; 0.9 is common", example="0.9",
          applies={"optimizer": ("sgd", "rmsprop")}),
    Field("nesterov", "Nesterov momentum", "bool", "training", help="sgd with momentum: the gradient taken a step ahead",
          applies={"optimizer": ("sgd",)}),
    Field("scheduler", "LR schedule", "choice", "training", choices=tuple(sorted(SCHEDULERS))),
    Field("device", "Device", "choice", "training", help=f"auto = {DEVICE_CHOICES[1]} here",
          choices=tuple(DEVICE_CHOICES)),
    Field("patience", "Early stopping patience", "int", "training", example="20",
          help="epochs without a better validation loss (on 15 % of the training split); 0 = off"),
    Field("augment", "Augmentation", "choice", "training", choices=("none", "digits"),
          help="digits: each epoch sees its images tilted, slanted, wobbled, thicker or thinner"),
)}


def table(*names: str, loss: str | None = None, **overrides: dict) -> tuple[Field, ...]:
    """A tab's fields in API order; `loss="classification"` adds that task's loss list; `seed={"label": ...}` etc.
    change a field for this tab only."""
    out = []
    for name in names:
        f = _loss(loss) if name == "loss" else FIELDS[name]
        out.append(dataclasses.replace(f, **overrides.get(name, {})))
    return tuple(out)


PLANAR_LOSSES = tuple(sorted(set(LOSSES["classification"]) | set(LOSSES["regression"])))  # checked against the set's task
PLANAR_FIELDS = (  # the 2-D tab's own fields, after the spiral's original ones
    Field("dataset", "Data set", "choice", "data", choices=tuple(PLANAR), params=True,
          help="spiral, circle, xor, gaussians, moons, checkerboard; plane and gaussian_mix: a value over the plane"),
    Field("features", "Input features", "multi", "model", choices=tuple((label, n) for n, (label, _) in FEATURES.items()),
          params=True, help="what the network sees of a point (x₁, x₂)", read=parse_features,
          show=lambda f: list(f or RAW)),
    Field("added_points", "Added points (x₁, x₂, class)", "text", "data", read=parse_points, show=points_text,
          help="click the picture to add one; they train like the others", example='"0.3, -0.2, 1"'),
    Field("network_view", "Network view", "bool", "view", view=True, initial=True,
          help="draw every unit live (off: the fastest training)"),
    Field("discretize", "Discretised output", "bool", "view", view=True, initial=False,
          help="hard class regions, no shading by confidence"),
    Field("show_test", "Show test points", "bool", "view", view=True, initial=True, help="the held-out rings"),
)

# The API order of each training endpoint is a contract: append new fields at the end.
SPIRAL = tuple(dataclasses.replace(f, choices=PLANAR_LOSSES) if f.name == "loss" else f for f in table(
    "classes", "points", "noise", "train_fraction", "seed", "model", "hidden", "activation", "optimizer", "lr", "loss",
    "epochs", "batch_size", "weight_decay", "l1", "l2", "dropout", "scheduler", "device", "momentum", "patience",
    loss="classification", classes={"help": "spiral only: its number of arms"})) + PLANAR_FIELDS + table("nesterov")
BOSTON = table("model", "hidden", "activation", "optimizer", "lr", "loss", "epochs", "batch_size", "weight_decay", "l1",
               "l2", "dropout", "scheduler", "device", "seed", "drop_b", "momentum", "patience", "nesterov", loss="regression",
               seed={"label": "Seed (sets the split too)"})
DIGITS = (
    Field("dataset", "Dataset", "choice", "data", labels=DIGIT_DATASETS, params=True,
          help="MNIST: the full 60,000 digits if they can be downloaded, else the built-in 5,000 (the status says which)"),
    Field("model", "Architecture", "choice", "model", labels=DIGIT_MODELS, params=True),
    *table("activation", "optimizer", "lr", "loss", "epochs", "batch_size", "weight_decay", "scheduler", "device",
           "seed", "momentum", "patience", "augment", "nesterov", loss="classification", seed={"group": "training"}),
)
# The Tables tab (/train_table): Boston's settings, with a loss for either task, since a table's task follows its target
TABLE_LOSSES = {"auto (MSE, or cross-entropy for classes)": {"loss": ""},
                **{name: {"loss": name} for name in ("mse", "l1", "huber", "cross_entropy", "nll")}}
TABLES = (
    *table("model", "hidden", "activation", "optimizer", "lr"),
    Field("loss", "Loss", "choice", "training", labels=TABLE_LOSSES, help="mse, l1, huber: numbers; the rest: classes"),
    *table("epochs", "batch_size", "weight_decay", "l1", "l2", "dropout", "scheduler", "device", "seed", "momentum",
           "patience", "nesterov", seed={"label": "Seed (sets the split too)", "group": "training"}),
)


def build_config(fields: tuple[Field, ...], values: dict, dataset: str, validate: bool = True) -> RunConfig:
    """The run's config from a tab's values (by field name): the dataset's preset, then each field's value.

    Every field must be present: an API caller who sends too few values gets an error naming the missing ones.
    """
    missing = [f.name for f in fields if f.name not in values]
    if missing:
        raise ConfigError(f"missing values for {missing}; send all {len(fields)} values: {[f.name for f in fields]}")
    updates: dict = {}
    for f in fields:
        parsed = f.parse(values[f.name])  # a view option is checked too, but is not part of the config
        if not f.view:
            updates.update(parsed)
    base = preset(updates.get("dataset", dataset))
    hidden = updates.pop("hidden", None)
    model = updates.get("model", base.model)
    if model != "mlp":  # the hidden-layer text applies to the MLP only
        updates["hidden"] = ()
    elif hidden is not None:
        updates["hidden"] = parse_hidden(hidden, settings.LIMITS)
        if not updates["hidden"]:
            raise ConfigError('hidden layers are empty; give at least one size such as "100,25", or choose the '
                              "linear model")
    cfg = base.replace(**updates)
    return cfg.validate(settings.LIMITS) if validate else cfg


def applies(field: Field, fields: tuple[Field, ...], values: dict, dataset: str) -> bool:
    """Whether `field` matters for the tab's `values` (e.g. hidden layers only for the MLP); a value that does not
    parse leaves it shown, for its own error to name."""
    if not field.applies:
        return True
    base = preset(dataset)
    settings: dict = {}
    for f in fields:
        if f.decides & field.applies.keys() and f.name in values:
            try:
                settings.update(f.parse(values[f.name]))
            except ConfigError:
                return True
    return all(settings.get(k, getattr(base, k)) in allowed for k, allowed in field.applies.items())


def widget_values(fields: tuple[Field, ...], before: RunConfig | None, after: RunConfig) -> dict:
    """The widget values that stand for `after`: those that differ from `before`'s (all of them without one)."""
    return {f.name: f.default(after) for f in fields if before is None or f.default(after) != f.default(before)}
def view_options(fields: tuple[Field, ...], values: dict) -> dict:
    """A tab's display options (fields with view=True) from its values, checked."""
    return {f.name: f.parse(values[f.name])[f.name] for f in fields if f.view}


def defaults(fields: tuple[Field, ...], dataset: str) -> dict:
    """Each field's starting widget value, from the dataset's preset."""
    cfg = preset(dataset)
    return {f.name: f.default(cfg) for f in fields}


def args(fields: tuple[Field, ...], dataset: str, /, **changes) -> dict:
    """A tab's values by name: the defaults with `changes` (unknown names are an error), e.g. for tests."""
    values = defaults(fields, dataset)
    unknown = sorted(set(changes) - set(values))
    if unknown:
        raise KeyError(f"no fields {unknown}; this tab has {list(values)}")
    return {**values, **changes}
