"""Time to 90 % test accuracy on the full Fashion-MNIST: the Digits tab's CNN and settings now, the CNN and settings
it had before, and the seed's DataLoader-style loop with the tab's model and settings, in one run.

    OMP_NUM_THREADS=1 python bench/bench_fashion.py   # 60,000 training images (Debian's dataset-fashion-mnist), CPU
    python bench/bench_fashion.py --seeds 0,1,2        # one round per seed, interleaved; means over the seeds
    python bench/bench_fashion.py --now-epochs 2 --skip-seed   # the tab's settings planned for 2 epochs

- before: the LeNet-style `cnn` (215,370 parameters), Adam 1e-3, batch 64, no schedule (the tab's settings until
  2026-11), trained epoch by epoch until the test accuracy reaches the target (at most --max-epochs);
- now: the tab's settings for Fashion-MNIST (`dlcore.presets.preset("fashion")`), its planned epochs and schedule;
- seed loop: the same model and settings as "now", fed by seed 001's pipeline (a torchvision dataset with
  ToTensor/Normalize per sample and a DataLoader), with a hand-written step and the same per-epoch schedule.
Each is timed from its start to the end of the first epoch whose test accuracy (all 10,000 test images, evaluated after
every epoch, evaluation time included) reaches the target; "now" plans its epochs and schedule in advance (the preset)
and is not stopped when it gets there. Every method runs once per seed (weights, batch order), interleaved, and is
timed twice: wall-clock, and the process's CPU time, which a machine shared with other work inflates less (with one
torch thread the two agree on an idle machine).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import common
import torch
import torch.nn.functional as F

from dlcore.config import RunConfig
from dlcore.data import MNIST_MEAN, MNIST_STD, _fashion_root, load_data
from dlcore.optim import build_optimizer, build_scheduler
from dlcore.presets import preset
from dlcore.train import Trainer, forward_chunked

BEFORE = RunConfig(dataset="fashion", model="cnn", optimizer="adam", lr=1e-3, batch_size=64, epochs=6, seed=0,
                   device="cpu")


def now_config() -> RunConfig:
    return preset("fashion", device="cpu", seed=0)


class Clock:
    """Wall-clock and CPU seconds since it was made."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _epoch(epoch: int, acc: float, clock: Clock, target: float) -> dict | None:
    """Print an evaluated epoch; the result when it reaches the target."""
    wall, cpu = clock.read()
    print(f"      epoch {epoch:g}: test accuracy {acc:.4f} at {wall:.1f} s (cpu {cpu:.1f} s)", flush=True)
    return {"seconds": wall, "cpu_seconds": cpu, "epochs": epoch, "accuracy": acc} if acc >= target else None


def trainer_run(cfg: RunConfig, data, target: float, stop: bool = True) -> dict:
    """dlcore's Trainer; the time of the first epoch whose test accuracy reaches the target. With `stop`, the run ends
    there ("before", which has no planned end); without, it trains its planned epochs (the time is the same)."""
    trainer = Trainer(cfg, copy.copy(data))
    clock, hit, accs = Clock(), None, []
    for rec in trainer.run(report_every=10**9):
        acc = rec.metrics.get("test_accuracy")
        if rec.test_loss is not None and not rec.done and acc is not None:
            accs.append(acc)
            reached = _epoch(rec.epoch, acc, clock, target)
            hit = hit or reached
            if hit and stop:
                break
    return {**(hit or {"seconds": None, "cpu_seconds": None, "epochs": None}), "accuracy": accs[-1],
            "accuracies": accs, "params": trainer.params}


