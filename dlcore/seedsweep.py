"""The seed reproductions with the spread over seeds beside the seed's number.

The trainer-based ones (seed 002's spiral table, seed 001's net and its eight solvers) run as sweeps on Ray Tune:
every row on several seeds at once, the seed's number, ours (the row's first seed, as the seed ran it) and the mean
± standard deviation over the seeds side by side. The hand-written ones (seeds 000, 003, 004) take milliseconds, so
they simply rerun in process on seeds 0..N-1.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from . import seeds, sweep
from .config import RunConfig
from .evaluate import spread
from .grid import Axis, SweepSpec

# Seed 001 names these solvers (in its order); each at torch's default learning rate, SGD at the seed's 0.01.
SOLVERS = {"sgd": 0.01, "lbfgs": 1.0, "rprop": 0.01, "rmsprop": 0.01, "adam": 0.001, "adamw": 0.001, "adagrad": 0.01,
           "adadelta": 1.0}
SPREAD_NOTE = "{cols}: mean ± std over seeds {first}..{last} ({n} runs); the row's own numbers are seed {first}'s."


def with_spread(rows: list[dict], runs: list[list[dict]], columns: tuple[str, ...]) -> list[dict]:
    """Each row with `<column>_mean` and `<column>_std` over `runs` (the same rows from every seed, in order)."""
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        for c in columns:
            s = spread([run[i][c] for run in runs if i < len(run) and run[i].get(c) is not None])
            row[f"{c}_mean"], row[f"{c}_std"] = s["mean"], s["std"]
        out.append(row)
    return out


def _note(columns: tuple[str, ...], seeds_used: list[int]) -> str:
    return SPREAD_NOTE.format(cols=", ".join(columns), first=seeds_used[0], last=seeds_used[-1], n=len(seeds_used))


def _run_sweep(spec: SweepSpec, name: str, *, storage, address, progress, should_stop) -> sweep.SweepResult:
    return sweep.run(spec, storage=storage, name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", address=address,
                     on_update=progress, should_stop=should_stop)


def _by_run(result: sweep.SweepResult) -> dict[str, list[dict]]:
    """The finished trials of each named run, in seed order."""
    out: dict[str, list[dict]] = {}
    for row in sorted(result.trials, key=lambda r: r["config"]["seed"]):
        if row["status"] == sweep.STATUS_FINISHED:
            out.setdefault(row["name"].rsplit(" seed=", 1)[0], []).append(row)
    return out


# ---------------------------------------------------------------- seed 002: the spiral table


class _Rec:
    """An epoch record from a sweep's curves, shaped as `seeds.sigmoid_note` reads it."""

    def __init__(self, train_loss: float):
        self.train_loss = train_loss



def spiral_table(seeds_count: int = 5, rows: list[int] | None = None, *, address: str | None = None, storage=None,
                 progress: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
                 first_seed: int = 0, max_concurrent: int = 0) -> dict:
    """Seed 002's rows as a sweep: each row on seeds first_seed.. at once, trained as `seeds.spiral_table` trains
    them (all 3,000 points, a fresh draw held out), the seed's numbers beside ours and the spread over seeds."""
    picked = [(i, r) for i, r in enumerate(seeds.SPIRAL_TABLE) if rows is None or i in rows]
    base = seeds.spiral_table_configs(first_seed)[0][1]
    runs = tuple((r.name, {"hidden": r.hidden, "activation": r.activation, "optimizer": r.optimizer, "lr": r.lr,
                           "epochs": r.epochs}) for _, r in picked)
    seed_list = list(range(first_seed, first_seed + seeds_count))
    spec = SweepSpec(base, (Axis("seed", tuple(seed_list)),), runs=runs, data="seed002", max_concurrent=max_concurrent)
    result = _run_sweep(spec, "spiral-table", storage=storage, address=address, progress=progress,
                        should_stop=should_stop)
    trials = _by_run(result)
    out = []
    for _, row in picked:
        done = trials.get(row.name, [])
        if len(done) < seeds_count:  # stopped, or a trial failed: a row on fewer seeds would not compare
            continue
        per_seed = []
        for t in done:  # the seed printed its last forward pass: the last epoch record's train loss and accuracy
            last = result.curves[t["trial"]][-1]
            per_seed.append({"loss": last["train_loss"], "train_accuracy": last["train_accuracy"],
                             "test_accuracy": t["test_accuracy"]})
        ours = per_seed[0]
        item = {"name": row.name, "epochs": row.epochs, "seed_loss": row.seed_loss, "loss": ours["loss"],
                "seed_accuracy": row.seed_accuracy, "train_accuracy": ours["train_accuracy"],
                "test_accuracy": ours["test_accuracy"], "tolerance": row.tolerance,
                "within_tolerance": abs(ours["train_accuracy"] - row.seed_accuracy) <= row.tolerance}
        out += with_spread([item], [[s] for s in per_seed], ("loss", "train_accuracy", "test_accuracy"))
    missing = [r.name for _, r in picked if len(trials.get(r.name, [])) < seeds_count]
    sigmoid = next((result.curves[t["trial"]] for r in seeds.SPIRAL_TABLE if r.activation == "sigmoid"
                    for t in trials.get(r.name, [])[:1]), None)
    notes = seeds.spiral_table_notes(first_seed, [_Rec(r["train_loss"]) for r in sigmoid] if sigmoid else None) + [
        _note(("loss", "train_accuracy", "test_accuracy"), seed_list) + " Each seed draws its own points and weights.",
        *( [f"Rows not on every seed (stopped or failed), left out: {', '.join(missing)}."] if missing else [])]
    return {"name": "spiral-table", "rows": out, "notes": notes, "sweep": str(result.path), "seeds": seed_list}


