"""The app's handlers called directly: every tab trains and streams, predictions come back, bad input is a gr.Error.

Arguments and outputs go by name (the field tables and each tab's output names), never by position.
"""

import pickle
import re

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from conftest import HOUSE

from dlcore.defaults import load_default
from dlcore.errors import ConfigError
from dlcore.predict import BOSTON_ORDER, predict_price
from dlcore.session import keep_candidate
from playground import settings, store
from playground.handlers import named, user_errors
from playground.tabs import boston, compare, digits, seedlab, spiral, tables
from playground.training import TrainingTab, after_stop

SMALL = {"points": 200, "hidden": "32,16", "lr": "1e-2", "epochs": 40, "device": "cpu"}


def spiral_args(**over) -> dict:
    return spiral.SPEC.args(**{**SMALL, **over})


def boston_args(**over) -> dict:
    return boston.SPEC.args(**{"hidden": "16", "epochs": 30, "device": "cpu", **over})


def digits_args(**over) -> dict:
    return digits.SPEC.args(**{"model": "logistic regression", "epochs": 2, "batch_size": 128, "device": "cpu",
                               **over})


def train(spec, values, state=None) -> list[dict]:
    """Every update of a run, through the same wrapper Gradio calls (errors become gr.Error)."""
    return list(user_errors(spec.stream)(values, {} if state is None else state))


def house(values=HOUSE) -> dict:
    return dict(zip(BOSTON_ORDER, values))


def price(values=HOUSE, state=None) -> tuple[float, str]:
    out = user_errors(boston.predict_house)(house(values), state or {})
    return out["price"], out["note"]


def sketch(canvas) -> dict:
    return {"sketch": {"background": None, "layers": [], "composite": canvas}}


@pytest.fixture
def every_update(monkeypatch):
    monkeypatch.setattr(settings, "UPDATES_PER_SECOND", 1000.0)  # every record reaches the UI in this test


def test_spiral_streams_curves_and_boundary(every_update):
    outs = train(spiral.SPEC, spiral_args())
    assert len(outs) >= 5
    out = outs[-1]
    assert set(out) == set(spiral.SPEC.outputs), "the last update carries every output"
    assert "epoch 40/40" in out["status"] and "now used for predictions" in out["status"]
    loss_df, acc_df = out["loss"], out["metric"]
    assert isinstance(loss_df, pd.DataFrame) and set(loss_df["series"]) == {"train", "test"}
    assert len(loss_df) == 80 and loss_df["value"].iloc[-1] < loss_df["value"].iloc[0]
    assert acc_df["value"].max() > 0.5
    assert isinstance(out["boundary"], np.ndarray) and out["boundary"].shape == (420, 420, 3)
    state = out["state"]
    assert state["model"].cfg.hidden == (32, 16)
    assert out["download"]["value"].endswith(".safetensors")
    probs = spiral.probe({"x": 0.3, "y": -0.2}, state)["probe"]
    assert set(probs) == {"class 0", "class 1", "class 2"} and sum(probs.values()) == pytest.approx(1, abs=1e-4)
    # a second, diverging run keeps the first model
    first = state["model"]
    out = train(spiral.SPEC, spiral_args(optimizer="sgd", lr="1e6"), state)[-1]
    assert "diverged" in out["status"] and "previous model is kept" in out["status"]
    assert out["state"]["model"] is first


def test_the_gradio_handler_takes_named_values_and_returns_outputs_in_order(every_update):
    handler = named(spiral.SPEC.stream, [f.name for f in spiral.SPEC.fields], outputs=list(spiral.SPEC.outputs))
    *_, last = handler(**spiral_args(epochs=3), state={})
    assert len(last) == len(spiral.SPEC.outputs) and "now used for predictions" in last[0]
    assert last[-2]["model"] is not None
    first = next(handler(*spiral_args(epochs=3).values(), {}))  # positional, as old API clients call it
    assert first[spiral.SPEC.outputs.index("state")] == gr.skip(), "outputs a live update leaves alone are skipped"


