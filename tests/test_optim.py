"""Every optimizer lowers the loss, `gd` is the hand-written update, every loss and scheduler does what it says."""

import math

import pytest
import torch
import torch.nn.functional as F

from dlcore.config import ConfigError, RunConfig
from dlcore.optim import (
    LOSSES,
    OPTIMIZERS,
    SCHEDULERS,
    GradientDescent,
    build_loss,
    build_optimizer,
    build_scheduler,
    penalty,
)
from dlcore.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

# a learning rate that suits each method on the small spiral (adadelta's usual setting is 1.0)
OPT_LR = {"gd": 0.5, "sgd": 0.1, "adam": 1e-2, "adamw": 1e-2, "rmsprop": 1e-2, "adagrad": 0.1, "adadelta": 1.0,
          "rprop": 1e-2, "lbfgs": 0.5}


def test_every_optimizer_has_a_test_learning_rate():
    assert set(OPT_LR) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_lowers_the_loss(name):
    cfg = RunConfig(dataset="spiral", points=100, hidden=(16,), optimizer=name, lr=OPT_LR.get(name, 1e-2),
                    epochs=8 if name == "lbfgs" else 25, momentum=0.9 if name == "sgd" else 0.0, device="cpu")
    trainer = Trainer(cfg)
    before = trainer.evaluate("train")["loss"]
    final = list(trainer.run())[-1]
    assert final.status == "finished"
    assert final.train_loss < 0.95 * before, f"{name}: loss {before:.4f} -> {final.train_loss:.4f}"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_also_trains_the_regression(name):
    lr = {"gd": 1e-2, "sgd": 1e-2, "adadelta": 1.0, "lbfgs": 0.5, "adagrad": 0.1}.get(name, 1e-2)
    trainer = Trainer(RunConfig(dataset="boston", model="linear", optimizer=name, lr=lr, epochs=5, device="cpu"))
    before = trainer.evaluate("train")["loss"]
    final = list(trainer.run())[-1]
    assert final.status == "finished" and final.train_loss < before


def test_gd_is_the_hand_written_update():
    opt_cls = type(build_optimizer("gd", [torch.nn.Parameter(torch.zeros(1))], RunConfig(lr=0.1)))
    assert opt_cls is GradientDescent and not issubclass(opt_cls, torch.optim.SGD)
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = GradientDescent([w], lr=0.1)
    (w ** 3).sum().backward()
    grad = w.grad.clone()
    expected = w.detach() - 0.1 * grad
    opt.step()
    assert torch.equal(w.detach(), expected)  # exactly p - lr * grad
    assert torch.equal(w.grad, torch.zeros(3))  # zeroed right after the update, as seed 000 does
    decayed = torch.nn.Parameter(torch.tensor([2.0]))
    GradientDescent([decayed], lr=0.1, weight_decay=0.5)
    (decayed * 3).sum().backward()
    GradientDescent([decayed], lr=0.1, weight_decay=0.5).step()
    assert decayed.item() == pytest.approx(2.0 - 0.1 * (3 + 0.5 * 2.0))


def test_gd_in_the_trainer_is_one_exact_step_per_epoch():
    cfg = RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2, epochs=1, device="cpu")
    trainer = Trainer(cfg)
    x, y = trainer.data.x_train, trainer.data.y_train
    w0 = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    w = w0["0.weight"].clone().requires_grad_(True)
    b = w0["0.bias"].clone().requires_grad_(True)
    loss = ((x @ w.T + b - y) ** 2).mean()  # seed 000's forward and MSE
    loss.backward()
    first = list(trainer.run())[0]
    assert first.train_loss == pytest.approx(loss.item(), rel=1e-6)  # the loss before the step
    assert torch.allclose(trainer.model[0].weight, w0["0.weight"] - 1e-2 * w.grad, atol=1e-6)
    assert torch.allclose(trainer.model[0].bias, w0["0.bias"] - 1e-2 * b.grad, atol=1e-6)


FULL_BATCH = [n for n, s in OPTIMIZERS.items() if s.full_batch]


