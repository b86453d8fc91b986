"""Your own table at scale: reading and preparing a 100,000-row x 20-column CSV, and training throughput against
Boston-sized data.

    python bench/bench_tables.py [--rows 100000] [--rounds 3] [--epochs 3] [--batch-size 64]

1. Read + prepare (target <= 2 s): `dlcore.tabular.read_table` (delimiter detection, UTF-8, pandas' C parser, type
   checks) then `prepare` (missing values filled, the 85/15 split, standardisation and one-hot encoding fitted on the
   training rows) on a generated CSV: 12 numbers, 6 categories (3 to 20 values), a boolean and a numeric target, 2 %
   of the feature cells missing. Median of `--rounds` (the first is not left out: nothing is cached between rounds).
2. Epoch throughput (target: the same samples/s as Boston-sized data, i.e. epoch time scaling with the rows): the
   Tables preset's network trained with the trainer, batches of `--batch-size`, on (a) the big table's 85,000 training
   rows, (b) 430 rows of the same table (Boston's training-split size, same inputs) and (c) Boston itself; samples/s
   is the trainer's own figure (training steps only), interleaved rounds, median.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import common
import numpy as np

from dlcore.config import RunConfig
from dlcore.presets import preset
from dlcore.tabular import prepare, read_table
from dlcore.train import Trainer


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """20 columns: 12 numbers, 6 categories, a boolean and the target (a noisy function of some of them)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = {f"x{i}": rng.normal(i, 1 + i / 4, rows).round(4) for i in range(12)}
    for j, k in enumerate((3, 5, 8, 12, 16, 20)):
        cols[f"c{j}"] = np.array([f"cat{j}_{v}" for v in range(k)], dtype=object)[rng.integers(0, k, rows)]
    cols["flag"] = (rng.random(rows) < 0.3).astype(object)  # object: a boolean column with gaps, as pandas reads it
    df = pd.DataFrame(cols)
    df["y"] = (df["x0"] * 2 - df["x3"] + (df["c1"] == "cat1_2") * 3 + df["flag"] + rng.normal(0, 1, rows)).round(4)
    for name in df.columns[:-1]:  # 2 % of the feature cells missing
        df.loc[rng.random(rows) < 0.02, name] = None
    df.to_csv(path, index=False)


def read_and_prepare(path: Path) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, the data): on a shared machine the CPU time is the work itself."""
    t0, c0 = time.perf_counter(), time.process_time()
    df = read_table(path)
    data = prepare(df, RunConfig(dataset="csv", target="y", missing="fill", train_fraction=0.85))
    return time.perf_counter() - t0, time.process_time() - c0, data


def throughput(cfg: RunConfig, data) -> float:
    *_, final = Trainer(cfg, data).run()
    return final.samples_per_second


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the big table per round (small: scaled up)")
    ap.add_argument("--batch-size", type=int, default=64)
    a = ap.parse_args()
    m = common.banner("tables: read + prepare a big CSV, epoch throughput against Boston-sized data")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.csv"
        write_table(path, a.rows)
        size = path.stat().st_size
        times, cpu, data = [], [], None
        for _ in range(a.rounds):
            seconds, used, data = read_and_prepare(path)
            times.append(seconds)
            cpu.append(used)
    print(f"   {a.rows:,} rows x 20 columns, {size / 1e6:.1f} MB: read + prepare "
          f"{', '.join(f'{t:.2f}' for t in times)} s (median {common.median(times):.2f} s; target <= 2 s; CPU time "
          f"{common.median(cpu):.2f} s); {data.x_train.shape[1]} inputs after one-hot encoding", flush=True)

    base = preset("csv", device="cpu", batch_size=a.batch_size, target="y", table_task="regression")
    small = _rows(data, 430)
    scale = len(data.x_train) // len(small.x_train)
    runs = {"big table": (base.replace(epochs=a.epochs), data),
            "430 rows of it": (base.replace(epochs=a.epochs * scale), small),
            "Boston": (preset("boston", device="cpu", batch_size=a.batch_size, epochs=a.epochs * scale), None)}
    rates: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(a.rounds):
        for name, (cfg, d) in runs.items():
            rates[name].append(throughput(cfg, d))
    med = {k: common.median(v) for k, v in rates.items()}
    for k, v in rates.items():
        print(f"   {k:15s} {med[k]:>10,.0f} samples/s ({', '.join(f'{r:,.0f}' for r in v)})")
    parity = {"vs 430 rows of it": med["big table"] / med["430 rows of it"], "vs Boston": med["big table"] / med["Boston"]}
    print("   big table's samples/s " + ", ".join(f"{k}: {v:.2f}x" for k, v in parity.items()) + " (1.00 = parity)")
    common.emit({"bench": "tables", "machine": m, "rows": a.rows, "bytes": size, "read_prepare_seconds": times,
                 "read_prepare_median": common.median(times), "read_prepare_cpu_median": common.median(cpu),
                 "inputs": int(data.x_train.shape[1]),
                 "batch_size": a.batch_size, "samples_per_second": rates, "parity": parity})


def _rows(data, n: int):
    import dataclasses

    return dataclasses.replace(data, x_train=data.x_train[:n], y_train=data.y_train[:n])


if __name__ == "__main__":
    main()
