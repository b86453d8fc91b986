"""Sweeps on real Ray, on this machine: a two-node cluster (Ray's own test cluster: a head and a worker node, one CPU
each), a worker node lost mid-sweep, a killed driver resumed from its folder, and the Seed lab's sweeps.

Every test here starts Ray processes, so they are slow; Ray is shut down at the end of each fixture."""

import contextlib
import os

# Before anything imports ray: the test cluster's nodes and this driver bind to and dial 127.0.0.1 only.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import json  # noqa: E402
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dlcore import seedsweep, sweep
from dlcore.grid import SweepSpec, parse_axis
from dlcore.presets import preset
from dlcore.session import cached_data
from dlcore.train import Trainer
from playground.serve import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SMALL = preset("spiral", points=300, epochs=200, device="cpu")  # 720 training points: a trial takes about a second
NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20, "node_ip_address": "127.0.0.1"}


@pytest.fixture(scope="class")
def cluster():
    """A head node and a worker node on this machine, one CPU each, the sweep engine connected to them."""
    from ray.cluster_utils import Cluster

    sweep.shutdown()  # an earlier test module's local Ray
    c = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    worker = c.add_node(**NODE)
    c.wait_for_nodes()
    sweep.connect(c.address)
    yield c, worker
    sweep.shutdown()
    c.shutdown()


def sequential(cfg):
    """The trainer here, one setting at a time: the reference every trial's metrics must equal."""
    *_, final = Trainer(cfg, cached_data(cfg)).run()
    return final


class TestTwoNodes:
    """One cluster for both tests, shut down before the next."""

    def test_a_sweep_uses_both_nodes_with_the_trainers_metrics(self, cluster, tmp_path, one_thread):
        two_node_sweep(cluster, tmp_path)

    def test_a_lost_worker_nodes_trial_is_retried_on_the_head(self, cluster, tmp_path):
        """Removing the worker node mid-sweep: its trial fails, Tune retries it (max_failures) on the head, and every
        trial ends with its full result."""
        lost_worker(cluster, tmp_path)


def two_node_sweep(cluster, tmp_path):
    c, worker = cluster
    spec = SweepSpec(SMALL, (parse_axis("lr=1e-3,3e-3,1e-2,3e-2"),))
    result = sweep.run(spec, storage=tmp_path, name="two-nodes")
    assert [r["status"] for r in result.trials] == ["finished"] * 4
    nodes = {r["node_id"] for r in result.trials}  # where each trial ran, from its own records
    assert nodes == {c.head_node.node_id, worker.node_id}, "the trials did not land on both nodes"
    for row in result.trials:  # same seed, same data: the same numbers as the trainer run here one after another
        final = sequential(SMALL.replace(lr=row["settings"]["lr"]))
        assert row["epochs"] == 200 and row["test_loss"] == pytest.approx(final.test_loss, abs=1e-5)
        assert row["test_accuracy"] == pytest.approx(final.metrics["test_accuracy"], abs=1e-6)
        assert len(result.curves[row["trial"]]) == 200  # every epoch's record reached the table's folder
    assert result.best["test_loss"] == min(r["test_loss"] for r in result.trials)
    table = (result.path / "results.csv").read_text().splitlines()
    assert len(table) == 5 and table[0].startswith("trial,name,status,epochs")


def lost_worker(cluster, tmp_path):
    c, worker = cluster
    spec = SweepSpec(SMALL.replace(epochs=4000), (parse_axis("lr=1e-3,3e-3,1e-2"),))
    on_worker = threading.Event()

    def watch(event):
        if event["result"].get("node_id") == worker.node_id and event["result"].get("records"):
            on_worker.set()

    out = {}
    thread = threading.Thread(target=lambda: out.update(r=sweep.run(spec, storage=tmp_path, name="lost-node",
                                                                    on_update=watch)))
    thread.start()
    assert on_worker.wait(180), "no trial reported from the worker node"
    c.remove_node(worker, allow_graceful=False)  # the node dies with its trial's process
    thread.join(300)
    result = out["r"]
    assert [r["status"] for r in result.trials] == ["finished"] * 3 and all(r["epochs"] == 4000 for r in result.trials)
    assert {r["node_id"] for r in result.trials} == {c.head_node.node_id}, "the retried trial ran on the head"
    starts = {f.stem: f.read_text().count('"start"') for f in (result.path / "trials").glob("*.jsonl")}
    assert sorted(starts.values())[-1] == 2, f"one trial should have started twice (on the worker, then the head): {starts}"
    assert all(len(curve) == 4000 for curve in result.curves.values()), "the retried trial's records start over"


