"""The 2-D tab's handlers called directly: every set trains through the tab, features and views are options, Step
and Reset, the probe marks its point, a tile opens its unit, a link restores the settings; and the weights-and-
gradients view in every training tab."""

import gradio as gr
import numpy as np
import pytest

from dlcore.config import RunConfig
from dlcore.models import build_model, count_params
from dlcore.planar import PLANAR
from playground import fields, settings
from playground.handlers import named, user_errors
from playground.share import from_query, to_query
from playground.tabs import boston, digits, spiral
from playground.training import INSIDE

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = {"points": 100, "hidden": "16,8", "lr": "1e-2", "epochs": 30, "device": "cpu"}


def args(**over) -> dict:
    return spiral.SPEC.args(**{**SMALL, **over})


def train(values, state=None) -> list[dict]:
    return list(user_errors(spiral.SPEC.stream)(values, {} if state is None else state))


@pytest.fixture
def every_update(monkeypatch):
    monkeypatch.setattr(settings, "UPDATES_PER_SECOND", 1000.0)


def test_the_tabs_defaults_are_todays_spiral_run():
    cfg = spiral.SPEC.config(spiral.SPEC.args())
    assert (cfg.dataset, cfg.hidden, cfg.activation, cfg.optimizer, cfg.lr, cfg.epochs, cfg.batch_size) == (
        "spiral", (100, 25), "relu", "adam", 1e-3, 1000, 0)
    assert cfg.features == ("x1", "x2") and cfg.added_points == () and cfg.weight_decay == 1e-5
    model = build_model(cfg, (2,), 3)
    assert count_params(model) == 2903 and list(model.state_dict())[0] == "0.weight"  # no features layer: as before
    assert [f.name for f in spiral.SPEC.fields][:20] == ["classes", "points", "noise", "train_fraction", "seed",
                                                         "model", "hidden", "activation", "optimizer", "lr", "loss",
                                                         "epochs", "batch_size", "weight_decay", "l1", "l2", "dropout",
                                                         "scheduler", "device", "momentum"]


@pytest.mark.parametrize("name", sorted(PLANAR))
def test_every_set_trains_through_the_tab(name):
    loss = "mse" if PLANAR[name].task == "regression" else "cross_entropy"
    state = {}
    last = train(args(dataset=name, loss=loss, features=["x1", "x2", "x1x2"]), state)[-1]
    assert "now used for predictions" in last["status"] and state["model"].cfg.dataset == name
    assert last["boundary"].shape == (420, 420, 3) and last["network"].ndim == 3
    assert ("test R²" in last["status"]) == (PLANAR[name].task == "regression")
    assert set(last["weights"]["series"]) == {"layer 1", "layer 2", "output"} and last["finding"].startswith("**Inside")
    assert state["net"]["layout"].titles == ["inputs", "layer 1", "layer 2", "outputs"]


def test_features_count_and_all_off_is_a_clear_error():
    assert "**2,903**" in spiral.SPEC.params_text(spiral.SPEC.args())
    three = spiral.SPEC.params_text(spiral.SPEC.args(features=["x1", "x2", "x1x2"]))
    assert f"**{3 * 100 + 100 + 100 * 25 + 25 + 25 * 3 + 3:,}**" in three
    assert "every input feature is off" in spiral.SPEC.params_text(spiral.SPEC.args(features=[]))
    with pytest.raises(gr.Error, match="every input feature is off; turn on at least one"):
        train(args(features=[]))


def test_a_loss_that_does_not_fit_the_set_is_named_and_the_ui_switches_it():
    with pytest.raises(gr.Error, match="loss for regression 'cross_entropy' is unknown; choose from"):
        train(args(dataset="plane"))
    out = spiral.on_dataset({"dataset": "plane", "classes": 3, "loss": "cross_entropy"}, {})
    assert out["loss"] == "mse" and out["points"]["label"] == "Points" and out["classes"]["visible"] is False
    assert out["click_mode"]["choices"][1] == "add value -1"
    back = spiral.on_dataset({"dataset": "xor", "classes": 3, "loss": "huber"}, {"hidden": ["classes"]})
    assert back["loss"] == "cross_entropy" and back["click_mode"]["choices"][1:] == ["add class 0", "add class 1"]


def test_view_options(every_update):
    off = train(args(network_view=False, epochs=5))
    assert all(u.get("network", None) is None for u in off)
    hard = train(args(discretize=True, show_test=False, epochs=5))[-1]["boundary"]
    soft = train(args(epochs=5))[-1]["boundary"]
    assert len(np.unique(hard.reshape(-1, 3), axis=0)) < len(np.unique(soft.reshape(-1, 3), axis=0))
    with pytest.raises(gr.Error, match="network view 'yes' is not true or false"):
        train(args(network_view="yes"))


