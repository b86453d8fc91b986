"""A training run as the playground sees it: rate-limited updates for a live UI, and which model a tab keeps.

Free of Gradio, so the policy is tested without a browser. A tab's per-user state is a plain dict (the app keeps it
in `gr.State`): `{"model": TrainedModel, "history": [Progress, ...]}`, plus `"run": LiveRun` while a run is live or
has just been stopped.

Which model a run leaves in the tab:
- finished, or ended by the job's time limit: the new model replaces the previous one;
- diverged: never (the previous model stays; the trainer has restored its own last good weights anyway);
- stopped by the user (Stop, or the browser tab closed) after at least one full epoch: the weights trained so far
  replace the previous model (the trainer stops between steps and evaluates them on the full splits);
- stopped before one full epoch finished, or failed with an error: the previous model stays;
- worse than the model the tab already has (its test metric on the same test points, or a regression R² < 0, or a
  classifier no better than always answering its most common class): the previous model stays, and the new one waits
  in `state["candidate"]` until the user keeps either (`keep_candidate`, `drop_candidate`).

Every run that ends with usable weights gets a diagnosis (`dlcore.diagnose`) from its curves. With `resume=True` a run
continues the tab's model (`state["resume"]`: its weights and optimizer state) with its curves and epoch count going on.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import dataclasses
import gc
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
from .data import Data, adds_drawn_digits, held_out_source, load_data
from .diagnose import Diagnosis, diagnose, majority_share
from .errors import ConfigError
from .limits import Limits
from .models import forward_chunked
from .plots import curve_points, thin
from .records import Progress, TrainedModel
from .train import Resume, Trainer, flush_denormals

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


def data_key(cfg: RunConfig) -> tuple:
    """What decides a run's data: two configs with the same key train and test on the same points."""
    if cfg.dataset in ("mnist", "fashion"):  # images do not depend on the spiral/boston fields; MNIST's training
        return (cfg.dataset, cfg.mnist_source, adds_drawn_digits(cfg))  # split has the drawn digits with "digits"
    key = (cfg.dataset, cfg.classes, cfg.points, cfg.noise, cfg.train_fraction, cfg.seed, cfg.drop_b, cfg.mnist_source,
           cfg.features, cfg.added_points)
    if cfg.dataset == "csv":  # a table: which file, which columns, how prepared, which fold
        key += (cfg.csv, cfg.target, cfg.table_task, cfg.missing, cfg.folds, cfg.fold)
    return key


def cached_data(cfg: RunConfig) -> Data:
    """The run's dataset, loaded once per process; every run gets a shallow copy over the same read-only tensors."""
    if cfg.dataset == "csv" or cfg.folds:  # a table is cached by its file's version in dlcore.tabular; folds are rare
        return load_data(cfg)
    key = data_key(cfg)
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


_BASELINES: OrderedDict = OrderedDict()  # data_key -> evaluate.baselines: the same split gives the same baselines


def split_baselines(cfg: RunConfig, data: Data) -> dict:
    """`evaluate.baselines` of the run's split, fitted once per split and process (the logistic regression on
    Fashion-MNIST's 60,000 images takes seconds; every run on the same data would otherwise fit it again)."""
    from . import evaluate  # evaluate builds on the trainer, which builds on this module's neighbours

    if cfg.dataset == "csv" or cfg.folds:  # as cached_data: a table's split is not named by data_key alone
        return evaluate.baselines(data)
    key = data_key(cfg)
    with _DATA_LOCK:
        if key in _BASELINES:
            _BASELINES.move_to_end(key)
            return _BASELINES[key]
    found = evaluate.baselines(data)
    with _DATA_LOCK:
        _BASELINES[key] = found
        while len(_BASELINES) > DATA_CACHE_SIZE:
            _BASELINES.popitem(last=False)
    return found


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


def _malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim(0), or a no-op where there is no glibc."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return lambda _pad: 0


_TRIM = _malloc_trim()


def release_memory() -> None:
    """After a job: collect the reference cycles a run leaves (the trainer's optimizer state sits in some until the
    next full collection) and hand the freed heap pages back to the system (each worker thread allocates from its
    own glibc arena, which keeps them). Without this, 12 one-second runs of a 4 M-parameter model left the server
    1.2 GB larger with nothing alive in it; with it, one kept model's worth."""
    gc.collect()
    _TRIM(0)


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
        flush_denormals()  # first, so the intra-op threads this thread starts inherit it
        try:
            self.result = self.work(self)
        except Exception as e:  # handed to the consumer, which raises it there
            self.stop_reason = self.stop_reason or "error"
            self._handoff.put(e)
        finally:
            release_memory()  # before the end is handed over, so the job's memory is back when its stream ends
            self.ended.set()
            self._handoff.put(_END)

    def run(self):
        """The work on its thread, to the end, its updates dropped: its result (or its exception, raised here)."""
        deque(self.stream(), maxlen=0)
        return self.result

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


