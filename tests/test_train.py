"""The trainer: progress records and metrics, determinism, the divergence guard, stopping and time budgets."""

import importlib
import math

import pytest
import torch

from dlcore.config import RunConfig
from dlcore.data import load_data
from dlcore.errors import ConfigError
from dlcore.train import Trainer, forward_chunked, train

pytestmark = pytest.mark.usefixtures("one_thread")
train_mod = importlib.import_module("dlcore.train")  # the module; the package exports a function of that name
models_mod = importlib.import_module("dlcore.models")


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_progress_records_and_final_metrics(small_spiral):
    trainer = Trainer(small_spiral)
    records = list(trainer.run())
    per_epoch = [r for r in records if not r.done]
    assert [r.epoch for r in per_epoch] == list(range(1, 31)) and [r.step for r in per_epoch] == list(range(1, 31))
    assert all(r.test_loss is not None and {"train_accuracy", "test_accuracy"} <= set(r.metrics) for r in per_epoch)
    assert all(r.epochs == 30 and r.lr == 1e-2 and r.status == "running" for r in per_epoch)
    final = records[-1]
    assert final.done and final.status == "finished" and final.epoch == 30 and final.message == "finished 30 epochs"
    assert {"train_accuracy", "test_accuracy"} <= set(final.metrics)
    assert final.train_loss < per_epoch[0].train_loss
    assert final.samples_per_second > 0 and final.elapsed > 0
    # the final record is a full-set evaluation of the final weights
    ev = trainer.evaluate("test")
    assert final.test_loss == ev["loss"] and final.metrics["test_accuracy"] == ev["accuracy"]
    assert final.train_loss == trainer.evaluate("train")["loss"]
    assert trainer.history == records and set(final.as_dict()) >= {"epoch", "train_loss", "metrics", "status"}


def test_regression_metrics():
    trainer = Trainer(RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2, epochs=20, device="cpu"))
    final = list(trainer.run())[-1]
    assert {"test_rmse", "test_mae", "test_r2", "train_rmse", "train_mae", "train_r2"} <= set(final.metrics)
    assert final.metrics["test_rmse"] == pytest.approx(math.sqrt(final.test_loss), rel=1e-5)  # MSE loss
    out = forward_chunked(trainer.model, trainer.data.x_test)
    y = trainer.data.y_test
    assert final.metrics["test_mae"] == pytest.approx((out - y).abs().mean().item(), rel=1e-5)
    r2 = 1 - (out - y).pow(2).sum().item() / (y - y.mean()).pow(2).sum().item()
    assert final.metrics["test_r2"] == pytest.approx(r2, rel=1e-4)


def test_long_epochs_report_inside_the_epoch():
    records = list(Trainer(RunConfig(dataset="spiral", points=1000, batch_size=8, epochs=1, device="cpu")).run(report_every=50))
    inside = [r for r in records if r.test_loss is None]
    assert len(inside) == 5 and all(0 < r.epoch < 1 for r in inside)  # 300 steps: at 50, 100, ..., 250
    assert [r.step for r in inside] == [50, 100, 150, 200, 250] and records[-2].epoch == 1 and records[-1].done
    default = list(Trainer(RunConfig(dataset="spiral", points=1000, batch_size=8, epochs=1, device="cpu")).run())
    assert sum(r.test_loss is None for r in default) >= 4  # about five per epoch once an epoch has over 100 steps


@pytest.mark.parametrize("batch_size", [0, 32])
def test_deterministic_for_a_seed(small_spiral, batch_size):
    cfg = small_spiral.replace(batch_size=batch_size, epochs=10)
    a, b = Trainer(cfg), Trainer(cfg)
    la, lb = [r.train_loss for r in a.run()], [r.train_loss for r in b.run()]
    assert la == lb and _same(_weights(a.model), _weights(b.model))
    c = Trainer(cfg.replace(seed=1))
    assert [r.train_loss for r in c.run()] != la and not _same(_weights(a.model), _weights(c.model))


def test_same_data_different_seed_differs_in_initialisation_only():
    data = load_data(RunConfig(dataset="spiral", points=50))
    a = Trainer(RunConfig(dataset="spiral", points=50, seed=0), data=data)
    b = Trainer(RunConfig(dataset="spiral", points=50, seed=5), data=data)
    assert a.data is b.data and not _same(_weights(a.model), _weights(b.model))


