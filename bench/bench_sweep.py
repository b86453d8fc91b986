"""Sweeps on Ray Tune against the trainer run one setting after another, side by side in one run.

    python bench/bench_sweep.py [--rounds 2] [--epochs 500] [--skip-asha] [--one-thread]

1. Speed: a 12-setting spiral grid (lr 1e-3,1e-2 x activation relu,tanh,sigmoid x hidden 100;100,25; full batch, the
   preset's 3,000 points, 500 epochs), the same seeds both ways. Sequential: dlcore's Trainer in this process, one
   setting after another, with torch's default threads and with one thread (the faster of the two is the baseline;
   `--one-thread` times only the one-thread run: on a machine busy with other work, torch's two threads spin against
   them and take ten times as long).
   Sweep: `dlcore.sweep` on a local Ray with this machine's cores, one CPU per trial; "cold" includes starting Ray
   (the first sweep of a process: the CLI's case), "warm" is a later sweep of the same process (the app's), run as the
   app runs them: each sweep leaves warm trial processes for the next (`warm_next`, see dlcore.sweep). Rounds
   interleave the two; medians. Every trial's final metrics must equal the one-thread trainer's.
2. ASHA: a 27-setting grid (lr 1e-3,3e-3,1e-2 x activation relu,tanh,sigmoid x hidden 100;100,25;64,64) run fully
   (FIFO) and with ASHA (reduction factor 3, first rung at a 27th of the epochs): the best setting by held-out loss
   each way, and the share of the epochs ASHA trained.

Both sides start warm and quiet: before anything is timed, the process builds one trainer (torch imports
torch._dynamo on a process's first optimizer, seconds of CPU: the cold sweep's spec check would pay it and the
sequential side, run later, never), and before each timed section the bench waits until Ray's processes (this
process's descendants) have gone idle, so that no side is timed while the other's leftovers (a Ray worker still
starting, a trial actor shutting down) use the cores. The cold sweep is timed from `connect()`, with Ray's own
start-up work inside it.

Both sides train at the same CPU priority: a trial lowers its priority by DLCORE_TRAIN_NICE (10 by default, so the
app's predictions come first), which on a machine shared with other work would starve the trials against a
sequential baseline at normal priority; the bench sets it to 0 unless it is set (`DLCORE_TRAIN_NICE=10 python
bench/bench_sweep.py` measures the trials as the app runs them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import common
import torch

from dlcore import sweep
from dlcore.grid import SweepSpec, parse_axis
from dlcore.presets import preset
from dlcore.session import cached_data
from dlcore.train import Trainer

TICK = os.sysconf("SC_CLK_TCK")

GRID_12 = ("lr=1e-3,1e-2", "activation=relu,tanh,sigmoid", "hidden=100;100,25")
GRID_27 = ("lr=1e-3,3e-3,1e-2", "activation=relu,tanh,sigmoid", "hidden=100;100,25;64,64")


def _descendants_cpu() -> float:
    """CPU seconds used so far by this process's descendants (Ray's processes: GCS, raylet, agents, workers)."""
    parent, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        pid = int(stat.parent.name)
        parent[pid], cpu[pid] = int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK
    me, total = os.getpid(), 0.0
    for pid, seconds in cpu.items():
        p, seen = parent.get(pid), 0
        while p and p != me and seen < 64:
            p, seen = parent.get(p), seen + 1
        if p == me:
            total += seconds
    return total


def settle(limit: float = 60.0, window: float = 0.5, busy: float = 0.05) -> float:
    """Wait until Ray's processes use under `busy` of a core over `window` seconds (at most `limit`); the wait."""
    t0 = time.perf_counter()
    before = _descendants_cpu()
    while time.perf_counter() - t0 < limit:
        time.sleep(window)
        now = _descendants_cpu()
        if now - before < busy * window:
            break
        before = now
    return time.perf_counter() - t0


def sequential(spec: SweepSpec, threads: int) -> tuple[float, dict]:
    """The trainer here, one setting after another: (seconds, {settings: final record})."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    settle()
    finals, t0 = {}, time.perf_counter()
    try:
        for settings in spec.settings():
            cfg = spec.base.replace(**settings)
            *_, final = Trainer(cfg, cached_data(cfg)).run()
            finals[tuple(sorted((k, str(v)) for k, v in settings.items()))] = final
    finally:
        torch.set_num_threads(before)
    return time.perf_counter() - t0, finals


def swept(spec: SweepSpec, storage: str, name: str, quiet: bool = True) -> tuple[float, sweep.SweepResult]:
    """A sweep's wall time (after Ray has gone idle, unless `quiet` is False: the cold sweep, timed from connect)."""
    if quiet:
        settle()
    t0 = time.perf_counter()
    result = sweep.run(spec, storage=storage, name=name, warm_next=True)  # as the app runs its sweeps
    return time.perf_counter() - t0, result


def key(row: dict) -> tuple:
    return tuple(sorted((k, str(tuple(v) if isinstance(v, list) else v)) for k, v in row["settings"].items()))


