"""What a run's curves say, in one or two plain sentences, and one change of settings to try next.

`diagnose(cfg, records, final)` reads the recorded progress (the epoch-end records carry the test loss) and the final
record, and names the first of: diverged, oscillating, over-fitting, under-fitting, not converged, or fine; a
regression worse than predicting the mean (test R² < 0), or a classifier no better than always answering the most
common class, is said first. Each diagnosis but "fine" carries `changes`, RunConfig fields to set for the next run
(the app's **Try this** applies them to the tab's fields). Free of Gradio: the app, the CLI's JSON and the tests
share it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .config import RunConfig
from .records import Progress

# How the curves are read (fractions of the run, relative changes of the training loss).
TAIL = 0.1  # "the end of the run": its last 10 % of epochs
STILL_FALLING = 0.02  # a drop of more than 2 % over the tail is "still falling fast": not converged
SLOWLY_FALLING = 0.9  # share of the tail's epoch-to-epoch changes that are drops for "still falling, slowly"
SWING = 0.02  # oscillating: epoch-to-epoch changes of 2 % of the loss on average, in the last 30 % of the run ...
TURNS = 0.4  # ... that change direction at least 40 % of the time
RISE = 0.1  # over-fitting: the test loss ended 10 % above its lowest point ...
EARLY = 0.8  # ... which came before the last 20 % of the run
GOOD_ACCURACY = 0.9  # training accuracy below this is under-fitting
GOOD_R2 = 0.5  # training R² below this is under-fitting
DONE_ACCURACY = 0.99  # training accuracy this high: a still-falling loss has little left to give
MIN_EPOCHS = 5  # epoch records needed to read the shape of a curve
MIN_OVERFIT_EPOCHS = 10  # ... and to tell a rising test loss from noise
GREW = 1.5  # a training loss that ends this many times above its first epoch's is diverging
# The largest learning rate a "10x larger" suggestion goes to, per optimizer (a bigger one mostly diverges).
LR_CAP = {"adam": 3e-2, "adamw": 3e-2, "rmsprop": 1e-2, "adagrad": 0.3, "adadelta": 10.0, "rprop": 0.1,
          "sgd": 1.0, "gd": 1.0, "lbfgs": 1.0}


@dataclass(frozen=True)
class Diagnosis:
    """One run's lesson: `kind`, the sentences, and the settings the Try this button applies."""

    kind: str  # fine | diverged | oscillating | overfitting | underfitting | not_converged | too_short
    text: str  # one or two plain sentences (Markdown)
    changes: dict = field(default_factory=dict)  # RunConfig field -> new value; {} when there is nothing to try
    label: str = ""  # the suggestion in a few words, e.g. "learning rate 1e-2"
    worse_than_baseline: bool = False  # regression R² < 0, or a classifier no better than its most common class

    @property
    def ok(self) -> bool:
        """The run deserves a ✅: nothing to fix."""
        return self.kind == "fine" and not self.worse_than_baseline

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def nice_lr(lr: float) -> float:
    """`lr` moved to the nearest of 1, 3 × 10^k (the learning-rate list's steps), e.g. 3.3e-3 -> 3e-3."""
    k = math.floor(math.log10(lr))
    nearest = min((m * 10.0 ** e for e in (k - 1, k, k + 1) for m in (1, 3)), key=lambda v: abs(math.log(v / lr)))
    return float(f"{nearest:.1g}")  # 3e-05, not 3.0000000000000004e-05


def lr_text(lr: float) -> str:
    """A learning rate as the list writes it: 1e-3, 3e-2, 0.1, 1."""
    return f"{lr:g}" if lr >= 0.1 else f"{lr:.0e}".replace("e-0", "e-")


def majority_share(labels) -> float:
    """The share of the most common class: the accuracy of always answering it (a tensor or list of labels)."""
    values = [int(v) for v in labels]
    return max(values.count(c) for c in set(values)) / len(values) if values else 0.0