@pytest.mark.parametrize("dataset,optimizer", [("boston", "sgd"), ("spiral", "adam"), ("boston", "gd")])
def test_divergence_guard_at_a_huge_learning_rate(dataset, optimizer):
    trainer = Trainer(RunConfig(dataset=dataset, points=100, optimizer=optimizer, lr=1e6, epochs=50, device="cpu"))
    good = _weights(trainer.model)
    for rec in trainer.run():
        if not rec.done:
            good = _weights(trainer.model)
    final = rec
    assert final.done and final.status == "diverged"
    assert f"training diverged at epoch {int(final.epoch) + 1}" in final.message
    assert "try a lower learning rate than 1e+06" in final.message
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    assert _same(_weights(trainer.model), good)  # the last good weights, not the exploded ones
    assert math.isfinite(final.train_loss) and math.isfinite(final.test_loss)


def test_divergence_guard_keeps_the_last_good_epoch():
    # lr above the stability limit of full-batch gd on the standardised features: the loss grows each epoch
    trainer = Trainer(RunConfig(dataset="boston", model="linear", optimizer="gd", lr=0.5, epochs=200, device="cpu"))
    good, losses = None, []
    for rec in trainer.run():
        if not rec.done:
            good, losses = _weights(trainer.model), losses + [rec.test_loss]
    assert rec.status == "diverged" and len(losses) >= 2 and losses[-1] > losses[0]  # it did run some epochs
    assert f"diverged at epoch {len(losses) + 1}" in rec.message
    assert _same(_weights(trainer.model), good) and rec.test_loss == pytest.approx(losses[-1])
    assert trainer.trained().meta["metrics"]["test_loss"] == rec.test_loss


def test_should_stop_ends_the_run_with_a_final_record(small_spiral):
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 10

    trainer = Trainer(small_spiral.replace(epochs=500))
    records = list(trainer.run(should_stop=stop))
    final = records[-1]
    assert final.done and final.status == "stopped" and final.epoch == 10 and final.step == 10
    assert "stopped by the user during epoch 11" in final.message
    assert {"train_accuracy", "test_accuracy"} <= set(final.metrics) and final.test_loss is not None


def test_should_stop_is_checked_between_steps(small_spiral):
    calls = []
    trainer = Trainer(small_spiral.replace(epochs=5, batch_size=16))  # 15 steps per epoch
    final = list(trainer.run(should_stop=lambda: calls.append(1) or len(calls) > 20))[-1]
    assert final.status == "stopped" and final.step == 20 and "during epoch 2" in final.message


def test_time_budget_ends_the_run(small_spiral):
    final = list(Trainer(small_spiral.replace(epochs=20_000, time_budget=0.2)).run())[-1]
    assert final.done and final.status == "time_limit" and final.epoch < 20_000
    assert "the time budget of 0.2 s ran out" in final.message and final.test_loss is not None


def test_closing_the_generator_stops_training(small_spiral):
    trainer = Trainer(small_spiral.replace(epochs=1000))
    gen = trainer.run()
    for _ in range(3):
        next(gen)
    gen.close()
    assert len(trainer.history) == 3 and trainer.history[-1].step == 3


def test_trained_model_carries_what_prediction_needs(small_spiral):
    tm, final = train(small_spiral)
    assert final.done and tm.cfg == small_spiral and tm.device.type == "cpu"
    assert tm.meta["input_shape"] == [2] and tm.meta["num_outputs"] == 3 and tm.meta["task"] == "classification"
    assert tm.meta["class_names"] == ["0", "1", "2"] and tm.meta["data_source"].startswith("generated")
    assert tm.meta["metrics"]["test_accuracy"] == final.metrics["test_accuracy"]
    assert tm.meta["metrics"]["test_loss"] == final.test_loss


def test_forward_chunked_matches_one_pass_and_restores_the_mode(monkeypatch):
    monkeypatch.setattr(models_mod, "EVAL_CHUNK", 7)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    x = torch.randn(30, 2)
    model.eval()
    with torch.no_grad():
        expected = model(x)
    model.train()
    out = forward_chunked(model, x)
    assert torch.allclose(out, expected, atol=1e-6) and model.training  # dropout off while evaluating, then back on


@pytest.mark.slow
def test_boston_mlp_beats_linear_on_every_split():
    """The MLP's edge holds on each of five 85/15 splits (test RMSE itself ranges 2.5-4.5 with the split)."""
    for seed in range(5):
        lin = train(RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2, epochs=300, seed=seed,
                              device="cpu"))[1]
        mlp = train(RunConfig(dataset="boston", model="mlp", hidden=(64, 32), optimizer="adam", lr=1e-2, epochs=500,
                              weight_decay=1e-4, seed=seed, device="cpu"))[1]
        assert mlp.metrics["test_rmse"] < lin.metrics["test_rmse"] - 0.5, seed


