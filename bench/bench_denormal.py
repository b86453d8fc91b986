"""Long runs do not slow down: seconds per 1,000 epochs at epochs 1-1k vs 9k-10k, denormals flushed (as every entry
point now trains) beside denormals left alone, side by side.

    python bench/bench_denormal.py [--epochs 10000] [--threads 1] [--rounds 1] [--ray] [--quick]

The spiral's preset net (2-100-25-3, ReLU, Adam 1e-3, full batch over 2,400 points, weight decay 1e-5) as the app
trains it: in a `dlcore.session.Job` worker thread. Each arm runs in a fresh thread; the "left alone" arm turns the
flush off on its thread and keeps the trainer from turning it on. Times are the training thread's CPU seconds (with
one torch thread all the arithmetic is on it, so other jobs on a shared machine do not inflate them) and wall
seconds. Target: 9k-10k within 1.2x of 1-1k with denormals flushed.

It also counts denormal floats in the model's state at the end (weights, Adam's moments, the gradients and the
softmax probabilities of one more step): the slow-down's cause, which costs much more on some CPUs (the issue's
Intel figures: 2.1 s per 1,000 epochs at first, 16 s for 3,000) than on others. And it checks, from inside the
training loop, that denormals are flushed on every intra-op thread in each entry point: a Job thread, the CLI's main
thread, a thread whose intra-op threads started before the flag, and (with --ray) a Ray worker.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time

import common
import torch

from dlcore.denormals import denormals_flushed
from dlcore.presets import preset
from dlcore.session import Job, cached_data
from dlcore.train import Trainer, train

TINY = float(torch.finfo(torch.float32).tiny)  # the smallest normal float32


def denormal_count(trainer: Trainer) -> dict:
    """Denormal floats in the weights, Adam's moments, the gradients and the probabilities of one more forward pass."""
    def count(tensors) -> int:
        return sum(int(((t != 0) & (t.abs() < TINY)).sum()) for t in tensors if torch.is_tensor(t) and t.is_floating_point())

    model, data = trainer.model, trainer.data
    model.zero_grad()
    out = model(data.x_train)
    probs = torch.softmax(out, 1)
    trainer.loss_fn(out, data.y_train).backward()
    moments = [v for s in trainer.optimizer.state.values() for k, v in s.items() if k != "step"]
    return {"weights": count(model.parameters()), "adam_moments": count(moments),
            "gradients": count(p.grad for p in model.parameters()), "probabilities": count([probs])}


def timed_run(epochs: int, flush: bool, marks: tuple[int, ...]) -> dict:
    """Train the preset for `epochs` in a Job thread; CPU and wall seconds at each mark, and the denormal counts."""
    cfg = preset("spiral", epochs=epochs, device="cpu")
    data = cached_data(cfg)

    def work(job: Job) -> dict:
        if not flush:  # the old behaviour: the flag off on this thread, and the trainer kept from setting it
            torch.set_flush_denormal(False)
        trainer = Trainer(cfg, data)
        cpu, wall = {0: time.thread_time()}, {0: time.perf_counter()}
        for rec in trainer.run():
            if not rec.done and rec.epoch in marks:
                cpu[int(rec.epoch)], wall[int(rec.epoch)] = time.thread_time(), time.perf_counter()
        return {"cpu": cpu, "wall": wall, "denormals": denormal_count(trainer), "accuracy": rec.metrics["test_accuracy"]}

    originals = {m: m.flush_denormals for m in (sys.modules['dlcore.train'], sys.modules['dlcore.session'])}
    if not flush:  # neither the worker thread nor the trainer sets the flag
        for m in originals:
            m.flush_denormals = lambda: False
    try:
        job = Job(work, name="bench")
        list(job.stream())
        return job.result
    finally:
        for m, f in originals.items():
            m.flush_denormals = f


def per_thousand(run: dict, key: str, start: int, end: int) -> float:
    return (run[key][end] - run[key][start]) * 1000 / (end - start)


