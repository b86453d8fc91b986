"""Inside the network: the per-layer norms and unit shares the trainer records, the one-line finding, the network
view's tiles and a unit's detail; and the seed's sigmoid row explained from its recorded norms."""

from dataclasses import replace

import pytest
import torch
from torch import nn

from dlcore import netstats
from dlcore.config import RunConfig
from dlcore.models import build_model
from dlcore.netstats import LayerStats, dead_text, finding, stats_every
from dlcore.netview import MAX_UNITS, importance, network_view, unit_detail
from dlcore.plots import curve_points, layer_frame
from dlcore.presets import preset
from dlcore.records import Progress
from dlcore.session import cached_data
from dlcore.train import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def test_layer_stats_are_the_norms_and_unit_shares():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2))
    with torch.no_grad():
        model[0].bias[1] = -100.0  # unit 1 of layer 1 is zero for every input: a dead ReLU
        model[2].weight.mul_(1000)  # layer 2's sigmoids are pushed to 0 or 1
        model[2].bias.fill_(50.0)
    x = torch.randn(50, 2)
    model(x).sum().backward()
    stats = LayerStats(model)(x)
    assert [s["layer"] for s in stats] == ["layer 1", "layer 2", "output"] and [s["units"] for s in stats] == [4, 3, 2]
    for s, lin in zip(stats, (model[0], model[2], model[4])):
        assert s["weight_norm"] == pytest.approx(lin.weight.norm().item(), rel=1e-6)
        assert s["grad_norm"] == pytest.approx(lin.weight.grad.norm().item(), rel=1e-6)
    assert stats[0]["dead"] == 0.25 and "saturated" not in stats[0]
    assert stats[1]["saturated"] > 0.9 and "dead" not in stats[1]
    assert set(stats[2]) == {"layer", "units", "weight_norm", "grad_norm"}  # no activation after the output
    assert dead_text(stats) == "dead ReLUs: layer 1 1/4"
    assert dead_text([{"layer": "output", "units": 3}]) == ""


def test_stats_of_a_convnet_judge_its_channels():
    cfg = preset("mnist", epochs=1).validate()
    stats = LayerStats(build_model(cfg, (1, 28, 28), 10))(torch.randn(8, 1, 28, 28))
    assert [s["layer"] for s in stats] == ["layer 1", "layer 2", "layer 3", "output"]
    assert [s["units"] for s in stats] == [16, 32, 64, 10] and all("dead" in s for s in stats[:3])


def test_the_trainer_records_them_every_few_epochs_and_at_the_end(small_spiral):
    assert stats_every(30) == 1 and stats_every(1000) == 4 and stats_every(20_000) == 80
    trainer = Trainer(small_spiral)
    trainer.stats_budget = None  # every due epoch, whatever the statistics cost next to this tiny net's steps
    records = list(trainer.run())
    with_layers = [r for r in records if r.layers]
    assert len(with_layers) == small_spiral.epochs + 1 and records[-1].layers  # each epoch, and the final record
    assert [x["layer"] for x in records[-1].layers] == ["layer 1", "output"]
    quiet = list(Trainer(small_spiral, layer_stats=False).run())
    assert not any(r.layers for r in quiet)
    # the records carry them to the live curves: weights, log10 gradient norms and the dead share, a series per layer
    curves = {}
    for r in records[:-1]:
        for panel, series, epoch, value in curve_points(r, "classification"):
            curves.setdefault((panel, series), []).append((epoch, value))
    frame = layer_frame(curves, "weights")
    assert set(frame["series"]) == {"layer 1", "output"} and len(frame) == 2 * small_spiral.epochs
    assert set(layer_frame(curves, "units")["series"]) == {"layer 1 dead"}
    assert layer_frame(curves, "grads")["value"].max() < 1  # log10 of norms well under 10


def test_long_runs_record_about_250_times_and_never_over_the_time_budget(monkeypatch):
    cfg = RunConfig(points=20, hidden=(4,), epochs=1000, lr=1e-2, device="cpu").validate()
    trainer = Trainer(cfg)
    trainer.stats_budget = None
    records = list(trainer.run())
    epochs = [r.epoch for r in records if r.layers and not r.done]
    assert epochs[:20] == list(range(1, 21)) and epochs[20:] == list(range(24, 1001, 4))  # 20 early, then every 4th
    assert records[-1].layers
    # with the budget, a net this small (a step costs less than the statistics) gets them far less often once the
    # first STATS_FREE seconds of them are spent
    monkeypatch.setattr(netstats, "STATS_FREE", 0.0)
    budgeted = list(Trainer(cfg).run())
    some = [r.epoch for r in budgeted if r.layers and not r.done]
    assert 1 in some and len(some) < len(epochs) / 2 and budgeted[-1].layers


