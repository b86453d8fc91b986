"""Issue 15 without a browser: Continue, keep-either, Try this, controls that apply, the log scale, denormals flushed
on every thread that trains."""

import json
import os
import subprocess
import sys
import threading

import gradio as gr
import numpy as np
import pandas as pd
import pytest
import torch

from dlcore.config import Limits, RunConfig
from dlcore.denormals import denormals_flushed, flush_denormals
from dlcore.session import Job, LiveRun, drop_candidate, keep_candidate
from playground import fields, settings
from playground.fields import applies
from playground.handlers import user_errors
from playground.tabs import boston, digits, spiral
from playground.training import TrainingTab, advice_buttons
from playground.widgets import log_frame

SMALL = {"points": 100, "hidden": "16", "lr": "1e-2", "epochs": 20, "device": "cpu"}


def spiral_args(**over) -> dict:
    return spiral.SPEC.args(**{**SMALL, **over})


def last(stream, values: dict, state: dict) -> dict:
    """A training handler's last update, through the wrapper Gradio calls (errors become gr.Error)."""
    return list(user_errors(stream)(values, state))[-1]


@pytest.fixture
def every_update(monkeypatch):
    monkeypatch.setattr(settings, "UPDATES_PER_SECOND", 1000.0)


def test_continue_trains_the_same_model_further_and_its_curves_go_on(one_thread, every_update):
    state = {}
    first = last(spiral.SPEC.stream, spiral_args(), state)
    weights = {k: v.clone() for k, v in state["model"].model.state_dict().items()}
    assert state["trained_epochs"] == 20 and first["loss"]["epoch"].max() == 20
    out = last(spiral.SPEC.resume_stream, spiral_args(epochs=10), state)
    assert "epoch 30/30" in out["status"] and "Continued for 10 more epochs (30 in all)" in out["status"]
    loss = out["loss"]
    train = loss[loss["series"] == "train"]
    assert list(train["epoch"]) == list(range(1, 31)), "the curve goes on from epoch 20, not from 1"
    assert train["value"].iloc[-1] < train["value"].iloc[19]
    assert state["trained_epochs"] == 30
    assert [r.epoch for r in state["history"]] == [*range(1, 31), 30], "the history goes on too (and ends done)"
    moved = [not torch.equal(weights[k], v) for k, v in state["model"].model.state_dict().items()]
    assert all(moved), "Continue trained the same weights further"
    # the optimizer's state came along: the continued run matches one uninterrupted 30-epoch run
    whole = {}
    last(spiral.SPEC.stream, spiral_args(epochs=30), whole)
    assert whole["history"][-1].train_loss == pytest.approx(state["history"][-1].train_loss, rel=1e-5)


def test_continue_needs_a_model_and_the_same_architecture(one_thread):
    with pytest.raises(gr.Error, match="no model in this tab to continue; press Train first"):
        last(spiral.SPEC.resume_stream, spiral_args(), {})
    state = {}
    last(spiral.SPEC.stream, spiral_args(epochs=5), state)
    with pytest.raises(gr.Error, match=r"changed: hidden \(16 → 32\).*press Train to start afresh"):
        last(spiral.SPEC.resume_stream, spiral_args(hidden="32"), state)
    with pytest.raises(gr.Error, match="changed: the data settings"):
        last(spiral.SPEC.resume_stream, spiral_args(seed=3), state)
    # a training setting may change: a smaller learning rate for the next stretch
    assert "Continued for 5 more epochs" in last(spiral.SPEC.resume_stream, spiral_args(epochs=5, lr="1e-3"), state)["status"]


def test_a_worse_run_waits_until_the_user_keeps_either(one_thread):
    state = {}
    last(spiral.SPEC.stream, spiral_args(epochs=60, lr="3e-2"), state)
    good = state["model"]
    out = last(spiral.SPEC.stream, spiral_args(lr="1e-5"), state)  # barely moves: worse on the same test points
    assert "✅" not in out["status"] and "worse than the one the tab already has (test accuracy" in out["status"]
    assert state["model"] is good and "candidate" in state
    buttons = advice_buttons(state)
    assert buttons["keep_new"]["visible"] and buttons["keep_old"]["visible"]
    assert drop_candidate(state) and state["model"] is good and "candidate" not in state
    last(spiral.SPEC.stream, spiral_args(lr="1e-5"), state)
    assert keep_candidate(state) and state["model"] is not good and state["model"].cfg.lr == 1e-5
    assert not advice_buttons(state)["keep_new"]["visible"]


def test_a_better_run_replaces_the_model_with_a_tick(one_thread):
    state = {}
    last(spiral.SPEC.stream, spiral_args(lr="1e-5"), state)
    out = last(spiral.SPEC.stream, spiral_args(points=200, hidden="32,16", epochs=200, lr="3e-2"), state)
    assert "✅" in out["status"] and "now used for predictions" in out["status"] and "👍" in out["status"]
    assert "candidate" not in state


def test_try_this_sets_the_suggested_fields(one_thread):
    state = {}
    out = last(spiral.SPEC.stream, spiral_args(activation="sigmoid", lr="1e-3", epochs=60), state)
    assert "💡" in out["status"] and "Press **Try this**" in out["status"]
    buttons = advice_buttons(state)
    assert buttons["try_this"]["visible"] and buttons["try_this"]["value"] == "Try this: learning rate 1e-2"
    changed = TrainingTab(spiral.SPEC)._try_this({}, state)
    assert changed["lr"] == "1e-2" and set(changed) == {"lr", "try_this"}, "only the suggested field changes"
    # the widget value parses back to the suggestion
    assert spiral.SPEC.config(spiral_args(lr=changed["lr"])).lr == pytest.approx(1e-2)


