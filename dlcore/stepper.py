"""Training by hand: Step advances a run by one epoch or one batch, Reset starts it again from new initial weights.

A `Stepper` holds a trainer and its paused `run()` generator between two clicks, so stepping N epochs is exactly the
run Train would make in N epochs (same data, batch order, optimizer state); only the clicks are spread out in time.
"""

from __future__ import annotations

import threading

import torch

from .config import RunConfig
from .data import Data
from .limits import Limits
from .plots import curve_points
from .records import Progress, TrainedModel
from .train import Trainer

RESET_SEED = 7919  # Reset k draws initial weights from seed + k * RESET_SEED (k = 0: the same weights as Train)


class Stepper:
    """One hand-driven run of a tab: the trainer, its paused generator, the curves so far."""

    def __init__(self, cfg: RunConfig, data: Data, limits: Limits, resets: int = 0):
        self.cfg = cfg = cfg.replace(time_budget=0.0)  # the pauses between clicks are not training time
        self.resets = resets
        self.trainer = Trainer(cfg, data, limits)
        self.trainer.stats_every = 1  # each click may be one epoch: record the layers at every one
        self.trainer.stats_budget = None
        if resets:
            torch.manual_seed(cfg.seed + resets * RESET_SEED)
            for m in self.trainer.model.modules():
                if hasattr(m, "reset_parameters") and m is not self.trainer.model:
                    m.reset_parameters()
        self.curves: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.last: Progress | None = None
        self.done = False
        self._run = self.trainer.run(report_every=1)
        self._lock = threading.Lock()

    def matches(self, cfg: RunConfig) -> bool:
        """Whether `cfg` describes this run (the epochs setting may change between steps)."""
        return cfg.replace(epochs=self.cfg.epochs) == self.cfg

    def step(self, unit: str = "epoch") -> Progress:
        """Train one batch, or up to the end of the current epoch; the record that ends it."""
        if unit not in ("epoch", "batch"):
            raise ValueError(f"step unit {unit!r} is unknown; use 'epoch' or 'batch'")
        with self._lock:
            if self.done:
                return self.last
            try:
                return self._advance(unit)
            finally:
                self.trainer.model.eval()  # between clicks the model answers probes (dropout off)

    def _advance(self, unit: str) -> Progress:
        self.trainer.model.train()  # run() set it once, at its start; a probe between clicks may have changed it
        for rec in self._run:
            self.last = rec
            if rec.done:
                self.done = True
                return rec
            for panel, series, epoch, value in curve_points(rec, self.cfg.task):
                self.curves.setdefault((panel, series), []).append((epoch, value))
            if unit == "batch" or rec.test_loss is not None:
                return rec
        self.done = True
        return self.last

    @property
    def epochs_done(self) -> float:
        return self.last.epoch if self.last is not None else 0.0

    def trained(self) -> TrainedModel:
        """The model as it is now, with its metadata (it keeps changing with the next steps)."""
        return self.trainer.trained()

    def close(self) -> None:
        """Let the paused generator go (its trainer's tensors with it)."""
        self._run.close()
