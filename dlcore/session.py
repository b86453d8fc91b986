"""A training run as the playground sees it: rate-limited updates for a live UI, and which model a tab keeps.

Free of Gradio, so the policy is tested without a browser. A tab's per-user state is a plain dict (the app keeps it
in `gr.State`): `{"model": TrainedModel, "history": [Progress, ...]}`, plus `"run": LiveRun` while a run is live or
has just been stopped.

Which model a run leaves in the tab:
- finished, or ended by the job's time limit: the new model replaces the previous one;
- diverged: never (the previous model stays; the trainer has restored its own last good weights anyway);
- stopped by the user (Stop, or the browser tab closed) after at least one full epoch: the weights trained so far
  replace the previous model (the trainer stops between steps and evaluates them on the full splits);
- stopped before one full epoch finished, or failed with an error: the previous model stays.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from typing import TypeVar

from .config import RunConfig
from .data import Data, load_data
from .errors import ConfigError
from .limits import Limits
from .plots import curve_points, thin
from .records import Progress, TrainedModel
from .train import Trainer

log = logging.getLogger(__name__)
T = TypeVar("T")
TRAIN_NICE = int(os.environ.get("DLCORE_TRAIN_NICE", "10"))  # how much lower a training thread's CPU priority is
LIVE_RECORDS_PER_EPOCH = 20  # progress records per epoch for long epochs (each is cheap: a few scalars)
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
    if cfg.dataset == "csv" or cfg.folds:  # a table is cached by its file's version in dlcore.tabular; folds are rare
        return load_data(cfg)
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


def lower_priority(nice: int = TRAIN_NICE) -> None:
    """Lower the calling thread's CPU priority (Linux: a thread has its own nice value), so that on a busy machine
    the server's event loop and the prediction handlers get the cores before training does. Elsewhere, a no-op."""
    if nice <= 0 or not hasattr(os, "setpriority") or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError as e:  # e.g. a sandbox that forbids it: training still runs, at the server's priority
        log.warning("could not lower the training thread's CPU priority: %s", e)


class _Handoff:
    """One slot between a worker thread and the UI generator: the UI says when it is ready for an update."""

    def __init__(self):
        self.cond = threading.Condition()
        self.ready = False
        self.items: deque = deque()

    def put(self, item) -> None:
        with self.cond:
            self.items.append(item)
            self.ready = False
            self.cond.notify_all()

    def take(self, timeout: float | None = None):
        """The next item; `_TICK` when `timeout` seconds pass without one."""
        with self.cond:
            self.ready = True
            if not self.cond.wait_for(lambda: bool(self.items), timeout):
                return _TICK
            return self.items.popleft()


_END = object()  # the worker has nothing more to hand over
_TICK = object()  # no update within the consumer's tick


class Job:
    """A worker thread feeding a generator handler: training runs, reproductions, sweeps.

    `work(job)` runs on the thread at training priority. Between two steps it checks `job.stopping()`, and hands an
    update over with `job.put(item)`, best when `job.ready` says the consumer waits for one (so rendering happens
    only then, off the consumer's path). `stream()` yields the items, re-raises an exception of `work`, and yields
    `tick_item` every `tick` seconds without an update (a clock for long silent steps). Closing the stream (Stop, a
    closed tab, the garbage collector) stops the work before its next step.
    """

    def __init__(self, work: Callable[[Job], object], name: str, tick: float | None = None, tick_item=None):
        self.work, self.name, self.tick, self.tick_item = work, name, tick, tick_item
        self.result = None  # what `work` returned
        self.stop_reason = ""  # "user" (Stop, a closed tab) or "error"
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._handoff = _Handoff()

    @property
    def ready(self) -> bool:
        """The consumer is waiting for an update."""
        return self._handoff.ready

    def put(self, item) -> None:
        self._handoff.put(item)

    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, reason: str = "user") -> None:
        """Ask the work to stop before its next step."""
        if not self.stop_reason:
            self.stop_reason = reason
        self._stop.set()

    def _run(self) -> None:
        lower_priority()
        try:
            self.result = self.work(self)
        except Exception as e:  # handed to the consumer, which raises it there
            self.stop_reason = self.stop_reason or "error"
            self._handoff.put(e)
        finally:
            self.ended.set()
            self._handoff.put(_END)

    def stream(self) -> Iterator:
        thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        thread.start()
        try:
            while True:
                item = self._handoff.take(self.tick)
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield self.tick_item if item is _TICK else item
        except GeneratorExit:  # closed by its consumer (Stop, a closed tab, garbage collection)
            self.stop("user")
            raise
        finally:
            self._stop.set()  # whatever ended the stream, the work ends before its next step


