"""The seed lab: each seed text's experiment, rerun, with the seed's published numbers beside ours.

Where a seed's system maps onto dlcore (the spiral table, the MNIST net) it runs through the same Trainer as the
app; where the seed's point is the hand-written code itself (seed 000's linear regression, seed 003's derived gradient,
seed 004's from-scratch SGD) it is written out here in plain torch, as the seed wrote it.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .config import RunConfig
from .data import Data, boston_split, boston_table, spiral_points
from .errors import ConfigError
from .train import Progress, Trainer


@dataclass(frozen=True)
class SpiralRow:
    """One row of seed 002's table: the network, how it was trained, and what the seed printed at the end."""

    name: str
    hidden: tuple[int, ...]
    activation: str
    optimizer: str
    lr: float
    seed_loss: float
    seed_accuracy: float
    epochs: int = 1000
    tolerance: float = 0.02  # |our training accuracy - the seed's| allowed


# Seed 002's table: full batch, weight decay 1e-5.
SPIRAL_TABLE = [
    SpiralRow("2-100-3, no activation, SGD 1e-3", (100,), "identity", "sgd", 1e-3, 0.862976, 0.501),
    SpiralRow("2-100-3, sigmoid, Adam 1e-3", (100,), "sigmoid", "adam", 1e-3, 0.754807, 0.509),
    SpiralRow("2-100-3, ReLU, Adam 1e-3", (100,), "relu", "adam", 1e-3, 0.171876, 0.955, tolerance=0.03),
    SpiralRow("2-100-3, ReLU, SGD 1e-1", (100,), "relu", "sgd", 1e-1, 0.377146, 0.813),
    SpiralRow("2-100-25-3, ReLU, Adam 1e-3", (100, 25), "relu", "adam", 1e-3, 0.022764, 0.998),
    SpiralRow("2-100-25-3, ReLU, Adam 1e-3, 10,000 epochs", (100, 25), "relu", "adam", 1e-3, 0.002587, 0.999,
              epochs=10_000),
]


def spiral_table_configs(seed: int = 0) -> list[tuple[str, RunConfig]]:
    """The six rows of seed 002's table as (name, RunConfig), e.g. to queue them in the Compare tab.

    Trained through `load_data` (as the Compare tab does) a config holds out 20 % of the 3,000 points;
    `spiral_table` instead trains on all 3,000 as the seed did and holds out a second draw.
    """
    return [(r.name, RunConfig(dataset="spiral", model="mlp", hidden=r.hidden, activation=r.activation,
                               optimizer=r.optimizer, lr=r.lr, weight_decay=1e-5, epochs=r.epochs, batch_size=0,
                               classes=3, points=1000, noise=0.2, train_fraction=0.8, seed=seed, device="cpu"))
            for r in SPIRAL_TABLE]


def _seed_spiral_data(seed: int) -> Data:
    """All 3,000 points for training, as the seed did; a second, independent draw of 3,000 as the held-out set."""
    x, y = spiral_points(3, 1000, 0.2, seed)
    xt, yt = spiral_points(3, 1000, 0.2, seed + 10_000)
    return Data("spiral", "classification", x, y, xt, yt, class_names=["0", "1", "2"], feature_names=["x", "y"],
                source="seed 002's formula: 3,000 training points, a fresh draw of 3,000 held out",
                norm={"mean": [0.0, 0.0], "std": [1.0, 1.0]})