def _epoch_losses(records: list[Progress]) -> list[tuple[float, float, float]]:
    """(epoch, train loss, test loss) at each epoch end (the records that carry a test loss)."""
    return [(r.epoch, r.train_loss, r.test_loss) for r in records if r.test_loss is not None and not r.done
            and math.isfinite(r.train_loss) and math.isfinite(r.test_loss)]


def _tail_start(epochs: list[float], tail: float = TAIL) -> int:
    """The index of the last record at or before the start of the run's last `tail` share of epochs (the records may
    be thinned, so positions count, not indices)."""
    cut = epochs[-1] * (1 - tail)
    return max(0, min(len(epochs) - 2, max((i for i, e in enumerate(epochs) if e <= cut), default=0)))


def _tail_drop(epochs: list[float], losses: list[float], tail: float = TAIL) -> float:
    """Relative fall of the loss over the run's last `tail` share of epochs (positive = falling)."""
    start = losses[_tail_start(epochs, tail)]
    return (start - losses[-1]) / abs(start) if start else 0.0


def _gap(cfg: RunConfig, final: Progress) -> str:
    """A sentence when training is far better than test (a warning sign of over-fitting), else ""."""
    m = final.metrics
    if cfg.task == "classification" and m.get("train_accuracy", 0) - m.get("test_accuracy", 1) > 0.1:
        return f" Train is far better than test (accuracy {m['train_accuracy']:.2f} vs {m['test_accuracy']:.2f})."
    if cfg.task == "regression" and final.test_loss > 2 * final.train_loss:
        return (f" Train is far better than test (loss {final.train_loss:.3g} vs {final.test_loss:.3g}): watch the "
                "test loss, it rises once the model starts to over-fit.")
    return ""


def _falling_steadily(losses: list[float]) -> bool:
    tail = losses[max(0, int(len(losses) * (1 - 2 * TAIL))):]
    steps = [b - a for a, b in zip(tail, tail[1:])]
    return bool(steps) and sum(s < 0 for s in steps) >= SLOWLY_FALLING * len(steps) and tail[-1] < tail[0]


def _oscillating(losses: list[float]) -> float:
    """The share of direction changes in the last 30 % of the run when its swings are large, else 0."""
    tail = losses[int(len(losses) * 0.7):]
    steps = [b - a for a, b in zip(tail, tail[1:])]
    if len(steps) < 4:
        return 0.0
    level = sum(abs(v) for v in tail) / len(tail)
    swing = sum(abs(s) for s in steps) / len(steps) / level if level else 0.0
    turns = sum((a > 0) != (b > 0) for a, b in zip(steps, steps[1:]) if a and b) / (len(steps) - 1)
    return turns if swing > SWING and turns >= TURNS else 0.0


def _more_epochs(cfg: RunConfig, max_epochs: int) -> tuple[dict, str]:
    epochs = min(cfg.epochs * 3, max_epochs)
    if epochs > cfg.epochs:
        return {"epochs": epochs}, f"{epochs:,} epochs"
    return _scaled_lr(cfg, 3.0)


def _scaled_lr(cfg: RunConfig, factor: float) -> tuple[dict, str]:
    lr = nice_lr(cfg.lr * factor)
    if factor > 1:
        lr = min(lr, LR_CAP.get(cfg.optimizer, 1.0))
    if math.isclose(lr, cfg.lr, rel_tol=1e-3) or (factor > 1 and lr < cfg.lr):
        return {}, ""
    return {"lr": lr}, f"learning rate {lr_text(lr)}"


def _bend(cfg: RunConfig) -> tuple[dict, str]:
    """The smallest change that lets the model draw curved boundaries."""
    if cfg.dataset in ("mnist", "fashion"):
        return {"model": "cnn", "activation": "relu"}, "the CNN"
    if cfg.model == "mlp":
        return {"activation": "relu"}, "the ReLU activation"
    return {"model": "mlp", "hidden": (100,), "activation": "relu"}, "an MLP with 100 ReLU units"