def test_try_this_maps_settings_onto_a_tabs_own_labels():
    cfg = digits.SPEC.config(digits.SPEC.args(model="logistic regression"))
    values = fields.widget_values(digits.SPEC.fields, cfg, cfg.replace(model="cnn_bn", activation="relu"))
    assert values == {"model": "CNN"}


@pytest.mark.parametrize(("spec", "values", "hidden", "shown"), [
    (spiral.SPEC, {"model": "linear"}, {"hidden", "activation", "dropout", "momentum"}, set()),
    (spiral.SPEC, {"model": "mlp", "optimizer": "sgd"}, set(), {"hidden", "activation", "dropout", "momentum"}),
    (digits.SPEC, {"model": "logistic regression"}, {"activation", "momentum"}, set()),
    (digits.SPEC, {"model": "CNN", "optimizer": "rmsprop"}, set(), {"activation", "momentum"}),
])
def test_controls_that_do_not_apply_are_hidden(spec, values, hidden, shown):
    full = {**spec.args(), **values}
    visible = {f.name for f in spec.fields if applies(f, spec.fields, full, spec.dataset)}
    assert not hidden & visible and shown <= visible


def test_a_bad_value_leaves_its_field_shown_for_the_error_to_name():
    f = fields.FIELDS["hidden"]
    assert applies(f, spiral.SPEC.fields, spiral.SPEC.args(model="nonsense"), "spiral")


def test_the_log_scale_and_rounding_of_curve_values():
    frame = pd.DataFrame({"epoch": [1, 2, 3], "value": [0.7548071146011353, 0.01, 0.0], "series": ["train"] * 3})
    assert list(log_frame(frame, False)["value"]) == [0.7548, 0.01, 0.0]
    logged = log_frame(frame, True)["value"]
    assert logged[0] == pytest.approx(-0.1222, abs=1e-4) and logged[1] == -2 and np.isnan(logged[2])


def test_a_job_thread_flushes_denormals_on_every_intra_op_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = {}
        job = Job(lambda job: seen.setdefault("flushed", denormals_flushed()), name="probe")
        list(job.stream())
        assert seen["flushed"]
        # a thread whose intra-op threads started before the flag: flush_denormals reaches them too
        def late():
            seen["before"] = denormals_flushed()
            flush_denormals()
            seen["after"] = denormals_flushed()
        t = threading.Thread(target=late)
        t.start()
        t.join()
        assert seen["after"], seen
    finally:
        torch.set_num_threads(before)


def test_a_live_run_trains_with_denormals_flushed(one_thread):
    cfg = RunConfig(points=50, hidden=(8,), epochs=3, device="cpu")
    run = LiveRun(cfg, {}, Limits())
    flushed = list(run.stream(lambda rec, _: denormals_flushed(), interval=0))
    assert flushed and all(flushed)


def test_the_cli_flushes_denormals_before_any_work():
    code = ("import dlcore.__main__ as m; from dlcore.denormals import denormals_flushed; "
            "m.main(['reproduce', '--list']); print(denormals_flushed())")
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0 and p.stdout.strip().endswith("True"), p.stderr[-2000:]


def test_a_refused_run_replaces_the_stale_status_and_keeps_the_model(one_thread):
    state = {}
    last(spiral.SPEC.stream, spiral_args(epochs=5), state)
    model, updates = state["model"], []
    with pytest.raises(gr.Error, match="learning rate 'abc' is not a number"):
        updates.extend(user_errors(spiral.SPEC.stream)(spiral_args(lr="abc"), state))
    assert [set(u) for u in updates] == [{"status"}], "only the status changes"
    assert updates[0]["status"].startswith("⚠️ Not trained: learning rate 'abc' is not a number")
    assert "unchanged" in updates[0]["status"] and state["model"] is model


def test_the_cli_json_carries_the_diagnosis():
    args = ["train", "--dataset", "spiral", "--points", "100", "--hidden", "16", "--activation", "sigmoid", "--lr", "1e-3",
            "--epochs", "60", "--device", "cpu", "--json", "--quiet"]
    env = {**os.environ, "DLCORE_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "dlcore", *args], capture_output=True, text=True, timeout=300, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    d = json.loads(p.stdout.strip().splitlines()[-1])["diagnosis"]
    assert d["kind"] == "underfitting" and not d["ok"] and d["changes"] == {"lr": pytest.approx(1e-2)}
    assert "still falling" in d["text"] and "dlcore: diagnosis: Not finished" in p.stderr


def test_continue_goes_on_from_a_run_held_back_as_worse(one_thread):
    # five epochs of a Boston MLP are worse than the built-in model: held back; Continue trains that run further
    values = boston.SPEC.args(hidden="16", epochs=5, device="cpu")
    state = {}
    assert "worse than the one the tab already has" in last(boston.SPEC.stream, values, state)["status"]
    held = state["candidate"]["model"]
    out = last(boston.SPEC.resume_stream, values, state)
    assert "Continued for 5 more epochs (10 in all)" in out["status"] and "epoch 10/10" in out["status"]
    kept = state.get("candidate") or state
    assert kept["model"] is not held and kept["trained_epochs"] == 10