def descendants(pid: int) -> list[int]:
    """Processes started by `pid`, at any depth (read from /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [k for k, parent in parents.items() if parent == p]
        found += kids
        todo += kids
    return found


def cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLCORE_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "dlcore", "sweep", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def finished_trials(folder: Path) -> dict[str, str]:
    return {f.stem: f.read_text() for f in (folder / "trials").glob("*.jsonl") if '"final": true' in f.read_text()}


def test_a_killed_driver_resumes_from_its_folder_training_only_the_unfinished(tmp_path):
    """`python -m dlcore sweep` on a local Ray, killed (SIGKILL) with some trials done; `--resume` finishes the rest
    and leaves the finished trials' records untouched."""
    sweep.shutdown()  # this test's sweeps run in their own processes, each with its own local Ray
    folder = tmp_path / "killed"
    proc = cli("--points", "300", "--epochs", "400", "--grid", "lr=1e-3,3e-3,1e-2,3e-2", "--grid", "hidden=16;32",
               "--max-concurrent", "2", "--storage", str(tmp_path), "--name", "killed", "--json")
    deadline = time.time() + 240
    while len(finished_trials(folder)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    done_before = finished_trials(folder)
    assert 2 <= len(done_before) < 8, f"kill it mid-sweep: {len(done_before)} finished (exit {proc.poll()})"
    family = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(5)  # Ray's processes share the driver's fate; any left are ended here, by their ids
    for pid in descendants(proc.pid) + family:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(pid, signal.SIGKILL)
    done_before = finished_trials(folder)  # the records written up to the kill
    resumed = cli("--resume", str(folder), "--json")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert [t["status"] for t in result["trials"]] == ["finished"] * 8 and all(t["epochs"] == 400 for t in result["trials"])
    after = finished_trials(folder)
    assert all(after[t] == text for t, text in done_before.items()), "a finished trial was trained again"
    assert len(after) == 8 and result["best"] is not None and Path(result["csv"]).exists()


@pytest.fixture(scope="module")
def local_ray():
    """The in-process local Ray the app uses (started by the first sweep), shut down after the module."""
    yield
    sweep.shutdown()


def test_the_compare_panel_runs_the_queue_as_one_sweep(local_ray, monkeypatch):
    from playground import settings
    from playground.tabs import compare, spiral

    monkeypatch.setattr(settings, "SWEEP_TRIALS_PER_USER", 2)
    values = spiral.SPEC.args(points="300", epochs=150)
    queue = compare.queue_grid(spiral.SPEC)({**values, "grid": "lr=1e-3,1e-2\nactivation=relu,tanh"}, [])["queue"]
    queue = compare.queue_settings(spiral.SPEC)(values, queue)["queue"]
    updates = list(compare.run_comparison({"scheduler": "train every trial to the end (FIFO)", "trials_at_once": 9},
                                          queue, {}))
    last = updates[-1]
    assert last["status"].startswith("✅ Done: 5 of 5 trials finished") and "at most 2 at once" in updates[0]["status"]
    assert list(last["table"]["name"]) == compare.unique_names(queue) and set(last["table"]["status"]) == {"finished"}
    assert set(last["plot"]["series"]) == set(compare.unique_names(queue))  # every run's curve, only those
    assert open(last["csv"]["value"]).read().startswith("trial,name,status,epochs")
    filled = [len(u["table"]) for u in updates if hasattr(u.get("table"), "columns")]
    assert filled == sorted(filled) and len(set(filled)) > 2, "the table did not fill as trials ended"


def test_stop_ends_every_trial_of_the_sweep(local_ray, monkeypatch):
    from playground import settings
    from playground.tabs import compare, spiral
    from playground.tabs.stopslot import StopSlot

    monkeypatch.setattr(settings, "SWEEP_TRIALS_PER_USER", 2)
    queue = compare.queue_grid(spiral.SPEC)({**spiral.SPEC.args(epochs=20000), "grid": "lr=1e-3,3e-3,1e-2"}, [])
    slot = {}
    StopSlot.of(slot).arm()
    gen = compare.run_comparison({"scheduler": "stop weak trials early (ASHA)", "trials_at_once": 0}, queue["queue"],
                                 slot)
    for update in gen:
        if "2 running" in update.get("status", ""):
            t0 = time.monotonic()
            StopSlot.of(slot).stop()  # what the Stop button does: no cancel, the sweep ends itself
            break
    last = list(gen)[-1]
    assert time.monotonic() - t0 < 30 and last["status"].startswith("⏹️ Stopped")
    statuses = list(last["table"]["status"])
    assert "stopped" in statuses and "finished" not in statuses, statuses
    folder = max(compare.SWEEP_DIR.glob("compare-*"), key=lambda p: p.stat().st_mtime)
    for f in (folder / "trials").glob("*.jsonl"):  # every trial that started has ended, marked stopped
        assert '"ended": "stopped"' in f.read_text()


def ray_workers_of_this_job() -> dict[int, float]:
    """This job's Ray worker processes here: {pid: CPU seconds so far} (root reads every process's environment)."""
    job = f"RAY_JOB_ID={ray_job()}".encode()
    workers = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            # a Ray worker names itself "ray::IDLE", "ray::<actor>" ...; its job is in its environment
            if (proc / "cmdline").read_bytes().startswith(b"ray::") and job in (proc / "environ").read_bytes():
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                workers[int(proc.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return workers


def trial_starts(result: sweep.SweepResult) -> list[dict]:
    return [sweep.TrialFile(f).read()[0] for f in sorted((result.path / "trials").glob("*.jsonl"))]


def ray_job() -> str:
    import ray

    return ray.get_runtime_context().get_job_id()


def test_the_apps_next_sweep_starts_in_warm_trial_processes(local_ray, tmp_path):
    """After a sweep that asks for it (the app's), Ray keeps one warmed worker per CPU, and the next sweep's trials
    run in them: every trial's process finished its warm-up before that sweep began."""
    spec = SweepSpec(SMALL.replace(epochs=30), (parse_axis("lr=1e-3,1e-2"), parse_axis("activation=relu,tanh")),
                     max_concurrent=2)
    first = trial_starts(sweep.run(spec, storage=tmp_path, name="first", warm_next=True))
    deadline, before = time.monotonic() + 120, {}
    while time.monotonic() < deadline:  # until two new workers of this job exist and have gone idle
        time.sleep(1)
        now = {pid: cpu for pid, cpu in ray_workers_of_this_job().items() if pid not in {s["pid"] for s in first}}
        idle = [pid for pid, cpu in now.items() if pid in before and cpu - before[pid] < 0.02]
        if len(idle) >= 2:
            break
        before = now
    else:
        pytest.fail(f"no two idle warm workers after the first sweep: {before}")
    t0 = time.time()
    starts = trial_starts(sweep.run(spec, storage=tmp_path, name="second"))
    cold = [(s["name"], s["pid"], None if s["warmed"] is None else round(s["warmed"] - t0, 2)) for s in starts
            if s["warmed"] is None or s["warmed"] >= t0]  # (trial, process, its warm-up's end after the sweep began, s)
    assert len(starts) == 4 and not cold, f"trials in processes not warmed before the sweep: {cold}; idle: {idle}"
    assert {s["pid"] for s in starts} <= set(idle), (starts, idle)


def test_the_local_rays_workers_find_dlcore_where_the_driver_did(local_ray):
    """A worker imports the warm-up hook (dlcore.sweep) before Ray gives it the driver's path: the app run from a
    checkout with only `pip install -r requirements.txt` had every worker die on it. The local Ray's processes now
    start with dlcore's folder first on their PYTHONPATH."""
    import ray

    sweep.connect()
    root = str(Path(sweep.__file__).resolve().parents[1])

    @ray.remote(num_cpus=0)
    def where() -> str:
        return os.environ.get("PYTHONPATH", "")

    assert ray.get(where.remote(), timeout=120).split(os.pathsep)[0] == root


def test_spiral_table_as_a_sweep_puts_the_spread_beside_the_seeds_number(local_ray, tmp_path):
    result = seedsweep.spiral_table(2, rows=[1], storage=tmp_path)  # the sigmoid row, on seeds 0 and 1
    (row,) = result["rows"]
    assert row["seed_accuracy"] == 0.509 and row["within_tolerance"]
    assert abs(row["train_accuracy_mean"] - 0.509) < 0.02 and 0 <= row["train_accuracy_std"] < 0.02
    assert "ours:" in result["notes"][4] and "still" in result["notes"][4]  # the sigmoid lesson, from our curve
    assert "over seeds 0..1 (2 runs)" in " ".join(result["notes"])


def test_seed_001s_solvers_run_as_a_sweep(local_ray, tmp_path):
    result = seedsweep.optimizers(2, epochs=1, mnist_source="embedded", storage=tmp_path)
    rows = {r["solver"]: r for r in result["rows"]}
    assert list(rows) == list(seedsweep.SOLVERS) and all(r["seed_test_accuracy"] is None for r in rows.values())
    assert rows["adam"]["test_accuracy_mean"] > 0.8 and rows["adam"]["test_accuracy_std"] >= 0
    assert "prints no results" in result["notes"][0]


def test_asha_rungs_are_tunes():
    from ray.tune.schedulers import ASHAScheduler

    for max_t, grace in ((500, 19), (1000, 37), (40, 1), (10_000, 370)):
        ours = sweep.asha_rungs(max_t, grace)
        tune = sorted(m for m, _ in ASHAScheduler(time_attr="epoch", metric="m", mode="min", max_t=max_t,
                                                  grace_period=grace, reduction_factor=3)._brackets[0]._rungs)
        assert ours == tune


def test_asha_trains_the_grid_in_a_seeded_random_order_and_shows_it_as_written(tmp_path):
    """Async ASHA lets the first trials at a rung go on, so ASHA sweeps run their grid cells shuffled (seeded); each
    trial is named, and the table ordered, as the grid was written."""
    spec = SweepSpec(SMALL, (parse_axis("lr=1e-3,1e-2"), parse_axis("activation=relu,tanh,sigmoid")), scheduler="asha")
    space = sweep._param_space(spec, tmp_path)
    cells = space["_cell"]["grid_search"]
    assert sorted(c["_i"] for c in cells) == list(range(6)) and [c["_i"] for c in cells] != list(range(6))
    assert cells == sweep._param_space(spec, tmp_path)["_cell"]["grid_search"]  # the same order for the same seed
    names = {c["_i"]: sweep.trial_name({**space, "_cell": c}) for c in cells}
    assert [names[i] for i in range(6)] == [f"lr={lr} activation={a}" for lr in ("0.001", "0.01")
                                            for a in ("relu", "tanh", "sigmoid")]
    assert sweep.trial_settings({**space, "_cell": cells[0]})["lr"] in (1e-3, 1e-2)
    fifo = sweep._param_space(SweepSpec(SMALL, spec.axes), tmp_path)
    assert "_cell" not in fifo and fifo["lr"] == {"grid_search": [1e-3, 1e-2]}  # FIFO: the grid as written


def test_asha_counts_a_trial_that_trained_every_epoch_as_finished(local_ray, tmp_path, monkeypatch):
    """With a report after every epoch, ASHA (which stops each trial at its max_t) used to end the trials that
    reached the last epoch before their final record: they read "stopped early" and left the ranking."""
    monkeypatch.setattr(sweep, "REPORT_EVERY", 0.0)  # the trials get it through their config
    spec = SweepSpec(SMALL.replace(epochs=27), (parse_axis("lr=1e-3,1e-2"), parse_axis("activation=relu,tanh")),
                     scheduler="asha", max_concurrent=2)
    result = sweep.run(spec, storage=tmp_path, name="every-epoch")
    full = [r for r in result.trials if r["epochs"] == 27]
    assert full and all(r["status"] == "finished" for r in full), [(r["name"], r["status"], r["epochs"]) for r in
                                                                    result.trials]
    assert result.best is not None and result.best["epochs"] == 27