def _baseline(cfg: RunConfig, final: Progress, chance: float | None) -> str:
    """A sentence when the model is no better than the trivial one, else ""."""
    m = final.metrics
    if cfg.task == "regression" and m.get("test_r2") is not None and m["test_r2"] < 0:
        return (f"Worse than no model at all: test R² is {m['test_r2']:.2f}, and always predicting the average "
                "scores 0. ")
    acc = m.get("test_accuracy")
    if cfg.task == "classification" and chance is not None and acc is not None and acc <= chance + 0.01:
        return (f"No better than guessing: test accuracy {acc:.3f}, and always answering the most common class "
                f"scores {chance:.3f}. ")
    return ""


def _poorly_fit(cfg: RunConfig, final: Progress) -> str:
    """The training metric, said, when it is poor (under-fitting), else ""."""
    m = final.metrics
    if cfg.task == "classification" and m.get("train_accuracy", 1.0) < GOOD_ACCURACY:
        return f"train accuracy is only {m['train_accuracy']:.2f}"
    if cfg.task == "regression" and m.get("train_r2", 1.0) < GOOD_R2:
        return f"train R² is only {m['train_r2']:.2f}"
    return ""


def _shape(cfg: RunConfig, epochs: list[tuple[float, float, float]], final: Progress,  # noqa: PLR0911  one
           max_epochs: int) -> Diagnosis:  # decision list, read top to bottom
    """The curve's shape, read in order of urgency."""
    train = [t for _, t, _ in epochs]
    test = [v for _, _, v in epochs]
    n = len(epochs)
    positions = [e for e, _, _ in epochs]
    tail_epochs = max(1, round(epochs[-1][0] - epochs[_tail_start(positions)][0]))
    turns = _oscillating(train)
    if turns:
        changes, label = _scaled_lr(cfg, 1 / 3)
        return Diagnosis("oscillating", f"The loss jumps up and down instead of settling (it changed direction "
                         f"{turns:.0%} of the time over the last epochs): the steps overshoot the minimum. Try a "
                         f"3× smaller learning rate.", changes, label)
    best = min(range(n), key=test.__getitem__)
    if n >= MIN_OVERFIT_EPOCHS and test[-1] > test[best] * (1 + RISE) and best < EARLY * n and train[-1] < train[best]:
        stop_at = max(1, math.ceil(epochs[best][0]))
        return Diagnosis("overfitting", f"Over-fitting: the test loss was lowest at epoch {stop_at:,} "
                         f"({test[best]:.3g}) and has risen since ({test[-1]:.3g}) while the training loss kept "
                         f"falling, so the model is learning the training points by heart. Try stopping at epoch "
                         f"{stop_at:,} (more data, dropout or weight decay help too).",
                         {"epochs": stop_at}, f"{stop_at:,} epochs")
    poor = _poorly_fit(cfg, final)
    if poor and (cfg.model == "linear" or cfg.activation == "identity"):
        changes, label = _bend(cfg)
        return Diagnosis("underfitting", f"Under-fitting: {poor}. Without a non-linearity the model is one linear "
                         f"map and can only draw straight boundaries, however long it trains. Try {label}.",
                         changes, label)
    if poor and _falling_steadily(train):
        changes, label = _scaled_lr(cfg, 10.0)
        if not changes:
            changes, label = _more_epochs(cfg, max_epochs)
        drop = _tail_drop(positions, train)
        return Diagnosis("underfitting", f"Not finished: {poor}, but the loss is still falling (−{drop:.1%} over the "
                         f"last {tail_epochs:,} epochs): the model is still learning, slowly, not stuck at its limit. "
                         f"Try {'a 10× larger learning rate' if 'lr' in changes else 'more epochs'} "
                         f"({lr_text(changes['lr']) if 'lr' in changes else label}).",
                         changes, label)
    if poor:
        if cfg.model == "mlp":
            wider = tuple(2 * h for h in cfg.hidden)
            return Diagnosis("underfitting", f"Under-fitting: {poor} and the loss has stopped falling: the model is "
                             "too small for this data, or its steps too small to find a better fit. Try wider layers.",
                             {"hidden": wider}, f"hidden layers {','.join(map(str, wider))}")
        changes, label = _scaled_lr(cfg, 10.0)
        return Diagnosis("underfitting", f"Under-fitting: {poor} and the loss has stopped falling. Try a larger "
                         "learning rate.", changes, label)
    drop = _tail_drop(positions, train)
    done = cfg.task == "classification" and final.metrics.get("train_accuracy", 0.0) >= DONE_ACCURACY
    if drop > STILL_FALLING and not done:
        changes, label = _more_epochs(cfg, max_epochs)
        more = (f"more epochs ({changes['epochs']:,})" if "epochs" in changes else
                f"a larger learning rate ({lr_text(changes['lr'])})" if "lr" in changes else "more epochs")
        return Diagnosis("not_converged", f"Not converged: the loss fell {drop:.0%} over the last {tail_epochs:,} "
                         f"epochs and is still falling. Try {more}, or press Continue to train on from here."
                         f"{_gap(cfg, final)}", changes, label)
    return Diagnosis("fine", _fine_text(cfg, final, drop) + _gap(cfg, final))