def test_stop_keeps_the_weights_trained_so_far(every_update):
    state = train(spiral.SPEC, spiral_args(epochs=3))[-1]["state"]
    first = state["model"]
    gen = spiral.SPEC.stream(spiral_args(epochs=5000), state)
    for _ in range(20):
        next(gen)
    assert state["model"] is first, "the previous model stays while the new one trains"
    gen.close()  # what Gradio does to the generator when Stop cancels the event
    report = after_stop(state)
    status = report["status"]
    assert re.search(r"Stopped at epoch (\d+)/5000", status) and "now this tab's model" in status
    assert int(re.search(r"Stopped at epoch (\d+)/", status)[1]) >= 20
    assert state["model"] is not first and "run" not in state
    assert report["download"]["interactive"] and report["download"]["value"].endswith("spiral.safetensors")
    assert "nn.Linear(2, 32)" in report["code"]
    assert after_stop(state) == {}, "a second Stop changes nothing"


def test_stop_reaches_a_run_whose_generator_was_not_closed(every_update):
    """Stop's report stops the run itself: a cancel that has not reached the generator yet must not let it go on."""
    state = {}
    gen = spiral.SPEC.stream(spiral_args(epochs=20000), state)
    for _ in range(5):
        next(gen)
    report = after_stop(state)  # no gen.close() first
    assert "Stopped at epoch" in report["status"] and "run" not in state
    gen.close()


def test_stop_before_the_first_epoch_reports_it(every_update):
    state = {"model": store.default_model("digits")}
    gen = digits.SPEC.stream(digits_args(dataset="MNIST, built-in 5,000 digits", batch_size=16), state)
    status = next(gen)["status"]
    assert re.search(r"epoch 0\.\d+/2 ", status) and "not the full 60,000" in status
    gen.close()
    status = after_stop(state)["status"]
    assert "before the first epoch finished: the previous model is kept" in status
    assert state["model"] is store.default_model("digits")


def test_an_unexpected_error_is_a_gr_error_and_the_model_stays(monkeypatch):
    state = train(spiral.SPEC, spiral_args(epochs=3))[-1]["state"]
    first = state["model"]

    def broken(*a, **k):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(spiral.plots, "boundary_image", broken)
    with pytest.raises(gr.Error, match="unexpected RuntimeError .drawing failed.*last good model is kept"):
        train(spiral.SPEC, spiral_args(), state)
    assert state["model"] is first and "run" not in state


def test_spiral_click_probes_the_point():
    from dlcore.config import RunConfig
    from dlcore.train import train as fit

    state = {"model": fit(RunConfig(points=100, hidden=(8,), epochs=5))[0]}
    evt = gr.SelectData(None, {"index": [0, 0], "value": None})
    with pytest.warns(UserWarning, match="outside the training points' range"):  # the corner lies past the data
        x, y, probs, picture, info, added = spiral.click(spiral.PROBE_MODE, "", state, evt)
    assert x == pytest.approx(-1.15) and y == pytest.approx(1.15) and len(probs) == 3 and added == gr.skip()
    assert "x -1.15 is outside" in info
    # before any training: the point is filled in, the label left alone, and a notice (not an error) says why
    with pytest.warns(UserWarning, match="no model for these points yet"):
        x, y, probs, *_ = spiral.click(spiral.PROBE_MODE, "", {}, evt)
    assert x == pytest.approx(-1.15) and probs == gr.skip()
    # in "add" mode a click adds a point of the chosen class to the box, and trains nothing
    x, y, probs, picture, info, added = spiral.click("add class 2", "0.5, 0.5, 1", {}, evt)
    assert added == "0.5, 0.5, 1; -1.15, 1.15, 2" and probs == gr.skip() and "Added (-1.15, 1.15)" in info


def test_spiral_preview_draws_points_before_training():
    values = {k: v for k, v in spiral_args(points=100).items() if k in {f.name for f in spiral.DATA_FIELDS}}
    out = spiral.preview(values, {})
    assert out["boundary"].shape == (420, 420, 3) and "240 training and 60 held-out" in out["info"]


