"""Every registry entry is built and exercised: activations, architectures, optimizers, schedulers, losses."""

import pytest
import torch

from dlcore.config import ConfigError, RunConfig
from dlcore.data import load_data
from dlcore.models import ACTIVATIONS, ARCHITECTURES, build_model, count_params, estimate_params
from dlcore.optim import LOSSES, OPTIMIZERS, SCHEDULERS, GradientDescent, build_loss, build_optimizer, penalty
from dlcore.train import Trainer


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_builds_and_backpropagates(name):
    cfg = RunConfig(model="mlp", hidden=(8, 4), activation=name)
    model = build_model(cfg, (2,), 3)
    x = torch.randn(5, 2, requires_grad=True)
    out = model(x)
    assert out.shape == (5, 3)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_each_architecture_builds_runs_and_counts(name):
    image = name in ("ffn", "cnn")
    cfg = RunConfig(dataset="mnist" if image else "spiral", model=name, hidden=(10, 5), dropout=0.1, batch_norm=True)
    shape = (1, 28, 28) if image else (2,)
    model = build_model(cfg, shape, 10)
    x = torch.randn(4, *shape)
    out = model(x)
    assert out.shape == (4, 10)
    out.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert count_params(model) == estimate_params(cfg, shape, 10) > 0


def test_ffn_is_the_seed_network():
    model = build_model(RunConfig(dataset="mnist", model="ffn"), (1, 28, 28), 10)
    sizes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [(784, 256), (256, 128), (128, 64), (64, 10)]
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [0.2, 0.2, 0.2]


@pytest.mark.parametrize("model", ["ffn", "cnn"])
def test_image_models_refuse_tabular_data(model):
    with pytest.raises(ConfigError, match=model):
        RunConfig(dataset="spiral", model=model).validate()


OPT_LR = {"gd": 0.5, "sgd": 0.1, "adam": 1e-2, "adamw": 1e-2, "rmsprop": 1e-2, "adagrad": 0.1, "adadelta": 1.0,
          "rprop": 1e-2, "lbfgs": 0.5}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_lowers_the_loss(name):
    cfg = RunConfig(dataset="spiral", points=100, hidden=(16,), optimizer=name, lr=OPT_LR[name], epochs=25,
                    momentum=0.9 if name == "sgd" else 0.0, device="cpu")
    trainer = Trainer(cfg)
    before = trainer.evaluate("train")["loss"]
    records = list(trainer.run())
    after = records[-1].train_loss
    assert records[-1].status == "finished"
    assert after < 0.95 * before, f"{name}: loss {before:.4f} -> {after:.4f}"


def test_gd_is_the_hand_written_update():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = GradientDescent([w], lr=0.1)
    (w ** 2).sum().backward()
    grad = w.grad.clone()
    expected = w.detach() - 0.1 * grad
    opt.step()
    assert torch.equal(w.detach(), expected)
    assert torch.equal(w.grad, torch.zeros(2))  # zeroed right after the update, as seed 000 does
    assert not isinstance(opt, torch.optim.SGD)


@pytest.mark.parametrize("name", [n for n, s in OPTIMIZERS.items() if s.full_batch])
def test_full_batch_methods_say_so(name):
    trainer = Trainer(RunConfig(dataset="spiral", points=100, optimizer=name, batch_size=32, epochs=1, device="cpu"))
    assert trainer.batch_size == len(trainer.data.x_train)
    assert any("full-batch" in n for n in trainer.notes)


@pytest.mark.parametrize("task,name", [(t, n) for t in LOSSES for n in LOSSES[t]])
def test_each_loss_works_and_penalties_add(task, name):
    dataset = "spiral" if task == "classification" else "boston"
    cfg = RunConfig(dataset=dataset, loss=name, points=50, epochs=5, lr=1e-2, device="cpu")
    plain = Trainer(cfg)
    records = list(plain.run())
    assert all(r.train_loss >= 0 for r in records) and records[-1].train_loss < records[0].train_loss
    fn = build_loss(task, name)
    out = plain.model(plain.data.x_train[:8])
    base = fn(out, plain.data.y_train[:8])
    assert base.ndim == 0 and torch.isfinite(base)
    assert float(penalty(plain.model, 1e-3, 1e-3).detach()) > 0
    assert penalty(plain.model, 0.0, 0.0) == 0.0


def test_l1_l2_penalty_shrinks_weights():
    base = RunConfig(dataset="spiral", points=100, hidden=(32,), epochs=60, lr=1e-2, device="cpu")
    norms = []
    for l2 in (0.0, 1e-2):
        t = Trainer(base.replace(l2=l2))
        list(t.run())
        norms.append(sum(p.pow(2).sum().item() for p in t.model.parameters() if p.ndim > 1))
    assert norms[1] < norms[0]


def test_loss_names_are_checked_per_task():
    with pytest.raises(ConfigError, match="huber"):
        RunConfig(dataset="spiral", loss="huber").validate()
    with pytest.raises(ConfigError, match="unknown"):
        build_optimizer("Adam", [torch.nn.Parameter(torch.zeros(1))], RunConfig())


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_schedulers(name):
    t = Trainer(RunConfig(dataset="spiral", points=50, epochs=4, lr=0.1, scheduler=name, device="cpu"))
    lrs = [r.lr for r in t.run() if r.test_loss is not None and not r.done]
    if name == "none":
        assert lrs == [0.1] * 4
    elif name == "step":
        assert lrs == pytest.approx([0.1 * 0.9 ** k for k in range(1, 5)])
    else:
        assert lrs[0] < 0.1 and lrs == sorted(lrs, reverse=True) and lrs[-1] == pytest.approx(0.0, abs=1e-9)


def test_parameter_cap_is_enforced():
    from dlcore.config import Limits

    with pytest.raises(ConfigError, match="parameters"):
        build_model(RunConfig(hidden=(4000, 4000)), (2,), 3, Limits(max_params=1_000_000))


def test_data_shapes_for_every_model():
    data = load_data(RunConfig(dataset="mnist", mnist_source="embedded"))
    for name in ARCHITECTURES:
        model = build_model(RunConfig(dataset="mnist", model=name, hidden=(32,)), data.input_shape, 10)
        assert model(data.x_test[:3]).shape == (3, 10)