def _fine_text(cfg: RunConfig, final: Progress, drop: float) -> str:
    m = final.metrics
    if cfg.task == "classification":
        said = f"test accuracy {m.get('test_accuracy', float('nan')):.3f}, train {m.get('train_accuracy', float('nan')):.3f}"
    else:
        said = f"test R² {m.get('test_r2', float('nan')):.2f}, train {m.get('train_r2', float('nan')):.2f}"
    if drop > STILL_FALLING:
        return f"Trained well: {said}. The loss is still falling a little: Continue would polish it."
    return f"Converged: {said}. The loss has levelled off."


def diagnose(cfg: RunConfig, records: list[Progress], final: Progress, chance: float | None = None,
             max_epochs: int = 20_000) -> Diagnosis:
    """The lesson of a run from its records (epoch ends carry the test loss) and its final record.

    `chance`: a classifier's baseline accuracy (the most common class's share of the test set); `max_epochs`: the
    most a "more epochs" suggestion may ask for.
    """
    if final.status == "diverged":
        changes, label = _scaled_lr(cfg, 0.1)
        return Diagnosis("diverged", f"The loss blew up: each step overshot the minimum by more than the last. Try a "
                         f"10× smaller learning rate ({lr_text(changes.get('lr', cfg.lr))}).", changes, label)
    baseline = _baseline(cfg, final, chance)
    epochs = _epoch_losses(records)
    if len(epochs) >= 2 and final.train_loss > GREW * epochs[0][1]:  # not a million-fold, but going the wrong way
        changes, label = _scaled_lr(cfg, 0.1)
        return Diagnosis("diverged", baseline + f"The loss ended far above where it started ({epochs[0][1]:.3g} → "
                         f"{final.train_loss:.3g}): the steps are so large that each overshoots the minimum. Try a "
                         f"10× smaller learning rate ({lr_text(changes.get('lr', cfg.lr))}).", changes, label,
                         bool(baseline))
    if len(epochs) < MIN_EPOCHS:
        poor = _poorly_fit(cfg, final)
        changes, label = _more_epochs(cfg, max_epochs) if poor else ({}, "")
        text = (f"Too short to read the curves ({len(epochs)} epoch{'s' * (len(epochs) != 1)})"
                + (f", and {poor}. Try more epochs ({changes['epochs']:,})." if "epochs" in changes else
                   f", and {poor}. Try {label}." if poor else "; the numbers above are all it says."))
        return Diagnosis("too_short" if poor else "fine", baseline + text, changes, label, bool(baseline))
    d = _shape(cfg, epochs, final, max_epochs)
    return Diagnosis(d.kind, baseline + d.text, d.changes, d.label, bool(baseline))


__all__ = ["Diagnosis", "diagnose", "lr_text", "majority_share", "nice_lr"]