def test_boston_trains_and_prices_with_the_session_model():
    before, note = price()
    assert before == pytest.approx(predict_price(load_default("boston"), HOUSE)[0], abs=0.01)
    assert "built-in default" in note
    out = train(boston.SPEC, boston_args())[-1]
    assert "test RMSE" in out["status"] and out["figure"]["visible"] and out["figure"]["value"] is not None
    assert len(out["metric"]) == 30
    # 30 epochs of a 16-unit net do worse than the built-in model on the same test houses: not silently adopted
    assert "worse than the one the tab already has (test rmse" in out["status"]
    assert "built-in default" in price(state=out["state"])[1]
    assert keep_candidate(out["state"])  # "Use the new model"
    after, note = price(state=out["state"])
    assert "your model" in note and after == pytest.approx(predict_price(out["state"]["model"], HOUSE)[0], abs=0.01)


def test_boston_without_b():
    state = train(boston.SPEC, boston_args(drop_b=True, epochs=5))[-1]["state"]
    keep_candidate(state)  # 5 epochs are worse than the built-in model: keep it anyway ("Use the new model")
    assert "B" not in state["model"].meta["feature_names"]
    assert np.isfinite(price(state=state)[0])  # the form still sends 13 values


def test_house_extrapolation_warns_but_predicts():
    far = list(HOUSE)
    far[5] = 11.0
    value, note = price(far)
    assert np.isfinite(value) and "extrapolates" in note and "RM" in note


def test_digits_train_confusion_gallery_and_sketch():
    out = train(digits.SPEC, digits_args())[-1]
    assert "built-in 5,000 digits" in out["status"] and "worse than the one the tab already has" in out["status"]
    assert keep_candidate(out["state"])  # two epochs of logistic regression do worse than the built-in CNN
    assert out["confusion"]["visible"] and out["confusion"]["value"] is not None
    gallery = out["gallery"]
    assert gallery["visible"] and 0 < len(gallery["value"]) <= 24 and "→" in gallery["value"][0][1]
    confidences = [int(caption.rsplit(", ", 1)[1].rstrip("%")) for _, caption in gallery["value"]]  # "3 → 5, 87%"
    assert confidences == sorted(confidences, reverse=True), "the most confident mistakes come first"
    state = out["state"]
    assert state["model"].cfg.model == "linear"
    canvas = np.full((280, 280, 4), 255, np.uint8)
    canvas[60:220, 130:150, :3] = 0  # a "1"
    read = digits.read_sketch(sketch(canvas), state)
    assert len(read["label"]) == 10 and read["seen"].shape == (168, 168) and "your model" in read["which"]
    read = digits.read_sketch(sketch(canvas), {})
    assert max(read["label"], key=read["label"].get) == "1" and "built-in default CNN" in read["which"]


@pytest.mark.parametrize("over,fragment", [
    ({"hidden": "10,,5"}, "empty size at position 2"), ({"hidden": ""}, "hidden layers are empty"),
    ({"hidden": "abc"}, "'abc'"), ({"hidden": "-4"}, "at least 1"), ({"hidden": "100000"}, "over the limit"),
    ({"lr": "abc"}, "learning rate 'abc'"), ({"lr": "0"}, "learning rate"), ({"lr": "nan"}, "learning rate"),
    ({"epochs": None}, "epochs is empty"), ({"epochs": 0}, "epochs 0"), ({"epochs": 2.5}, "whole number"),
    ({"batch_size": 5000}, "batch size 5000 is larger"), ({"points": 5}, "points per class"),
    ({"noise": -1}, "noise"), ({"train_fraction": 1.5}, "train fraction"), ({"classes": 50}, "classes"),
    ({"activation": ["relu"]}, "activation ['relu'] is unknown"), ({"model": "cnn"}, "architecture 'cnn'"),
])
def test_bad_spiral_input_is_a_clear_error(over, fragment):
    with pytest.raises(gr.Error) as e:
        train(spiral.SPEC, spiral_args(**over))
    assert fragment in e.value.message


def test_a_missing_value_is_named():
    values = spiral_args()
    del values["epochs"]
    with pytest.raises(gr.Error, match=r"missing values for \['epochs'\]"):
        train(spiral.SPEC, values)


@pytest.mark.parametrize("index,value,fragment", [(0, None, "CRIM is empty"), (5, "x", "RM 'x'"),
                                                  (2, float("inf"), "INDUS"), (0, -3, "negative")])
def test_bad_house_input_is_a_clear_error(index, value, fragment):
    values = list(HOUSE)
    values[index] = value
    with pytest.raises(gr.Error, match=fragment):
        price(values)