def test_resume_continues_from_the_weights_and_the_optimizer_state(small_spiral):
    """Two runs of 15 epochs, the second resumed from the first, end where one run of 30 ends."""
    from dlcore.train import Resume, Trainer

    whole = Trainer(small_spiral)
    *_, final_whole = whole.run()
    half = small_spiral.replace(epochs=15)
    first = Trainer(half)
    list(first.run())
    second = Trainer(half, resume=first.resume_point())
    *_, final = second.run()
    # the same weights and Adam moments; only the batch order restarts (full batch here, so none)
    assert final.train_loss == pytest.approx(final_whole.train_loss, rel=1e-4)
    with pytest.raises(ConfigError, match="do not fit these settings"):
        Trainer(half.replace(hidden=(8,)), resume=first.resume_point())
    sgd = Trainer(half.replace(optimizer="sgd"), resume=first.resume_point())
    assert any("starts afresh" in n for n in sgd.notes)
    assert isinstance(first.resume_point(), Resume)


# ------------------------------------------------------------------ early stopping (issue 12)

def test_early_stopping_watches_a_validation_part_and_keeps_the_best_epoch():
    # a wide net at a large learning rate over-fits Boston's 366 training rows within a few hundred epochs
    cfg = RunConfig(dataset="boston", model="mlp", hidden=(128, 128), lr=1e-2, epochs=2000, patience=15, device="cpu")
    trainer = Trainer(cfg)
    records = list(trainer.run())
    final, epochs = records[-1], [r for r in records if not r.done]
    assert len(trainer.data.x_train) + len(trainer.val[0]) == 430  # the validation rows come out of the training split
    assert len(trainer.data.x_test) == 76  # ... never out of the test split
    val = [r.metrics["val_loss"] for r in epochs]
    best = min(range(len(val)), key=val.__getitem__)
    assert final.epoch < 2000 and final.epoch == epochs[best].epoch + 15  # stopped `patience` epochs after the best
    assert final.best_epoch == epochs[best].epoch and f"kept the weights of epoch {final.best_epoch:g}" in final.message
    assert "stopped early" in final.message and final.status == "finished"
    x_val, y_val = trainer.val  # the model holds the best epoch's weights, not the last ones
    assert trainer.loss_fn(forward_chunked(trainer.model, x_val), y_val).item() == pytest.approx(val[best], rel=1e-5)
    assert trainer.trained().meta["best_epoch"] == final.best_epoch


def test_early_stopping_off_by_default_and_validated(small_spiral):
    trainer = Trainer(small_spiral)
    assert trainer.val is None and "val_loss" not in list(trainer.run())[-2].metrics
    with pytest.raises(ConfigError, match="patience -1 is out of range"):
        small_spiral.replace(patience=-1).validate()
    with pytest.raises(ConfigError, match="validation fraction 0.9 is out of range"):
        small_spiral.replace(patience=5, val_fraction=0.9).validate()


def test_training_figures_count_only_the_rows_an_augmentation_says_are_real():
    """The "digits" augmentation puts scribbles with arbitrary labels in each batch: the model learns from them, but
    the reported training loss and accuracy are those of the real digits alone."""
    data = load_data(RunConfig(dataset="mnist", mnist_source="embedded"))
    data.x_train, data.y_train = data.x_train[:300], data.y_train[:300]
    cfg = RunConfig(dataset="mnist", mnist_source="embedded", model="linear", epochs=4, batch_size=0, lr=1e-2,
                    device="cpu")
    trainer = Trainer(cfg, data)
    real = torch.arange(300) % 3 != 0  # a third of every batch is noise that keeps its row's label

    def noisy(xb, norm, gen):
        return torch.where(real.view(-1, 1, 1, 1), xb, torch.randn(xb.shape, generator=gen) * 3), real

    seen = []  # the training forward passes' outputs (full batch: the rows are the data's, in order)
    trainer.model.register_forward_hook(lambda m, i, out: seen.append(out.detach()) if m.training else None)
    trainer.augment = noisy
    records = [r for r in trainer.run() if not r.done]
    y = data.y_train
    assert len(records) == len(seen) == 4
    for rec, out in zip(records, seen):
        assert out.shape[0] == 300, "the model learns from every row, the noise included"
        hits = (out.argmax(1) == y)
        assert rec.metrics["train_accuracy"] == pytest.approx(hits[real].float().mean().item())
        assert rec.train_loss == pytest.approx(torch.nn.functional.cross_entropy(out[real], y[real]).item(), rel=1e-5)
    counted_all = (seen[-1].argmax(1) == y).float().mean().item()
    assert records[-1].metrics["train_accuracy"] > counted_all + 0.05, "the noise rows would have read as misses"
