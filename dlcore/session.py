"""A training run as the playground sees it: rate-limited updates for a live UI, and which model a tab keeps.

Free of Gradio, so the policy is tested without a browser. A tab's per-user state is a plain dict (the app keeps it
in `gr.State`): `{"model": TrainedModel, "history": [Progress, ...]}`, plus `"run": LiveRun` while a run is live or
has just been stopped.

Which model a run leaves in the tab:
- finished, or ended by the job's time limit: the new model replaces the previous one;
- diverged: never (the previous model stays; the trainer has restored its own last good weights anyway);
- stopped by the user (Stop, or the browser tab closed) after at least one full epoch: the weights trained so far
  replace the previous model, reported with the metrics of the last finished epoch;
- stopped before one full epoch finished, or failed with an error: the previous model stays.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from .config import ConfigError, Limits, RunConfig
from .data import Data, load_data
from .plots import curve_points, thin
from .train import Progress, TrainedModel, Trainer

STOP_WAIT = 15.0  # seconds the Stop handler waits for the cancelled run to close (one report interval is plenty)


def parse_number(field: str, value, *, whole: bool = False, example: str = "") -> float | int:
    """A widget or API value as a number, or a ConfigError naming the field and what to enter."""
    hint = f" such as {example}" if example else ""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"{field} is empty; enter a number{hint}")
    if isinstance(value, bool):  # True would silently read as 1
        raise ConfigError(f"{field} {value!r} is not a number; enter a number{hint}")
    try:
        v = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{field} {value!r} is not a number; enter a number{hint}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{field} {value!r} is not a finite number; enter a number{hint}")
    if whole:
        if v != int(v):
            raise ConfigError(f"{field} {v:g} is not a whole number; enter a whole number{hint}")
        return int(v)
    return v


def parse_lr(value) -> float:
    """The learning-rate box (a choice such as "1e-3" or free text) as a positive number."""
    lr = parse_number("learning rate", value, example="1e-3 (pick one from the list or type your own)")
    if lr <= 0:
        raise ConfigError(f"learning rate {lr:g} must be positive; use e.g. 1e-3")
    return lr


_DATA_CACHE: OrderedDict = OrderedDict()
_DATA_LOCK = threading.Lock()
DATA_CACHE_SIZE = 6  # datasets kept per process; a spiral is ~100 kB, full MNIST ~200 MB


def cached_data(cfg: RunConfig) -> Data:
    """The run's dataset, loaded once per process; every run gets a shallow copy over the same read-only tensors."""
    key = (cfg.dataset, cfg.classes, cfg.points, cfg.noise, cfg.train_fraction, cfg.seed, cfg.drop_b, cfg.mnist_source)
    if cfg.dataset in ("mnist", "fashion"):
        key = (cfg.dataset, cfg.mnist_source)  # images do not depend on the spiral/boston fields
    with _DATA_LOCK:
        if key in _DATA_CACHE:
            _DATA_CACHE.move_to_end(key)
            return copy.copy(_DATA_CACHE[key])
    data = load_data(cfg)
    with _DATA_LOCK:
        _DATA_CACHE[key] = data
        while len(_DATA_CACHE) > DATA_CACHE_SIZE:
            _DATA_CACHE.popitem(last=False)
    return copy.copy(data)


def status_line(rec: Progress, device) -> str:
    """One line for the status box: epoch, losses, the task's metrics, throughput, device, time."""
    m = rec.metrics
    parts = [f"epoch {rec.epoch:g}/{rec.epochs}", f"train loss {rec.train_loss:.4f}"]
    if rec.test_loss is not None:
        parts.append(f"test loss {rec.test_loss:.4f}")
    for key, label in (("train_accuracy", "train acc"), ("test_accuracy", "test acc"), ("test_rmse", "test RMSE"),
                       ("test_mae", "test MAE"), ("test_r2", "test R²")):
        if key in m:
            parts.append(f"{label} {m[key]:.3f}")
    parts += [f"{rec.samples_per_second:,.0f} samples/s", str(device), f"{rec.elapsed:.1f} s"]
    return " · ".join(parts)


def _epoch_metrics(rec: Progress) -> dict:
    return dict(rec.metrics, train_loss=rec.train_loss, test_loss=rec.test_loss)


