"""A sweep's search space, parsed and checked before anything trains: grids and random draws over RunConfig fields.

`--grid "lr=1e-4,1e-3,1e-2"` is a grid over one field; `hidden=100;100,25` separates its values with `;` because a
value holds commas; `lr=loguniform(1e-4,1e-1)` (also `uniform(a,b)`, `randint(a,b)`) is a random draw, one per
sample. `SweepSpec.check` refuses a bad space with one message naming it (an unknown field, an empty list, a value the
trainer would refuse, more trials than the server allows), before any trial starts. No Ray here: the engine that
runs a spec is `dlcore.sweep`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from dataclasses import dataclass

from .config import RunConfig, parse_hidden
from .errors import ConfigError
from .limits import Limits

FIXED_ONLY = ("dataset", "device", "time_budget")  # one task and one device per sweep; the budget is the server's
SWEEPABLE = tuple(f.name for f in dataclasses.fields(RunConfig) if f.name not in FIXED_ONLY)
DRAWS = ("loguniform", "uniform", "randint")
SCHEDULERS = ("fifo", "asha")
MINIMISE = ("loss", "rmse", "mae")  # metrics where lower is better; accuracy and r2 are maximised
_DRAW = re.compile(r"^(\w+)\((.*)\)$")


def _kind(name: str) -> type:
    """The Python type of a RunConfig field, read from its default."""
    return type(getattr(RunConfig(), name))


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError


def parse_value(name: str, text: str):
    """One grid value typed as its field: numbers, true/false, a hidden-layers spec, or a name."""
    kind = _kind(name)
    if kind is tuple:
        return parse_hidden(text)
    if kind is bool:
        return _bool(text)
    if kind is int:
        number = float(text)
        if number != int(number):
            raise ValueError
        return int(number)
    return kind(text)


def show_value(value) -> str:
    """A setting as a user types it: 0.001 -> "0.001", (100, 25) -> "100,25"."""
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).lower() if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Axis:
    """One swept field: grid `values`, or a random `draw` ("loguniform", "uniform", "randint") between low and high."""

    name: str
    values: tuple = ()
    draw: str = ""
    low: float = 0.0
    high: float = 0.0

    def __str__(self) -> str:
        if self.draw:
            return f"{self.name}={self.draw}({self.low:g},{self.high:g})"
        sep = ";" if _kind(self.name) is tuple else ","
        return f"{self.name}={sep.join(show_value(v) for v in self.values)}"

    @property
    def ends(self) -> tuple:
        """The values checked before the sweep: every grid value, or both ends of a draw."""
        if not self.draw:
            return self.values
        return (int(self.low), int(self.high)) if self.draw == "randint" else (self.low, self.high)

    def domain(self):
        """The axis as a Ray Tune search-space entry."""
        from ray import tune

        if not self.draw:
            return tune.grid_search([list(v) if isinstance(v, tuple) else v for v in self.values])
        if self.draw == "randint":
            return tune.randint(int(self.low), int(self.high) + 1)  # both ends included, as the user wrote them
        return getattr(tune, self.draw)(self.low, self.high)


def parse_axis(text: str, label: str = "--grid") -> Axis:
    """`field=v1,v2,...` (`;` between values that hold commas, as hidden's do) or `field=draw(low,high)`; `label`
    names where the text came from in errors (the CLI flag, or the app's grid box)."""
    shown = f'{label} "{text}"'
    name, eq, rest = text.partition("=")
    name = name.strip().replace("-", "_")
    if not eq or not name:
        raise ConfigError(f'{shown}: write a field, "=", then its values, e.g. {label} "lr=1e-4,1e-3,1e-2"')
    if name in FIXED_ONLY:
        raise ConfigError(f"{shown}: {name} cannot be swept (one per sweep); set it with --{name.replace('_', '-')}")
    if name not in SWEEPABLE:
        raise ConfigError(f"{shown}: unknown field {name!r}; sweepable fields are {', '.join(SWEEPABLE)}")
    rest = rest.strip()
    if not rest:
        raise ConfigError(f'{shown}: no values for {name}; list them, e.g. {label} "{name}=..."')
    draw = _DRAW.match(rest)
    if draw:
        return _parse_draw(shown, name, draw.group(1), draw.group(2))
    parts = [p.strip() for p in rest.split(";" if ";" in rest or _kind(name) is tuple else ",")]
    values = []
    for i, part in enumerate(parts, start=1):
        if not part:
            raise ConfigError(f"{shown}: empty value at position {i}; separate values by "
                              f"{'; (a value holds commas)' if _kind(name) is tuple else 'commas'}")
        try:
            value = parse_value(name, part)
        except ConfigError as e:
            raise ConfigError(f"{shown}: {e}") from None
        except (TypeError, ValueError):
            raise ConfigError(f"{shown}: {part!r} is not a valid {name} ({_kind(name).__name__}); "
                              f"e.g. {show_value(getattr(RunConfig(), name))}") from None
        if value in values:
            raise ConfigError(f"{shown}: {part!r} is listed twice; list each value once")
        values.append(value)
    return Axis(name, tuple(values))


def _parse_draw(shown: str, name: str, draw: str, args: str) -> Axis:
    if draw not in DRAWS:
        raise ConfigError(f"{shown}: unknown draw {draw!r}; use {', '.join(DRAWS)}, e.g. lr=loguniform(1e-4,1e-1)")
    kind = _kind(name)
    if kind not in (int, float) or (draw != "randint") != (kind is float):
        use = "randint" if kind is int else "loguniform or uniform"
        raise ConfigError(f"{shown}: {name} is {'a whole number' if kind is int else 'not a number'}; "
                          + (f"draw it with {use}" if kind in (int, float) else "list its values instead"))
    try:
        low, high = (float(v) for v in args.split(","))
    except ValueError:
        raise ConfigError(f"{shown}: {draw} takes two numbers, low and high, e.g. {draw}(1e-4,1e-1)") from None
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high or (draw == "loguniform" and low <= 0):
        raise ConfigError(f"{shown}: {draw}({low:g},{high:g}) needs low < high" +
                          (", both positive" if draw == "loguniform" else ""))
    if draw == "randint" and (low != int(low) or high != int(high)):
        raise ConfigError(f"{shown}: randint takes whole numbers, e.g. randint(1,5)")
    return Axis(name, draw=draw, low=low, high=high)


METRICS = {"classification": ("test_loss", "test_accuracy", "train_loss", "train_accuracy"),
           "regression": ("test_loss", "test_rmse", "test_mae", "test_r2", "train_loss")}


def default_metric(task: str) -> str:
    """What a sweep ranks trials by unless told: the held-out loss (accuracy ties often; the loss rarely does)."""
    return METRICS[task][0]


def metric_mode(metric: str) -> str:
    """"min" for losses and errors, "max" for accuracy and R²."""
    return "min" if metric.rsplit("_", 1)[-1] in MINIMISE else "max"


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep trains: fixed settings, swept axes (and/or named runs, e.g. a queue), how trials are scheduled."""

    base: RunConfig  # the fixed settings every trial starts from
    axes: tuple[Axis, ...] = ()
    runs: tuple[tuple[str, dict], ...] = ()  # named settings over `base` (a queue), crossed with the axes
    samples: int = 1  # repeats of the grid; each draws its own random values
    scheduler: str = "fifo"  # fifo: train every trial to the end; asha: stop weak trials early
    metric: str = ""  # what trials are ranked by ("" = default_metric); ASHA compares it at its rungs
    max_concurrent: int = 0  # trials at once (0 = as many as the cluster's CPUs allow)
    threads: int = 1  # CPUs (torch threads) per trial
    seed: int = 0  # the random draws' seed (each trial's own training seed is the `seed` setting)
    data: str = ""  # "" = the config's dataset; "seed002" = seed 002's own 3,000 + 3,000 spiral points

    @property
    def rank_by(self) -> str:
        return self.metric or default_metric(self.base.task)

    @property
    def mode(self) -> str:
        return metric_mode(self.rank_by)

    @property
    def count(self) -> int:
        """How many trials the sweep has."""
        grid = math.prod(len(a.values) for a in self.axes if not a.draw)
        return grid * max(1, len(self.runs)) * self.samples

    @property
    def max_epochs(self) -> int:
        return max([self.base.epochs, *(s.get("epochs", 0) for _, s in self.runs),
                    *(int(v) for a in self.axes if a.name == "epochs" for v in a.ends)])

    def settings(self) -> list[dict]:
        """Every trial's settings over `base` (random axes at both ends), for checking before the sweep starts."""
        runs = [s for _, s in self.runs] or [{}]
        axes = [[(a.name, v) for v in a.ends] for a in self.axes]
        return [{**run, **dict(combo)} for run in runs for combo in itertools.product(*axes)]

    def check(self, limits: Limits | None = None, trainable=None) -> SweepSpec:
        """Refuse a sweep that cannot run, with one message, before any trial starts; return the spec.

        `trainable(cfg)` is tried on every combination (default: `RunConfig.validate`); `dlcore.sweep` passes one
        that also builds the model and checks the batch size against the data, as the trainer will.
        """
        lim = limits or Limits.from_env()
        names = [a.name for a in self.axes]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"{twice[0]} is swept twice; give one --grid per field")
        if not isinstance(self.samples, int) or self.samples < 1:
            raise ConfigError(f"--samples {self.samples} must be at least 1")
        if self.samples > 1 and not any(a.draw for a in self.axes):
            raise ConfigError(f"--samples {self.samples} would repeat identical trials: nothing is drawn at random; "
                              'add a draw such as --grid "lr=loguniform(1e-4,1e-1)", or sweep seeds with --grid "seed=0,1,2"')
        if self.scheduler not in SCHEDULERS:
            raise ConfigError(f"--scheduler {self.scheduler!r} is unknown; choose from {list(SCHEDULERS)}")
        if self.rank_by not in METRICS[self.base.task]:
            raise ConfigError(f"--metric {self.rank_by!r} is not reported for {self.base.task}; choose from "
                              f"{list(METRICS[self.base.task])}")
        if self.max_concurrent < 0 or self.threads < 1:
            raise ConfigError("--max-concurrent must be 0 (as many as the CPUs allow) or more, and threads at least 1")
        if self.count > lim.max_trials:
            raise ConfigError(f"{self.count} trials ({self.describe()}) is over the limit of {lim.max_trials}; sweep "
                              "fewer values (or raise DLCORE_MAX_TRIALS)")
        check = trainable or (lambda cfg: cfg.validate(lim))
        for settings in self.settings():
            try:
                check(self.base.replace(**settings))
            except ConfigError as e:
                where = " ".join(f"{k}={show_value(v)}" for k, v in settings.items()) or "the fixed settings"
                raise ConfigError(f"trial {where}: {e}") from None
        return self

    def describe(self) -> str:
        """The space in words: "3 lr x 3 activation x 2 hidden", with runs and samples."""
        parts = [f"{len(a.values)} {a.name}" for a in self.axes if not a.draw]
        parts += [f"{a.name} drawn {a.draw}" for a in self.axes if a.draw]
        if self.runs:
            parts.insert(0, f"{len(self.runs)} runs")
        return " x ".join(parts or ["1 setting"]) + (f", {self.samples} samples" if self.samples > 1 else "")


def spec_from_runs(runs: list[tuple[str, RunConfig]], axes: tuple[Axis, ...] = (), **options) -> SweepSpec:
    """A sweep over named configs (a queue), each stored as what it changes over the first one; `options` are
    SweepSpec's (scheduler, max_concurrent, ...)."""
    if not runs:
        raise ConfigError("nothing to sweep: the queue is empty; add settings or a grid first")
    base = runs[0][1]
    fields = [f.name for f in dataclasses.fields(RunConfig)]
    named = tuple((name, {k: getattr(cfg, k) for k in fields if getattr(cfg, k) != getattr(base, k)})
                  for name, cfg in runs)
    return SweepSpec(base, axes, runs=named, **options)


def expand(base: RunConfig, axes: tuple[Axis, ...]) -> list[tuple[str, RunConfig]]:
    """A grid's settings as named configs (e.g. to queue them), in grid order; draws are refused (sweep them)."""
    drawn = [str(a) for a in axes if a.draw]
    if drawn:
        raise ConfigError(f"{drawn[0]} is a random draw; a queue takes listed values (sweep draws with the CLI)")
    combos = itertools.product(*[[(a.name, v) for v in a.values] for a in axes])
    return [(" ".join(f"{k}={show_value(v)}" for k, v in combo), base.replace(**dict(combo))) for combo in combos]


def parse_grid(text: str, label: str = "grid line") -> tuple[Axis, ...]:
    """Several axes, one per line, as the app's grid box holds them."""
    axes = tuple(parse_axis(line.strip(), label) for line in (text or "").splitlines() if line.strip())
    names = [a.name for a in axes]
    twice = [n for n in names if names.count(n) > 1]
    if twice:
        raise ConfigError(f"{twice[0]} is on two grid lines; give each field one line")
    return axes


def spec_from_dict(d: dict) -> SweepSpec:
    """A spec stored as JSON (sweep.json beside the results) back as a SweepSpec."""
    d = dict(d)
    d["base"] = RunConfig.from_dict(d["base"])
    d["axes"] = tuple(Axis(a["name"], tuple(tuple(v) if isinstance(v, list) else v for v in a.get("values", ())),
                           a.get("draw", ""), a.get("low", 0.0), a.get("high", 0.0)) for a in d.get("axes", ()))
    d["runs"] = tuple((n, s) for n, s in d.get("runs", ()))
    return SweepSpec(**d)
