"""Train the embedded default models shipped in dlcore/weights/ and record their held-out metrics.

    python scripts/train_defaults.py            # both
    python scripts/train_defaults.py digits     # one

Both start from the dataset's preset (dlcore/presets.py), the settings the app's tabs start with.
digits: an ensemble of three CNNs (`dlcore.models.Ensemble`, which answers with their mean class probabilities), each
trained with the Digits tab's default settings (the mnist preset: cnn_bn with the "digits" augmentation, which makes
every training batch look more like people's drawings and puts scribbles in a share of it, dlcore/augment.py) and one
of the seeds 0, 1, 2, on the embedded 5,000-digit MNIST subset (4,000 train, the fixed 1,000 held out, never
augmented; their accuracy is what is recorded) and the shipped drawn digits the augmentation adds to the training split
(dlcore/data/hand_train.npz, scripts/make_hand_train.py). So each of its nets is what a user gets by pressing Train
with the defaults offline and that seed, as of the run that made it (dlcore/weights/README.md says which data and
preset that was, and why three: one net's figures on people's drawings vary by seed more than the issue's margin).
Its accuracy on the unseen-hand test set: `python scripts/eval_hand.py`.
boston: the preset MLP, trained on the split of seed 0. Its recorded metrics are the means (and standard deviations,
and every value) over the ten seeded 85/15 splits of seeds 0-9, each trained afresh with the same settings: one split's
76 test rows say more about the split than about the model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch.nn.functional as F

from dlcore import checkpoint
from dlcore.data import load_data
from dlcore.evaluate import repeated
from dlcore.presets import preset
from dlcore.train import Trainer, ensemble, forward_chunked

OUT = Path(__file__).resolve().parents[1] / "dlcore" / "weights"

DIGITS = preset("mnist", mnist_source="embedded", device="cpu")
BOSTON = preset("boston", device="cpu")
SPLITS = range(10)  # the seeds whose splits the Boston figures are averaged over
DIGIT_SEEDS = (0, 1, 2)  # the digits ensemble's nets, one per seed


def train_digits() -> dict:
    data = load_data(DIGITS)
    tm = ensemble([_fit(DIGITS.replace(seed=seed), data, f"digits seed {seed}") for seed in DIGIT_SEEDS])
    out = forward_chunked(tm.model, data.x_test)
    tm.meta["metrics"] = {"test_accuracy": float((out.argmax(1) == data.y_test).float().mean()),
                          "test_loss": float(F.cross_entropy(out, data.y_test))}
    return _save(tm, "digits", train_samples=len(data.x_train))


def train_boston() -> dict:
    tm = _fit(BOSTON, load_data(BOSTON), "boston")
    over = repeated(BOSTON, SPLITS)
    metrics = {}
    for key, s in over.items():
        metrics[key] = s["mean"]
        metrics[f"{key}_std"] = s["std"]
        metrics[f"{key}_values"] = s["values"]
    tm.meta["metrics"] = metrics
    tm.meta["metrics_over"] = f"mean over the 85/15 splits of seeds {SPLITS.start}-{SPLITS.stop - 1}"
    return _save(tm, "boston")


def _fit(cfg, data, name: str):
    trainer = Trainer(cfg, data)
    for rec in trainer.run():
        if rec.test_loss is not None and rec.epoch % 50 == 0 or rec.done:
            print(f"{name} epoch {rec.epoch:g}: train {rec.train_loss:.4f} test {rec.test_loss:.4f} {rec.metrics}",
                  flush=True)
    return trainer.trained()


def _save(tm, name: str, **extra) -> dict:
    tm.meta["trained_by"] = "scripts/train_defaults.py"
    tm.meta.update({k: v for k, v in extra.items() if v is not None})
    checkpoint.save(tm, OUT / f"{name}_default.safetensors")
    return {"config": json.loads(tm.cfg.to_json()), "metrics": tm.meta["metrics"]}


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    which = sys.argv[1:] or ["digits", "boston"]
    results = {name: {"digits": train_digits, "boston": train_boston}[name]() for name in which}
    for name, r in results.items():
        print(name, json.dumps(r["metrics"]))
