"""Training throughput: dlcore's trainer vs the seed-style DataLoader loop vs a bare resident-tensor loop.

    python bench/bench_train.py                  # CPU, Fashion-MNIST 60,000 images, 3 interleaved rounds
    python bench/bench_train.py --device cuda    # the GPU path (data resident on the GPU)
    python bench/bench_train.py --rounds 1 --limit 10000   # a quick look

Same model (the seed's 784-256-128-64-10 FFN, dropout 0.2), the same initial weights, SGD lr 0.01 with weight decay
1e-6, batch 64, one epoch each, run in turn within each round so machine noise hits all three alike. All three visit
the images in the same order (the trainer's seeded permutation; the seed loop gets it as its DataLoader's sampler) with
the global RNG seeded alike for the dropout masks, so their accuracies differ only by the pipelines' arithmetic, not
by one lucky shuffle: after one epoch at lr 0.01 the shuffle alone moves Fashion-MNIST's test accuracy by 2 points. Prints each
method's median seconds per epoch, the ratios (targets: trainer >= 6x faster than the seed loop and within 1.25x of the
bare loop) and the test accuracy after one epoch (target: within 0.5 point of each other).
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
from dlcore.models import build_model
from dlcore.train import Trainer, forward_chunked, resolve_device

CFG = RunConfig(dataset="fashion", model="ffn", optimizer="sgd", lr=0.01, weight_decay=1e-6, batch_size=64, epochs=1,
                seed=42, device="cpu")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def accuracy(model, x, y) -> float:
    return (forward_chunked(model, x).argmax(1) == y).float().mean().item()


def epoch_order(n: int) -> torch.Tensor:
    """The trainer's sample order for epoch 1 (its permutation generator is seeded with cfg.seed)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(CFG.seed))


def seed_loop(model, device, limit: int | None) -> float:
    """Seed 001's loop: torchvision dataset with ToTensor/Normalize per sample, a DataLoader, .to(device).

    The seed shuffles with `shuffle=True`; here the DataLoader's sampler is the trainer's permutation instead (the same
    per-sample cost), and its own base-seed draw uses a private generator so the dropout masks match the other loops.
    """
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    ds = datasets.FashionMNIST(str(_fashion_root()), train=True, download=False, transform=tf)
    if limit:
        ds = torch.utils.data.Subset(ds, range(limit))
    loader = torch.utils.data.DataLoader(ds, batch_size=64, sampler=epoch_order(len(ds)).tolist(),
                                         generator=torch.Generator())
    torch.manual_seed(CFG.seed)  # dropout masks, as the trainer seeds them
    opt = torch.optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-6)
    model.train()
    sync(device)
    t0 = time.perf_counter()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t0


def bare_loop(model, data, device) -> float:
    """The practical limit: resident tensors, a permutation, index slices, nothing else."""
    x, y = data.x_train, data.y_train
    opt = torch.optim.SGD(model.parameters(), lr=0.01, weight_decay=1e-6)
    model.train()
    torch.manual_seed(CFG.seed)  # dropout masks, as the trainer seeds them
    sync(device)
    t0 = time.perf_counter()
    perm = epoch_order(len(x)).to(device)
    for i in range(0, len(x), 64):
        idx = perm[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t0


def trainer_loop(model, data, cfg) -> float:
    """dlcore's Trainer over the same resident data, with its usual progress records."""
    trainer = Trainer(cfg, data)
    trainer.model.load_state_dict(model.state_dict())
    torch.manual_seed(CFG.seed)  # the Trainer seeded and then drew its own initial weights; restart the dropout draws
    t0 = time.perf_counter()
    for rec in trainer.run():
        if rec.done:
            break
    elapsed = time.perf_counter() - t0 - _final_eval_seconds(trainer)
    model.load_state_dict(trainer.model.state_dict())
    return elapsed


def _final_eval_seconds(trainer) -> float:
    """The full-set evaluation in the final record is not training; time it again to subtract it fairly."""
    t0 = time.perf_counter()
    trainer.evaluate("train")
    trainer.evaluate("test")
    sync(trainer.device)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training images (0 = all 60,000)")
    ap.add_argument("--skip-seed", action="store_true", help="leave out the slow DataLoader loop")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for every method (0 = torch's default)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    info = common.banner("training throughput: Fashion-MNIST, FFN 784-256-128-64-10, SGD 0.01, batch 64, 1 epoch")
    device = resolve_device(a.device)
    cfg = CFG.replace(device=a.device)
    data = load_data(cfg).to(device)
    if a.limit:
        data.x_train, data.y_train = data.x_train[:a.limit], data.y_train[:a.limit]
    torch.manual_seed(42)
    init = build_model(cfg, data.input_shape, data.num_outputs).to(device).state_dict()
    init = copy.deepcopy(init)
    times = {"seed_loop": [], "trainer": [], "bare_loop": []}
    accs = {k: [] for k in times}
    methods = ["trainer", "bare_loop"] + ([] if a.skip_seed else ["seed_loop"])
    for r in range(a.rounds):
        for name in methods:
            torch.manual_seed(42 + r)
            model = build_model(cfg, data.input_shape, data.num_outputs).to(device)
            model.load_state_dict(init)
            if name == "seed_loop":
                t = seed_loop(model, device, a.limit or None)
            elif name == "bare_loop":
                t = bare_loop(model, data, device)
            else:
                t = trainer_loop(model, data, cfg)
            acc = accuracy(model, data.x_test, data.y_test)
            times[name].append(t)
            accs[name].append(acc)
            print(f"   round {r + 1} {name:10s} {t:7.2f} s/epoch  test accuracy {acc:.4f}", flush=True)
    med = {k: common.median(v) for k, v in times.items() if v}
    acc = {k: common.median(v) for k, v in accs.items() if v}
    result = {"benchmark": "train_throughput", "device": str(device), "images": len(data.x_train),
              "seconds_per_epoch": med, "test_accuracy": acc, "machine": info}
    print("   median s/epoch: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    if "seed_loop" in med:
        result["speedup_vs_seed_loop"] = med["seed_loop"] / med["trainer"]
        print(f"   trainer vs seed DataLoader loop: {result['speedup_vs_seed_loop']:.2f}x faster (target >= 6x)")
    result["trainer_over_bare"] = med["trainer"] / med["bare_loop"]
    print(f"   trainer / bare resident loop:    {result['trainer_over_bare']:.3f}x (target <= 1.25x)")
    spread = (max(acc.values()) - min(acc.values())) * 100
    result["accuracy_spread_points"] = spread
    print(f"   test accuracy spread: {spread:.2f} points (target <= 0.5)")
    common.emit(result)


if __name__ == "__main__":
    main()
