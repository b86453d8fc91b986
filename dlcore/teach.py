"""Teach a digit model someone's own hand: fine-tune it on a few of their labelled drawings mixed with MNIST.

The drawings alone would be a few dozen images: trained on those only, a net forgets the rest of MNIST within a few
steps. So they are mixed into the embedded MNIST training digits (with the "digits" augmentation, also the shipped
drawn digits, `dlcore.data.hand_digits`), repeated until they make up about a fifth of the data, and the model trains
on that for one short epoch from its own weights (`Trainer(resume=...)`), with the model's own augmentation (so each
repeat of a drawing is seen tilted, shifted and thickened differently). The held-out MNIST digits are evaluated before
and after, so forgetting would show.

An ensemble (the shipped digits model, three nets) is fine-tuned as one model, on a seeded share of the MNIST part of
the mix (a third for three nets) with the drawings repeated to the same fifth: the time of one net's teaching, not
three. Teaching the shipped ensemble so learned the drawings and forgot no more than teaching it the whole mix at 2-3
times the time (notes/hand-digits.md, fourth round).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .data import MNIST_MEAN, MNIST_STD, load_data
from .errors import InputError
from .limits import Limits
from .models import forward_chunked
from .records import TrainedModel
from .train import Resume, train

MIN_DRAWINGS = 1
MAX_DRAWINGS = 200  # a session's teaching set; more belongs in a real data set
SHARE = 0.2  # the drawings' share of the fine-tuning data, after repeating them
# Fine-tuning steps are a tenth of training's: the model comes from a schedule that ended near a learning rate of 0,
# and a fresh Adam at half the training rate (as before) knocked it off what it knew, about a point of MNIST held-out
# accuracy per teaching; a tenth keeps nearly all of it and still learns every drawing (notes/hand-digits.md, Teaching)
LR_FACTOR = 0.1


@dataclass
class TeachReport:
    """What teaching did: accuracy on the user's drawings and on MNIST's held-out digits, before and after."""

    drawings: int
    before: float  # accuracy on the drawings before fine-tuning
    after: float  # ... and after (these drawings were trained on: a check that it learnt them, not a test)
    mnist_before: float  # accuracy on the held-out MNIST digits the tab's data keeps apart
    mnist_after: float
    seconds: float
    wrong_before: list[int]  # indices of the drawings read wrong before
    wrong_after: list[int]


def _accuracy(tm: TrainedModel, x: torch.Tensor, y: torch.Tensor) -> tuple[float, list[int]]:
    pred = forward_chunked(tm.model, x.to(tm.device)).argmax(1).cpu()
    wrong = (pred != y).nonzero().flatten().tolist()
    return 1.0 - len(wrong) / max(len(y), 1), wrong


def teach(tm: TrainedModel, images: np.ndarray, labels: list[int] | np.ndarray, seed: int = 0,
          limits: Limits | None = None) -> tuple[TrainedModel, TeachReport]:
    """Fine-tune a copy of a digit model on (28, 28) drawings in [0, 1] (as `model_input` frames them) with labels
    0-9, mixed with the embedded MNIST training digits; the model passed in is left as it was."""
    if tm.cfg.dataset != "mnist":
        raise InputError(f"teaching is for digit models; this one was trained on {tm.cfg.dataset!r}: train or load a "
                         "digits model first")
    images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if not MIN_DRAWINGS <= len(images) <= MAX_DRAWINGS or len(images) != len(labels):
        raise InputError(f"teach with 1 to {MAX_DRAWINGS} labelled drawings (got {len(images)} drawings and "
                         f"{len(labels)} labels); draw a digit, pick its label and add it")
    if labels.min() < 0 or labels.max() > 9:
        raise InputError(f"digit labels are 0 to 9, got {sorted(set(labels.tolist()))}")
    t0 = time.perf_counter()
    mean, std = tm.meta["norm"]["mean"][0], tm.meta["norm"]["std"][0]
    x_own = torch.from_numpy((images - mean) / std).unsqueeze(1)
    y_own = torch.from_numpy(labels)
    cfg = tm.cfg.replace(mnist_source="embedded", epochs=1, lr=tm.cfg.lr * LR_FACTOR, scheduler="none",
                         seed=seed, device="cpu", time_budget=0.0)
    data = load_data(cfg)
    data.norm = {"mean": [mean], "std": [std]}
    if (mean, std) != (MNIST_MEAN, MNIST_STD):  # a model normalised otherwise sees MNIST (and drawn digits) its own way
        data.x_train = (data.x_train * MNIST_STD + MNIST_MEAN - mean) / std
        data.x_test = (data.x_test * MNIST_STD + MNIST_MEAN - mean) / std
    if tm.members > 1:  # an ensemble: a share of the mix per net, so one net's time (the module's docstring)
        keep = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))
        keep = keep[:len(keep) // tm.members]
        data.x_train, data.y_train = data.x_train[keep], data.y_train[keep]
    repeats = max(1, math.ceil(SHARE / (1 - SHARE) * len(data.x_train) / len(x_own)))
    data.x_train = torch.cat([data.x_train, x_own.repeat(repeats, 1, 1, 1)])
    data.y_train = torch.cat([data.y_train, y_own.repeat(repeats)])
    before, wrong_before = _accuracy(tm, x_own, y_own)
    mnist_before, _ = _accuracy(tm, data.x_test, data.y_test)
    weights = {k: v.detach().to("cpu").clone() for k, v in tm.model.state_dict().items()}
    taught, _ = train(cfg, data, limits=limits, resume=Resume(weights, members=tm.members))
    taught.meta = {**copy.deepcopy(tm.meta), "metrics": taught.meta["metrics"],
                   "taught": {"drawings": len(images), "from": tm.meta.get("data_source", "")}}
    taught.cfg = tm.cfg  # it is still the same architecture and settings: Download keeps them
    taught.model.eval()
    after, wrong_after = _accuracy(taught, x_own, y_own)
    mnist_after, _ = _accuracy(taught, data.x_test, data.y_test)
    return taught, TeachReport(len(images), before, after, mnist_before, mnist_after, time.perf_counter() - t0,
                               wrong_before, wrong_after)