@pytest.mark.parametrize("value,fragment", [(None, "draw a digit first"), ({"background": None, "layers": [None],
                                                                    "composite": None}, "empty")])
def test_bad_sketch_is_a_clear_error(value, fragment):
    with pytest.raises(gr.Error, match=fragment):
        user_errors(digits.read_sketch)({"sketch": value}, {})


def test_upload_restores_and_refuses(tmp_path):
    path = train(spiral.SPEC, spiral_args(epochs=3))[-1]["download"]["value"]
    restore = user_errors(TrainingTab(spiral.SPEC)._restore)
    elsewhere = user_errors(TrainingTab(boston.SPEC)._restore)
    out = restore({"file": path}, {})
    assert "Restored" in out["status"] and out["state"]["model"].cfg.hidden == (32, 16)
    with pytest.raises(gr.Error, match="own tab"):
        elsewhere({"file": path}, {})
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(gr.Error, match="pickle"):
        restore({"file": str(evil)}, out["state"])
    with pytest.raises(gr.Error, match="no file"):
        restore({"file": None}, out["state"])


def test_params_text():
    count = spiral.SPEC.params_text
    assert "2,903" in count(spiral_args(hidden="100,25"))
    assert "empty size" in count(spiral_args(hidden="10,,5"))
    assert "over the limit" in count(spiral_args(hidden="4000,4000"))
    assert "2,955" in count(spiral_args(hidden="100,25", classes=5)), "the count follows the number of classes"
    assert "7,850" in digits.SPEC.params_text(digits_args())


def test_a_long_reproduction_streams_its_progress_and_stops(one_thread, monkeypatch):
    import threading

    from dlcore import seeds

    gen = seedlab.run_reproduction({"name": "spiral-table", "lr": None})
    first = next(gen)
    assert first["table"]["visible"] is False and first["figure"] is None, "the previous run's table and figure go"
    updates = [next(gen) for _ in range(3)]
    assert all(set(u) == {"notes"} and u["notes"].startswith("⏳ running…") for u in updates)
    gen.close()  # what Gradio does on Stop: the worker thread ends before its next step
    worker = [t for t in threading.enumerate() if t.name == "reproduction"]
    for t in worker:
        t.join(10)
    assert not any(t.is_alive() for t in worker), "the reproduction went on training after Stop"
    assert seedlab.reproduction_stopped({"notes": updates[-1]["notes"]})["notes"].startswith("⏹️ Stopped after")
    # the time limit ends it too, and the rows finished by then are the table
    monkeypatch.setattr(settings, "LIMITS", settings.LIMITS.__class__(max_seconds=0.0))
    last = list(seedlab.run_reproduction({"name": "spiral-table", "lr": None}))[-1]
    assert len(last["table"]) < len(seeds.SPIRAL_TABLE) and "time limit" in last["notes"]