def test_finding_for_healthy_linear_and_stuck_runs():
    fit = preset("moons", points=100, hidden=(16,), epochs=150, device="cpu").validate()
    assert finding(list(Trainer(fit).run()), fit).startswith("Healthy: dead ReLUs at most")
    line = preset("xor", model="linear", hidden=(), epochs=300, points=100, device="cpu").validate()
    said = finding(list(Trainer(line).run()), line)
    assert said.startswith("A linear map:") and "(train accuracy 0." in said and "x1*x2" in said
    # a net that no longer moves and has not fitted: stuck (made-up records, to pin the rule)
    flat = [{"layer": "layer 1", "units": 4, "weight_norm": 3.0, "grad_norm": 1e-3, "dead": 0.0},
            {"layer": "output", "units": 2, "weight_norm": 1.0, "grad_norm": 1e-3}]
    records = [Progress(epoch=e, epochs=100, step=e, train_loss=0.69, test_loss=0.69, layers=flat,
                        metrics={"train_accuracy": 0.6}) for e in range(1, 101)]
    records.append(replace(records[-1], done=True))
    assert finding(records, preset("xor", hidden=(4,))).startswith("Stuck, not slow: the loss stopped falling (0.690)")
    assert finding(records[:2], preset("xor")) == ""  # too few records to say anything


def test_gd_reports_a_gradient_although_it_zeroes_them():
    """Seed 000's hand-written gradient descent zeroes the gradients after each update: the statistics take the
    probe's gradient instead of reporting zeros."""
    cfg = preset("boston", model="linear", hidden=(), optimizer="gd", lr=1e-2, epochs=20, device="cpu").validate()
    trainer = Trainer(cfg)
    records = list(trainer.run())
    assert all(p.grad is None or not p.grad.any() for p in trainer.model.parameters())
    assert records[-1].layers[0]["grad_norm"] > 0.1


# ------------------------------------------------------------------ the seed's sigmoid row, from its norms

@pytest.fixture(scope="module")
def sigmoid_runs():
    """The seed's row (2-100-3, sigmoid, Adam, 1000 full-batch epochs, weight decay 1e-5) at lr 1e-3 and 1e-2."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    runs = {}
    for lr in (1e-3, 1e-2):
        cfg = preset("spiral", hidden=(100,), activation="sigmoid", lr=lr, device="cpu").validate()
        trainer = Trainer(cfg, cached_data(cfg))
        trainer.stats_budget = None  # every due epoch, however busy the machine (the budget is tested elsewhere)
        runs[lr] = (cfg, list(trainer.run()))
    torch.set_num_threads(before)
    return runs


@pytest.mark.slow
def test_the_sigmoid_row_is_stopped_by_its_step_size_not_by_saturation(sigmoid_runs):
    (slow_cfg, slow), (fast_cfg, fast) = sigmoid_runs[1e-3], sigmoid_runs[1e-2]
    assert slow[-1].metrics["test_accuracy"] < 0.6 and fast[-1].metrics["test_accuracy"] > 0.98

    def norms(records, key="weight_norm"):
        """Layer 1's value at each epoch (the latest record at or before it: the records are a few epochs apart)."""
        pts = sorted((r.epoch, r.layers[0][key]) for r in records if r.layers and not r.done)
        return {e: next(v for ep, v in reversed(pts) if ep <= e) for e in range(1, 1001)}

    def saturated(records):
        return [r.layers[0]["saturated"] for r in records if r.layers]

    w_slow, w_fast = norms(slow), norms(fast)
    # at lr 1e-3 no sigmoid is ever saturated: the gradients do not vanish...
    assert max(saturated(slow)) < 0.01 and min(norms(slow, "grad_norm").values()) > 1e-3
    # ...but layer 1's weights are still growing at the end, as is the loss still falling
    assert w_slow[1000] > 1.02 * w_slow[900] and slow[-2].train_loss < [r for r in slow if r.epoch == 900][0].train_loss
    assert slow[-2].epoch == 1000
    # ten times the step walks the same path ten times faster: at epoch 100 it is where lr 1e-3 is at epoch 1000
    assert w_fast[100] == pytest.approx(w_slow[1000], rel=0.1)
    # and goes on to weights five times larger, with more saturated units, not fewer, while it solves the spiral
    assert w_fast[1000] > 4 * w_slow[1000] and max(saturated(fast)) > 0.1

    line = finding(slow, slow_cfg)
    sparse = [r if not r.layers or r.epoch in (1, 2, 3, 500, 1000) else replace(r, layers=None) for r in slow]
    assert finding(sparse, slow_cfg) == line  # records far apart: the same finding
    assert line.startswith("Not vanishing gradients: saturated units never above 0 %") and "too small" in line
    assert "Try lr 0.01" in line
    assert finding(fast, fast_cfg).startswith("Healthy")


# ------------------------------------------------------------------ the network view

def _trained(cfg: RunConfig):
    t = Trainer(cfg, cached_data(cfg))
    list(t.run())
    return t


