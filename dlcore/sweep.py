"""Sweeps on Ray Tune: many settings of one task trained as trials at once, on this machine's cores or a cluster.

Each trial runs the dlcore `Trainer` and reports its per-epoch records (losses and the task's metrics) to Tune, a few
times a second, with every epoch since the last report; ASHA's rung epochs are always reported exactly. Local by
default: an in-process Ray on this machine's cores, bound to 127.0.0.1, with no dashboard and no usage statistics;
a cluster with `address` (or RAY_ADDRESS). Ray is imported only when a sweep starts.

Warm trial processes for a process's next sweep (local Ray only; the app asks for them, `run(warm_next=True)`). Tune
runs a sweep's trials in actors it starts for that sweep and ends with it, and a fresh Ray worker pays seconds of CPU
before its first epoch (Tune's trainable, torch, and torch._dynamo, which torch imports on a process's first
optimizer): on a 2-core machine, a third of a 12-setting grid's time. So after such a sweep the local Ray asks its
raylet for one idle worker per CPU (Ray's PrestartWorkers call, with Tune's trial runtime environment so that the next
sweep's actors are placed on them, kept alive DLCORE_SWEEP_WARM_S seconds, 600 by default, 0 for none), and every
worker started for this job runs `warm_worker` (Ray's worker set-up hook) as it starts. The call needs `grpcio`;
without it sweeps work as before, only slower to start. A one-off sweep (the CLI's) asks for none: its process ends.

A sweep lives in a folder (`storage/name`): Tune's experiment state, `sweep.json` (the spec), one `trials/<id>.jsonl`
per trial (appended by the trial at each report as it trains, so nothing finished is lost when the driver dies), and
at the end `results.csv` and `curves.csv`. `resume(path)` finishes what a crashed sweep left (finished trials are not
trained again); `load(path)` opens its table and curves later without Ray.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import itertools
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .config import RunConfig
from .errors import ConfigError
from .grid import SweepSpec, show_value, spec_from_dict
from .limits import Limits, env_number

REPORT_EVERY = 1.0  # seconds between a trial's reports to Tune; each carries every epoch record since the last
MAX_FAILURES = 2  # retries of a trial whose worker died (a node lost), from scratch, wherever Ray places it
ASHA_FACTOR = 3  # ASHA keeps the best third at each rung
OBJECT_STORE_MB = env_number("DLCORE_RAY_OBJECT_STORE_MB", 200)  # trials pass no large objects; keep Ray small
WARM_S = env_number("DLCORE_SWEEP_WARM_S", 600)  # how long idle warm trial processes wait for the next sweep; 0: none
# Ray's worker set-up hook, given to the local Ray's processes through the variable Ray itself carries it in (set
# before Ray starts: its raylet, and so every worker, inherits it)
SETUP_HOOK_VAR = "__RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR"
WARM_HOOK = "dlcore.sweep.warm_worker"
NO_JOB = "ffffffff"  # RAY_JOB_ID of the idle workers Ray starts with its node, before any job asks for them
# Set before Ray starts (its processes inherit them): no usage statistics, the plain console reporter (silent at
# verbose=0), no TensorBoard/CSV loggers (the trials write their own records), the experiment state saved every second.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AIR_NEW_OUTPUT": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
           "TUNE_GLOBAL_CHECKPOINT_S": "1", "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}
STATUS_FINISHED, STATUS_EARLY, STATUS_STOPPED, STATUS_ERROR = "finished", "stopped early", "stopped", "error"

log = logging.getLogger(__name__)
_LOCK = threading.Lock()  # Ray start-up and trainable registration (Tune's registry is not thread-safe)
_REGISTERED: dict[int, str] = {}  # threads per trial -> registered trainable name, for the current Ray session
_SESSION: list = [None]  # the Ray session the registrations belong to
_OWNER_EXIT = threading.Event()  # lets the thread that started Ray end once Ray is shut down
_WARM = [0]  # how many warm trial processes the local Ray keeps ready (0: none, or a cluster)
_WARMED: list = [None]  # in a Ray worker: when warm_worker finished (None: not warmed); in each trial's start line
_HOOKS: dict[str, Hooks] = {}  # live sweeps of this process by key: what Tune's callbacks and stopper report to


def default_storage() -> Path:
    """Where sweeps are kept unless told: $DLCORE_SWEEPS, else ~/.cache/dlcore/sweeps."""
    return Path(os.environ.get("DLCORE_SWEEPS") or Path.home() / ".cache" / "dlcore" / "sweeps")


# ---------------------------------------------------------------- Ray


def connect(address: str | None = None, cpus: int | None = None) -> str:
    """Ray for sweeps, once per process: the connection already made, else the cluster at `address` or RAY_ADDRESS,
    else a local Ray with this machine's cores (or `cpus`). Returns where trials run ("local" or the address)."""
    for k, v in RAY_ENV.items():
        os.environ.setdefault(k, v)
    if not (address or os.environ.get("RAY_ADDRESS")):
        # Ray's own switch for single-machine use: every Ray process binds to and dials 127.0.0.1 only (read when ray
        # is imported; _node_ip_address below covers a ray imported earlier)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    with _LOCK:
        if ray.is_initialized():
            return address or os.environ.get("RAY_ADDRESS") or "connected"
        address = address or os.environ.get("RAY_ADDRESS") or ""
        common = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if address:
            _init_from_lasting_thread(address=address, **common)
            return address
        cpus = cpus or os.cpu_count() or 1
        warm = WARM_S > 0
        # Ray's processes inherit these as they start: the hook, and where dlcore is, since a worker imports the
        # hook before Ray gives it the driver's path (without it, an app run from a checkout without `pip install
        # -e .` had every worker die on the hook, and every trial with it)
        hook = {SETUP_HOOK_VAR: WARM_HOOK} if warm and SETUP_HOOK_VAR not in os.environ else {}
        root = str(Path(__file__).resolve().parents[1])
        with _environment(**hook, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)):
            # no idle workers bound to this job at its start: they would have the job's runtime environment, not
            # the one Tune gives its trials, so no trial could use them; warm_pool() starts the right ones, after a
            # sweep that asks for them
            _init_from_lasting_thread(address="local", num_cpus=cpus, _node_ip_address="127.0.0.1",
                                      object_store_memory=int(OBJECT_STORE_MB * 2**20),
                                      _system_config={"prestart_worker_first_driver": not warm}, **common)
        _WARM[0] = cpus if warm else 0
    return "local"