ARCHITECTURE = ("model", "hidden", "activation", "batch_norm")  # settings a continued model must keep
WORSE_ACCURACY = 0.005  # a new classifier is worse when it loses more than half a point of test accuracy ...
WORSE_RMSE = 1.02  # ... a new regressor when its test RMSE is more than 2 % higher, on the same test points
STORED_CURVE_POINTS = 1000  # per series, kept in the session so a continued run's curves go on


def lineage_to_continue(state: dict | None) -> dict:
    """What Continue trains further: the latest run's model when it is held back as worse than the tab's (the run
    the user just watched), else the tab's model; a dict with its model, resume point, history, curves, epochs."""
    state = state or {}
    return state.get("candidate") or state


def continue_point(state: dict | None, cfg: RunConfig) -> tuple[Resume, int]:
    """Where Continue picks up (see `lineage_to_continue`): the model's weights (and optimizer state) and its epochs so
    far, or a ConfigError saying why it cannot (no model yet, or settings that change its architecture or data)."""
    state = lineage_to_continue(state)
    tm, resume = state.get("model"), state.get("resume")
    if not isinstance(tm, TrainedModel) or resume is None:
        raise ConfigError("there is no model in this tab to continue; press Train first")
    before = tm.cfg
    changed = [k for k in ARCHITECTURE if getattr(before, k) != getattr(cfg, k)]
    if before.dataset != cfg.dataset or data_key(before) != data_key(cfg):
        changed.append("data")
    if changed:
        said = ", ".join(f"{k} ({_shown(getattr(before, k))} → {_shown(getattr(cfg, k))})" if k != "data"
                         else "the data settings" for k in changed)
        raise ConfigError(f"Continue trains this tab's model further, so its architecture and data must stay as they "
                          f"were; changed: {said}. Set them back, or press Train to start afresh")
    return resume, int(state.get("trained_epochs", 0))


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def resume_of(tm: TrainedModel) -> Resume:
    """A Resume from a model alone (an upload): its weights, no optimizer state."""
    return Resume({k: v.detach().to("cpu").clone() for k, v in tm.model.state_dict().items()},
                  members=tm.members)


def score_on(tm: TrainedModel | None, cfg: RunConfig, data: Data) -> float | None:
    """`tm`'s test accuracy (classification) or RMSE (regression) on `data`'s test split, when `tm` was trained on the
    same data (so its inputs are scaled alike); None when it cannot be compared."""
    if not isinstance(tm, TrainedModel) or tm.cfg.dataset != cfg.dataset:
        return None
    same_images = cfg.dataset in ("mnist", "fashion") and \
        held_out_source(tm.meta.get("data_source") or "") == held_out_source(data.source)
    if data_key(tm.cfg) != data_key(cfg) and not same_images:  # "auto" and "embedded" may be the same 5,000 digits
        return None
    try:
        out = forward_chunked(tm.model, data.x_test.to(tm.device)).to(data.y_test.device)
    except RuntimeError:  # another input size (a model from an older data layout): not comparable
        return None
    if cfg.task == "classification":
        return (out.argmax(1) == data.y_test).float().mean().item()
    return (out - data.y_test).pow(2).mean().sqrt().item()


