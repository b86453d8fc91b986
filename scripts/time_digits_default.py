"""How long the Digits tab's default training takes now, beside the default before issue 13's hand work, in one
process on one torch thread (CPU seconds: steadier than wall time on a shared machine).

    python scripts/time_digits_default.py [--repeats 2]

before: MNIST's 4,000 embedded training digits, 10 epochs, the "digits" distortions without scribbles.
now: the "mnist" preset as it is (the drawn digits added, scribbles in each batch, 16 epochs since the third round).
Each is run `--repeats` times, alternating, and ends with its held-out MNIST accuracy.
"""

from __future__ import annotations

import argparse
import time

import torch

from dlcore import augment
from dlcore.data import load_data
from dlcore.presets import preset
from dlcore.train import Trainer


def timed(cfg, data, share: float) -> tuple[float, float, float]:
    """(CPU s, wall s, held-out accuracy) of one training run with scribbles at `share`."""
    old = augment.SCRIBBLE_SHARE
    augment.SCRIBBLE_SHARE = share
    try:
        trainer = Trainer(cfg, data)
        c0, w0 = time.process_time(), time.perf_counter()
        final = list(trainer.run())[-1]
        return time.process_time() - c0, time.perf_counter() - w0, final.metrics["test_accuracy"]
    finally:
        augment.SCRIBBLE_SHARE = old


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(1)
    now = preset("mnist", mnist_source="embedded", device="cpu")
    before = now.replace(epochs=10)
    runs = {"before": (before, load_data(before.replace(augment="none")), 0.0),
            "now": (now, load_data(now), augment.SCRIBBLE_SHARE)}
    for _ in range(a.repeats):
        for name, (cfg, data, share) in runs.items():
            cpu, wall, acc = timed(cfg, data, share)
            print(f"{name}: {len(data.x_train):,} training images, {cfg.epochs} epochs: CPU {cpu:.1f} s, "
                  f"wall {wall:.1f} s, MNIST held-out {acc:.3f}", flush=True)


if __name__ == "__main__":
    main()