def seed_run(cfg: RunConfig, data, target: float) -> dict:
    """Seed 001's pipeline (per-sample transforms through a DataLoader) with the model and settings of `cfg`."""
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    ds = datasets.FashionMNIST(str(_fashion_root()), train=True, download=False, transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=cfg.batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(cfg.seed))
    model = Trainer(cfg, copy.copy(data)).model  # the same architecture and initial weights as the trainer's
    opt = build_optimizer(cfg.optimizer, model.parameters(), cfg)
    sched = build_scheduler(cfg.scheduler, opt, cfg)
    clock, hit, accs = Clock(), None, []
    for epoch in range(cfg.epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        if sched is not None:
            sched.step()
        acc = (forward_chunked(model, data.x_test).argmax(1) == data.y_test).float().mean().item()
        accs.append(acc)
        hit = hit or _epoch(epoch + 1, acc, clock, target)
    return {**(hit or {"seconds": None, "cpu_seconds": None, "epochs": None}), "accuracy": accs[-1],
            "accuracies": accs}


def summary(outs: list[dict]) -> dict:
    """Mean wall and CPU seconds over the seeds that reached the target, and how many did."""
    hits = [o for o in outs if o["seconds"] is not None]
    wall, cpu = ([statistics.fmean(o[k] for o in hits)] if hits else [None] for k in ("seconds", "cpu_seconds"))
    return {"reached": len(hits), "runs": len(outs), "mean_seconds": wall[0], "mean_cpu_seconds": cpu[0],
            "mean_final_accuracy": statistics.fmean(o["accuracy"] for o in outs)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds; each runs every method once, interleaved")
    ap.add_argument("--target", type=float, default=0.90)
    ap.add_argument("--max-epochs", type=int, default=6, help="epochs the 'before' settings may take")
    ap.add_argument("--skip-seed", action="store_true", help="leave out the slow DataLoader loop")
    ap.add_argument("--now-epochs", type=int, help="plan 'now' (and the seed loop) for this many epochs, not the "
                    "preset's (the cosine schedule spans them)")
    a = ap.parse_args()
    seeds = [int(v) for v in a.seeds.split(",")]
    base = now_config() if a.now_epochs is None else now_config().replace(epochs=a.now_epochs)
    info = common.banner(f"time to {a.target:.0%} test accuracy on Fashion-MNIST (60,000 training images)")
    print(f"   now:    {base.model}, {base.optimizer} {base.lr:g}, batch {base.batch_size}, {base.epochs} epochs, "
          f"schedule {base.scheduler}, augment {base.augment}")
    print(f"   before: {BEFORE.model}, {BEFORE.optimizer} {BEFORE.lr:g}, batch {BEFORE.batch_size}, no schedule")
    print(f"   torch threads: {torch.get_num_threads()} for every method")
    data = load_data(base)
    runs = {"now": [], "before": [], "seed_loop": []}
    for seed in seeds:
        for name in ["now", "before"] + ([] if a.skip_seed else ["seed_loop"]):
            print(f"   seed {seed} {name}", flush=True)
            torch.manual_seed(seed)
            if name == "before":
                out = trainer_run(BEFORE.replace(epochs=a.max_epochs, seed=seed), data, a.target)
            elif name == "now":
                out = trainer_run(base.replace(seed=seed), data, a.target, stop=False)
            else:
                out = seed_run(base.replace(seed=seed), data, a.target)
            runs[name].append({"seed": seed, **out})
    sums = {k: summary(v) for k, v in runs.items() if v}
    result = {"benchmark": "fashion_time_to_accuracy", "target": a.target, "seeds": seeds, "runs": runs,
              "summary": sums, "now": {"model": base.model, "optimizer": base.optimizer, "lr": base.lr,
                                       "batch_size": base.batch_size, "epochs": base.epochs,
                                       "scheduler": base.scheduler},
              "machine": info, "load_average": os.getloadavg()}
    for k, v in sums.items():
        print(f"   {k:10s} reached {a.target:.0%} in {v['reached']}/{v['runs']} seeds" +
              (f", mean {v['mean_seconds']:.1f} s (cpu {v['mean_cpu_seconds']:.1f} s)" if v["reached"] else "") +
              f"; mean final test accuracy {v['mean_final_accuracy']:.4f}")
    now, before = sums["now"], sums["before"]
    if now["reached"] and before["reached"]:
        result["before_over_now"] = before["mean_seconds"] / now["mean_seconds"]
        result["before_over_now_cpu"] = before["mean_cpu_seconds"] / now["mean_cpu_seconds"]
        print(f"   now is {result['before_over_now']:.2f}x faster than before (cpu {result['before_over_now_cpu']:.2f}x; "
              "target >= 3x)")
    seed = sums.get("seed_loop")
    if now["reached"] and seed and seed["reached"]:
        result["seed_loop_over_now"] = seed["mean_seconds"] / now["mean_seconds"]
        print(f"   the trainer is {result['seed_loop_over_now']:.2f}x faster than the seed loop with the same model")
    print(f"   load average {os.getloadavg()[0]:.1f} at the end")
    common.emit(result)


if __name__ == "__main__":
    main()
