"""Train the embedded default models shipped in dlcore/weights/ and record their held-out metrics.

    python scripts/train_defaults.py            # both
    python scripts/train_defaults.py digits     # one

digits: the CNN on the embedded 5,000-digit MNIST subset (4,000 train, the fixed 1,000 held out). The training
images are augmented offline with small random shifts, rotations and scalings, because hand-drawn digits are less
tidy than MNIST's; the held-out 1,000 stay untouched, and their accuracy is what is recorded.
boston: a small MLP on the standardized Boston features (85/15 split, seed 0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torchvision.transforms.v2 import functional as TF

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlcore import checkpoint  # noqa: E402
from dlcore.config import RunConfig  # noqa: E402
from dlcore.data import load_data  # noqa: E402
from dlcore.train import Trainer  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "dlcore" / "weights"

DIGITS = RunConfig(dataset="mnist", mnist_source="embedded", model="cnn", optimizer="adam", lr=1e-3,
                   batch_size=64, epochs=15, scheduler="cosine", seed=0, device="cpu")
BOSTON = RunConfig(dataset="boston", model="mlp", hidden=(64, 32), activation="relu", optimizer="adam", lr=1e-2,
                   weight_decay=1e-4, epochs=300, batch_size=0, seed=2, device="cpu")


def augment(x: torch.Tensor, copies: int, seed: int) -> torch.Tensor:
    """`copies` randomly shifted / rotated / scaled versions of normalised images x (N, 1, 28, 28)."""
    g = torch.Generator().manual_seed(seed)
    background = x.min().item()  # the normalised value of black paper
    out = []
    for _ in range(copies):
        for img in x:
            angle = (torch.rand(1, generator=g).item() - 0.5) * 30  # +-15 degrees
            dx, dy = (torch.randint(-3, 4, (2,), generator=g)).tolist()
            scale = 0.85 + 0.3 * torch.rand(1, generator=g).item()
            out.append(TF.affine(img, angle=angle, translate=[dx, dy], scale=scale, shear=[0.0],
                                 fill=background))
    return torch.stack(out)


def train_digits() -> dict:
    data = load_data(DIGITS)
    x_aug = augment(data.x_train, copies=2, seed=1)
    data.x_train = torch.cat([data.x_train, x_aug])
    data.y_train = torch.cat([data.y_train, data.y_train.repeat(2)])
    return _fit(DIGITS, data, "digits")


def train_boston() -> dict:
    return _fit(BOSTON, load_data(BOSTON), "boston")


def _fit(cfg: RunConfig, data, name: str) -> dict:
    trainer = Trainer(cfg, data)
    for rec in trainer.run():
        if rec.test_loss is not None:
            print(f"{name} epoch {rec.epoch:g}: train {rec.train_loss:.4f} test {rec.test_loss:.4f} {rec.metrics}",
                  flush=True)
    tm = trainer.trained()
    tm.meta["trained_by"] = "scripts/train_defaults.py"
    tm.meta["train_samples"] = len(data.x_train)
    checkpoint.save(tm, OUT / f"{name}_default.safetensors")
    return {"config": json.loads(cfg.to_json()), "metrics": tm.meta["metrics"], "train_samples": len(data.x_train)}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    which = sys.argv[1:] or ["digits", "boston"]
    results = {name: {"digits": train_digits, "boston": train_boston}[name]() for name in which}
    for name, r in results.items():
        print(name, json.dumps(r["metrics"]))
