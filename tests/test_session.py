"""dlcore.session: rate-limited live updates and which model a tab keeps after a run (finished, stopped, diverged)."""

import itertools
import sys

import pytest

from dlcore.config import ConfigError, Limits, RunConfig
from dlcore.plots import curves_frame, thin
from dlcore.session import TRAIN_NICE, LiveRun, cached_data, parse_lr, parse_number, stopped_run

LIMITS = Limits()


def spiral(**over) -> RunConfig:
    return RunConfig(**{"points": 100, "hidden": (16,), "epochs": 40, "lr": 1e-2, "device": "cpu", **over})


def fake_clock(step: float):
    """A clock that advances `step` seconds every time it is read."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def drain(run: LiveRun, **kw) -> list:
    """Everything a run streams, rendered as (record, redraw) pairs."""
    return list(run.stream(lambda rec, redraw: (rec, redraw), **kw))


def test_updates_are_rate_limited_but_every_record_reaches_the_curves(one_thread):
    run = LiveRun(spiral(epochs=100), {}, LIMITS)
    # 10 ms of "training" per record and one UI update per 50 ms allowed: at most every 5th record is shown
    shown = drain(run, interval=0.05, boundary_interval=0.2, clock=fake_clock(0.01))
    assert 2 <= len(shown) <= 22
    assert shown[-1][0].done and shown[-1][1], "the last record is always shown, with a boundary redraw"
    epochs = [rec.epoch for rec, _ in shown[:-1]]
    assert all(b - a >= 5 for a, b in zip(epochs, epochs[1:])), epochs
    redrawn = [rec.epoch for rec, redraw in shown[:-1] if redraw]
    assert all(b - a >= 20 for a, b in zip(redrawn, redrawn[1:])), redrawn
    assert len(run.curves[("loss", "train")]) == 100 and len(run.curves[("metric", "test")]) == 100
    assert run.ended.is_set() and run.trainer is None


def test_a_finished_run_replaces_the_model_and_clears_the_run(one_thread):
    state = {"model": "previous"}
    run = LiveRun(spiral(), state, LIMITS)
    assert state["run"] is run
    last, _ = drain(run, interval=0)[-1]
    assert last.status == "finished" and not run.kept_previous and "run" not in state
    assert state["model"].cfg.epochs == 40 and not state["model"].model.training
    assert state["history"][-1].done and all(r.test_loss is not None for r in state["history"])


def test_the_last_update_sees_the_settled_state(one_thread):
    state = {}
    run = LiveRun(spiral(), state, LIMITS)
    seen = list(run.stream(lambda rec, _: (rec.done, state.get("model"))))
    assert seen[-1][0] and seen[-1][1] is not None and all(m is None for done, m in seen[:-1])


def test_a_diverged_run_keeps_the_previous_model(one_thread):
    state = {}
    drain(LiveRun(spiral(), state, LIMITS), interval=0)
    first = state["model"]
    run = LiveRun(spiral(optimizer="sgd", lr=1e6), state, LIMITS)
    last, _ = drain(run, interval=0)[-1]
    assert last.status == "diverged" and run.kept_previous and state["model"] is first


def handler(state, cfg):
    """A generator handler as the app writes one."""
    with LiveRun(cfg, state, LIMITS) as run:
        yield from run.stream(lambda rec, _: rec, interval=0)


def test_a_stop_after_an_epoch_keeps_the_weights_trained_so_far(one_thread):
    state = {"model": "previous"}
    gen = handler(state, spiral(epochs=5000))
    records = [next(gen) for _ in range(12)]
    gen.close()  # what Gradio does to a cancelled generator; the training thread stops before its next step
    run = stopped_run(state, timeout=10)
    assert run is not None and run.ended.is_set() and "run" not in state
    stopped_at = run.last.epoch
    assert run.last.status == "stopped" and stopped_at >= records[-1].epoch >= 12
    assert f"Stopped at epoch {stopped_at:g}/5000" in run.result and "test accuracy" in run.result
    tm = state["model"]
    assert tm != "previous" and tm.meta["metrics"]["test_loss"] == pytest.approx(run.last.test_loss)
    assert state["history"][-1] is run.last
    assert stopped_run(state) is None  # reported once


def test_a_stop_before_the_first_epoch_keeps_the_previous_model(one_thread):
    state = {"model": "previous"}
    # 240 training points in batches of 2: 120 steps an epoch, so records come every 24 steps inside it
    gen = handler(state, spiral(epochs=3, batch_size=2))
    first = next(gen)
    assert first.test_loss is None and first.epoch < 1
    gen.close()
    run = stopped_run(state, timeout=10)
    assert state["model"] == "previous"
    assert "before the first epoch finished: the previous model is kept" in run.result


def test_a_failing_render_is_raised_and_leaves_the_state_alone(one_thread):
    state = {"model": "previous"}

    def render(rec, _):
        if rec.epoch >= 5:
            raise RuntimeError("a bug while drawing")
        return rec

    run = LiveRun(spiral(epochs=500), state, LIMITS)
    with pytest.raises(RuntimeError, match="a bug while drawing"):
        list(run.stream(render, interval=0))
    assert run.ended.wait(10) and state == {"model": "previous"} and run.trainer is None


def test_bad_settings_fail_before_the_run_is_registered():
    state = {"model": "previous"}
    with pytest.raises(ConfigError, match="batch size 5000 is larger"):
        LiveRun(spiral(batch_size=5000), state, LIMITS)
    assert state == {"model": "previous"}


def test_the_time_limit_caps_every_run():
    run = LiveRun(spiral(time_budget=0), {}, Limits(max_seconds=3))
    assert run.cfg.time_budget == 3
    assert LiveRun(spiral(time_budget=99), {}, Limits(max_seconds=3)).cfg.time_budget == 3
    assert LiveRun(spiral(time_budget=1), {}, Limits(max_seconds=3)).cfg.time_budget == 1


def test_cached_data_is_shared_read_only_and_copied_per_run():
    a, b = cached_data(spiral()), cached_data(spiral())
    assert a is not b and a.x_train is b.x_train
    assert cached_data(spiral(seed=1)).x_train is not a.x_train


@pytest.mark.parametrize("value,fragment", [
    (None, "epochs is empty"), ("  ", "epochs is empty"), ("ten", "'ten' is not a number"),
    (float("nan"), "not a finite number"), ("inf", "not a finite number"), (2.5, "not a whole number"),
    (True, "not a number"), ([3], "not a number"),
])
def test_parse_number_names_the_field(value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_number("epochs", value, whole=True)


def test_parse_number_and_lr():
    assert parse_number("epochs", " 12 ", whole=True) == 12 and parse_number("epochs", 12.0, whole=True) == 12
    assert parse_lr("3e-4") == pytest.approx(3e-4) and parse_lr(0.5) == 0.5
    for bad in ("0", "-1e-3"):
        with pytest.raises(ConfigError, match="learning rate .* must be positive"):
            parse_lr(bad)


def test_thin_keeps_earlier_picks_and_the_last_point():
    pts = list(range(1000))
    picked = thin(pts, 300)
    assert len(picked) <= 301 and picked[0] == 0 and picked[-1] == 999
    assert set(thin(pts[:900], 300)) - {899} <= set(picked)  # a growing series only appends (a small stream diff)
    assert thin(pts[:10], 300) == pts[:10]


def test_curves_frame_is_long_format():
    curves = {("loss", "train"): [(1, 0.9), (2, 0.5)], ("loss", "test"): [(1, 1.0), (2, 0.6)]}
    df = curves_frame(curves, "loss")
    assert list(df.columns) == ["epoch", "value", "series"] and len(df) == 4
    assert list(df["series"]) == ["train", "train", "test", "test"]
    assert curves_frame(curves, "metric").empty
    only_test = curves_frame({("metric", "test"): [(1, 4.2)]}, "metric")  # Boston's RMSE panel has no train series
    assert list(only_test["series"]) == ["test"]


def test_the_test_series_is_there_before_the_first_epoch_ends():
    # mini-batches: train points come every few steps, the first test point only at the end of epoch 1
    df = curves_frame({("loss", "train"): [(0.25, 1.1), (0.5, 1.0)]}, "loss")
    test = df[df["series"] == "test"]
    assert len(test) == 1 and test["value"].isna().all() and test["epoch"].iloc[0] == 0.25


def test_a_dropped_stream_stops_its_training_thread(one_thread):
    # Gradio closes a cancelled generator; one that is merely dropped is closed by the garbage collector, and the
    # background thread must not go on training for nobody
    state = {"model": "previous"}
    gen = handler(state, spiral(epochs=20_000))
    next(gen)
    run = state["run"]
    del gen
    assert run.ended.wait(10), "the training thread went on after its stream was dropped"
    assert run.last.done and run.last.status == "stopped" and run.last.epoch < 20_000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are a Linux feature")
def test_training_runs_at_a_lower_cpu_priority_than_the_server(one_thread):
    import os
    import threading

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = list(LiveRun(spiral(epochs=5), {}, LIMITS).stream(
        lambda rec, _: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), interval=0))
    assert seen and all(nice == min(19, base + TRAIN_NICE) for nice in seen)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base, "the caller's priority is unchanged"


def test_closing_the_bare_stream_stops_the_run(one_thread):
    state = {"model": "previous"}
    run = LiveRun(spiral(epochs=20_000), state, LIMITS)
    stream = run.stream(lambda rec, _: rec, interval=0)
    next(stream)
    stream.close()  # no `with LiveRun(...)` around it: the stream itself asks the thread to stop
    assert run.ended.wait(10) and run.last.status == "stopped"


def test_a_splits_baselines_are_fitted_once(monkeypatch):
    """The end of every run shows the baselines of its split; the same split's are fitted once per process."""
    from dlcore import evaluate, session
    from dlcore.presets import preset

    fits = []
    monkeypatch.setattr(evaluate, "baselines", lambda data: fits.append(data) or {"fit": len(fits)})
    monkeypatch.setattr(session, "_BASELINES", type(session._BASELINES)())
    cfg = preset("spiral", points=60).validate()
    first = session.split_baselines(cfg, session.cached_data(cfg))
    assert session.split_baselines(cfg, session.cached_data(cfg)) is first and len(fits) == 1
    other = cfg.replace(seed=1)  # another split: its own fit
    assert session.split_baselines(other, session.cached_data(other)) == {"fit": 2}


def test_cached_mnist_data_is_keyed_by_whether_the_drawn_digits_are_added(monkeypatch):
    """The "digits" augmentation adds the shipped drawn digits to MNIST's training split: a run without it after one
    with it (in one server process) must not get that split from the cache, nor the reverse."""
    from dlcore import session
    from dlcore.data import hand_digits

    monkeypatch.setattr(session, "_DATA_CACHE", type(session._DATA_CACHE)())
    plain = RunConfig(dataset="mnist", mnist_source="embedded")
    drawn = plain.replace(augment="digits")
    with_drawn = cached_data(drawn)
    without = cached_data(plain)
    assert len(with_drawn.x_train) == len(without.x_train) + len(hand_digits()[0])
    assert len(cached_data(drawn).x_train) == len(with_drawn.x_train), "and back again"
    assert session.data_key(plain) != session.data_key(drawn)
    assert session.data_key(plain.replace(lr=0.5)) == session.data_key(plain), "training settings share the data"