@contextlib.contextmanager
def _environment(**values: str):
    """Set environment variables for the block, then put back what was there."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def warm_pool() -> None:
    """Ask the local Ray for idle trial processes for the next sweep (see the module's docstring); nothing on a
    cluster, when turned off, or without grpcio. Workers already idle are not counted: the extras time out."""
    if not _WARM[0]:
        return
    try:
        import ray
        from ray._private.grpc_utils import init_grpc_channel
        from ray.core.generated import common_pb2, node_manager_pb2, node_manager_pb2_grpc, runtime_environment_pb2

        me = ray.get_runtime_context()
        node = next(n for n in ray.nodes() if n["NodeID"] == me.get_node_id())
        request = node_manager_pb2.PrestartWorkersRequest(
            language=common_pb2.PYTHON, job_id=bytes.fromhex(me.get_job_id()), num_workers=_WARM[0],
            runtime_env_info=runtime_environment_pb2.RuntimeEnvInfo(serialized_runtime_env=_trial_runtime_env()),
            keep_alive_duration_secs=int(WARM_S))
        channel = init_grpc_channel(f"{node['NodeManagerAddress']}:{node['NodeManagerPort']}")
        try:
            node_manager_pb2_grpc.NodeManagerServiceStub(channel).PrestartWorkers(request, timeout=10)
        finally:
            channel.close()
    except Exception as e:  # noqa: BLE001 - only a head start (grpcio missing, Ray's call changed): say so once
        log.info("no warm trial processes for the next sweep (%s: %s); trials start cold", type(e).__name__, e)
        _WARM[0] = 0


def _trial_runtime_env() -> str:
    """The runtime environment Tune gives its trial actors, serialized as Ray matches it against idle workers'
    (Tune's own rule: its default variables and those of its list that are set here)."""
    from ray.runtime_env import RuntimeEnv
    from ray.tune.execution import class_cache

    env = dict(class_cache.DEFAULT_ENV_VARS)
    env.update({k: os.environ[k] for k in class_cache.ENV_VARS_TO_PROPAGATE if k in os.environ})
    return RuntimeEnv(env_vars=env).serialize()


def warm_worker() -> None:
    """Ray's set-up hook for the local Ray's workers: pay a trial's first-use costs as the worker starts, not in its
    first trial. Only in workers started for a job (the warm pool's and Tune's own): the idle ones Ray starts with
    its node stay light. One epoch of the spiral preset imports torch, Tune's trainable and torch._dynamo, in a thread
    at the trials' lowered priority (the app's predictions first; the worker's own threads keep theirs)."""
    if os.environ.get("RAY_JOB_ID", NO_JOB) == NO_JOB:
        return
    worker = threading.Thread(target=_warm_up, name="sweep-warm-up")
    worker.start()
    worker.join()


def _warm_up() -> None:
    try:
        import torch
        from ray.tune.trainable import function_trainable  # noqa: F401

        from .presets import preset
        from .session import cached_data, lower_priority
        from .train import train

        lower_priority()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        cfg = preset("spiral", epochs=1, device="cpu")
        train(cfg, cached_data(cfg))
        torch.set_num_threads(threads)  # a trial sets its own
        _WARMED[0] = time.time()
    except Exception as e:  # noqa: BLE001 - a failure would end the worker: logged, and left to the trial
        log.warning("warming a Ray worker for sweeps failed: %s", e)


def _init_from_lasting_thread(**kwargs) -> None:
    """ray.init from a thread that lives as long as this process. Ray asks Linux to kill its processes (GCS, raylet)
    when their parent dies, and the kernel takes the parent to be the *thread* that started them: a sweep started
    from a job's worker thread would take Ray down when that thread ends (seen here: every Ray process killed by
    SIGKILL the moment the app's first sweep ended)."""
    import ray

    if threading.current_thread() is threading.main_thread():
        ray.init(**kwargs)
        return
    done: list = []
    ready = threading.Event()

    def owner() -> None:
        try:
            ray.init(**kwargs)
        except BaseException as e:  # handed to the caller, which raises it
            done.append(e)
        finally:
            ready.set()
        if not done:
            _OWNER_EXIT.wait()  # until shutdown(): Ray's processes are gone by then

    _OWNER_EXIT.clear()
    threading.Thread(target=owner, name="ray-owner", daemon=True).start()
    ready.wait()
    if done:
        raise done[0]


def shutdown() -> None:
    """Stop this process's Ray (or disconnect from a cluster); the next sweep starts it again."""
    import ray

    with _LOCK:
        ray.shutdown()
        _REGISTERED.clear()
        _WARM[0] = 0
        _OWNER_EXIT.set()


def _trainable(threads: int) -> str:
    """The trial function registered with Tune for `threads` CPUs per trial (once per Ray session, under the lock:
    two sweeps starting at once would otherwise race in Tune's registry)."""
    import ray
    from ray import tune

    with _LOCK:
        session = ray.get_runtime_context().get_job_id()
        if _SESSION[0] != session:
            _REGISTERED.clear()
            _SESSION[0] = session
        if threads not in _REGISTERED:
            name = f"dlcore_trial_{threads}cpu"
            tune.register_trainable(name, tune.with_resources(_trial, {"cpu": threads}))
            _REGISTERED[threads] = name
        return _REGISTERED[threads]


# ---------------------------------------------------------------- a trial (runs in a Ray worker)


def _flat(config: dict) -> dict:
    """A trial's Tune config with an ASHA sweep's grid cell (`_cell`, see `_param_space`) spread back into it."""
    cell = config.get("_cell")
    if not isinstance(cell, dict):
        return config
    return {**cell, **{k: v for k, v in config.items() if k != "_cell"}}


def trial_settings(config: dict) -> dict:
    """The settings a trial changes over the fixed ones: its swept values and its run's (hidden as a tuple)."""
    config = _flat(config)
    settings = dict(config.get("_run", {}).get("settings", {}))
    settings.update({k: v for k, v in config.items() if not k.startswith("_")})
    if "hidden" in settings:
        settings["hidden"] = tuple(settings["hidden"])
    return settings


def trial_name(config: dict) -> str:
    """A run's own name, else its swept values: "lr=0.001 activation=relu hidden=100,25"."""
    config = _flat(config)
    run = config.get("_run", {}).get("name", "")
    swept = " ".join(f"{k}={show_value(v)}" for k, v in config.items() if not k.startswith("_"))
    return " ".join(p for p in (run, swept) if p) or "trial"


def _shown_config(config: dict) -> dict:
    """A trial's Tune config without the fixed entries every trial shares (its run, swept values and grid place)."""
    return {k: v for k, v in _flat(config).items() if k in ("_run", "_i") or not k.startswith("_")}


def _epoch_record(rec) -> dict:
    return {"epoch": rec.epoch, "train_loss": rec.train_loss, "test_loss": rec.test_loss, **rec.metrics,
            "seconds": round(rec.elapsed, 3)}


def trial_data(cfg: RunConfig, kind: str = ""):
    """A trial's data: the config's (cached per worker process), or seed 002's own points (kind "seed002")."""
    if kind == "seed002":
        from .seeds import _seed_spiral_data

        return _seed_spiral_data(cfg.seed)
    from .session import cached_data

    return cached_data(cfg)


def _trial(config: dict) -> None:
    """One trial: train and report every epoch's record to Tune; append them to the trial's own records file."""
    import ray
    import torch
    from ray import tune

    from .session import lower_priority
    from .train import Trainer

    records = TrialFile(Path(config["_records"]) / f"{tune.get_context().get_trial_id()}.jsonl")
    done = records.final()
    if done is not None:  # finished before the driver died: report it again rather than train it again
        tune.report({**done, "replayed": True})
        return
    torch.set_num_threads(config["_threads"])
    lower_priority()
    cfg = RunConfig.from_json(config["_base"]).replace(**trial_settings(config))
    trainer = Trainer(cfg, trial_data(cfg, config["_data"]))
    node = ray.get_runtime_context().get_node_id()
    records.write({"start": time.time(), "node_id": node, "pid": os.getpid(), "warmed": _WARMED[0],
                   "name": trial_name(config), "config": _shown_config(config)})
    rungs, batch, last = set(config["_rungs"]), [], time.monotonic()
    every = config.get("_report_every", REPORT_EVERY)  # the driver's (a sweep restored from an older folder: ours)
    for rec in trainer.run():
        if rec.done:
            final = {**_epoch_record(rec), "final": True, "status": rec.status, "message": rec.message,
                     "seconds": round(rec.elapsed, 3), "params": trainer.params, "node_id": node}
            records.write(*batch, final)
            tune.report({**final, "records": batch})
            return
        if rec.test_loss is None:  # inside an epoch: no test metrics yet
            continue
        batch.append(_epoch_record(rec))
        now = time.monotonic()
        # the last epoch goes out only with the final record: reported alone, ASHA (which stops every trial at its
        # max_t) could end the trial there before the final record is written, and a trial that trained every epoch
        # would read "stopped early" (seen once: the bench's best setting left out of ASHA's ranking)
        if rec.epoch < cfg.epochs and (rec.epoch in rungs or now - last >= every):
            # the file gets the epochs at each report, in one write rather than an open per epoch: it holds every
            # epoch Tune was told of (ASHA stops a trial while it waits in this report); a killed worker loses at
            # most the epochs since the last report, which its retry trains again
            records.write(*batch)
            tune.report({**batch[-1], "records": batch, "node_id": node})
            batch, last = [], now


class TrialFile:
    """A trial's records as JSON lines: a start line per attempt, one line per epoch, a final line."""

    def __init__(self, path: Path):
        self.path = path

    def write(self, *items: dict) -> None:
        """Append `items`, a line each, in one write: a killed process loses at most these lines (a line cut short
        is skipped by `read`)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write("".join(json.dumps(item, allow_nan=True) + "\n" for item in items))

    def read(self) -> tuple[dict, list[dict], dict | None, str]:
        """(the last attempt's start line, its epoch records, its final record or None, an "ended" status or "").

        "ended" is the driver's mark for a trial that ended without a final record; it is written once, when the
        trial has ended for good, so an attempt's start line written late (a stopped trial's) does not clear it."""
        start, epochs, final, ended = {}, [], None, ""
        if not self.path.exists():
            return start, epochs, final, ended
        for line in self.path.read_text().splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a killed process
                continue
            if "start" in item:  # a new attempt (a retry, or a resumed sweep) starts over
                start, epochs, final = item, [], None
            elif "ended" in item:
                ended = item["ended"]
                start = start or item  # stopped before it started: the mark names it
            elif item.get("final"):
                final = item
            else:
                epochs.append(item)
        return start, epochs, final, ended

    def final(self) -> dict | None:
        return self.read()[2]


# ---------------------------------------------------------------- the driver


@dataclass
class Hooks:
    """What one sweep's Tune callbacks report to in this process: `on_update(event)` and `should_stop()`."""

    on_update: Callable[[dict], None] | None = None
    should_stop: Callable[[], bool] | None = None
    records: Path | None = None
    stopped: bool = False  # the user (or the time limit) stopped the sweep
    marked: set = field(default_factory=set)  # trials whose end has been marked in their records file


def _send(key: str, trial, status: str, result: dict | None = None) -> None:
    """A trial event for the sweep `key`: marked in the trial's records file when it ends without a final record,
    and handed to the sweep's `on_update`."""
    hooks = _HOOKS.get(key)
    if hooks is None:  # a sweep restored in another process: nobody to tell
        return
    if status in (STATUS_EARLY, STATUS_STOPPED, STATUS_ERROR):
        hooks.marked.add(trial.trial_id)
    if status in (STATUS_EARLY, STATUS_STOPPED, STATUS_ERROR) and hooks.records is not None:
        # a trial stopped before it wrote anything still gets a row: its name and settings come with the mark
        TrialFile(hooks.records / f"{trial.trial_id}.jsonl").write(
            {"ended": status, "name": trial_name(trial.config), "config": _shown_config(trial.config)})
    if hooks.on_update is not None:
        hooks.on_update({"trial": trial.trial_id, "name": trial_name(trial.config), "status": status,
                         "settings": trial_settings(trial.config), "result": result or {}})


def _stop_requested(key: str) -> bool:
    hooks = _HOOKS.get(key)
    if hooks is not None and hooks.should_stop is not None and hooks.should_stop():
        hooks.stopped = True
    return hooks is not None and hooks.stopped


def _mark_stopped(key: str, trials) -> None:
    """At the end of a stopped sweep: mark the trials Stop ended (Tune calls no on_trial_complete for them)."""
    if not _stop_requested(key):
        return
    marked = _HOOKS[key].marked
    for trial in trials:
        last = trial.last_result or {}
        if trial.status not in ("ERROR", "PENDING") and not last.get("final") and trial.trial_id not in marked:
            _send(key, trial, STATUS_STOPPED, last)


def _tune_callbacks(key: str):
    """Tune's callback and stopper for the sweep `key`, holding only the key (Tune pickles them with the tuner)."""
    from ray import tune

    class Feed(tune.Callback):
        def on_trial_start(self, iteration, trials, trial, **info):
            _send(key, trial, "running")

        def on_trial_result(self, iteration, trials, trial, result, **info):
            _send(key, trial, STATUS_FINISHED if result.get("final") else "running", result)

        def on_trial_complete(self, iteration, trials, trial, **info):
            last = trial.last_result or {}
            if not last.get("final"):
                _send(key, trial, STATUS_STOPPED if _stop_requested(key) else STATUS_EARLY, last)

        def on_trial_recover(self, iteration, trials, trial, **info):
            _send(key, trial, "retrying")

        def on_trial_error(self, iteration, trials, trial, **info):
            _send(key, trial, STATUS_ERROR)

        def on_experiment_end(self, trials, **info):
            _mark_stopped(key, trials)

    class StopAll(tune.Stopper):
        def __call__(self, trial_id, result) -> bool:
            return False

        def stop_all(self) -> bool:
            return _stop_requested(key)

    return Feed(), StopAll()


def asha_rungs(max_t: int, grace: int, factor: int = ASHA_FACTOR) -> list[int]:
    """The epochs at which ASHA compares trials (as Tune's ASHAScheduler computes them)."""
    count = int(math.log(max_t / grace) / math.log(factor) + 1) if max_t > grace else 1
    return [grace * factor**k for k in range(count)]


def asha_grace(spec: SweepSpec) -> int:
    """ASHA's first rung: a 27th of the longest trial, so three rungs fit below it."""
    return max(1, round(spec.max_epochs / ASHA_FACTOR**3))


def _param_space(spec: SweepSpec, records: Path) -> dict:
    from ray import tune

    space = {a.name: a.domain() for a in spec.axes}
    if spec.runs:
        space["_run"] = tune.grid_search([{"name": n, "settings": _jsonable(s)} for n, s in spec.runs])
    rungs = []
    if spec.scheduler == "asha":
        space = _shuffled_grid(space, spec)
        rungs = asha_rungs(spec.max_epochs, asha_grace(spec))
    space.update({"_base": spec.base.to_json(), "_data": spec.data, "_threads": spec.threads, "_rungs": rungs,
                  "_records": str(records), "_report_every": REPORT_EVERY})
    return space


def _shuffled_grid(space: dict, spec: SweepSpec) -> dict:
    """ASHA's space with the grid's cells in a random order (seeded by the spec's seed), as one grid entry, `_cell`.

    Asynchronous ASHA lets the first trials to reach a rung go on (there is little or nothing yet to compare them
    with), so the order a grid is written in decides how much it trains: written with the weakest settings first
    (lr=1e-3,3e-3,1e-2), a 27-setting spiral grid trained 48-52 % of its epochs over nine runs; ASHA's analysis
    assumes configurations arrive in random order. Each cell keeps its place in the grid as written (`_i`), and the
    table is shown in that order."""
    from ray import tune

    grid = [k for k, v in space.items() if isinstance(v, dict) and "grid_search" in v]
    cells = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*(space[k]["grid_search"] for k in grid))]
    if len(cells) < 2:
        return space
    for i, cell in enumerate(cells):
        cell["_i"] = i
    random.Random(spec.seed).shuffle(cells)
    return {**{k: v for k, v in space.items() if k not in grid}, "_cell": tune.grid_search(cells)}