def test_the_network_view_has_a_tile_per_unit_and_the_most_important_of_wide_layers():
    t = _trained(preset("spiral", points=100, epochs=20, features=("x1", "x2", "x1x2"), device="cpu").validate())
    img, layout = network_view(t.model, "classification")
    assert img.dtype.name == "uint8" and img.shape[:2] == layout.size[::-1]
    per_stage = [sum(1 for tile in layout.tiles if tile.stage == s) for s in range(4)]
    assert per_stage == [3, MAX_UNITS, MAX_UNITS, 3]
    linears = [m for m in t.model if isinstance(m, nn.Linear)]
    weights = importance(linears, 1)
    shown = sorted(tile.unit for tile in layout.tiles if tile.stage == 1)
    assert min(weights[shown]) >= sorted(weights)[-MAX_UNITS]  # the 8 with the largest outgoing weights
    for tile in layout.tiles:  # a click inside a tile finds it; the picture there is not blank
        x0, y0, x1, y1 = tile.box
        assert layout.tile_at((x0 + x1) / 2, (y0 + y1) / 2) is tile
        assert img[y0 + 2:y1 - 2, x0 + 2:x1 - 2].std() > 0 or tile.stage in (1, 2)  # (a dead unit is flat grey)
    assert layout.tile_at(2, 2) is None


def test_the_tiles_change_as_the_net_learns():
    cfg = preset("gaussian_mix", points=100, hidden=(8, 8), epochs=200, device="cpu").validate()
    t = Trainer(cfg, cached_data(cfg))
    before, layout = network_view(t.model, "regression")
    list(t.run())
    after, _ = network_view(t.model, "regression")
    for stage in (1, 2, 3):  # every hidden layer's tiles and the output tile
        boxes = [tile.box for tile in layout.tiles if tile.stage == stage]
        assert any((before[y0:y1, x0:x1] != after[y0:y1, x0:x1]).any() for x0, y0, x1, y1 in boxes), stage


def test_a_units_detail():
    t = _trained(preset("xor", points=100, hidden=(6, 4), epochs=30, device="cpu").validate())
    probe = t.data.x_train[:netstats.PROBE]
    img, info = unit_detail(t.model, "classification", 1, 2, probe)
    assert img.shape == (240, 240, 3) and info["title"] == "layer 1, unit 2 (relu)" and info["inputs"] == 2
    w = t.model[0].weight[2]
    assert [v for _, v in info["weights"]] == sorted(w.tolist(), key=abs, reverse=True)
    assert info["bias"] == pytest.approx(t.model[0].bias[2].item())
    on = torch.relu(probe @ t.model[0].weight.T + t.model[0].bias)[:, 2]
    assert info["zero_share"] == pytest.approx((on <= 0).float().mean().item())
    _, out = unit_detail(t.model, "classification", 3, 1, probe)
    assert out["title"] == "output: class 1" and out["inputs"] == 4 and out["dead_inputs"] is not None
    _, feature = unit_detail(t.model, "classification", 0, 1, probe)
    assert feature["title"] == "input feature x2" and feature["weights"] == []


# ------------------------------------------------------------------ Step and Reset

def test_stepping_is_the_same_run_as_training(small_spiral):
    from dlcore.stepper import Stepper

    cfg = small_spiral.replace(epochs=6, batch_size=64, dropout=0.2)
    trained = Trainer(cfg)
    list(trained.run())
    stepper = Stepper(cfg, cached_data(cfg), trained.limits)
    first = stepper.step("batch")
    assert first.epoch < 1 and first.test_loss is None  # one batch of 64 out of 240 points
    rec = stepper.step("epoch")
    assert rec.epoch == 1 and rec.test_loss is not None and rec.layers  # the rest of epoch 1, with its layers
    while not stepper.done:
        model = stepper.trained().model
        assert not model.training  # between clicks it answers probes, without dropout...
        model(torch.zeros(3, 2))
        stepper.step("epoch")  # ...and trains with it again (else this run would not be Train's)
    assert stepper.last.done and stepper.epochs_done == 6
    for a, b in zip(stepper.trainer.model.parameters(), trained.model.parameters()):
        assert torch.equal(a, b)
    assert stepper.step() is stepper.last  # past the end: nothing more happens
    assert stepper.matches(cfg.replace(epochs=50)) and not stepper.matches(cfg.replace(lr=0.5))


def test_reset_draws_new_initial_weights(small_spiral):
    from dlcore.stepper import Stepper

    data = cached_data(small_spiral)
    a, b, c = (Stepper(small_spiral, data, None, resets=k) for k in (0, 1, 1))
    first = [p.detach().clone() for p in Trainer(small_spiral, data).model.parameters()]
    assert all(torch.equal(x, y) for x, y in zip(a.trainer.model.parameters(), first))
    assert not torch.equal(next(b.trainer.model.parameters()), first[0])
    assert torch.equal(next(b.trainer.model.parameters()), next(c.trainer.model.parameters()))  # reproducible
    assert b.step().train_loss > 0