def speed(epochs: int, rounds: int, storage: str, both_threads: bool = True) -> dict:
    spec = SweepSpec(preset("spiral", epochs=epochs, device="cpu"), tuple(parse_axis(a) for a in GRID_12))
    print(f"-- 1. speed: {spec.count} settings ({spec.describe()}), full batch, {epochs} epochs", flush=True)
    Trainer(spec.base, cached_data(spec.base))  # both sides start with the data in memory and torch._dynamo imported
    settle()
    t0 = time.perf_counter()
    sweep.connect()
    start = time.perf_counter() - t0
    cold, first = swept(spec, storage, "speed-cold", quiet=False)  # Ray's start-up work still under way is its own
    cold += start
    print(f"   sweep, cold (Ray started: {start:.1f} s): {cold:.1f} s", flush=True)
    seq_default, seq_one, warm, diffs = [], [], [], []
    for r in range(rounds):
        t1, finals = sequential(spec, 1)
        t, _ = sequential(spec, torch.get_num_threads()) if both_threads else (t1, None)
        seq_default.append(t)
        seq_one.append(t1)
        tw, result = swept(spec, storage, f"speed-warm-{r}")
        warm.append(tw)
        for row in result.trials:  # the same metrics per trial as the trainer here
            final = finals[key(row)]
            diffs += [abs(row["test_loss"] - final.test_loss),
                      abs(row["test_accuracy"] - final.metrics["test_accuracy"])]
        threads = f"{t:.1f} s (torch's {torch.get_num_threads()} threads), " if both_threads else ""
        print(f"   round {r + 1}: sequential {threads}{t1:.1f} s (1 thread); sweep, warm: {tw:.1f} s", flush=True)
    base = min(statistics.median(seq_default), statistics.median(seq_one))
    out = {"settings": spec.count, "epochs": epochs,
           "sequential_default_threads_s": statistics.median(seq_default) if both_threads else None,
           "sequential_one_thread_s": statistics.median(seq_one), "sweep_cold_s": cold, "ray_start_s": start,
           "sweep_warm_s": statistics.median(warm), "ratio_warm": statistics.median(warm) / base,
           "ratio_cold": cold / base, "max_metric_difference": max(diffs), "trials_finished": len(first.trials)}
    print(f"   sweep / sequential (the faster one): warm {out['ratio_warm']:.2f} x, cold {out['ratio_cold']:.2f} x "
          f"(target <= 0.65); largest metric difference per trial {out['max_metric_difference']:.1e}", flush=True)
    return out


def asha(epochs: int, storage: str) -> dict:
    axes = tuple(parse_axis(a) for a in GRID_27)
    base = preset("spiral", epochs=epochs, device="cpu")
    print(f"-- 2. ASHA: {SweepSpec(base, axes).describe()}, {epochs} epochs", flush=True)
    t_full, full = swept(SweepSpec(base, axes), storage, "asha-full")
    t_asha, early = swept(SweepSpec(base, axes, scheduler="asha"), storage, "asha")
    share = early.epochs_trained / early.epochs_possible
    same = full.best["name"] == early.best["name"]
    ranked = sorted(full.trials, key=lambda r: r["test_loss"])
    print(f"   all trained fully: best {full.best['name']} (test loss {full.best['test_loss']:.4f}), {t_full:.0f} s; "
          f"runner-up {ranked[1]['name']} ({ranked[1]['test_loss']:.4f})")
    print(f"   ASHA: best {early.best['name']} (test loss {early.best['test_loss']:.4f}), {t_asha:.0f} s; "
          f"{early.epochs_trained:,} of {early.epochs_possible:,} epochs ({share:.0%}; target <= 50 %); "
          f"{sum(r['status'] == 'stopped early' for r in early.trials)} trials stopped early; same best: {same}",
          flush=True)
    if not same:  # what ASHA did with the full run's best
        row = next(r for r in early.trials if r["name"] == full.best["name"])
        print(f"   under ASHA, {row['name']}: {row['status']} after {row['epochs']} epochs, test loss "
              f"{row.get('test_loss')}", flush=True)
    return {"settings": len(full.trials), "epochs": epochs, "best_full": full.best["name"],
            "best_asha": early.best["name"], "same_best": same, "epochs_share": share, "seconds_full": t_full,
            "seconds_asha": t_asha, "stopped_early": sum(r["status"] == "stopped early" for r in early.trials)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--skip-asha", action="store_true")
    ap.add_argument("--one-thread", action="store_true", help="time the sequential side with one thread only")
    a = ap.parse_args()
    os.environ.setdefault("DLCORE_OFFLINE", "1")
    os.environ.setdefault("DLCORE_TRAIN_NICE", "0")  # before Ray starts: its trial processes inherit it (see above)
    info = common.banner("sweeps on Ray Tune vs the trainer one setting after another")
    info["trial_nice"] = int(os.environ["DLCORE_TRAIN_NICE"])
    info["load_average"] = os.getloadavg()
    print(f"   trials at nice +{info['trial_nice']}; load average {info['load_average']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as storage:
        result = {"benchmark": "sweep", "speed": speed(a.epochs, a.rounds, storage, not a.one_thread), "machine": info}
        if not a.skip_asha:
            result["asha"] = asha(a.epochs, storage)
        sweep.shutdown()
    common.emit(result)


if __name__ == "__main__":
    main()
