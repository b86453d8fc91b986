"""Honest evaluation: seeded splits and k folds, mean ± std with every value kept, and the baselines on the same
splits (predict the mean / the majority class, and a linear model)."""

import math

import numpy as np
import pytest
import torch

from dlcore.config import RunConfig
from dlcore.data import fold_rows, load_data
from dlcore.evaluate import baselines, describe, evaluate_splits, flat, splits, spread

pytestmark = pytest.mark.usefixtures("one_thread")


def test_spread_keeps_every_value():
    s = spread([1.0, 2.0, 4.0])
    assert s["mean"] == pytest.approx(7 / 3) and s["std"] == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert s["values"] == [1.0, 2.0, 4.0] and spread([3.0])["std"] == 0.0


def test_splits_and_their_description():
    cfg = RunConfig(dataset="boston", seed=3)
    seeds = splits(cfg, repeats=4)
    assert [c.seed for c in seeds] == [3, 4, 5, 6] and describe(seeds) == "4 seeded splits (seeds 3-6)"
    folds = splits(cfg, folds=5)
    assert [(c.fold, c.folds) for c in folds] == [(k, 5) for k in range(5)]
    assert describe(folds) == "5-fold cross-validation (seed 3)"
    assert len(splits(cfg, repeats=2, folds=3)) == 6 and describe(splits(cfg, 2, 3)).startswith("3-fold cross-validation x 2")


@pytest.mark.parametrize("dataset", ["spiral", "boston"])
def test_k_folds_test_every_sample_exactly_once(dataset):
    cfg = RunConfig(dataset=dataset, points=50)
    whole = load_data(cfg)
    pooled = torch.cat([whole.y_train, whole.y_test]).double().sum().item()
    sizes, total = [], 0.0
    for c in splits(cfg, folds=4):
        d = load_data(c)
        sizes.append(len(d.y_test))
        total += d.y_test.double().sum().item()
        assert len(d.y_train) + len(d.y_test) == len(whole.y_train) + len(whole.y_test)
    assert total == pytest.approx(pooled) and max(sizes) - min(sizes) <= 1
    tr, te = fold_rows(10, 3, 1, seed=0)
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(10)) and len(te) in (3, 4)


def test_boston_folds_are_standardised_on_their_own_training_part():
    d = load_data(RunConfig(dataset="boston", folds=5, fold=2))
    assert torch.allclose(d.x_train.mean(0), torch.zeros(13), atol=1e-5)
    assert not torch.allclose(d.x_test.mean(0), torch.zeros(13), atol=1e-3)


def test_regression_baselines_are_the_mean_and_least_squares():
    d = load_data(RunConfig(dataset="boston"))
    b = baselines(d)
    assert b["mean"]["train_r2"] == pytest.approx(0.0, abs=1e-6)  # the training mean explains none of the variance
    a = torch.cat([d.x_train.double(), torch.ones(len(d.x_train), 1, dtype=torch.float64)], 1)
    w = torch.linalg.lstsq(a, d.y_train.double()).solution
    a_test = torch.cat([d.x_test.double(), torch.ones(len(d.x_test), 1, dtype=torch.float64)], 1)
    rmse = (a_test @ w - d.y_test.double()).pow(2).mean().sqrt().item()
    assert b["linear"]["test_rmse"] == pytest.approx(rmse, rel=1e-4)
    assert b["linear"]["test_rmse"] < b["mean"]["test_rmse"]


def test_classification_baselines_are_the_majority_and_logistic_regression():
    d = load_data(RunConfig(dataset="spiral", points=200))
    b = baselines(d)
    majority = torch.bincount(d.y_train).argmax()
    assert b["mean"]["test_accuracy"] == pytest.approx((d.y_test == majority).float().mean().item())
    assert 0.4 < b["linear"]["test_accuracy"] < 0.65  # a spiral is not linearly separable: the network must help


def test_evaluate_splits_reports_every_metric_and_baseline_over_the_splits():
    cfg = RunConfig(dataset="boston", model="mlp", hidden=(8,), lr=1e-2, epochs=40, device="cpu")
    seen = []
    r = evaluate_splits(cfg, splits(cfg, repeats=3), progress=lambda i, c, final, t: seen.append((i, c.seed)))
    assert seen == [(0, 0), (1, 1), (2, 2)] and r["runs"] == 3 and r["splits"] == "3 seeded splits (seeds 0-2)"
    rmse = r["metrics"]["test_rmse"]
    assert len(rmse["values"]) == 3 and len(set(rmse["values"])) == 3  # three different splits
    assert rmse["mean"] == pytest.approx(sum(rmse["values"]) / 3)
    assert set(r["baselines"]) == {"mean", "linear"} and len(r["baselines"]["linear"]["test_rmse"]["values"]) == 3
    trainer, final = r["first"]
    assert trainer.cfg.seed == 0 and final.metrics["test_rmse"] == rmse["values"][0]
    f = flat(r["metrics"])
    assert f["test_rmse"] == rmse["mean"] and f["test_rmse_values"] == rmse["values"] and math.isfinite(f["test_rmse_std"])


def test_an_evaluation_stopped_early_summarises_the_splits_done():
    cfg = RunConfig(dataset="spiral", points=50, hidden=(8,), epochs=5, device="cpu")
    calls = []
    r = evaluate_splits(cfg, splits(cfg, repeats=5), should_stop=lambda: len(calls) >= 2,
                        progress=lambda *a: calls.append(a))
    assert r["runs"] == 2 and len(r["metrics"]["test_accuracy"]["values"]) == 2