class LiveRun:
    """One training run of one tab: a training thread, its curves so far, and the tab state it updates at the end.

    Registers itself as `state["run"]` (in place, so a Stop handler holding the same dict finds it). `stream()`
    trains in a background thread and yields rendered UI updates; the thread keeps training while the UI (Gradio's
    serialisation, the browser) consumes an update, so a live UI costs the trainer little. Used as a context manager
    around a generator handler's `yield from run.stream(...)`: when the generator is closed (Stop, a closed tab), the
    trainer stops before its next step and the stop policy is applied to the state in place by the thread.

    `default`: the model the tab answers with when the session has none (a built-in one), compared with like the
    session's own. `resume=True`: continue the tab's model (see `continue_point`); records are numbered on from its
    epochs so far.
    """

    def __init__(self, cfg: RunConfig, state: dict | None, limits: Limits, data: Data | None = None, *,
                 default: TrainedModel | None = None, resume: bool = False):
        budget = min(cfg.time_budget or limits.max_seconds, limits.max_seconds)
        self.cfg = cfg.replace(time_budget=budget)
        self.state = state if state is not None else {}
        self.limits = limits
        point, self.offset = continue_point(self.state, self.cfg) if resume else (None, 0)
        self.resumed = resume
        self.trainer: Trainer | None = Trainer(self.cfg, data if data is not None else cached_data(self.cfg), limits,
                                               resume=point)
        self.device = self.trainer.device
        self.data = self.trainer.data
        self.default = default
        self.earlier = lineage_to_continue(self.state) if resume else {}  # the run a continued one goes on from
        self.curves: dict[tuple[str, str], list[tuple[float, float]]] = \
            {k: list(v) for k, v in self.earlier.get("curves", {}).items()}
        self.last: Progress | None = None  # the latest record
        self.last_epoch: Progress | None = None  # the latest end-of-epoch record (it carries the test metrics)
        self.kept_previous = False  # after the run: whether the tab kept its previous model
        self.result = ""  # what happened to the tab's model, once the run has ended
        self.diagnosis: Diagnosis | None = None  # the run's lesson, once it has ended with usable weights
        self.compared = ""  # "test accuracy 0.51 vs 0.998" when the run was worse than the tab's model
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

    def _numbered(self, rec: Progress) -> Progress:
        """A continued run's record, numbered on from the model's earlier epochs."""
        if not self.offset:
            return rec
        return dataclasses.replace(rec, epoch=round(rec.epoch + self.offset, 4), epochs=rec.epochs + self.offset)

    def _produce(self, job: Job, render, interval, boundary_interval, clock) -> None:
        last_ui = last_boundary = -math.inf
        try:
            steps = math.ceil(len(self.data.x_train) / self.trainer.batch_size)
            # ~20 records an epoch once epochs have many steps, so a slow epoch (a CNN on a CPU) still moves the curves
            report_every = max(1, steps // LIVE_RECORDS_PER_EPOCH) if steps >= LIVE_RECORDS_PER_EPOCH else None
            for raw in self.trainer.run(should_stop=job.stopping, report_every=report_every):
                rec = self.last = self._numbered(raw)
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
        incumbent = self.state.get("model")
        had = incumbent is not None
        history = self.history()
        if usable or rec.status == "diverged":  # read from every epoch's record, not the thinned history
            chance = majority_share(self.data.y_test.cpu()) if self.cfg.task == "classification" else None
            self.diagnosis = diagnose(self.cfg, self.history(thinned=False), rec, chance, self.limits.max_epochs)
        # the latest run's lesson and settings, whichever model the tab keeps: what "Try this" applies to
        self.state["advice"] = {"cfg": self.cfg, "diagnosis": self.diagnosis}
        self.state.pop("candidate", None)  # a new run answers the question an older one asked
        if adopt:
            tm = self.trainer.trained()
            tm.model.eval()
            lineage = {"model": tm, "history": history, "resume": self.trainer.resume_point(),
                       "curves": {k: thin(v, STORED_CURVE_POINTS) for k, v in self.curves.items()},
                       "trained_epochs": math.floor(rec.epoch)}
            if self._worse(incumbent if had else self.default, rec):
                self.state["candidate"] = lineage
                adopt = False
            else:
                self.state.update(lineage)
        self.kept_previous = had and not adopt
        at = f"epoch {rec.epoch:g}/{rec.epochs}"
        if "candidate" in self.state:
            self.result = "candidate"
        elif rec.status == "stopped" and adopt:
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

    def _worse(self, incumbent: TrainedModel | None, rec: Progress) -> bool:
        """Whether the new model is worse than `incumbent` (the tab's model, or its built-in one): compared on the
        same test points when both saw the same data, and always when the new one is worse than the trivial model."""
        if not isinstance(incumbent, TrainedModel):
            return False
        key = "test_accuracy" if self.cfg.task == "classification" else "test_rmse"
        new, old = rec.metrics.get(key), score_on(incumbent, self.cfg, self.data)
        if new is not None and old is not None:
            worse = new < old - WORSE_ACCURACY if key == "test_accuracy" else new > old * WORSE_RMSE
            if worse:
                self.compared = f"{key.replace('_', ' ')} {new:.3g} vs {old:.3g} on the same test points"
                return True
        if self.diagnosis is not None and self.diagnosis.worse_than_baseline:
            self.compared = self.diagnosis.text.split(":", 1)[0].lower()
            return True
        return False

    def history(self, thinned: bool = True) -> list[Progress]:
        """The run's end-of-epoch records (and the final one), thinned to a few hundred to keep the session small; a
        continued run's come after the model's earlier ones."""
        records = [self._numbered(r) for r in self.trainer.history if r.test_loss is not None]
        if records and records[-1].done and self.last is not None and records[-1].epoch == self.last.epoch:
            records[-1] = self.last  # the very record the run reported last
        final = [r for r in records[-1:] if r.done]
        earlier = [r for r in self.earlier.get("history", []) if not r.done]
        records = earlier + records[:len(records) - len(final)]
        return (thin(records) if thinned else records) + final

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


def keep_candidate(state: dict | None) -> bool:
    """The user keeps the newer, worse-scoring run's model: it becomes the tab's model. False if there is none."""
    candidate = (state or {}).pop("candidate", None)
    if candidate is None:
        return False
    state.update(candidate)
    return True


def drop_candidate(state: dict | None) -> bool:
    """The user keeps the tab's model: the newer run's model is dropped. False if there was none."""
    return (state or {}).pop("candidate", None) is not None


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
    if tm.members > 1:
        arch = f"{tm.members} × {arch}"
    return f"your model: {arch}, {c.optimizer} lr {c.lr:g}, {c.dataset}"