# ---------------------------------------------------------------- seed 001: its net, and its eight solvers


def _ffn_base(dataset: str, epochs: int, mnist_source: str, step_lr: bool = False) -> RunConfig:
    return RunConfig(dataset=dataset, model="ffn", optimizer="sgd", lr=0.01, weight_decay=1e-6, batch_size=64,
                     epochs=epochs, seed=42, loss="nll", scheduler="step" if step_lr else "none",
                     mnist_source=mnist_source, device="cpu")


def optimizers(seeds_count: int = 3, dataset: str = "mnist", epochs: int = 5, mnist_source: str = "auto", *,
               address: str | None = None, storage=None, progress: Callable[[dict], None] | None = None,
               should_stop: Callable[[], bool] | None = None, max_concurrent: int = 0) -> dict:
    """Seed 001's eight solvers on its 784-256-128-64-10 net and settings, as a sweep over seeds 42, 43, ..."""
    seed_list = list(range(42, 42 + seeds_count))
    runs = tuple((name, {"optimizer": name, "lr": lr}) for name, lr in SOLVERS.items())
    spec = SweepSpec(_ffn_base(dataset, epochs, mnist_source), (Axis("seed", tuple(seed_list)),), runs=runs,
                     max_concurrent=max_concurrent)
    result = _run_sweep(spec, "optimizers", storage=storage, address=address, progress=progress,
                        should_stop=should_stop)
    trials = _by_run(result)
    rows = []
    for name, lr in SOLVERS.items():
        done = trials.get(name, [])
        if len(done) < seeds_count:
            continue
        item = {"solver": name, "lr": lr, "seed_test_accuracy": None, "test_accuracy": done[0]["test_accuracy"],
                "test_loss": done[0]["test_loss"], "epochs": done[0]["epochs"], "seconds": done[0]["seconds"]}
        rows += with_spread([item], [[t] for t in done], ("test_accuracy", "test_loss"))
    data = seeds.mnist_source_note(dataset, mnist_source)
    full_batch = [n for n in SOLVERS if n in ("lbfgs", "rprop")]
    notes = [
        "Seed 001 lists these eight solvers but prints no results for any of them, so seed_test_accuracy is empty: "
        "there is no seed number to set beside ours.",
        "The seed's net and settings: 784-256-128-64-10, ReLU, dropout 0.2, log-softmax + NLL, batches of 64, weight "
        f"decay 1e-6, {epochs} epochs; each solver at torch's default learning rate, SGD at the seed's 0.01.",
        f"{' and '.join(full_batch)} are full-batch methods: the trainer gives them the whole training set per step, "
        f"so {epochs} epochs are {epochs} steps for them (L-BFGS runs up to 20 iterations with a line search inside "
        "each); compare their seconds as well as their accuracy.",
        _note(("test_accuracy", "test_loss"), seed_list), data]
    return {"name": "optimizers", "rows": rows, "notes": [n for n in notes if n], "sweep": str(result.path),
            "seeds": seed_list}


