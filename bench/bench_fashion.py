"""Time to 90 % test accuracy on the full Fashion-MNIST: the Digits tab's CNN and settings now, the CNN and settings
it had before, and the seed's DataLoader-style loop with the tab's model and settings, in one run.

    python bench/bench_fashion.py               # 60,000 training images (Debian's dataset-fashion-mnist), CPU
    python bench/bench_fashion.py --rounds 2    # interleaved rounds, medians reported
    python bench/bench_fashion.py --now-epochs 3 --skip-seed   # the tab's settings planned for 3 epochs

- before: the LeNet-style `cnn` (215,370 parameters), Adam 1e-3, batch 64, no schedule (the tab's settings until
  2026-11), trained epoch by epoch until the test accuracy reaches the target (at most --max-epochs);
- now: the tab's settings for Fashion-MNIST (`dlcore.presets.preset("fashion")`), its planned epochs and schedule;
- seed loop: the same model and settings as "now", fed by seed 001's pipeline (a torchvision dataset with
  ToTensor/Normalize per sample and a DataLoader), with a hand-written step and the same per-epoch schedule.
Each is timed from its start to the end of the first epoch whose test accuracy (all 10,000 test images, evaluated after
every epoch, evaluation time included) reaches the target. Same seed for every method.
"""

from __future__ import annotations

import argparse
import copy
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


def trainer_run(cfg: RunConfig, data, target: float) -> dict:
    """dlcore's Trainer; stops at the first epoch whose test accuracy reaches the target."""
    trainer = Trainer(cfg, copy.copy(data))
    t0 = time.perf_counter()
    for rec in trainer.run(report_every=10**9):
        acc = rec.metrics.get("test_accuracy")
        if rec.test_loss is not None and not rec.done and acc is not None:
            print(f"      epoch {rec.epoch:g}: test accuracy {acc:.4f} at {time.perf_counter() - t0:.1f} s", flush=True)
            if acc >= target:
                return {"seconds": time.perf_counter() - t0, "epochs": rec.epoch, "accuracy": acc,
                        "params": trainer.params}
    return {"seconds": None, "epochs": cfg.epochs, "accuracy": trainer.history[-1].metrics["test_accuracy"],
            "params": trainer.params}


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
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            opt.step()
        if sched is not None:
            sched.step()
        acc = (forward_chunked(model, data.x_test).argmax(1) == data.y_test).float().mean().item()
        print(f"      epoch {epoch + 1}: test accuracy {acc:.4f} at {time.perf_counter() - t0:.1f} s", flush=True)
        if acc >= target:
            return {"seconds": time.perf_counter() - t0, "epochs": epoch + 1, "accuracy": acc}
    return {"seconds": None, "epochs": cfg.epochs, "accuracy": acc}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--target", type=float, default=0.90)
    ap.add_argument("--max-epochs", type=int, default=6, help="epochs the 'before' settings may take")
    ap.add_argument("--skip-seed", action="store_true", help="leave out the slow DataLoader loop")
    ap.add_argument("--now-epochs", type=int, help="plan 'now' (and the seed loop) for this many epochs, not the "
                    "preset's (the cosine schedule spans them)")
    a = ap.parse_args()
    now = now_config() if a.now_epochs is None else now_config().replace(epochs=a.now_epochs)
    info = common.banner(f"time to {a.target:.0%} test accuracy on Fashion-MNIST (60,000 training images)")
    print(f"   now:    {now.model}, {now.optimizer} {now.lr:g}, batch {now.batch_size}, {now.epochs} epochs, "
          f"schedule {now.scheduler}, augment {now.augment}")
    print(f"   before: {BEFORE.model}, {BEFORE.optimizer} {BEFORE.lr:g}, batch {BEFORE.batch_size}, no schedule")
    data = load_data(now)
    runs = {"now": [], "before": [], "seed_loop": []}
    for r in range(a.rounds):
        for name in ["now", "before"] + ([] if a.skip_seed else ["seed_loop"]):
            print(f"   round {r + 1} {name}", flush=True)
            torch.manual_seed(0)
            if name == "before":
                out = trainer_run(BEFORE.replace(epochs=a.max_epochs), data, a.target)
            elif name == "now":
                out = trainer_run(now, data, a.target)
            else:
                out = seed_run(now, data, a.target)
            runs[name].append(out)
    med = {k: common.median([o["seconds"] for o in v]) if v and all(o["seconds"] for o in v) else None
           for k, v in runs.items()}
    result = {"benchmark": "fashion_time_to_accuracy", "target": a.target, "runs": runs, "median_seconds": med,
              "now": {"model": now.model, "optimizer": now.optimizer, "lr": now.lr, "batch_size": now.batch_size,
                      "epochs": now.epochs, "scheduler": now.scheduler}, "machine": info}
    for k, v in med.items():
        print(f"   {k:10s} " + (f"{v:6.1f} s to {a.target:.0%}" if v else f"did not reach {a.target:.0%}"))
    if med["now"] and med["before"]:
        result["before_over_now"] = med["before"] / med["now"]
        print(f"   now is {result['before_over_now']:.2f}x faster than before (target >= 3x)")
    if med["now"] and med.get("seed_loop"):
        result["seed_loop_over_now"] = med["seed_loop"] / med["now"]
        print(f"   the trainer is {result['seed_loop_over_now']:.2f}x faster than the seed loop with the same model")
    common.emit(result)


if __name__ == "__main__":
    main()