def test_lbfgs_and_rprop_are_the_full_batch_methods():
    assert set(FULL_BATCH) == {"lbfgs", "rprop"}
    assert all("full-batch" in OPTIMIZERS[n].about for n in FULL_BATCH)


@pytest.mark.parametrize("name", FULL_BATCH)
def test_full_batch_methods_say_so_and_use_the_whole_set(name):
    trainer = Trainer(RunConfig(dataset="spiral", points=100, optimizer=name, lr=0.1, batch_size=32, epochs=3, device="cpu"))
    n = len(trainer.data.x_train)
    assert trainer.batch_size == n
    assert trainer.notes == [f"{name} is a full-batch method: training on all {n} samples per step instead of batches of 32"]
    final = list(trainer.run())[-1]
    assert final.step == 3 and "full-batch" in final.message  # one step per epoch


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_weight_decay_is_applied_or_the_note_says_it_is_not(name):
    cfg = RunConfig(dataset="spiral", points=50, optimizer=name, weight_decay=1e-3, epochs=1, device="cpu")
    trainer = Trainer(cfg)
    decay = trainer.optimizer.defaults.get("weight_decay")
    ignored = [n for n in trainer.notes if "weight decay" in n]
    if OPTIMIZERS[name].weight_decay:
        assert decay == 1e-3 and ignored == []
    else:
        assert decay is None and ignored == [f"{name} has no weight decay, so weight decay 0.001 is not applied; "
                                             "use the L2 penalty instead"]
        assert ignored[0] in list(trainer.run())[-1].message


def test_minibatch_methods_keep_the_batch_size():
    trainer = Trainer(RunConfig(dataset="spiral", points=100, optimizer="sgd", batch_size=32, epochs=2, device="cpu"))
    assert trainer.batch_size == 32 and trainer.notes == []
    assert list(trainer.run())[-1].step == 2 * 8  # ceil(240 / 32) steps per epoch