def _jsonable(settings: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}


def buildable(spec: SweepSpec, limits: Limits) -> Callable[[RunConfig], None]:
    """A check that a trial's config trains here: valid, its model within the limits, its batch within the data."""
    from .train import Trainer

    def check(cfg: RunConfig) -> None:
        Trainer(cfg.validate(limits), trial_data(cfg, spec.data), limits)

    return check


def run(spec: SweepSpec, *, storage: str | Path | None = None, name: str = "", address: str | None = None,
        on_update: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
        limits: Limits | None = None, warm_next: bool = False) -> SweepResult:
    """Check the spec (every refusal before any trial starts), then run it on Ray Tune; the table and curves.
    `warm_next`: this process will sweep again (the app), so leave warm trial processes for it (see the module)."""
    limits = limits or Limits.from_env()
    spec = spec.check(limits, buildable(spec, limits))
    path = Path(storage or default_storage()).expanduser().resolve() / (name or _default_name(spec))
    if (path / "sweep.json").exists():
        raise ConfigError(f"sweep folder {path} already exists; resume it with --resume {path}, or choose another --name")
    where = connect(address)
    path.mkdir(parents=True, exist_ok=True)
    meta = {"spec": _spec_json(spec), "address": where, "started": time.time()}
    (path / "sweep.json").write_text(json.dumps(meta, indent=1))
    try:
        _fit(spec, path, on_update, should_stop, restore=False)
    finally:
        if warm_next:
            warm_pool()  # the trials' processes end with the sweep: new ones for the next
    return finish(path)


