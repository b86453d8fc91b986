"""The training generator: one step order for every optimizer, progress records, metrics, divergence guard.

`Trainer(cfg).run()` yields a `Progress` per epoch (and every `report_every` steps inside long epochs); the CLI
drains it with a progress bar, the Gradio handlers turn each record into plots. Training never plots.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from . import netstats
from .augment import build_augment
from .config import RunConfig
from .data import Data, load_data
from .denormals import denormals_flushed, flush_denormals
from .errors import ConfigError, DeviceError
from .limits import Limits
from .models import MAX_MEMBERS, Ensemble, build_model, count_params, forward_chunked
from .optim import OPTIMIZERS, build_loss, build_optimizer, build_scheduler, penalty
from .records import Progress, TrainedModel

__all__ = ["DeviceError", "Progress", "Resume", "TrainedModel", "Trainer", "available_devices", "denormals_flushed",
           "ensemble", "flush_denormals", "forward_chunked", "resolve_device", "train"]

DIVERGE_FACTOR = 1e6  # a loss this many times its first value (or non-finite) counts as diverged
VAL_SEED_OFFSET = 2  # the validation part's permutation is seeded apart from the spiral's split (seed + 1)


def available_devices() -> list[str]:
    """The devices this machine can train on, best first, always ending with "cpu"."""
    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found + ["cpu"]


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" picks CUDA, then MPS, then CPU; an explicit device that is missing is a clear error."""
    have = available_devices()
    if name == "auto":
        return torch.device(have[0])
    if name not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"device {name!r} is unknown; choose from ['auto', 'cpu', 'cuda', 'mps']")
    if name not in have:
        raise DeviceError(f"device {name!r} is not available on this machine (available: {have}); use 'auto' or 'cpu'")
    return torch.device(name)


def _metrics(task: str, out: torch.Tensor, y: torch.Tensor) -> dict:
    if task == "classification":
        return {"accuracy": (out.argmax(1) == y).float().mean().item()}
    err = out - y
    mse = err.pow(2).mean().item()
    var = (y - y.mean()).pow(2).mean().item()
    return {"rmse": math.sqrt(mse), "mae": err.abs().mean().item(), "r2": 1.0 - mse / var if var > 0 else float("nan")}


def hold_out(data: Data, fraction: float, seed: int) -> tuple[Data, tuple[torch.Tensor, torch.Tensor]]:
    """A seeded validation part of the training split: (the data with the rest as its training split, (x_val, y_val)).

    Early stopping watches this part, never the test split, so the test numbers stay an honest estimate."""
    n = len(data.x_train)
    n_val = max(1, round(n * fraction))
    if n - n_val < 1:
        raise ConfigError(f"the training split has only {n} samples: too few to hold out a validation part for early "
                          "stopping; use patience 0 or more data")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + VAL_SEED_OFFSET)).to(data.x_train.device)
    val, rest = perm[:n_val], perm[n_val:]
    kept = dataclasses.replace(data, x_train=data.x_train[rest], y_train=data.y_train[rest])
    return kept, (data.x_train[val], data.y_train[val])


@dataclass
class Resume:
    """Where a run picks up: an earlier run's weights, and its optimizer's state when the optimizer is the same."""

    weights: dict[str, torch.Tensor]  # a state_dict, on the CPU
    optimizer: str = ""  # the optimizer's registry name the state belongs to
    optimizer_state: dict | None = None
    members: int = 1  # the nets of an ensemble (dlcore.models.Ensemble) the weights are for