def test_optimizer_settings_reach_torch():
    params = [torch.nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer("sgd", params, RunConfig(lr=0.2, momentum=0.9, nesterov=True, weight_decay=1e-3))
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["momentum"] == 0.9 and sgd.defaults["nesterov"] and sgd.defaults["weight_decay"] == 1e-3
    for name, cls in [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("rmsprop", torch.optim.RMSprop),
                      ("adagrad", torch.optim.Adagrad), ("adadelta", torch.optim.Adadelta)]:
        opt = build_optimizer(name, params, RunConfig(lr=0.05, weight_decay=1e-4))
        assert isinstance(opt, cls) and opt.defaults["lr"] == 0.05 and opt.defaults["weight_decay"] == 1e-4
    assert isinstance(build_optimizer("lbfgs", params, RunConfig()), torch.optim.LBFGS)
    with pytest.raises(ConfigError, match="optimizer 'Adam' is unknown; choose from"):
        build_optimizer("Adam", params, RunConfig())


# ------------------------------------------------------------------ losses and penalties

ALL_LOSSES = [(task, name) for task in LOSSES for name in LOSSES[task]]


def test_the_loss_registry():
    assert set(LOSSES["classification"]) == {"cross_entropy", "nll", "mse"}
    assert set(LOSSES["regression"]) == {"mse", "l1", "huber"}


@pytest.mark.parametrize("task,name", ALL_LOSSES)
def test_each_loss_matches_its_definition(task, name):
    g = torch.Generator().manual_seed(0)
    fn = build_loss(task, name)
    if task == "classification":
        logits, y = torch.randn(8, 3, generator=g), torch.randint(0, 3, (8,), generator=g)
        p = torch.softmax(logits, 1)
        expected = {"cross_entropy": -p[range(8), y].log().mean(), "nll": -p[range(8), y].log().mean(),
                    "mse": (p - F.one_hot(y, 3)).pow(2).mean()}[name]
        value = fn(logits, y)
    else:
        out, y = torch.randn(8, 1, generator=g) * 2, torch.randn(8, 1, generator=g) * 2
        e = (out - y).abs()
        expected = {"mse": e.pow(2).mean(), "l1": e.mean(),
                    "huber": torch.where(e < 1, 0.5 * e.pow(2), e - 0.5).mean()}[name]
        value = fn(out, y)
    assert value.ndim == 0 and value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize("task,name", ALL_LOSSES)
def test_each_loss_trains(task, name):
    dataset = "spiral" if task == "classification" else "boston"
    trainer = Trainer(RunConfig(dataset=dataset, loss=name, points=50, epochs=10, lr=1e-2, device="cpu"))
    records = list(trainer.run())
    assert all(r.train_loss >= 0 for r in records)
    assert records[-1].train_loss < records[0].train_loss and records[-1].status == "finished"


def test_a_loss_from_the_other_task_is_refused():
    with pytest.raises(ConfigError, match="loss 'huber' does not apply to classification; choose from"):
        build_loss("classification", "huber")


def _value(t) -> float:
    return float(t.detach()) if isinstance(t, torch.Tensor) else float(t)


def test_penalty_is_l1_plus_l2_over_weight_matrices():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    weights = [model[0].weight, model[2].weight]  # biases and the norm's scale are not penalised
    l1 = sum(w.abs().sum() for w in weights).item()
    l2 = sum(w.pow(2).sum() for w in weights).item()
    assert penalty(model, 0.0, 0.0) == 0.0
    assert _value(penalty(model, 0.1, 0.0)) == pytest.approx(0.1 * l1, rel=1e-5)
    assert _value(penalty(model, 0.0, 0.2)) == pytest.approx(0.2 * l2, rel=1e-5)
    assert _value(penalty(model, 0.1, 0.2)) == pytest.approx(0.1 * l1 + 0.2 * l2, rel=1e-5)


@pytest.mark.parametrize("dataset", ["spiral", "boston"])
@pytest.mark.parametrize("which", ["l1", "l2"])
def test_penalties_change_the_loss(which, dataset):
    base = RunConfig(dataset=dataset, model="mlp", hidden=(16,), points=50, epochs=1, lr=1e-2, device="cpu")
    plain = Trainer(base)
    added = _value(penalty(plain.model, 1e-2 if which == "l1" else 0.0, 1e-2 if which == "l2" else 0.0))
    penalised = Trainer(base.replace(**{which: 1e-2}))
    # full batch, one step: the epoch's loss is the loss at the (identical, seeded) initial weights, plus the penalty
    a, b = list(plain.run())[0], list(penalised.run())[0]
    assert b.train_loss == pytest.approx(a.train_loss + added, rel=1e-5) and added > 0


def test_l2_penalty_shrinks_the_weights():
    base = RunConfig(dataset="spiral", points=100, hidden=(32,), epochs=60, lr=1e-2, device="cpu")
    norms = []
    for l2 in (0.0, 1e-2):
        t = Trainer(base.replace(l2=l2))
        list(t.run())
        norms.append(sum(p.pow(2).sum().item() for p in t.model.parameters() if p.ndim > 1))
    assert norms[1] < 0.8 * norms[0]


# ------------------------------------------------------------------ schedulers

EXPECTED_LR = {  # learning rate after each of 4 epochs, starting at 0.1
    "none": [0.1] * 4,
    "step": [0.1 * 0.9 ** k for k in range(1, 5)],  # seed 001's StepLR(gamma=0.9), once per epoch
    "cosine": [0.05 * (1 + math.cos(math.pi * k / 4)) for k in range(1, 5)],
}


def test_every_scheduler_has_an_expectation():
    assert set(EXPECTED_LR) == set(SCHEDULERS)


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_schedulers(name):
    trainer = Trainer(RunConfig(dataset="spiral", points=50, epochs=4, lr=0.1, scheduler=name, device="cpu"))
    lrs = [r.lr for r in trainer.run() if not r.done]
    assert lrs == pytest.approx(EXPECTED_LR[name], abs=1e-9)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(EXPECTED_LR[name][-1], abs=1e-9)
    if name == "cosine":
        assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[-1] == pytest.approx(0.0, abs=1e-12)


def test_unknown_scheduler_is_refused():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ConfigError, match="scheduler 'linear' is unknown; choose from"):
        build_scheduler("linear", opt, RunConfig())