def resume(path: str | Path, *, address: str | None = None, on_update: Callable[[dict], None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Finish a sweep a crash left unfinished (finished trials are kept, not trained again); then its results."""
    path = Path(path).expanduser().resolve()
    if not (path / "sweep.json").exists():
        raise ConfigError(f"{path} is not a sweep folder (no sweep.json); give the folder a sweep printed as its path")
    spec = spec_from_dict(json.loads((path / "sweep.json").read_text())["spec"])
    trials = load(path).trials
    if len(trials) < spec.count or any(r["status"] not in (STATUS_FINISHED, STATUS_EARLY) for r in trials):
        connect(address)
        _fit(spec, path, on_update, should_stop, restore=True)
    return finish(path)


def _fit(spec: SweepSpec, path: Path, on_update, should_stop, restore: bool) -> None:
    from ray import tune
    from ray.tune.logger import JsonLoggerCallback
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.basic_variant import BasicVariantGenerator

    key = str(path)
    _HOOKS[key] = Hooks(on_update, should_stop, path / "trials")
    try:
        trainable = _trainable(spec.threads)
        if restore:
            if not tune.Tuner.can_restore(str(path)):
                raise ConfigError(f"{path} cannot be resumed: the sweep stopped before Ray Tune saved its state; run "
                                  "it again")
            tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=True)
        else:
            scheduler = None
            if spec.scheduler == "asha":
                scheduler = ASHAScheduler(time_attr="epoch", metric=spec.rank_by, mode=spec.mode,
                                          max_t=spec.max_epochs, grace_period=asha_grace(spec),
                                          reduction_factor=ASHA_FACTOR)
            feed, stopper = _tune_callbacks(key)
            tuner = tune.Tuner(
                trainable, param_space=_param_space(spec, path / "trials"),
                tune_config=tune.TuneConfig(num_samples=spec.samples, scheduler=scheduler, reuse_actors=True,
                                            # the generator's own limit: Tune ignores max_concurrent_trials when
                                            # given a search_alg instance
                                            search_alg=BasicVariantGenerator(random_state=spec.seed,
                                                                             max_concurrent=spec.max_concurrent),
                                            trial_dirname_creator=lambda t: f"trial_{t.trial_id}"),
                run_config=tune.RunConfig(name=path.name, storage_path=str(path.parent), verbose=0,
                                          callbacks=[feed, JsonLoggerCallback()], stop=stopper,
                                          failure_config=tune.FailureConfig(max_failures=MAX_FAILURES)))
        tuner.fit()
    finally:
        hooks = _HOOKS.pop(key)
        if hooks.stopped:
            (path / "stopped").write_text("stopped by the user or the time limit\n")


def _default_name(spec: SweepSpec) -> str:
    return f"sweep-{spec.base.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def _spec_json(spec: SweepSpec) -> dict:
    d = dataclasses.asdict(spec)
    d["base"] = json.loads(spec.base.to_json())
    d["runs"] = [[n, _jsonable(s)] for n, s in spec.runs]
    return d


# ---------------------------------------------------------------- results


@dataclass
class SweepResult:
    """A sweep's table (one row per trial: settings, final metrics, status), its curves, and its best trial."""

    path: Path
    spec: SweepSpec
    trials: list[dict]
    curves: dict[str, list[dict]] = field(default_factory=dict)  # trial id -> its epoch records
    best: dict | None = None
    stopped: bool = False

    @property
    def epochs_trained(self) -> int:
        return sum(int(r["epochs"] or 0) for r in self.trials)

    @property
    def epochs_possible(self) -> int:
        return sum(int(r["config"]["epochs"]) for r in self.trials)

    def to_json(self) -> dict:
        """The JSON contract of `sweep --json`: every trial's settings and final metrics, and the best trial."""
        spec = self.spec
        return {"sweep": self.path.name, "path": str(self.path), "csv": str(self.path / "results.csv"),
                "curves_csv": str(self.path / "curves.csv"), "dataset": spec.base.dataset,
                "fixed": json.loads(spec.base.to_json()), "grid": [str(a) for a in spec.axes], "samples": spec.samples,
                "scheduler": spec.scheduler, "metric": spec.rank_by, "mode": spec.mode, "trials": self.trials,
                "best": self.best, "epochs_trained": self.epochs_trained, "epochs_possible": self.epochs_possible,
                "stopped": self.stopped}


METRIC_KEYS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "test_rmse", "test_mae", "test_r2")


def load(path: str | Path) -> SweepResult:
    """A sweep's results from its folder, finished or not (no Ray needed): open a sweep later."""
    path = Path(path).expanduser().resolve()
    meta = json.loads((path / "sweep.json").read_text())
    spec = spec_from_dict(meta["spec"])
    base = spec.base
    params = _tune_params(path)
    rows, curves, place = [], {}, {}
    for file in sorted((path / "trials").glob("*.jsonl")):
        trial = file.stem
        start, epochs, final, ended = TrialFile(file).read()
        config = _flat(start.get("config") or params.get(trial, {}))
        place[trial] = config.get("_i", -1)  # an ASHA sweep's place in the grid as written (its trials run shuffled)
        settings = trial_settings(config)
        last = final or (epochs[-1] if epochs else {})
        status = STATUS_FINISHED if final else (ended or "unfinished")
        row = {"trial": trial, "name": start.get("name") or trial_name(config), "status": status,
               "settings": _jsonable(settings), "epochs": last.get("epoch", 0)}
        row.update({k: last[k] for k in METRIC_KEYS if k in last})
        row.update({"seconds": last.get("seconds"), "node_id": start.get("node_id", ""),
                    "config": json.loads(base.replace(**settings).to_json())})
        rows.append(row)
        curves[trial] = epochs
    rows.sort(key=lambda r: (place[r["trial"]], _order(r["trial"])))
    result = SweepResult(path, spec, rows, curves, stopped=(path / "stopped").exists())
    result.best = best_trial(rows, spec)
    return result


def _order(trial_id: str) -> tuple:
    """Tune's trial ids end in a running number: "5ed84_00003" sorts as 3."""
    head, _, tail = trial_id.rpartition("_")
    return (head, int(tail)) if tail.isdigit() else (trial_id, 0)


def _tune_params(path: Path) -> dict[str, dict]:
    """Each trial's Tune config, from its params.json (written by Tune when the trial was created)."""
    out = {}
    for p in path.glob("trial_*/params.json"):
        out[p.parent.name.removeprefix("trial_")] = json.loads(p.read_text())
    return out


def best_trial(rows: list[dict], spec: SweepSpec) -> dict | None:
    """The best trial by the spec's metric among those that trained all their epochs (an early-stopped trial's
    number is from fewer epochs, so it does not compete)."""
    metric, sign = spec.rank_by, (1 if spec.mode == "min" else -1)
    done = [r for r in rows if r["status"] == STATUS_FINISHED and _finite(r.get(metric))]
    return min(done, key=lambda r: sign * r[metric]) if done else None


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def finish(path: Path) -> SweepResult:
    """Write the results table and curves beside the experiment (results.csv, curves.csv); return the results."""
    result = load(path)
    (path / "results.csv").write_text(table_csv(result.trials))
    buf = io.StringIO()
    keys = sorted({k for recs in result.curves.values() for r in recs for k in r} - {"epoch"})
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["trial", "epoch", *keys])
    for trial, recs in result.curves.items():
        writer.writerows([trial, r["epoch"], *(r.get(k, "") for k in keys)] for r in recs)
    (path / "curves.csv").write_text(buf.getvalue())
    return result


def table_csv(rows: list[dict]) -> str:
    """The results table as CSV: trial, name, status, epochs, metrics, time, node, then every setting of the trial."""
    flat = []
    for r in rows:
        item = {k: v for k, v in r.items() if k not in ("settings", "config")}
        item.update({k: show_value(v) if isinstance(v, (list, tuple)) else v for k, v in r["config"].items()})
        flat.append(item)
    from .seeds import table_to_csv

    return table_to_csv(flat)