class Trainer:
    """Builds data, model, optimizer, scheduler and loss from a RunConfig; `run()` trains and yields progress.

    With `resume`, the model starts from an earlier run's weights (and optimizer state), for "continue training".
    """

    def __init__(self, cfg: RunConfig, data: Data | None = None, limits: Limits | None = None,
                 resume: Resume | None = None, layer_stats: bool = True):
        self.limits = limits or Limits.from_env()
        self.cfg = cfg.validate(self.limits)
        self.device = resolve_device(cfg.device)
        self.data = (data if data is not None else load_data(cfg)).to(self.device)
        if cfg.dataset == "csv" and cfg.table_task != self.data.task:  # "auto": the task the table's target asks for
            self.cfg = cfg = cfg.replace(table_task=self.data.task).validate(self.limits)
        self.val: tuple[torch.Tensor, torch.Tensor] | None = None  # early stopping's validation part
        if cfg.patience:
            self.data, self.val = hold_out(self.data, cfg.val_fraction, cfg.seed)
        n = len(self.data.x_train)
        spec = OPTIMIZERS[cfg.optimizer]
        self.notes: list[str] = []
        if cfg.batch_size > n:
            raise ConfigError(f"batch size {cfg.batch_size} is larger than the {n} training samples; "
                              f"use at most {n}, or 0 for full batch")
        self.batch_size = n if cfg.batch_size == 0 else cfg.batch_size
        if spec.full_batch and self.batch_size < n:
            self.notes.append(f"{cfg.optimizer} is a full-batch method: training on all {n} samples per step "
                              f"instead of batches of {self.batch_size}")
            self.batch_size = n
        if cfg.weight_decay and not spec.weight_decay:  # say so rather than silently train without it
            self.notes.append(f"{cfg.optimizer} has no weight decay, so weight decay {cfg.weight_decay:g} is not applied; "
                              "use the L2 penalty instead")
        torch.manual_seed(cfg.seed)
        self.members = resume.members if resume is not None else 1  # an ensemble is fine-tuned (teach), not begun
        self.model = build_model(cfg, self.data.input_shape, self.data.num_outputs, self.limits,
                                 self.members).to(self.device)
        self.optimizer = build_optimizer(cfg.optimizer, self.model.parameters(), cfg)
        self.scheduler = build_scheduler(cfg.scheduler, self.optimizer, cfg)
        self.loss_fn = build_loss(cfg.task, cfg.loss_name)
        self.augment = build_augment(cfg.augment)  # applied to training batches only, never to the held-out split
        self.history: list[Progress] = []
        # per-layer norms and unit shares (dlcore.netstats) at the end of every `stats_every` epochs (0 = never), and
        # only while they have cost under `stats_budget` of the training time, past a first STATS_FREE seconds
        # (None: whatever they cost)
        self.stats_every = netstats.stats_every(cfg.epochs) if layer_stats else 0
        self.stats_budget: float | None = netstats.STATS_BUDGET
        self._layer_stats: netstats.LayerStats | None = None
        self._stats_spent = 0.0  # seconds spent on statistics so far
        if resume is not None:
            self._resume(resume)

    def _resume(self, resume: Resume) -> None:
        try:
            self.model.load_state_dict(resume.weights, strict=True)
        except RuntimeError as e:
            raise ConfigError("the earlier model's weights do not fit these settings (another architecture or data); "
                              "keep the architecture to continue, or train from scratch") from e
        if resume.optimizer_state is not None and resume.optimizer == self.cfg.optimizer:
            # a copy: torch's optimizer adopts same-device tensors as they are and would update the caller's in place
            self.optimizer.load_state_dict(copy.deepcopy(resume.optimizer_state))
        elif resume.optimizer_state is not None:
            self.notes.append(f"the optimizer changed from {resume.optimizer} to {self.cfg.optimizer}, so it starts "
                              "afresh from the earlier weights")

    def resume_point(self) -> Resume:
        """The current weights and optimizer state, to continue from later (copied to the CPU)."""
        weights = {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()}
        state = self.optimizer.state_dict()
        moved = {k: {n: (t.detach().to("cpu").clone() if torch.is_tensor(t) else t) for n, t in v.items()}
                 for k, v in state["state"].items()}
        return Resume(weights, self.cfg.optimizer, {"state": moved, "param_groups": state["param_groups"]},
                      self.members)

    @property
    def params(self) -> int:
        return count_params(self.model)

    def evaluate(self, split: str = "test") -> dict:
        """Loss and metrics over a whole split ("train" or "test") in eval mode."""
        x, y = (self.data.x_test, self.data.y_test) if split == "test" else (self.data.x_train, self.data.y_train)
        out = forward_chunked(self.model, x)
        return {"loss": self.loss_fn(out, y).item(), **_metrics(self.cfg.task, out, y)}

    def trained(self) -> TrainedModel:
        """The current model bundled with its config and the data's metadata."""
        d = self.data
        last = self.history[-1] if self.history else None
        return TrainedModel(self.cfg, self.model, {
            "input_shape": list(d.input_shape), "num_outputs": d.num_outputs, "task": d.task,
            "class_names": d.class_names, "feature_names": d.feature_names, "norm": d.norm, "info": d.info,
            "data_source": d.source, "metrics": dict(last.metrics, train_loss=last.train_loss,
                                                     test_loss=last.test_loss) if last else {},
            **({"best_epoch": last.best_epoch} if last is not None and last.best_epoch is not None else {}),
            **({"members": self.members} if self.members > 1 else {}),
        })

    def run(self, should_stop: Callable[[], bool] | None = None,  # noqa: C901, PLR0915  one loop, read top to bottom
            report_every: int | None = None) -> Iterator[Progress]:
        """Train for cfg.epochs, yielding progress; ends with one record with done=True and full-set metrics.

        report_every: steps between records inside an epoch (default: about 5 per epoch once an epoch has
        more than 100 steps). Stoppable between steps via `should_stop`, or by closing the generator.
        """
        flush_denormals()  # on the thread that trains (a worker's, Ray's, the CLI's), before its first step
        cfg, model, opt = self.cfg, self.model, self.optimizer
        x, y = self.data.x_train, self.data.y_train
        n, bs = len(x), self.batch_size
        steps_per_epoch = math.ceil(n / bs)
        if report_every is None:
            report_every = steps_per_epoch if steps_per_epoch <= 100 else max(20, steps_per_epoch // 5)
        perm_gen = torch.Generator().manual_seed(cfg.seed)
        aug_gen = torch.Generator().manual_seed(cfg.seed + 1)  # its own stream: the batch order is as without it
        penalised = bool(cfg.l1 or cfg.l2)
        self._status, self._message = "finished", " ".join(f"{note}." for note in self.notes)
        self._snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self._good = "initial weights (no epoch finished before the loss exploded)"
        self._first_loss = None
        self._start = time.perf_counter()
        self._train_time, self._samples, self._step = 0.0, 0, 0
        # running sums since the last record, kept on the device so a GPU is not synchronised every step
        self._loss_sum = torch.zeros((), device=self.device)
        self._correct = torch.zeros((), device=self.device, dtype=torch.long)
        self._seen = 0
        self._best: tuple[float, float, dict] | None = None  # early stopping: (validation loss, epoch, weights)
        self._since_best, self._early = 0, False
        model.train()
        stopped = False
        for epoch in range(cfg.epochs):
            perm = torch.randperm(n, generator=perm_gen).to(self.device) if bs < n else None
            for i in range(0, n, bs):
                if self._interrupted(epoch, should_stop):
                    stopped = True
                    break
                t0 = time.perf_counter()
                if perm is None:  # full batch: no gather copy
                    xb, yb = x, y
                else:
                    idx = perm[i:i + bs]
                    xb, yb = x[idx], y[idx]
                real = None  # which rows are real samples of their labels (None: all)
                if self.augment is not None:
                    xb, real = self.augment(xb, self.data.norm, aug_gen)
                outputs = []

                def closure():
                    opt.zero_grad(set_to_none=True)
                    out = model(xb)
                    data_loss = self.loss_fn(out, yb)
                    pen = penalty(model, cfg.l1, cfg.l2) if penalised else 0.0
                    loss = data_loss + pen
                    loss.backward()
                    outputs.append((out.detach(), loss.detach(), pen.detach() if torch.is_tensor(pen) else pen))
                    return loss

                opt.step(closure)
                out, loss, pen = outputs[0]  # the pre-step evaluation (L-BFGS calls the closure several times)
                self._count(out, yb, loss, pen, real)
                self._step += 1
                if self.device.type == "cuda" and self._step % report_every == 0:
                    torch.cuda.synchronize()  # so the measured time is the GPU's, not the launch queue's
                self._train_time += time.perf_counter() - t0
                if self._step % report_every == 0 and i + bs < n:
                    rec = self._record(epoch + (i + bs) / n, with_test=False)
                    if rec is None:
                        stopped = True
                        break
                    yield rec
            if stopped:
                break
            if self.scheduler is not None:
                self.scheduler.step()
            rec = self._record(epoch + 1, with_test=True)
            if rec is None:
                break
            yield rec
            if self._early:
                break
        final = self._final_record()
        self.history.append(final)
        yield final

    def _count(self, out: torch.Tensor, yb: torch.Tensor, loss: torch.Tensor, pen, real: torch.Tensor | None) -> None:
        """Add a step's loss and hits to the running sums of the training figures.

        The model learns from every row, but an augmentation may put rows in the batch that are no sample of their
        label (the "digits" augmentation's scribbles, whose labels are arbitrary on purpose): those are left out of
        the reported training loss and accuracy alike, so both measure the real samples and compare with the test
        figures (counted, a scribble is almost always a miss at a loss near log 10, which would make the curves and
        the run's diagnosis read a gap that is not there). `real` is a CPU mask: choosing rows does not wait for a
        GPU."""
        if real is not None and not bool(real.all()):
            keep = real.nonzero().flatten()
            if len(keep) == 0:
                return
            keep = keep.to(out.device)
            out, yb = out.index_select(0, keep), yb.index_select(0, keep)
            loss = self.loss_fn(out, yb) + pen
        self._loss_sum += loss * len(yb)
        if self.cfg.task == "classification":
            self._correct += (out.argmax(1) == yb).sum()
        self._seen += len(yb)

    def _interrupted(self, epoch: int, should_stop: Callable[[], bool] | None) -> bool:
        if should_stop is not None and should_stop():
            self._status = "stopped"
            self._message += f" stopped by the user during epoch {epoch + 1}"
            return True
        if self.cfg.time_budget and time.perf_counter() - self._start > self.cfg.time_budget:
            self._status = "time_limit"
            self._message += f" stopped during epoch {epoch + 1}: the time budget of {self.cfg.time_budget:g} s ran out"
            return True
        return False

    def _record(self, epoch_pos: float, with_test: bool) -> Progress | None:
        """Close the running sums into a Progress; None (and the last good weights restored) on divergence."""
        seen = max(self._seen, 1)
        train_loss = (self._loss_sum / seen).item()
        metrics = {"train_accuracy": self._correct.item() / seen} if self.cfg.task == "classification" else {}
        if self._first_loss is None and math.isfinite(train_loss):
            self._first_loss = train_loss
        # train_loss was measured before each step, so it vouches for the weights of the previous record, not for
        # the current ones; those are vouched for by the test loss, evaluated on exactly these weights
        test_loss = None
        if with_test:
            ev = self.evaluate("test")
            test_loss = ev.pop("loss")
            metrics.update({f"test_{k}": v for k, v in ev.items()})
        limit = DIVERGE_FACTOR * max(self._first_loss or 0.0, 1e-3)
        bad = [v for v in (train_loss, test_loss) if v is not None and (not math.isfinite(v) or v > limit)]
        if bad:
            self.model.load_state_dict(self._snapshot)
            self._status = "diverged"
            self._message += (f" training diverged at epoch {math.ceil(epoch_pos)} (loss {bad[0]:.4g}); "
                              f"the model keeps its {self._good}; try a lower learning rate than {self.cfg.lr:g}")
            return None
        if with_test:
            self._snapshot = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self._good = f"last good weights (from epoch {epoch_pos:g})"
            if self.val is not None:
                metrics["val_loss"] = self._watch(epoch_pos)
        self._samples += self._seen
        rec = Progress(epoch=round(epoch_pos, 4), epochs=self.cfg.epochs, step=self._step, train_loss=train_loss,
                       test_loss=test_loss, metrics=metrics,
                       samples_per_second=self._samples / max(self._train_time, 1e-9),
                       elapsed=time.perf_counter() - self._start, lr=self.optimizer.param_groups[0]["lr"])
        if (with_test and netstats.stats_due(round(epoch_pos), self.stats_every, self.cfg.epochs)
                and (self.stats_budget is None
                     or self._stats_spent <= max(self.stats_budget * self._train_time, netstats.STATS_FREE))):
            t0 = time.perf_counter()
            rec.layers = self.layer_stats()
            self._stats_spent += time.perf_counter() - t0
        self._loss_sum.zero_()
        self._correct.zero_()
        self._seen = 0
        self.history.append(rec)
        return rec

    def _watch(self, epoch_pos: float) -> float:
        """Early stopping: the validation loss now; keeps the best epoch's weights, and ends the run after `patience`
        epochs without a better one."""
        x, y = self.val
        val_loss = self.loss_fn(forward_chunked(self.model, x), y).item()
        if self._best is None or val_loss < self._best[0]:
            self._best = (val_loss, epoch_pos, {k: v.detach().clone() for k, v in self.model.state_dict().items()})
            self._since_best = 0
        else:
            self._since_best += 1
            if self._since_best >= self.cfg.patience and epoch_pos < self.cfg.epochs:
                self._early = True
                self._message += (f" stopped early at epoch {epoch_pos:g}: the validation loss had not improved for "
                                  f"{self.cfg.patience} epochs;")
        return val_loss

    def _final_record(self) -> Progress:
        best_epoch, kept = None, ""
        if self._best is not None:  # the best epoch's weights are the model, whatever ended the run
            val_loss, best_epoch, weights = self._best
            self.model.load_state_dict(weights)
            kept = f"; kept the weights of epoch {best_epoch:g} (best validation loss {val_loss:.4g})"
        train, test = self.evaluate("train"), self.evaluate("test")
        metrics = {f"train_{k}": v for k, v in train.items() if k != "loss"}
        metrics.update({f"test_{k}": v for k, v in test.items() if k != "loss"})
        epochs_done = self.history[-1].epoch if self.history else 0
        message = (self._message.strip().rstrip(";") or f"finished {self.cfg.epochs} epochs") + kept
        return Progress(epoch=epochs_done, epochs=self.cfg.epochs, step=self._step, train_loss=train["loss"],
                        test_loss=test["loss"], metrics=metrics,
                        samples_per_second=self._samples / max(self._train_time, 1e-9),
                        elapsed=time.perf_counter() - self._start, lr=self.optimizer.param_groups[0]["lr"],
                        done=True, status=self._status, message=message, best_epoch=best_epoch,
                        layers=self.layer_stats() if self.stats_every else None)

    def layer_stats(self) -> list[dict]:
        """Per-layer weight and gradient norms and unit shares now (dlcore.netstats), on a fixed training probe; for
        gd, whose update zeroes the gradients, the gradient norms are the probe's."""
        if self._layer_stats is None:
            self._layer_stats = netstats.LayerStats(self.model)
        probe = self.data.x_train[:netstats.PROBE]
        grads = None
        if self.cfg.optimizer == "gd":  # it zeroes the gradients right after each update (seed 000): take the probe's
            with torch.enable_grad():
                loss = self.loss_fn(self.model(probe), self.data.y_train[:netstats.PROBE])
                grads = torch.autograd.grad(loss, self._layer_stats.weights, allow_unused=True)
        return self._layer_stats(probe, grads)


def train(cfg: RunConfig, data: Data | None = None, limits: Limits | None = None, resume: Resume | None = None,
          **run_kwargs) -> tuple[TrainedModel, Progress]:
    """Train to the end without reporting (`run_kwargs` go to `Trainer.run`); return the trained model and the final
    record."""
    trainer = Trainer(cfg, data, limits=limits, resume=resume)
    records = list(trainer.run(**run_kwargs))
    return trainer.trained(), records[-1]


def ensemble(models: list[TrainedModel]) -> TrainedModel:
    """One model of several trained alike (the same settings and data, other seeds) that answers with their mean class
    probabilities (`dlcore.models.Ensemble`); its metadata is the first's, with `members` set and the members' own
    metrics kept under "member_metrics" (the ensemble's own are the caller's to measure)."""
    if not 2 <= len(models) <= MAX_MEMBERS:
        raise ConfigError(f"an ensemble has 2 to {MAX_MEMBERS} trained models, not {len(models)}")
    first = models[0]

    def alike(tm: TrainedModel) -> bool:
        same_data = all(tm.meta.get(k) == first.meta.get(k) for k in ("input_shape", "num_outputs", "class_names", "norm"))
        return tm.members == 1 and same_data and dataclasses.replace(tm.cfg, seed=0) == dataclasses.replace(first.cfg, seed=0)

    if not all(alike(tm) for tm in models):
        raise ConfigError("an ensemble's nets must be single models trained with the same settings on the same data "
                          "(only the seed may differ)")
    nets = [copy.deepcopy(tm.model).to(first.device) for tm in models]
    model = Ensemble(nets)
    meta = {**copy.deepcopy(first.meta), "members": len(nets), "member_seeds": [tm.cfg.seed for tm in models],
            "member_metrics": [tm.meta.get("metrics", {}) for tm in models], "metrics": {}}
    return TrainedModel(first.cfg, model.eval(), meta)