class LiveRun:
    """One training run of one tab: the trainer, its curves so far, and the tab state it may update.

    Registers itself as `state["run"]` (in place, so a Stop handler holding the same dict finds it). `updates()`
    trains and yields at a bounded rate; `finish()` updates the tab's state after the last record. Used as a context
    manager around a generator handler's loop: when the generator is closed at a yield (a cancel), the stop policy is
    applied to the state in place.
    """

    def __init__(self, cfg: RunConfig, state: dict | None, limits: Limits, data: Data | None = None):
        budget = min(cfg.time_budget or limits.max_seconds, limits.max_seconds)
        self.cfg = cfg.replace(time_budget=budget)
        self.state = state if state is not None else {}
        self.trainer: Trainer | None = Trainer(self.cfg, data if data is not None else cached_data(self.cfg), limits)
        self.device = self.trainer.device
        self.curves: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (panel, series) -> [(epoch, value)]
        self.last: Progress | None = None  # the latest record
        self.last_epoch: Progress | None = None  # the latest end-of-epoch record (it carries the test metrics)
        self.result = ""  # what happened to the tab's model, once the run has ended
        self.ended = threading.Event()
        self._finished = False
        self.state["run"] = self

    @property
    def data(self) -> Data:
        return self.trainer.data

    def updates(self, interval: float = 0.125, boundary_interval: float = 0.5,
                clock: Callable[[], float] = time.perf_counter) -> Iterator[tuple[Progress, bool]]:
        """Train; yield (record, redraw_boundary) at most once per `interval` seconds, and always the last record.

        Every record goes into the curves; only the UI refresh is rate-limited, so rendering stays off the training
        path. `redraw_boundary` is True at most once per `boundary_interval` seconds (and on the last record).
        """
        last_ui = last_boundary = -math.inf
        for rec in self.trainer.run():
            self.last = rec
            if not rec.done:
                for panel, series, epoch, value in curve_points(rec, self.cfg.task):
                    self.curves.setdefault((panel, series), []).append((epoch, value))
                if rec.test_loss is not None:
                    self.last_epoch = rec
            now = clock()
            if rec.done or now - last_ui >= interval:
                redraw = rec.done or now - last_boundary >= boundary_interval
                if redraw:
                    last_boundary = now
                last_ui = now
                yield rec, redraw

    def history(self) -> list[Progress]:
        """The run's end-of-epoch records (and the final one), thinned to a few hundred to keep the session small."""
        records = [r for r in self.trainer.history if r.test_loss is not None]
        final = [r for r in records[-1:] if r.done]
        return thin(records[:len(records) - len(final)]) + final

    def finish(self) -> tuple[dict, bool]:
        """After the last record: (the tab's state, updated in place, and whether the previous model was kept).

        In place, so a cancel that lands between this call and the final update being delivered loses nothing.
        """
        rec = self.last
        assert rec is not None and rec.done, "finish() comes after the last record"
        self._finished = True
        kept = self.state.get("model") is not None
        if rec.status in ("finished", "time_limit", "stopped"):
            tm = self.trainer.trained()
            tm.model.eval()
            self.state["model"], self.state["history"] = tm, self.history()
            kept = False
        self.state.pop("run", None)
        self.ended.set()
        return self.state, kept

    def close(self, stopped: bool = False) -> None:
        """End the run. A run `stopped` by the user gets the stop policy applied to the tab's state in place; one that
        ends any other way without finishing (an error) leaves the state alone. Idempotent."""
        if self.ended.is_set():
            return
        try:
            if stopped and not self._finished:
                self._adopt_stopped()
            elif not self._finished:
                self.result = "The run failed; the previous model is kept."
        finally:
            self.trainer = None  # the optimizer, curves and device copies of the data go with it
            self.curves = {}
            if not stopped and self.state.get("run") is self:
                self.state.pop("run")  # nothing to report to a Stop handler
            self.ended.set()

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A generator handler closed at a yield (Stop, a closed browser tab) sees GeneratorExit here.
        self.close(stopped=exc_type is not None and issubclass(exc_type, GeneratorExit))

    def _adopt_stopped(self) -> None:
        epochs = self.cfg.epochs
        at = f"epoch {self.last.epoch:g}/{epochs}" if self.last is not None else "the start"
        if self.last_epoch is None:
            prev = "the previous model is kept" if self.state.get("model") is not None else "there is no model yet"
            self.result = f"Stopped at {at}, before the first epoch finished: {prev}."
            return
        # The generator is closed at a yield, right after a record: the weights are exactly those of self.last.
        tm = self.trainer.trained()
        tm.model.eval()
        tm.meta["metrics"] = _epoch_metrics(self.last_epoch)
        self.state["model"], self.state["history"] = tm, self.history()
        m = self.last_epoch.metrics
        shown = ", ".join(f"{k.replace('_', ' ')} {m[k]:.3f}" for k in ("test_accuracy", "test_rmse") if k in m)
        self.result = (f"Stopped at {at}. The weights trained so far are now this tab's model"
                       f" ({shown or 'test loss ' + format(self.last_epoch.test_loss, '.4f')}"
                       f" after epoch {self.last_epoch.epoch:g}).")


def stopped_run(state: dict | None, timeout: float = STOP_WAIT) -> LiveRun | None:
    """For the Stop handler: the tab's cancelled run once it has closed (waiting up to `timeout` s), or None.

    None when no run is live (it had not started, or it had already finished): nothing to report.
    """
    run = (state or {}).get("run")
    if run is None:
        return None
    run.ended.wait(timeout)
    if run.ended.is_set() and state.get("run") is run:
        state.pop("run", None)
    return run


def describe_model(tm: TrainedModel | None, default_label: str) -> str:
    """Which model answers: the session's own (its settings) or the built-in default."""
    if tm is None:
        return default_label
    c = tm.cfg
    arch = f"{c.model} {','.join(map(str, c.hidden))}, {c.activation}" if c.model == "mlp" else c.model
    if c.model in ("ffn", "cnn"):
        arch += f", {c.activation}"
    return f"your model: {arch}, {c.optimizer} lr {c.lr:g}, {c.dataset}"