def mnist_ffn(seeds_count: int = 3, dataset: str = "mnist", epochs: int = 5, step_lr: bool = False,
              mnist_source: str = "auto", *, address: str | None = None, storage=None,
              progress: Callable[[dict], None] | None = None, should_stop: Callable[[], bool] | None = None,
              max_concurrent: int = 0) -> dict:
    """Seed 001's net and settings (SGD 0.01) on seeds 42, 43, ... at once: per epoch, seed 42's numbers and the
    spread over seeds."""
    seed_list = list(range(42, 42 + seeds_count))
    spec = SweepSpec(_ffn_base(dataset, epochs, mnist_source, step_lr), (Axis("seed", tuple(seed_list)),),
                     max_concurrent=max_concurrent)
    result = _run_sweep(spec, "mnist-ffn", storage=storage, address=address, progress=progress,
                        should_stop=should_stop)
    done = sorted((t for t in result.trials if t["status"] == sweep.STATUS_FINISHED), key=lambda t: t["config"]["seed"])
    runs = [[{"epoch": int(r["epoch"]), "train_loss": r["train_loss"], "test_loss": r["test_loss"],
              "test_accuracy": r["test_accuracy"]} for r in result.curves[t["trial"]]] for t in done]
    rows = with_spread(runs[0], runs, ("test_loss", "test_accuracy")) if runs else []
    notes = ["The seed text prints no results for this run, so there are no seed numbers to set beside ours.",
             _note(("test_loss", "test_accuracy"), seed_list), seeds.mnist_source_note(dataset, mnist_source)]
    return {"name": "mnist-ffn", "rows": rows, "notes": [n for n in notes if n], "sweep": str(result.path),
            "seeds": seed_list}


# ---------------------------------------------------------------- the hand-written ones, rerun in process


FAST_COLUMNS = {"boston-linear": ("train_mse", "test_rmse"), "gd-1d": ("w_hand", "loss"), "d2l-linear": ("loss",)}


def spread_over_seeds(name: str, result: dict, run: Callable[[int], dict], seed_list: list[int]) -> dict:
    """A fast reproduction's result with the spread of its key columns over `seed_list` beside each row."""
    columns = FAST_COLUMNS[name]
    runs = [result["rows"] if s == seed_list[0] else run(s)["rows"] for s in seed_list]
    return {**result, "rows": with_spread(result["rows"], runs, columns),
            "notes": [*result.get("notes", []), _note(columns, seed_list)], "seeds": seed_list}


def _fast(name: str, run: Callable[[object, int], dict]):
    def add(a, result: dict) -> dict:
        seed_list = list(range(a.seed, a.seed + (a.seeds or 10)))
        return spread_over_seeds(name, result, lambda s: run(a, s), seed_list)
    return add


FAST = {  # CLI: the fast reproductions with the spread over --seeds (default 10) seeds
    "boston-linear": _fast("boston-linear", lambda a, s: seeds.boston_linear(seed=s)),
    "gd-1d": _fast("gd-1d", lambda a, s: seeds.gd_1d(lr=a.lr if a.lr is not None else 0.001, seed=s)),
    "d2l-linear": _fast("d2l-linear", lambda a, s: seeds.d2l_linear(seed=s)),
}


SWEEPS = {  # CLI: reproduce NAME --sweep (optimizers always)
    "spiral-table": lambda a, progress, say: spiral_table(a.seeds or 5, rows=list(range(5)) if a.quick else None,
                                                          address=a.address, storage=a.storage, progress=progress,
                                                          first_seed=a.seed),
    "mnist-ffn": lambda a, progress, say: mnist_ffn(a.seeds or 3, a.dataset, 1 if a.quick else 5, a.step_lr,
                                                    a.mnist_source, address=a.address, storage=a.storage,
                                                    progress=progress),
    "optimizers": lambda a, progress, say: optimizers(a.seeds or 3, a.dataset, 1 if a.quick else 5, a.mnist_source,
                                                      address=a.address, storage=a.storage, progress=progress),
}
