"""dlcore.diagnose: each curve shape gets its name, its plain sentences and a change to try; the sigmoid row's lesson."""

import math

import pytest

from dlcore.config import RunConfig
from dlcore.diagnose import diagnose, lr_text, majority_share, nice_lr
from dlcore.records import Progress
from dlcore.train import Trainer

SPIRAL = RunConfig(hidden=(100,), epochs=200, device="cpu")
BOSTON = RunConfig(dataset="boston", hidden=(64, 32), epochs=200, device="cpu")


def curves(train, test, cfg=SPIRAL, status="finished", **final_metrics) -> tuple[list[Progress], Progress]:
    """Epoch records from two loss lists, and a final record with `final_metrics`."""
    n = len(train)
    records = [Progress(epoch=i + 1, epochs=n, step=i + 1, train_loss=a, test_loss=b) for i, (a, b) in
               enumerate(zip(train, test))]
    final = Progress(epoch=n, epochs=n, step=n, train_loss=train[-1], test_loss=test[-1], metrics=final_metrics,
                     done=True, status=status)
    return records, final


def decaying(n=200, start=1.1, end=0.05, rate=0.03):
    """A loss that falls fast at first, then levels off near `end`."""
    return [end + (start - end) * math.exp(-rate * i) for i in range(n)]


def test_a_run_that_levelled_off_well_is_fine():
    loss = decaying(rate=0.06)
    d = diagnose(SPIRAL, *curves(loss, [v * 1.05 for v in loss], train_accuracy=0.99, test_accuracy=0.98), chance=0.34)
    assert d.kind == "fine" and d.ok and not d.changes
    assert "0.980" in d.text and "levelled off" in d.text


def test_a_diverged_run_asks_for_a_smaller_learning_rate():
    recs, final = curves([1.0] * 3, [1.0] * 3, cfg=SPIRAL, status="diverged")
    d = diagnose(SPIRAL.replace(lr=0.3), recs, final)
    assert d.kind == "diverged" and not d.ok and d.changes == {"lr": pytest.approx(3e-2)} and "smaller" in d.text


def test_a_loss_that_ends_far_above_its_start_asks_for_a_smaller_learning_rate():
    # lr 3 on the spiral: no million-fold explosion for the guard to catch, but the loss grew a thousand-fold
    recs, final = curves([1.1, 900, 1500, 1200, 1132], [1.1, 700, 667, 800, 1190])
    d = diagnose(SPIRAL.replace(lr=3.0), recs, final)
    assert d.kind == "diverged" and d.changes == {"lr": pytest.approx(0.3)} and "far above where it started" in d.text


def test_an_oscillating_loss_asks_for_a_smaller_step():
    loss = [0.5 + (0.2 if i % 2 else 0.0) for i in range(200)]
    d = diagnose(SPIRAL.replace(lr=0.3), *curves(loss, loss, train_accuracy=0.9, test_accuracy=0.9))
    assert d.kind == "oscillating" and d.changes == {"lr": pytest.approx(0.1)} and "up and down" in d.text


def test_over_fitting_suggests_stopping_where_the_test_loss_was_lowest():
    train = decaying(end=0.01)
    test = [0.3 + 0.002 * (i - 60) ** 2 / 60 for i in range(200)]  # lowest at epoch 61, then rising
    d = diagnose(BOSTON, *curves(train, test, cfg=BOSTON, train_r2=0.99, test_r2=0.5))
    assert d.kind == "overfitting" and d.changes == {"epochs": 61} and "epoch 61" in d.text


def test_a_linear_model_that_under_fits_is_told_to_bend():
    loss = decaying(end=0.86)
    d = diagnose(SPIRAL.replace(activation="identity"), *curves(loss, loss, train_accuracy=0.5, test_accuracy=0.5))
    assert d.kind == "underfitting" and d.changes == {"activation": "relu"} and "straight" in d.text
    d = diagnose(SPIRAL.replace(model="linear", hidden=()), *curves(loss, loss, train_accuracy=0.5, test_accuracy=0.5))
    assert d.changes == {"model": "mlp", "hidden": (100,), "activation": "relu"}


def test_a_loss_still_falling_fast_is_not_converged():
    loss = [1.0 - 0.004 * i for i in range(200)]  # a straight fall: 20 % of the level over the last 10 %
    d = diagnose(BOSTON, *curves(loss, loss, cfg=BOSTON, train_r2=0.8, test_r2=0.75), max_epochs=500)
    assert d.kind == "not_converged" and d.changes == {"epochs": 500} and "Continue" in d.text


def test_a_regression_worse_than_the_mean_says_so_first():
    loss = decaying(start=600, end=500)
    d = diagnose(BOSTON, *curves(loss, loss, cfg=BOSTON, train_r2=-4.0, test_r2=-4.2))
    assert d.worse_than_baseline and not d.ok and d.text.startswith("Worse than no model at all: test R² is -4.20")


def test_a_classifier_no_better_than_its_most_common_class_says_so():
    loss = decaying()
    d = diagnose(SPIRAL, *curves(loss, loss, train_accuracy=0.99, test_accuracy=0.34), chance=0.34)
    assert d.worse_than_baseline and d.text.startswith("No better than guessing")
    assert majority_share([0, 0, 1, 2]) == 0.5


def test_a_run_too_short_to_read_still_says_what_it_can():
    d = diagnose(SPIRAL, *curves([1.0, 0.9], [1.0, 0.9], train_accuracy=0.4, test_accuracy=0.4))
    assert d.kind == "too_short" and d.changes == {"epochs": 600}


def test_learning_rates_move_along_the_list():
    assert [nice_lr(v) for v in (1e-2, 3.3e-3, 0.033, 10 * 1e-3, 3e-5 / 3)] == pytest.approx([1e-2, 3e-3, 3e-2, 1e-2,
                                                                                              1e-5])
    assert [lr_text(v) for v in (1e-2, 3e-3, 0.1, 1.0, 3.0)] == ["1e-2", "3e-3", "0.1", "1", "3"]
    assert repr(nice_lr(3.1e-5)) == "3e-05", "no float noise in what the JSON and the fields show"


def test_the_sigmoid_lesson_leads_to_a_larger_learning_rate_that_works(one_thread):
    # seed 002's sigmoid row, shortened (300 points a class, 400 epochs): stuck near a straight line at Adam 1e-3
    # while its loss still falls; the diagnosis says it is learning slowly, and its Try this (lr 1e-2) fits the spiral
    cfg = RunConfig(points=300, hidden=(100,), activation="sigmoid", optimizer="adam", lr=1e-3, epochs=400,
                    weight_decay=1e-5, device="cpu")
    trainer = Trainer(cfg)
    *records, final = trainer.run()
    d = diagnose(cfg, records, final, chance=majority_share(trainer.data.y_test))
    assert final.metrics["test_accuracy"] < 0.6
    assert d.kind == "underfitting" and d.changes == {"lr": pytest.approx(1e-2)}
    assert "still falling" in d.text and "not stuck" in d.text
    *_, better = Trainer(cfg.replace(**d.changes)).run()
    assert better.metrics["test_accuracy"] > final.metrics["test_accuracy"] + 0.2