def test_the_network_view_updates_live(every_update):
    updates = train(args(epochs=200))
    pictures = [u["network"] for u in updates if u.get("network") is not None]
    assert len(pictures) >= 2 and any((p != pictures[0]).any() for p in pictures[1:])
    assert any("dead ReLUs: layer 1" in u["status"] for u in updates[:-1])


def test_a_tile_click_opens_its_unit():
    state = {}
    train(args(), state)
    layout = state["net"]["layout"]
    tile = next(t for t in layout.tiles if t.stage == 1)
    x0, y0, x1, y1 = tile.box
    img, text = spiral.tile_click(state, gr.SelectData(None, {"index": [(x0 + x1) // 2, (y0 + y1) // 2], "value": None}))
    assert img.shape == (240, 240, 3) and f"layer 1, unit {tile.unit} (relu)" in text and "incoming weights" in text
    assert "zero on" in text and "bias" in text
    _, nothing = spiral.tile_click(state, gr.SelectData(None, {"index": [1, 1], "value": None}))
    assert nothing.startswith("Click a tile")


def test_the_probe_marks_its_point_and_warns_far_out():
    state = {}
    train(args(), state)
    before = spiral._redraw(state)
    out = spiral.probe({"x": 0.5, "y": 0.5}, state)
    assert set(out["probe"]) == {"class 0", "class 1", "class 2"} and (out["boundary"] != before).any()
    assert state["probe_xy"] == (0.5, 0.5) and out["info"].startswith("At (0.5, 0.5)")
    with pytest.warns(UserWarning, match="x 2.5 is outside the training points' range"):
        far = spiral.probe({"x": 2.5, "y": 0.5}, state)
    assert far["info"].startswith("⚠️ x 2.5 is outside")
    train(args(dataset="plane", loss="mse", epochs=5), state)
    assert spiral.probe({"x": 0.5, "y": 0.5}, state)["probe"].startswith("value ")


def test_clicked_points_are_trained_on():
    """Points added with clicks become part of the training data; the model learns them."""
    evt = lambda x, y: gr.SelectData(None, {"index": [x, y], "value": None})  # noqa: E731  pixels of the 420x420 picture
    state, added = {}, ""
    for px in ((20, 20), (25, 30), (30, 22), (22, 35)):  # the top-left corner, where no point of the set lies
        *_, added = spiral.click("add class 1", added, state, evt(*px))
    assert added.count(";") == 3
    last = train(args(dataset="gaussians", added_points=added, epochs=150), state)[-1]
    tm = state["model"]
    assert len(tm.cfg.added_points) == 4 and "✅" in last["status"]
    probs = spiral.probe({"x": -1.05, "y": 1.03}, state)["probe"]
    assert probs["class 1"] > 0.8


def test_step_and_reset():
    state, values = {}, {**args(), "step_unit": "epoch"}
    first = spiral.step(values, state)
    assert "epoch 1/30" in first["status"] and "New run" in first["status"] and state["model"] is not None
    second = spiral.step(values, state)
    assert "epoch 2/30" in second["status"] and len(second["loss"]) == 4  # train and test, two epochs each
    assert second["network"] is not None and "weights" in second
    batch = spiral.step({**values, "batch_size": 50, "step_unit": "batch"}, state)  # new settings: a new run
    assert "New run" in batch["status"] and "epoch 0.2083/30" in batch["status"]
    reset = spiral.reset(values, state)
    assert "draw 1" in reset["status"] and reset["loss"].empty
    assert "epoch 1/30" in spiral.step(values, state)["status"]
    with pytest.raises(gr.Error, match="a training run is going on; press Stop first"):
        running = {"run": type("Run", (), {"ended": type("E", (), {"is_set": lambda self: False})()})()}
        user_errors(spiral.step)(values, running)


def test_a_link_restores_the_settings_and_hides_controls():
    values = spiral.SPEC.args(dataset="moons", features=["x1", "x2", "x1sq"], lr="1e-2", epochs=77, hidden="8,8",
                              added_points="0.1, 0.2, 1", network_view=False)
    query = spiral.share_link(values, {"hidden": ["optimizer", "lr"]})["value"]
    assert query.startswith("?") and "dataset=moons" in query and "hide=optimizer,lr" in query
    state = {}
    with pytest.warns(UserWarning, match="Link: bogus=1: unknown setting"):
        out = spiral.restore_link({"query": query + "&bogus=1"}, state)
    restored = {n: u["value"] for n, u in out.items() if isinstance(u, dict) and "value" in u}
    assert {n: restored[n] for n in values} == values
    assert out["optimizer"]["visible"] is False and out["lr"]["visible"] is False and out["epochs"]["visible"]
    assert out["classes"]["visible"] is False  # not a spiral: no number of arms
    assert state["hidden"] == ["optimizer", "lr"] and "bogus=1: unknown setting" in out["link_note"]
    with pytest.warns(UserWarning, match="Link: epochs=-5: epochs -5 is out of range"):
        bad = spiral.restore_link({"query": query.replace("epochs=77", "epochs=-5")}, {})
    assert "value" not in bad["epochs"] and bad["hidden"]["value"] == "8,8" and "epochs=-5" in bad["link_note"]
    # nothing in the link: nothing changes and nothing is said
    plain = spiral.restore_link({"query": ""}, {})
    assert plain["link_note"] == "" and all("value" not in u for n, u in plain.items() if n != "link_note")


def test_link_values_are_checked_by_their_fields():
    values, hide, notices = from_query(fields.SPIRAL, "features=x1,zz&dataset=nope&noise=abc&hide=lr,nothing&"
                                                      "network_view=maybe&classes=4")
    assert values == {"classes": 4} and hide == ["lr"]
    assert [n.split(":")[0] for n in notices] == ["features=x1,zz", "dataset=nope", "noise=abc", "hide=nothing",
                                                   "network_view=maybe"]
    values, _, notices = from_query(fields.SPIRAL, "epochs=0&noise=5&dataset=plane&loss=mse&hidden=10,,2&seed=3")
    assert values == {"dataset": "plane", "loss": "mse", "seed": 3}  # in range, and a loss that fits the set
    assert [n.split(":")[0] for n in notices] == ["epochs=0", "noise=5", "hidden=10,,2"]
    _, _, notices = from_query(fields.SPIRAL, "dataset=plane")  # the default loss does not fit a value over the plane
    assert notices[0].startswith("dataset=plane: loss for regression 'cross_entropy' is unknown")
    full = spiral.SPEC.args()
    assert from_query(fields.SPIRAL, to_query(fields.SPIRAL, full))[0] == full  # the whole configuration round-trips


@pytest.mark.parametrize("spec,values", [
    (boston.SPEC, {"hidden": "16", "epochs": 20, "device": "cpu"}),
    (digits.SPEC, {"model": "logistic regression", "epochs": 3, "batch_size": 500, "device": "cpu"}),
], ids=["boston", "digits"])
def test_every_training_tab_shows_weights_and_gradients(spec, values):
    assert set(INSIDE) <= set(spec.outputs)
    last = list(user_errors(spec.stream)(spec.args(**values), {}))[-1]
    assert len(last["weights"]) and len(last["grads"]) and set(last["grads"]["series"]) >= {"output"}
    assert last["finding"].startswith("**Inside the network:**")
    handler = named(spec.stream, [f.name for f in spec.fields], outputs=list(spec.outputs))
    assert len(next(handler(**spec.args(**values), state={}))) == len(spec.outputs)


def test_the_seed_lab_queues_a_2d_run():
    from playground.tabs import compare

    queue = user_errors(compare.queue_settings(spiral.SPEC))(args(dataset="xor", features=["x1x2"]), [])["queue"]
    name, cfg = queue[-1]
    assert isinstance(cfg, RunConfig) and cfg.dataset == "xor" and cfg.features == ("x1x2",)


def test_the_endpoint_over_http_takes_the_new_fields_by_name(client):
    """/train_spiral keeps its twenty inputs; the 2-D fields follow by name; the outputs carry both new views."""
    job = client.submit(dataset="xor", model="linear", features=["x1", "x2", "x1x2"], lr="1e-2", epochs=60,
                        points=100, added_points="0.5, 0.5, 0", device="cpu", api_name="/train_spiral")
    last = dict(zip([n for n in spiral.SPEC.outputs if n != "state"], list(job)[-1]))
    assert "now used for predictions" in last["status"] and "test acc" in last["status"]
    assert last["network"] and last["boundary"] and set(r[2] for r in last["weights"]["data"]) == {"output"}
    with pytest.raises(Exception, match="every input feature is off"):
        client.predict(features=[], epochs=2, device="cpu", api_name="/train_spiral")
