"""The app's handlers called directly: every tab trains and streams, predictions come back, bad input is a gr.Error."""

import pickle
import re

import gradio as gr
import numpy as np
import pandas as pd
import pytest

import app
from dlcore.defaults import load_default
from dlcore.predict import predict_price

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]


def spiral_args(**over):
    a = dict(classes=3, points=200, noise=0.2, train_fraction=0.8, seed=0, model="mlp", hidden="32,16",
             activation="relu", optimizer="adam", lr="1e-2", loss="cross_entropy", epochs=40, batch_size=0,
             weight_decay=1e-5, l1=0, l2=0, dropout=0, scheduler="none", device="cpu")
    a.update(over)
    return list(a.values())


def boston_args(**over):
    a = dict(model="mlp", hidden="16", activation="relu", optimizer="adam", lr="1e-2", loss="mse", epochs=30,
             batch_size=0, weight_decay=0, l1=0, l2=0, dropout=0, scheduler="none", device="cpu", seed=0, drop_b=False)
    a.update(over)
    return list(a.values())


def digits_args(**over):
    a = dict(dataset="MNIST", model="logistic regression", activation="relu", optimizer="adam", lr="1e-3",
             loss="cross_entropy", epochs=2, batch_size=128, weight_decay=0, scheduler="none", device="cpu", seed=0)
    a.update(over)
    return list(a.values())


def run(gen):
    return list(gen)


def test_spiral_streams_curves_and_boundary(monkeypatch):
    monkeypatch.setattr(app, "UPDATES_PER_SECOND", 1000.0)  # every record reaches the UI in this test
    outs = run(app.train_spiral(*spiral_args(), {}))
    assert len(outs) >= 5
    status, loss_df, acc_df, boundary, state, download = outs[-1]
    assert "epoch 40/40" in status and "✅" in status
    assert isinstance(loss_df, pd.DataFrame) and set(loss_df["series"]) == {"train", "test"}
    assert len(loss_df) == 80 and loss_df["value"].iloc[-1] < loss_df["value"].iloc[0]
    assert acc_df["value"].max() > 0.5
    assert isinstance(boundary, np.ndarray) and boundary.shape == (420, 420, 3)
    assert state["model"].cfg.hidden == (32, 16)
    assert download["value"].endswith(".safetensors")
    probs = app.spiral_probe(0.3, -0.2, state)
    assert set(probs) == {"class 0", "class 1", "class 2"} and sum(probs.values()) == pytest.approx(1, abs=1e-4)
    # a second, diverging run keeps the first model
    first = state["model"]
    outs = run(app.train_spiral(*spiral_args(optimizer="sgd", lr="1e6"), state))
    status, *_, new_state, _ = outs[-1]
    assert "diverged" in status and "previous model is kept" in status
    assert new_state["model"] is first


def test_stop_keeps_the_weights_trained_so_far(monkeypatch):
    monkeypatch.setattr(app, "UPDATES_PER_SECOND", 1000.0)
    state = run(app.train_spiral(*spiral_args(epochs=3), {}))[-1][4]
    first = state["model"]
    gen = app.train_spiral(*spiral_args(epochs=5000), state)
    for _ in range(20):
        status = next(gen)[0]
    assert state["model"] is first, "the previous model stays while the new one trains"
    gen.close()  # what Gradio does to the generator when Stop cancels the event
    status, download, code = app.after_stop(state)
    assert re.search(r"Stopped at epoch (\d+)/5000", status) and "now this tab's model" in status
    assert int(re.search(r"Stopped at epoch (\d+)/", status)[1]) >= 20
    assert state["model"] is not first and "run" not in state
    assert download["interactive"] and download["value"].endswith("spiral.safetensors")
    assert "nn.Linear(2, 32)" in code
    assert all(u == {"__type__": "update"} for u in app.after_stop(state)), "a second Stop changes nothing"


def test_stop_before_the_first_epoch_reports_it(monkeypatch):
    monkeypatch.setattr(app, "UPDATES_PER_SECOND", 1000.0)
    state = {"model": app.default_model("digits")}
    gen = app.train_digits(*digits_args(dataset="MNIST, built-in 5,000 digits", batch_size=16), state)
    status = next(gen)[0]
    assert re.search(r"epoch 0\.\d+/2 ", status) and "not the full 60,000" in status
    gen.close()
    status, *_ = app.after_stop(state)
    assert "before the first epoch finished: the previous model is kept" in status
    assert state["model"].cfg.model == "cnn"


def test_an_unexpected_error_is_a_gr_error_and_the_model_stays(monkeypatch):
    state = run(app.train_spiral(*spiral_args(epochs=3), {}))[-1][4]
    first = state["model"]

    def broken(*a, **k):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(app.plots, "boundary_image", broken)
    with pytest.raises(gr.Error, match="unexpected RuntimeError .drawing failed.*last good model is kept"):
        run(app.train_spiral(*spiral_args(), state))
    assert state["model"] is first and "run" not in state


