"""Honest figures: a run's metrics over several seeded splits, as mean ± spread with every value kept.

On small data (Boston's 76 test rows) one split's number is mostly the split: over seeds 0-9 the same MLP's test RMSE
ranges from about 2.4 to 4.7. So a figure shown or recorded is a mean over splits anyone can rerun.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable

from .config import RunConfig
from .records import Progress
from .train import Trainer


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


def repeated(cfg: RunConfig, seeds: Iterable[int] = range(10)) -> dict[str, dict]:
    """Train `cfg` once per seed (each seed sets its own split and initial weights); every metric as a spread."""
    finals = []
    for seed in seeds:
        *_, final = Trainer(cfg.replace(seed=seed)).run()
        finals.append(final)
    return summarize(finals)