class LiveRun:
    """One training run of one tab: a training thread, its curves so far, and the tab state it updates at the end.

    Registers itself as `state["run"]` (in place, so a Stop handler holding the same dict finds it). `stream()`
    trains in a background thread and yields rendered UI updates; the thread keeps training while the UI (Gradio's
    serialisation, the browser) consumes an update, so a live UI costs the trainer little. Used as a context manager
    around a generator handler's `yield from run.stream(...)`: when the generator is closed (Stop, a closed tab), the
    trainer stops before its next step and the stop policy is applied to the state in place by the thread.
    """

    def __init__(self, cfg: RunConfig, state: dict | None, limits: Limits, data: Data | None = None):
        budget = min(cfg.time_budget or limits.max_seconds, limits.max_seconds)
        self.cfg = cfg.replace(time_budget=budget)
        self.state = state if state is not None else {}
        self.trainer: Trainer | None = Trainer(self.cfg, data if data is not None else cached_data(self.cfg), limits)
        self.device = self.trainer.device
        self.data = self.trainer.data
        self.curves: dict[tuple[str, str], list[tuple[float, float]]] = {}  # (panel, series) -> [(epoch, value)]
        self.last: Progress | None = None  # the latest record
        self.last_epoch: Progress | None = None  # the latest end-of-epoch record (it carries the test metrics)
        self.kept_previous = False  # after the run: whether the tab kept its previous model
        self.result = ""  # what happened to the tab's model, once the run has ended
        self.ended = threading.Event()
        self._job: Job | None = None
        self._stop_reason = ""  # "user" (Stop, a closed tab) or "error"
        self.state["run"] = self

    def stream(self, render: Callable[[Progress, bool], T], interval: float = 0.125, boundary_interval: float = 0.5,
               clock: Callable[[], float] = time.perf_counter) -> Iterator[T]:
        """Train in a background thread; yield `render(record, redraw_boundary)` for the UI.

        Every record goes into the curves. An update is rendered (on the training thread, between steps, so the
        model is never read mid-step) only when the consumer is ready for one and at least `interval` seconds have
        passed since the last, and always for the last record, after the tab's state has been settled.
        `redraw_boundary` is True at most once per `boundary_interval` seconds, and for the last record.
        """
        self._job = Job(lambda job: self._produce(job, render, interval, boundary_interval, clock),
                        name=f"train-{self.cfg.dataset}")
        if self._stop_reason:  # stopped before it started
            self._job.stop(self._stop_reason)
        yield from self._job.stream()

    def _produce(self, job: Job, render, interval, boundary_interval, clock) -> None:
        last_ui = last_boundary = -math.inf
        try:
            steps = math.ceil(len(self.data.x_train) / self.trainer.batch_size)
            # ~20 records an epoch once epochs have many steps, so a slow epoch (a CNN on a CPU) still moves the curves
            report_every = max(1, steps // LIVE_RECORDS_PER_EPOCH) if steps >= LIVE_RECORDS_PER_EPOCH else None
            for rec in self.trainer.run(should_stop=job.stopping, report_every=report_every):
                self.last = rec
                if not rec.done:
                    for panel, series, epoch, value in curve_points(rec, self.cfg.task):
                        self.curves.setdefault((panel, series), []).append((epoch, value))
                    if rec.test_loss is not None:
                        self.last_epoch = rec
                    now = clock()
                    if job.ready and now - last_ui >= interval:
                        redraw = now - last_boundary >= boundary_interval
                        last_ui, last_boundary = now, (now if redraw else last_boundary)
                        job.put(render(rec, redraw))
                    continue
                self._stop_reason = job.stop_reason
                self._settle(rec)
                if self._stop_reason != "user":  # nobody is listening after a Stop
                    job.put(render(rec, True))
        except Exception:
            self._stop_reason = job.stop_reason or "error"
            self.result = "The run failed; the previous model is kept."
            raise
        finally:
            self.trainer = None  # the optimizer and device copies of the data go with it
            if self._stop_reason != "user" and self.state.get("run") is self:
                self.state.pop("run")  # nothing to report to a Stop handler
            self.ended.set()

    def _settle(self, rec: Progress) -> None:
        """The last record is in: decide, in place, which model the tab keeps (see the module docstring)."""
        usable = all(v is not None and math.isfinite(v) for v in (rec.train_loss, rec.test_loss))
        stopped_late = rec.status == "stopped" and self._stop_reason == "user" and self.last_epoch is not None
        adopt = usable and (rec.status in ("finished", "time_limit") or stopped_late)
        had = self.state.get("model") is not None
        if adopt:
            tm = self.trainer.trained()
            tm.model.eval()
            self.state["model"], self.state["history"] = tm, self.history()
        self.kept_previous = had and not adopt
        at = f"epoch {rec.epoch:g}/{self.cfg.epochs}"
        if rec.status == "stopped" and adopt:
            m = rec.metrics
            shown = ", ".join(f"{k.replace('_', ' ')} {m[k]:.3f}" for k in ("test_accuracy", "test_rmse") if k in m)
            self.result = f"Stopped at {at}. The weights trained so far are now this tab's model ({shown})."
        elif rec.status == "stopped":
            prev = "the previous model is kept" if had else "there is no model yet"
            why = "before the first epoch finished" if self.last_epoch is None else "with a non-finite loss"
            self.result = f"Stopped at {at}, {why}: {prev}."
        else:
            self.result = "replaced" if adopt else "kept"
        if self._stop_reason != "user":
            self.state.pop("run", None)

    def history(self) -> list[Progress]:
        """The run's end-of-epoch records (and the final one), thinned to a few hundred to keep the session small."""
        records = [r for r in self.trainer.history if r.test_loss is not None]
        final = [r for r in records[-1:] if r.done]
        return thin(records[:len(records) - len(final)]) + final

    def stop(self, reason: str = "user") -> None:
        """Ask the training thread to stop before its next step (it settles the state, then sets `ended`)."""
        if not self._stop_reason:
            self._stop_reason = reason
        if self._job is not None:
            self._job.stop(reason)

    def __enter__(self) -> LiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # A generator handler closed at a yield (Stop, a closed browser tab) sees GeneratorExit here. Never wait for
        # the thread: Gradio closes generators on its event loop.
        if exc_type is not None:
            self.stop("user" if issubclass(exc_type, GeneratorExit) else "error")


def stopped_run(state: dict | None, timeout: float = STOP_WAIT) -> LiveRun | None:
    """For the Stop handler: the tab's cancelled run once it has closed (waiting up to `timeout` s), or None.

    None when no run is live (it had not started, or it had already finished): nothing to report.
    """
    run = (state or {}).get("run")
    if run is None:
        return None
    run.stop("user")  # the cancel may not have reached the generator yet: stop the thread directly
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
