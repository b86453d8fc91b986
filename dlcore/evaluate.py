"""Honest figures: a run's metrics over several seeded splits or k folds, as mean ± spread with every value kept, and
the baselines a network has to beat, measured on the same splits.

On small data (Boston's 76 test rows) one split's number is mostly the split: over seeds 0-9 the same MLP's test RMSE
ranges from 2.1 to 3.9 (bench/RESULTS.md). So a figure shown or recorded is a mean over splits anyone can rerun, beside what
predicting the mean (or the majority class) and a linear model reach on those very splits.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F

from .config import RunConfig
from .data import Data, load_data
from .records import Progress
from .train import Trainer, _metrics

BASELINES = {"mean": "predicts the training mean (regression) or the most frequent class",
             "linear": "a linear model: least squares (regression) or logistic regression"}
LOGISTIC_STEPS = 100  # L-BFGS iterations of the logistic-regression baseline (converged on every dataset here)
LOGISTIC_L2 = 1e-4  # keeps the logistic baseline finite on separable data


def spread(values: list[float]) -> dict:
    """{"mean", "std", "values"} of a metric over splits (std: the sample standard deviation; 0 for one value)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    mean = statistics.fmean(finite) if finite else math.nan
    std = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return {"mean": mean, "std": std, "values": list(values)}


def summarize(finals: list[Progress]) -> dict[str, dict]:
    """Each final metric (and the losses) of several runs as a spread."""
    keys = ["train_loss", "test_loss", *[k for k in finals[0].metrics]] if finals else []
    table = [dict(r.metrics, train_loss=r.train_loss, test_loss=r.test_loss) for r in finals]
    return {k: spread([row.get(k) for row in table]) for k in keys}


def splits(cfg: RunConfig, repeats: int = 1, folds: int = 0) -> list[RunConfig]:
    """The configs of an evaluation: `repeats` seeded splits (seeds cfg.seed, cfg.seed + 1, ...), each cut into
    `folds` folds when folds >= 2 (repeated k-fold)."""
    seeds = [cfg.seed + i for i in range(max(repeats, 1))]
    if folds:
        return [cfg.replace(seed=s, folds=folds, fold=k) for s in seeds for k in range(folds)]
    return [cfg.replace(seed=s) for s in seeds]


def describe(configs: list[RunConfig]) -> str:
    """The splits in words, e.g. "10 seeded splits (seeds 0-9)" or "5-fold cross-validation (seed 0)"."""
    seeds = sorted({c.seed for c in configs})
    span = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    if configs[0].folds:
        times = f" x {len(seeds)}" if len(seeds) > 1 else ""
        return f"{configs[0].folds}-fold cross-validation{times} ({span})"
    return f"{len(configs)} seeded split{'s' if len(configs) > 1 else ''} ({span})"


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(len(x), -1)


def _least_squares(data: Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Linear regression with an intercept, solved exactly (minimum-norm where one-hot columns are collinear)."""
    def design(x):
        return torch.cat([_flat(x).cpu().double(), torch.ones(len(x), 1, dtype=torch.float64)], dim=1)

    w = torch.linalg.lstsq(design(data.x_train), data.y_train.double().cpu(), driver="gelsd").solution
    return design(data.x_train) @ w, design(data.x_test) @ w


def _logistic(data: Data) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression (softmax of a linear map), fitted with L-BFGS from zero weights."""
    x, y = _flat(data.x_train).float(), data.y_train
    model = torch.nn.Linear(x.shape[1], data.num_outputs).to(x.device)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    opt = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=LOGISTIC_STEPS, history_size=10,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + LOGISTIC_L2 * model.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return model(x), model(_flat(data.x_test).float())


def baselines(data: Data) -> dict[str, dict]:
    """What a network has to beat on this very split: {"mean": metrics, "linear": metrics}, with the trainer's metric
    names (train_/test_ accuracy, or rmse, mae, r2)."""
    ytr, yte = data.y_train.cpu(), data.y_test.cpu()
    if data.task == "classification":
        counts = torch.bincount(ytr, minlength=data.num_outputs)
        majority = F.one_hot(counts.argmax(), data.num_outputs).double()
        fits = {"mean": (majority.expand(len(ytr), -1), majority.expand(len(yte), -1)),
                "linear": tuple(o.cpu() for o in _logistic(data))}
    else:
        mean = ytr.double().mean()
        fits = {"mean": (mean.expand(len(ytr), 1), mean.expand(len(yte), 1)), "linear": _least_squares(data)}
    out = {}
    for name, (on_train, on_test) in fits.items():
        m = {f"train_{k}": v for k, v in _metrics(data.task, on_train.float(), ytr).items()}
        m.update({f"test_{k}": v for k, v in _metrics(data.task, on_test.float(), yte).items()})
        out[name] = m
    return out


def evaluate_splits(cfg: RunConfig, configs: list[RunConfig] | None = None, *,
                    data_for: Callable[[RunConfig], Data] | None = None, with_baselines: bool = True,
                    progress: Callable[[int, RunConfig, Progress, Trainer], None] | None = None,
                    should_stop: Callable[[], bool] | None = None) -> dict:
    """Train cfg afresh on each split (default: seeds 0-9 style, `splits(cfg, 10)`); every metric as a spread.

    Returns {"splits": description, "runs": n, "metrics": {name: spread}, "baselines": {"mean"|"linear": {name:
    spread}}, "first": (Trainer, final Progress) of the first split}. `data_for(cfg)` supplies a split's data (default
    load_data); `progress(i, cfg, final, trainer)` is called after each split; `should_stop` ends the evaluation early
    (the splits finished so far are summarised)."""
    configs = configs or splits(cfg, 10)
    finals, base_rows, first = [], [], None
    for i, c in enumerate(configs):
        if should_stop is not None and should_stop():
            break
        data = data_for(c) if data_for is not None else load_data(c)
        trainer = Trainer(c, data)
        *_, final = trainer.run(should_stop=should_stop)
        if final.status == "stopped":
            break
        finals.append(final)
        if with_baselines:
            base_rows.append(baselines(data))
        first = first or (trainer, final)
        if progress is not None:
            progress(i, c, final, trainer)
    base = {name: {k: spread([row[name][k] for row in base_rows]) for k in base_rows[0][name]}
            for name in BASELINES} if base_rows else {}
    return {"splits": describe(configs[:len(finals)] or configs), "runs": len(finals), "metrics": summarize(finals),
            "baselines": base, "first": first}


def repeated(cfg: RunConfig, seeds: Iterable[int] = range(10)) -> dict[str, dict]:
    """Train `cfg` once per seed (each seed sets its own split and initial weights); every metric as a spread."""
    configs = [cfg.replace(seed=s) for s in seeds]
    return evaluate_splits(cfg, configs, with_baselines=False)["metrics"]


def flat(spreads: dict[str, dict]) -> dict:
    """Spreads as flat JSON keys: name (the mean), name_std, name_values (as the shipped model's metadata has them)."""
    out = {}
    for key, s in spreads.items():
        out[key], out[f"{key}_std"], out[f"{key}_values"] = s["mean"], s["std"], s["values"]
    return out
