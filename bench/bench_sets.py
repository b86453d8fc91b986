"""The 2-D sets with the default MLP, and XOR with and without the x1*x2 feature: test accuracy (R² for a value over
the plane) as mean ± spread over seeded draws and splits (`dlcore.evaluate.repeated`; each seed draws its own points,
split and initial weights).

    python bench/bench_sets.py [--seeds 5]

Each set is trained with its CLI preset (`python -m dlcore train --dataset NAME`: the seed's 2-100-25 ReLU net, Adam,
1000 full-batch epochs; lr 1e-3 for the spiral, 1e-2 for the others). Accuracy, not speed: the figures are the
same on any machine, one torch thread.
"""

from __future__ import annotations

import argparse
import time

import common

from dlcore.evaluate import repeated
from dlcore.planar import PLANAR
from dlcore.presets import preset


def row(name: str, cfg, seeds: int) -> dict:
    t0 = time.perf_counter()
    s = repeated(cfg.validate(), range(seeds))
    key = "test_accuracy" if cfg.task == "classification" else "test_r2"
    m = s[key]
    label = "accuracy" if key == "test_accuracy" else "R²"
    print(f"   {name:34s} test {label} {m['mean']:.3f} ± {m['std']:.3f}  (min {min(m['values']):.3f}, "
          f"{time.perf_counter() - t0:.0f} s)", flush=True)
    return {"name": name, "metric": key, "mean": m["mean"], "std": m["std"], "values": m["values"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    info = common.banner(f"the 2-D sets with the default MLP, {a.seeds} seeds each")
    rows = [row(f"{name} (default MLP)", preset(name, device="cpu"), a.seeds) for name in PLANAR]
    for features in (("x1", "x2"), ("x1", "x2", "x1x2")):
        cfg = preset("xor", model="linear", hidden=(), features=features, device="cpu")
        rows.append(row(f"xor, linear, features {','.join(features)}", cfg, a.seeds))
    common.emit({"benchmark": "sets", "seeds": a.seeds, "rows": rows, "machine": info})


if __name__ == "__main__":
    main()