def test_spiral_click_probes_the_point():
    state = {"model": app.default_model("digits")}  # any model answers; use a spiral one
    from dlcore.config import RunConfig
    from dlcore.train import train

    state["model"], _ = train(RunConfig(points=100, hidden=(8,), epochs=5))
    evt = gr.SelectData(None, {"index": [0, 0], "value": None})
    x, y, probs = app.spiral_click(state, evt)
    assert x == pytest.approx(-1.15) and y == pytest.approx(1.15) and len(probs) == 3
    # before any training: the point is filled in, the label left alone, and a notice (not an error) says why
    with pytest.warns(UserWarning, match="no spiral model yet"):
        x, y, probs = app.spiral_click({}, evt)
    assert x == pytest.approx(-1.15) and probs == gr.skip()


def test_spiral_preview_draws_points_before_training():
    img, text = app.spiral_preview(3, 100, 0.2, 0.8, 0, {})
    assert img.shape == (420, 420, 3) and "240 training and 60 held-out" in text


def test_boston_trains_and_prices_with_the_session_model():
    before, note = app.predict_house(*HOUSE, {})
    assert before == pytest.approx(predict_price(load_default("boston"), HOUSE)[0], abs=0.01)
    assert "built-in default" in note
    outs = run(app.train_boston(*boston_args(), {}))
    status, loss_df, rmse_df, fig, state, _ = outs[-1]
    assert "test RMSE" in status and fig["visible"] and fig["value"] is not None and len(rmse_df) == 30
    after, note = app.predict_house(*HOUSE, state)
    assert "your model" in note and after == pytest.approx(predict_price(state["model"], HOUSE)[0], abs=0.01)


def test_boston_without_b():
    outs = run(app.train_boston(*boston_args(drop_b=True, epochs=5), {}))
    state = outs[-1][4]
    assert "B" not in state["model"].meta["feature_names"]
    price, _ = app.predict_house(*HOUSE, state)  # the form still sends 13 values
    assert np.isfinite(price)


def test_house_extrapolation_warns_but_predicts():
    far = list(HOUSE)
    far[5] = 11.0
    price, note = app.predict_house(*far, {})
    assert np.isfinite(price) and "extrapolates" in note and "RM" in note


def test_digits_train_confusion_gallery_and_sketch():
    outs = run(app.train_digits(*digits_args(), {}))
    status, loss_df, acc_df, fig, gallery, state, download = outs[-1]
    assert "embedded subset" in status and "✅" in status
    assert fig["visible"] and fig["value"] is not None
    assert gallery["visible"] and 0 < len(gallery["value"]) <= 24 and "→" in gallery["value"][0][1]
    confidences = [int(caption.rsplit("(", 1)[1].rstrip("%)")) for _, caption in gallery["value"]]
    assert confidences == sorted(confidences, reverse=True), "the most confident mistakes come first"
    assert state["model"].cfg.model == "linear"
    canvas = np.full((280, 280, 4), 255, np.uint8)
    canvas[60:220, 130:150, :3] = 0  # a "1"
    probs, seen, which = app.predict_sketch({"background": None, "layers": [], "composite": canvas}, state)
    assert len(probs) == 10 and seen.shape == (168, 168) and "your model" in which
    probs, _, which = app.predict_sketch({"background": None, "layers": [], "composite": canvas}, {})
    assert max(probs, key=probs.get) == "1" and "built-in default CNN" in which


@pytest.mark.parametrize("over,fragment", [
    ({"hidden": "10,,5"}, "empty size at position 2"), ({"hidden": ""}, "hidden layers are empty"),
    ({"hidden": "abc"}, "'abc'"), ({"hidden": "-4"}, "at least 1"), ({"hidden": "100000"}, "over the limit"),
    ({"lr": "abc"}, "learning rate 'abc'"), ({"lr": "0"}, "learning rate"), ({"lr": "nan"}, "learning rate"),
    ({"epochs": None}, "epochs is empty"), ({"epochs": 0}, "epochs 0"), ({"epochs": 2.5}, "whole number"),
    ({"batch_size": 5000}, "batch size 5000 is larger"), ({"points": 5}, "points per class"),
    ({"noise": -1}, "noise"), ({"train_fraction": 1.5}, "train fraction"), ({"classes": 50}, "classes"),
])
def test_bad_spiral_input_is_a_clear_error(over, fragment):
    with pytest.raises(gr.Error) as e:
        run(app.train_spiral(*spiral_args(**over), {}))
    assert fragment in e.value.message


@pytest.mark.parametrize("index,value,fragment", [(0, None, "CRIM is empty"), (5, "x", "RM 'x'"),
                                                  (2, float("inf"), "INDUS"), (0, -3, "negative")])
def test_bad_house_input_is_a_clear_error(index, value, fragment):
    values = list(HOUSE)
    values[index] = value
    with pytest.raises(gr.Error, match=fragment):
        app.predict_house(*values, {})