def spiral_table(seed: int = 0, rows: list[int] | None = None, progress: Callable[[str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict:
    """Seed 002's six rows, trained like the seed (all 3,000 points, full batch), with held-out accuracy added.

    rows: indices into SPIRAL_TABLE to run (default all six); should_stop: checked between steps, ends the table early.
    """
    data = _seed_spiral_data(seed)
    out, ended, sigmoid = [], [], None
    for i, (row, (name, cfg)) in enumerate(zip(SPIRAL_TABLE, spiral_table_configs(seed))):
        if rows is not None and i not in rows:
            continue
        t0 = time.perf_counter()
        *epochs, final = Trainer(cfg, data).run(should_stop=should_stop)
        if final.status != "finished":  # a row cut short would not compare with the seed's, so it is left out
            ended.append(f"Ended at row {name!r}: {final.message}")
            break
        # The seed printed the loss and accuracy of its last forward pass, just before the last update: that is
        # the last epoch record's train_loss / train_accuracy (full batch, so one step per epoch).
        last = epochs[-1]
        acc = last.metrics["train_accuracy"]
        if row.activation == "sigmoid":
            sigmoid = [r for r in epochs if r.test_loss is not None]
        out.append({  # the seed's numbers beside ours
            "name": name, "epochs": row.epochs, "seed_loss": row.seed_loss, "loss": last.train_loss,
            "seed_accuracy": row.seed_accuracy, "train_accuracy": acc, "test_accuracy": final.metrics["test_accuracy"],
            "tolerance": row.tolerance, "within_tolerance": abs(acc - row.seed_accuracy) <= row.tolerance,
            "seconds": round(time.perf_counter() - t0, 2),
        })
        if progress:
            progress(f"{name}: loss {last.train_loss:.4f}, accuracy {acc:.3f} (seed {row.seed_accuracy:.3f}), "
                     f"held-out {final.metrics['test_accuracy']:.3f}")
    return {"name": "spiral-table", "rows": out, "notes": [*spiral_table_notes(seed, sigmoid), *ended]}


def spiral_table_notes(seed: int = 0, sigmoid: list[Progress] | None = None) -> list[str]:
    """What the spiral table's numbers are, and what the sigmoid row shows (from its epoch records, when run)."""
    return [
        "Trained on all 3,000 points with full batches, as seed 002 did, so train_accuracy is the seed's own measure "
        "(accuracy over the training points) and compares like for like.",
        "test_accuracy is over an independent second draw of 3,000 points from the same formula (new angle noise; "
        "the seed reported none): holding out 20 % instead would train on fewer points than the seed and blur the "
        "comparison.",
        "loss and train_accuracy are those of the last forward pass before the last update, as the seed printed "
        "them; test_accuracy is measured after it.",
        f"Weight decay 1e-5 throughout; seed {seed} sets the initial weights and the data.",
        sigmoid_note(sigmoid),
    ]


def sigmoid_note(records: list[Progress] | None = None) -> str:
    """What seed 002's sigmoid row (0.51) shows and what it does not; `records`: our run's epoch records."""
    falling = ""
    if records and len(records) >= 1000:
        a, b = records[899].train_loss, records[999].train_loss
        falling = f" (ours: {a:.3f} at epoch 900, {b:.3f} at epoch 1,000)"
    return ("The sigmoid row (Adam 1e-3, 0.51) does not show that sigmoid units cannot learn the spiral. It shows "
            "that this net, at this small learning rate, has not learned it yet after 1,000 epochs: its loss is still "
            f"falling at the end{falling}. Sigmoid units saturate, so their gradients are small and the net moves "
            "slowly. The same net at lr 1e-2 reaches about 0.995 held-out accuracy (measured, see bench/RESULTS.md): "
            "try it in the compare panel. What the row does show: with the same budget, ReLU learns the spiral and "
            "sigmoid does not.")


def boston_linear(seed: int = 0, lr: float = 1e-2, epochs: int = 300) -> dict:
    """Seed 000: hand-written linear regression with its own w, b tensors and update, on the seed's own split."""
    header, table = boston_table()
    x, y = table[:, :13], table[:, 13:14]
    tr, te = boston_split(len(x), 0.15, random_state=73)  # the seed's train_test_split(test_size=0.15, random_state=73)
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    x_train, x_test, y_train, y_test = t((x[tr] - mean) / std), t((x[te] - mean) / std), t(y[tr]), t(y[te])
    torch.manual_seed(seed)
    w = torch.randn(13, 1, requires_grad=True)
    b = torch.randn(1, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = ((x_train @ w + b - y_train) ** 2).mean()
        loss.backward()
        with torch.no_grad():  # the seed's grad_reduce: w -= lr * w.grad, then zero the grads
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    with torch.no_grad():
        test_mse = ((x_test @ w + b - y_test) ** 2).mean().item()
    return {"name": "boston-linear", "rows": [{
        "name": f"linear regression, hand-written GD, lr {lr:g}, {epochs} epochs", "seed_train_mse": 23.729873657226562,
        "train_mse": losses[-1], "test_rmse": math.sqrt(test_mse), "test_mse": test_mse,
        "first_loss": losses[0], "epochs": epochs, "train_rows": len(tr), "test_rows": len(te),
    }], "losses": losses, "notes": [
        "The seed's split: scikit-learn's train_test_split(test_size=0.15, random_state=73), re-implemented "
        "(430 training rows, 76 test rows); features standardized with the training rows' mean and std.",
        "The training MSE is the loss of the last epoch's forward pass, the number the seed printed.",
        f"w and b start as randn draws, as in the seed, under torch.manual_seed({seed}) (the seed set none).",
    ]}


def mnist_ffn(dataset: str = "mnist", *, epochs: int = 5, step_lr: bool = False, mnist_source: str = "auto",
              progress: Callable[[str], None] | None = None, should_stop: Callable[[], bool] | None = None) -> dict:
    """Seed 001's FFN and settings: batch 64, SGD 0.01, weight decay 1e-6, seed 42, NLL loss, optional StepLR 0.9."""
    cfg = RunConfig(dataset=dataset, model="ffn", optimizer="sgd", lr=0.01, weight_decay=1e-6, batch_size=64,
                    epochs=epochs, seed=42, loss="nll", scheduler="step" if step_lr else "none",
                    mnist_source=mnist_source)
    trainer = Trainer(cfg)
    rows, final = [], None
    for rec in trainer.run(should_stop=should_stop):
        if rec.done:
            final = rec
        elif rec.test_loss is not None:  # an end-of-epoch record: the seed's test() after each epoch
            rows.append({"epoch": int(rec.epoch), "train_loss": rec.train_loss, "test_loss": rec.test_loss,
                         "test_accuracy": rec.metrics["test_accuracy"], "lr": rec.lr, "seconds": round(rec.elapsed, 2)})
            if progress:
                progress(f"epoch {int(rec.epoch)}: test loss {rec.test_loss:.4f}, "
                         f"accuracy {rec.metrics['test_accuracy']:.4f}")
    d = trainer.data
    n_train, batch = len(d.x_train), trainer.batch_size
    notes = [f"Data: {d.source}" + (f" ({d.source_reason})" if d.source_reason else ""),
             "784-256-128-64-10, ReLU, dropout 0.2, log-softmax + NLL (the seed's cross_entropy on log-softmax "
             "outputs is the same loss); SGD lr 0.01, weight decay 1e-6, batches of 64, seed 42"
             + (", StepLR gamma 0.9 after each epoch." if step_lr else "; StepLR off, as in the seed's code.")]
    steps = -(-n_train // batch) * len(rows)
    if n_train < 60_000:
        notes.append(f"Only {n_train:,} training images: an epoch is {-(-n_train // batch)} SGD steps instead of the "
                     f"seed's 938 on the full 60,000, so these {len(rows)} epochs ({steps} steps) are "
                     f"{steps / 938:.2g} of one full-MNIST epoch and SGD at lr 0.01 is still early in training.")
    notes.append("The seed text prints no results for this run, so there are no seed numbers to set beside ours.")
    if final is not None and final.status != "finished":
        notes.append(final.message)
    return {"name": "mnist-ffn", "rows": rows, "data_source": d.source, "data_source_reason": d.source_reason,
            "notes": notes}


def _gd_1d_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(0, 10, 0.1, dtype=np.float32)
    return x, (2 * x + 2 * rng.random(100)).astype(np.float32)  # Y = 2X + uniform[0, 2)


W_CAP = 1e6  # |w| past this means a diverging lr; the paths stop there rather than overflow float32


def check_gd_lr(lr) -> float:
    """gd-1d's learning rate: a finite number in (0, 1] (1 already diverges), or a ConfigError naming it."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 1:
        raise ConfigError(f"learning rate {lr!r} is out of range; use a value in (0, 1], e.g. 0.001")
    return float(lr)


def gd_1d_paths(lr: float = 0.001, iters: int = 100, seed: int = 0) -> dict:
    """Seed 003: fit w in y = w*x by the hand-derived gradient mean(2wx^2 - 2xy) and by autograd, from w = 0.

    hand[i], autograd[i]: w after step i+1; losses[i]: the loss before it. A diverging path stops once |w| > W_CAP.
    """
    lr = check_gd_lr(lr)
    x, y = _gd_1d_data(seed)
    w, hand = 0.0, []
    for _ in range(iters):
        w = w - lr * float(np.mean(2 * w * x * x - 2 * x * y))
        hand.append(w)
        if abs(w) > W_CAP:
            break
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    wt, auto, losses = torch.tensor(0.0, requires_grad=True), [], []
    for _ in range(iters):
        loss = ((wt * xt - yt) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            wt -= lr * wt.grad
        wt.grad.zero_()
        auto.append(wt.item())
        losses.append(loss.item())
        if abs(auto[-1]) > W_CAP:
            break
    n = min(len(hand), len(auto))
    hand, auto, losses = hand[:n], auto[:n], losses[:n]
    diff = np.abs(np.array(hand) - np.array(auto))
    return {"x": x, "y": y, "hand": hand, "autograd": auto, "losses": losses, "max_abs_diff": float(diff.max()),
            # relative to |w|: the float32 rounding of a diverging path grows with it
            "max_rel_diff": float((diff / np.maximum(1.0, np.abs(hand))).max()), "stopped_early": n < iters}


def j_of_w(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The loss J(w) = mean((w x - y)^2) for each w."""
    return ((np.outer(w, x) - y) ** 2).mean(axis=1)


def classify_lr(lr: float, seed: int = 0) -> str:
    """'converges', 'oscillates' (around the minimum, still converging) or 'diverges' for seed 003's problem.

    J(w) is a parabola with curvature 2*mean(x^2); gradient descent multiplies the error in w by
    (1 - lr * 2 * mean(x^2)) each step: |factor| < 1 converges (monotonically if the factor is positive).
    """
    x, _ = _gd_1d_data(seed)
    factor = 1 - lr * 2 * float(np.mean(x * x))
    if abs(factor) >= 1:
        return "diverges"
    return "converges" if factor >= 0 else "oscillates"


# What seed 003 printed every 20 iterations (w after the update). Its autograd run drew new noise, so its two
# columns differ; its hand-written run printed a stale loss, so only the autograd losses are real.
SEED_003_LR = 0.001  # the only learning rate seed 003 ran
SEED_003 = {1: (0.142, 0.140, 149.477), 21: (1.639, 1.618, 10.344), 41: (2.024, 1.999, 1.151),
            61: (2.123, 2.096, 0.544), 81: (2.148, 2.121, 0.504)}


def gd_1d(lr: float = 0.001, iters: int = 100, seed: int = 0) -> dict:
    """Seed 003's reproduction: the hand-derived and autograd paths of w, with the seed's printed values beside."""
    p = gd_1d_paths(lr, iters, seed)
    seed_rows = SEED_003 if lr == SEED_003_LR else {}
    rows = []
    steps = len(p["hand"])
    for i in sorted({*range(1, steps + 1, 20), steps}):  # the seed printed every 20th; the last step too
        seed_hand, seed_auto, seed_loss = seed_rows.get(i, (None, None, None))
        rows.append({"iteration": i, "seed_w_hand": seed_hand, "w_hand": p["hand"][i - 1], "seed_w_autograd": seed_auto,
                     "w_autograd": p["autograd"][i - 1], "seed_loss": seed_loss, "loss": p["losses"][i - 1]})
    behaviour = classify_lr(lr, seed)
    m = float(np.mean(p["x"] ** 2))
    return {"name": "gd-1d", "rows": rows, "max_abs_diff": p["max_abs_diff"], "max_rel_diff": p["max_rel_diff"],
            "final_w": p["hand"][-1], "lr": lr, "behaviour": behaviour, "notes": [
                *([] if seed_rows else [f"The seed ran lr {SEED_003_LR:g} only, so it has no numbers for lr {lr:g}: "
                                        "its columns (seed_w_hand, seed_w_autograd, seed_loss) are empty here."]),
                "Y = 2X + uniform[0,2) noise on X = 0, 0.1, ..., 9.9; w starts at 0. Our two runs share one noise draw, "
                "so their paths agree to float precision; the seed's draws differ from ours (and from each other), so "
                "its w values differ from ours by about 0.02.",
                "max_abs_diff: the largest difference between the hand-derived and the autograd paths of w"
                + ("." if abs(p["hand"][-1]) < 1e3 else
                   f" (large here only because |w| grew to {abs(p['hand'][-1]):.3g}: relative to |w| it is "
                   f"{p['max_rel_diff']:.1e}, float32's precision)."),
                *([f"|w| passed {W_CAP:g} after {len(p['hand'])} steps; the run stopped there."]
                  if p["stopped_early"] else []),
                f"lr {lr:g} {behaviour}: each step multiplies the distance to the minimum by 1 - 2 lr mean(x^2) = "
                f"{1 - 2 * lr * m:.3f}; w oscillates around the minimum above lr = {1 / (2 * m):.4f} and diverges from "
                f"lr = {1 / m:.4f}."]}


def gd_1d_curve(lr: float = 0.001, iters: int = 100, seed: int = 0, points: int = 300) -> dict:
    """The loss curve J(w) on a grid around the path of w, and that path (w_0 = 0, then each step), for plotting."""
    p = gd_1d_paths(lr, iters, seed)
    # a diverging path grows geometrically; clip it so the grid (and a plot) stays readable
    path = np.clip(np.array([0.0, *p["hand"]]), -50.0, 50.0)
    lo, hi = min(path.min(), 0.0) - 0.5, max(path.max(), 4.0) + 0.5
    grid = np.linspace(lo, hi, points)
    return {"lr": lr, "behaviour": classify_lr(lr, seed), "w_grid": grid, "j_grid": j_of_w(p["x"], p["y"], grid),
            "w_path": path, "j_path": j_of_w(p["x"], p["y"], path), "losses": np.array(p["losses"]),
            "w_best": float(np.dot(p["x"], p["y"]) / np.dot(p["x"], p["x"]))}


def gd_1d_figure(lr: float = 0.001, iters: int = 100, seed: int = 0):
    """J(w) with the path of w on it, and the loss per iteration, as a matplotlib Figure (no pyplot)."""
    from matplotlib.figure import Figure

    c = gd_1d_curve(lr, iters, seed)
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(c["w_grid"], c["j_grid"], color="0.5", lw=1.5, label="J(w)")
    ax1.plot(c["w_path"], c["j_path"], "o-", ms=3, lw=1, color="#d62728", label="w, step by step")
    ax1.axvline(c["w_best"], color="0.7", ls=":", lw=1, label=f"minimum w = {c['w_best']:.3f}")
    ax1.set(xlabel="w", ylabel="J(w)", title=f"lr {lr:g}: {c['behaviour']}", yscale="log")
    ax1.legend(frameon=False)
    ax2.plot(range(1, len(c["losses"]) + 1), c["losses"], color="#1f77b4")
    ax2.set(xlabel="iteration", ylabel="loss", yscale="log", title="loss")
    return fig


def d2l_linear(seed: int = 0, lr: float = 0.03, epochs: int = 3, batch_size: int = 10) -> dict:
    """Seed 004: linear regression from scratch on y = Xw + b + N(0, 0.01), minibatch SGD dividing by the batch."""
    g = torch.Generator().manual_seed(seed)
    true_w, true_b = torch.tensor([2.0, -3.4]), 4.2
    x = torch.normal(0, 1, (1000, 2), generator=g)
    y = (x @ true_w + true_b + torch.normal(0, 0.01, (1000,), generator=g)).reshape(-1, 1)
    w = torch.normal(0, 0.01, (2, 1), generator=g).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    rows = []
    for epoch in range(epochs):
        perm = torch.randperm(1000, generator=g)
        for i in range(0, 1000, batch_size):
            idx = perm[i:i + batch_size]
            loss = ((x[idx] @ w + b - y[idx]) ** 2 / 2).sum()  # squared loss (y_hat - y)^2 / 2
            loss.backward()
            with torch.no_grad():  # sgd: param -= lr * grad / batch_size
                for p in (w, b):
                    p -= lr * p.grad / batch_size
                    p.grad.zero_()
        with torch.no_grad():
            rows.append({"epoch": epoch + 1, "loss": float(((x @ w + b - y) ** 2 / 2).mean())})
    w_err = (true_w - w.detach().reshape(-1)).tolist()
    return {"name": "d2l-linear", "rows": rows, "w": w.detach().reshape(-1).tolist(), "b": b.item(),
            "w_error": w_err, "b_error": true_b - b.item(), "true_w": true_w.tolist(), "true_b": true_b,
            "notes": ["1,000 samples, batches of 10, lr 0.03, 3 epochs, w ~ N(0, 0.01), b = 0, as in seed 004.",
                      "The seed prints the errors of w and b but its text does not show them. With label noise of "
                      "standard deviation 0.01 and a fixed learning rate, errors of 1e-4 to 1e-3 are what to expect."]}


def optimizers(**kwargs) -> dict:
    """Seed 001's eight solvers on its feed-forward net, as a sweep over seeds (see `dlcore.seedsweep`)."""
    from .seedsweep import optimizers as run

    return run(**kwargs)


def mnist_source_note(dataset: str = "mnist", mnist_source: str = "auto") -> str:
    """Where the images come from, as the trials load them (the sweep's check has loaded them already)."""
    from .session import cached_data

    d = cached_data(RunConfig(dataset=dataset, model="ffn", mnist_source=mnist_source))
    return f"Data: {d.source}" + (f" ({d.source_reason})" if d.source_reason else "")


REPRODUCTIONS: dict[str, tuple[Callable[..., dict], str]] = {
    "spiral-table": (spiral_table, "seed 002: the six-row spiral table (why non-linearity and depth matter)"),
    "boston-linear": (boston_linear, "seed 000: hand-written linear regression on Boston housing"),
    "mnist-ffn": (mnist_ffn, "seed 001: the 784-256-128-64-10 feed-forward net on MNIST"),
    "gd-1d": (gd_1d, "seed 003: Y = 2X + noise by the derived gradient and by autograd"),
    "d2l-linear": (d2l_linear, "seed 004: linear regression from scratch with minibatch SGD"),
    "optimizers": (optimizers, "seed 001: its eight solvers on its feed-forward net, as a sweep over seeds"),
}


# ---------------------------------------------------------------- compare runs


def summarize(name: str, cfg: RunConfig, final: Progress) -> dict:
    """One row of a comparison table: the run's settings, then its final full-set losses and metrics."""
    row = {"name": name, "dataset": cfg.dataset, "model": cfg.model,
           "hidden": ",".join(map(str, cfg.hidden)) if cfg.model == "mlp" else "",
           "activation": cfg.activation, "optimizer": cfg.optimizer, "lr": cfg.lr, "weight_decay": cfg.weight_decay,
           "batch_size": cfg.batch_size, "seed": cfg.seed, "epochs": final.epoch,
           "train_loss": final.train_loss, "test_loss": final.test_loss}
    row.update(final.metrics)
    row.update({"seconds": round(final.elapsed, 2), "status": final.status})
    return row


def compare(runs: list[tuple[str, RunConfig]], should_stop: Callable[[], bool] | None = None,
            data: Data | None = None) -> Iterator[tuple[int, Progress, list[dict]]]:
    """Train each (name, config) in turn; yield (run index, progress record, table so far) as they go.

    The table gains a row (see `summarize`) as each run ends; the last yield carries the whole table. `data`, if
    given, is shared by every run (same points and split), else each run loads its config's data.
    """
    table: list[dict] = []
    for i, (name, cfg) in enumerate(runs):
        for rec in Trainer(cfg, data).run(should_stop=should_stop):
            if rec.done:
                table.append(summarize(name, cfg, rec))
            yield i, rec, list(table)
        if should_stop is not None and should_stop():
            return


def table_to_csv(rows: list[dict]) -> str:
    """A comparison table as CSV text (columns in first-seen order)."""
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    if not columns:
        return ""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