def test_seed_lab_reproduction_compare_and_code():
    (out,) = seedlab.run_reproduction({"name": "gd-1d", "lr": "0.05", "seeds": "3"})
    assert len(out["table"]["value"]) == 2 and "diverges" in out["notes"] and out["figure"] is not None  # |w| > 1e6
    assert "w_hand_mean" in out["table"]["value"].columns and "over seeds 0..2 (3 runs)" in out["notes"]
    with pytest.raises(gr.Error, match="learning rate"):
        list(user_errors(seedlab.run_reproduction)({"name": "gd-1d", "lr": "-1"}))
    with pytest.raises(gr.Error, match="seeds 0 is out of range"):
        list(user_errors(seedlab.run_reproduction)({"name": "d2l-linear", "lr": None, "seeds": "0"}))
    queue = compare.queue_spiral_table({}, [])["queue"]
    assert len(queue) == 6 and "10000 epochs" in compare.queue_text(queue)
    add = user_errors(compare.queue_settings(spiral.SPEC))
    queue = add(spiral_args(epochs=15), [])["queue"]
    with pytest.raises(gr.Error, match="hidden layers"):
        add(spiral_args(hidden="1,,2"), [])
    grid = user_errors(compare.queue_grid(spiral.SPEC))
    queue = grid({**spiral_args(epochs=15), "grid": "lr=1e-3,1e-2\nhidden=8;8,4"}, queue)["queue"]
    assert [n for n, _ in queue][1:] == ["lr=0.001 hidden=8", "lr=0.001 hidden=8,4", "lr=0.01 hidden=8",
                                        "lr=0.01 hidden=8,4"] and queue[4][1].hidden == (8, 4)
    for bad, message in (("lr=1e-3,-1", "learning rate -1"), ("foo=1", "unknown field"), ("", "grid is empty")):
        with pytest.raises(gr.Error, match=message):
            grid({**spiral_args(), "grid": bad}, [])
    with pytest.raises(gr.Error, match="compare at most"):
        grid({**spiral_args(), "grid": f"seed={','.join(map(str, range(70)))}"}, [])
    # every queued run is in the plot (and its legend) from the first update, even before it reports
    names = compare.unique_names([queue[0], queue[0], queue[1]])
    assert names[:2] == [f"{queue[0][0]} (#1)", f"{queue[0][0]} (#2)"]
    frame = compare.compare_curves({names[0]: [(1, 0.5), (2, 0.4)]}, names)
    assert list(frame["series"].unique()) == names and frame["value"].isna().sum() == 2
    long = compare.compare_curves({"a": [(e, 1.0 / e) for e in range(1, 10_001)]}, ["a"])
    assert len(long) <= 700 and long["epoch"].iloc[-1] == 10_000
    cleared = compare.cleared({})
    assert cleared["queue"] == [] and cleared["plot"]["visible"] is False and cleared["table"]["visible"] is False
    with pytest.raises(gr.Error, match="queue is empty"):
        list(user_errors(compare.run_comparison)({}, []))
    state = train(spiral.SPEC, spiral_args(epochs=3))[-1]["state"]
    code = store.code_for(state)
    assert "import torch" in code and "nn.Linear(2, 32)" in code and "dlcore" not in code.split("CSV")[0]


def test_a_run_that_diverges_at_once_says_nothing_was_kept():
    state = {}
    status = train(spiral.SPEC, spiral_args(optimizer="sgd", lr="1e6", epochs=20), state)[-1]["status"]
    assert status.startswith("⚠️ training diverged at epoch 1") and "initial weights" in status
    assert "Nothing was kept: this tab still has no trained model" in status and "samples/s" not in status
    assert state.get("model") is None


def test_momentum_reaches_the_optimizer():
    """The field added last: SGD's momentum from the form, through the config, into torch's optimizer."""
    from dlcore.train import Trainer

    cfg = spiral.SPEC.config(spiral_args(optimizer="sgd", momentum=0.9))
    assert Trainer(cfg).optimizer.param_groups[0]["momentum"] == 0.9
    run = spiral.SPEC.stream(spiral_args(optimizer="sgd", lr="0.1", momentum=0.9, epochs=3), {})
    assert "now used for predictions" in list(run)[-1]["status"]
    with pytest.raises(gr.Error, match="momentum 1.5 is out of range"):
        train(spiral.SPEC, spiral_args(optimizer="sgd", momentum=1.5))


@pytest.mark.parametrize("spec", [spiral.SPEC, boston.SPEC, digits.SPEC, tables.SPEC], ids=lambda s: s.key)
def test_nesterov_reaches_the_optimizer(spec):
    """The field added last, to the field table alone (RunConfig, the trainer and the CLI had it): every training tab
    offers it, last in its API order, and its value reaches torch's SGD."""
    from dlcore.train import Trainer

    assert spec.fields[-1].name == "nesterov" and spec.args()["nesterov"] is False
    cfg = spec.config(spec.args(optimizer="sgd", momentum=0.9, nesterov=True, device="cpu"))
    group = Trainer(cfg).optimizer.param_groups[0]
    assert group["nesterov"] and group["momentum"] == 0.9
    with pytest.raises(ConfigError, match="nesterov momentum 'yes' is not true or false"):
        spec.config(spec.args(optimizer="sgd", nesterov="yes"))


@pytest.mark.parametrize("value", ["false", 0, None])
def test_a_boolean_field_takes_only_booleans(value):
    """drop_b="false" over the API must not read as True (a non-empty string)."""
    with pytest.raises(gr.Error, match="not true or false"):
        train(boston.SPEC, boston_args(drop_b=value))