@pytest.mark.parametrize("value,fragment", [(None, "no drawing"), ({"background": None, "layers": [None],
                                                                    "composite": None}, "empty")])
def test_bad_sketch_is_a_clear_error(value, fragment):
    with pytest.raises(gr.Error, match=fragment):
        app.predict_sketch(value, {})


def test_upload_restores_and_refuses(tmp_path):
    outs = run(app.train_spiral(*spiral_args(epochs=3), {}))
    path = outs[-1][-1]["value"]
    restore = app.upload_handler(("spiral",))
    status, state, _ = restore(path, {})
    assert "Restored" in status and state["model"].cfg.hidden == (32, 16)
    with pytest.raises(gr.Error, match="own tab"):
        app.upload_handler(("boston",))(path, {})
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(gr.Error, match="pickle"):
        restore(str(evil), state)
    with pytest.raises(gr.Error, match="no file"):
        restore(None, state)


def test_params_text():
    assert "2,903" in app.params_text("mlp", "100,25", "spiral")
    assert "empty size" in app.params_text("mlp", "10,,5", "spiral")
    assert "over the limit" in app.params_text("mlp", "4000,4000", "spiral")


def test_a_long_reproduction_streams_its_progress_and_stops(one_thread, monkeypatch):
    import threading

    from dlcore import seeds

    gen = app.run_reproduction("spiral-table", None)
    first, *updates = [next(gen) for _ in range(25)]
    assert first[0].empty and first[2] is None, "the previous run's table and figure are cleared"
    assert all(u[0] == gr.skip() and u[2] == gr.skip() for u in updates)
    progress = [u for u in updates if u[1] != gr.skip()]
    assert progress and all(u[1].startswith("⏳ running…") for u in progress)
    assert len(progress) < len(updates), "unchanged notes are not sent again"
    gen.close()  # what Gradio does on Stop: the worker thread ends before its next step
    worker = [t for t in threading.enumerate() if t.name == "reproduction"]
    for t in worker:
        t.join(10)
    assert not any(t.is_alive() for t in worker), "the reproduction went on training after Stop"
    assert app.reproduction_stopped(progress[-1][1])[1].startswith("⏹️ Stopped after")
    # the time limit ends it too, and the rows finished by then are the table
    monkeypatch.setattr(app, "LIMITS", app.LIMITS.__class__(max_seconds=0.0))
    *_, (table, notes, _) = app.run_reproduction("spiral-table", None)
    assert len(table) < len(seeds.SPIRAL_TABLE) and "time limit" in notes


def test_seed_lab_reproduction_compare_and_code(tmp_path):
    (table, notes, fig), = app.run_reproduction("gd-1d", "0.05")
    assert len(table) == 2 and "diverges" in notes and fig is not None  # a diverging w path stops once |w| > 1e6
    with pytest.raises(gr.Error, match="learning rate"):
        list(app.run_reproduction("gd-1d", "-1"))
    queue, text = app.queue_spiral_table([])
    assert len(queue) == 6 and "10000 epochs" in text
    queue, _ = app.queue_current_spiral([], *spiral_args(epochs=15))
    with pytest.raises(gr.Error, match="hidden layers"):
        app.queue_current_spiral([], *spiral_args(hidden="1,,2"))
    queue = queue + [(n, c.replace(epochs=15)) for n, c in app.queue_spiral_table([])[0][:1]]
    outs = list(app.run_comparison(queue))
    status, curves, table, csv_update = outs[-1]
    assert "2 runs compared" in status and len(table) == 2 and set(curves["series"]) == {n for n, _ in queue}
    assert list(table.columns[:2]) == ["name", "epochs"] and "lr" not in table.columns  # the results, compactly
    assert open(csv_update["value"]).read().startswith("name,dataset,model,hidden,activation,optimizer,lr")
    # the same settings twice get one legend entry each; a 10,000-epoch run sends a few hundred points, not 10,000
    twice = [queue[0], queue[0]]
    *_, (_, curves, table, _) = app.run_comparison(twice)
    assert curves["series"].nunique() == 2 and table["name"].is_unique
    long = app.compare_curves({"a": [(e, 1.0 / e) for e in range(1, 10_001)]})
    assert len(long) <= 700 and long["epoch"].iloc[-1] == 10_000
    with pytest.raises(gr.Error, match="queue is empty"):
        list(app.run_comparison([]))
    state = run(app.train_spiral(*spiral_args(epochs=3), {}))[-1][4]
    code = app.code_for(state)
    assert "import torch" in code and "nn.Linear(2, 32)" in code and "dlcore" not in code.split("CSV")[0]


def test_a_run_that_diverges_at_once_says_nothing_was_kept():
    state = {}
    status, *_ = run(app.train_spiral(*spiral_args(optimizer="sgd", lr="1e6", epochs=20), state))[-1]
    assert status.startswith("⚠️ training diverged at epoch 1") and "initial weights" in status
    assert "Nothing was kept: this tab still has no trained model" in status and "samples/s" not in status
    assert state.get("model") is None