def probe_in_loop(cfg) -> bool:
    """Whether denormals are flushed on every intra-op thread, probed between two steps of a real run."""
    seen = []

    def should_stop() -> bool:
        if not seen:
            seen.append(denormals_flushed())
        return False

    train(cfg, should_stop=should_stop)
    return seen[0]


def entry_points(threads: int, ray: bool) -> dict:
    """Inside the training loop of each entry point: denormals flushed on every intra-op thread?"""
    cfg = preset("spiral", epochs=2, points=200, device="cpu")
    found = {}
    job = Job(lambda job: probe_in_loop(cfg), name="probe")
    list(job.stream())
    found["Job thread (app, Seed lab)"] = job.result

    def late():  # intra-op threads started before the trainer set the flag
        torch.ones(1 << 20).mul_(2)
        found["thread with older intra-op threads"] = probe_in_loop(cfg)

    t = threading.Thread(target=late)
    t.start()
    t.join()
    code = ("import sys, torch; import dlcore.__main__ as m; from dlcore.denormals import denormals_flushed; "
            "m.main(['reproduce', '--list']); print(denormals_flushed())")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    found["CLI main thread"] = out.stdout.strip().endswith("True")
    if ray:
        found["Ray worker"] = ray_probe(cfg, threads)
    return found


def ray_probe(cfg, threads: int) -> bool:
    """A Ray task (as a sweep's trial runs) training through the Trainer: flushed inside its loop?"""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, object_store_memory=80 * 1024 * 1024)
    try:
        @ray.remote
        def trial(cfg, threads):
            import torch as t

            t.set_num_threads(threads)
            return probe_in_loop(cfg)

        return ray.get(trial.remote(cfg, threads), timeout=300)
    finally:
        ray.shutdown()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the app's 2-slot default is 1)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--ray", action="store_true", help="also check inside a Ray worker (starts a local Ray)")
    ap.add_argument("--quick", action="store_true", help="3,000 epochs, to check the script")
    a = ap.parse_args()
    epochs = 3000 if a.quick else a.epochs
    torch.set_num_threads(a.threads)
    info = common.banner("denormals: seconds per 1,000 epochs, early vs late")
    first, last = (0, 1000), (epochs - 1000, epochs)
    marks = (1000, epochs - 1000, epochs)
    rows = []
    for r in range(a.rounds):
        for flush in (True, False):
            run = timed_run(epochs, flush, marks)
            row = {"round": r + 1, "flushed": flush, "accuracy": round(run["accuracy"], 4), **run["denormals"]}
            for key in ("cpu", "wall"):
                early, late = per_thousand(run, key, *first), per_thousand(run, key, *last)
                row.update({f"{key}_early": round(early, 3), f"{key}_late": round(late, 3),
                            f"{key}_ratio": round(late / early, 3)})
            rows.append(row)
            print(f"   round {r + 1}, denormals {'flushed' if flush else 'left alone'}: "
                  f"CPU s per 1,000 epochs {row['cpu_early']:.2f} (1-1k) vs {row['cpu_late']:.2f} "
                  f"({last[0] // 1000}k-{last[1] // 1000}k) = {row['cpu_ratio']:.2f}x; wall {row['wall_early']:.2f} vs "
                  f"{row['wall_late']:.2f} = {row['wall_ratio']:.2f}x; denormals at the end: weights {row['weights']}, "
                  f"Adam moments {row['adam_moments']}, gradients {row['gradients']}, probabilities "
                  f"{row['probabilities']}", flush=True)
    flushed = [r for r in rows if r["flushed"]]
    worst = max(r["cpu_ratio"] for r in flushed)
    print(f"   with denormals flushed, late/early CPU time: worst {worst:.2f}x (target <= 1.2x)")
    found = entry_points(a.threads if a.threads > 1 else 2, a.ray)
    for where, ok in found.items():
        print(f"   flushed on every intra-op thread, inside the loop: {where}: {ok}")
    common.emit({"benchmark": "denormals", "epochs": epochs, "threads": a.threads, "rows": rows,
                 "worst_flushed_ratio": worst, "entry_points": found, "machine": info})


if __name__ == "__main__":
    main()
