"""A sweep's search space, checked before anything trains (no Ray here): grid and draw parsing, every refusal with
its one line, the CLI's exit code 2 before Ray is imported, and the sweep folder read back without Ray."""

import json
import os
import subprocess
import sys

import pytest

from dlcore import seeds, seedsweep, sweep
from dlcore.errors import ConfigError
from dlcore.grid import Axis, SweepSpec, expand, parse_axis, parse_grid, spec_from_dict, spec_from_runs
from dlcore.limits import Limits
from dlcore.presets import preset
from playground.serve import ROOT

SPIRAL = preset("spiral", points=100, epochs=5, device="cpu")


def test_axes_lists_hidden_layers_and_draws():
    assert parse_axis("lr=1e-4, 1e-3,1e-2") == Axis("lr", (1e-4, 1e-3, 1e-2))
    assert parse_axis("activation=relu,tanh,sigmoid").values == ("relu", "tanh", "sigmoid")
    assert parse_axis("hidden=100;100,25").values == ((100,), (100, 25))  # ; between values that hold commas
    assert parse_axis("hidden=100,25").values == ((100, 25),)  # hidden's commas are inside one value
    assert parse_axis("epochs=100,1e3").values == (100, 1000) and parse_axis("batch-norm=true,false").values == (True, False)
    assert parse_axis("lr=loguniform(1e-4,1e-1)") == Axis("lr", draw="loguniform", low=1e-4, high=1e-1)
    assert parse_axis("epochs=randint(10,20)").ends == (10, 20)
    assert str(parse_axis("hidden=100;100,25")) == "hidden=100;100,25" and str(parse_axis("lr=0.001,0.01")) == "lr=0.001,0.01"


@pytest.mark.parametrize("text, message", [
    ("lr", 'write a field, "=", then its values'),
    ("foo=1,2", "unknown field 'foo'; sweepable fields are classes, points"),
    ("lr=", "no values for lr"),
    ("lr=1e-3,,1e-2", "empty value at position 2; separate values by commas"),
    ("hidden=100;;25", "empty value at position 2; separate values by ;"),
    ("lr=fast", "'fast' is not a valid lr (float)"),
    ("epochs=1.5", "'1.5' is not a valid epochs (int)"),
    ("hidden=100;0", 'hidden layers "0": size 0 at position 1 must be at least 1'),
    ("lr=1e-3,1e-3", "'1e-3' is listed twice"),
    ("dataset=spiral,boston", "dataset cannot be swept (one per sweep); set it with --dataset"),
    ("lr=gauss(0,1)", "unknown draw 'gauss'"),
    ("lr=loguniform(1e-1,1e-4)", "needs low < high, both positive"),
    ("lr=loguniform(0,1)", "needs low < high, both positive"),
    ("epochs=uniform(1,5)", "epochs is a whole number; draw it with randint"),
    ("activation=uniform(1,5)", "activation is not a number; list its values instead"),
])
def test_a_bad_axis_is_refused_with_one_line_naming_it(text, message):
    with pytest.raises(ConfigError, match="^" + __import__("re").escape(f'--grid "{text}": ')) as e:
        parse_axis(text)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_every_combination_is_checked_before_any_trial():
    SweepSpec(SPIRAL, (parse_axis("lr=1e-3,1e-2"), parse_axis("hidden=8;8,4"))).check()
    with pytest.raises(ConfigError, match=r"^trial lr=-1: learning rate -1.0 is out of range"):
        SweepSpec(SPIRAL, (parse_axis("lr=1e-3,-1"),)).check()
    with pytest.raises(ConfigError, match=r"^trial activation=swish: activation 'swish' is unknown"):
        SweepSpec(SPIRAL, (parse_axis("activation=relu,swish"),)).check()
    with pytest.raises(ConfigError, match=r"^trial model=cnn: model 'cnn' is for 28x28 images"):
        SweepSpec(SPIRAL, (parse_axis("model=mlp,cnn"),)).check()
    with pytest.raises(ConfigError, match=r"^trial epochs=30: epochs 30 is out of range"):  # a draw's ends are checked
        SweepSpec(SPIRAL, (parse_axis("epochs=randint(5,30)"),)).check(Limits(max_epochs=20))
    with pytest.raises(ConfigError, match=r"^18 trials \(3 lr x 3 activation x 2 hidden\) is over the limit of 12"):
        SweepSpec(SPIRAL, (parse_axis("lr=1e-4,1e-3,1e-2"), parse_axis("activation=relu,tanh,sigmoid"),
                           parse_axis("hidden=100;100,25"))).check(Limits(max_trials=12))
    with pytest.raises(ConfigError, match=r"^--samples 3 would repeat identical trials"):
        SweepSpec(SPIRAL, (parse_axis("lr=1e-3,1e-2"),), samples=3).check()
    assert SweepSpec(SPIRAL, (parse_axis("lr=loguniform(1e-4,1e-1)"), parse_axis("hidden=8;16")), samples=3).count == 6
    with pytest.raises(ConfigError, match=r"^--metric 'test_rmse' is not reported for classification"):
        SweepSpec(SPIRAL, metric="test_rmse").check()
    with pytest.raises(ConfigError, match="lr is swept twice"):
        SweepSpec(SPIRAL, (parse_axis("lr=1e-3"), parse_axis("lr=1e-2"))).check()
    # what the trainer itself refuses: a batch larger than the data, a model over the parameter limit
    spec = SweepSpec(SPIRAL, (parse_axis("batch_size=0,500"),))
    with pytest.raises(ConfigError, match=r"^trial batch_size=500: batch size 500 is larger than the 240 training"):
        spec.check(trainable=sweep.buildable(spec, Limits()))
    spec = SweepSpec(SPIRAL, (parse_axis("hidden=8;4000,4000"),))
    with pytest.raises(ConfigError, match=r"^trial hidden=4000,4000: .*parameters"):
        spec.check(Limits(max_params=1_000_000), sweep.buildable(spec, Limits(max_params=1_000_000)))


@pytest.mark.slow  # subprocesses that import torch (and gradio): 8 to 30 s here
def test_the_cli_refuses_bad_grids_with_exit_2_and_one_line_before_ray_is_imported():
    """Each bad sweep in one subprocess: exit code 2, one stderr line naming the problem, and ray never imported."""
    cases = [["--grid", "foo=1,2"], ["--grid", "lr="], ["--grid", "lr=1e-3,-1"], ["--grid", "batch_size=0,5000"],
             ["--grid", f"seed={','.join(map(str, range(70)))}"], ["--lr", "1e-3", "--grid", "lr=1e-3,1e-2"],
             ["--grid", "scheduler=none,step", "--lr-schedule", "cosine"], ["--grid", "lr=1e-3", "--samples", "2"]]
    code = ("import contextlib, io, json, sys\nfrom dlcore.__main__ import main\nout = []\n"
            f"for args in {cases!r}:\n"
            "    err = io.StringIO()\n"
            "    with contextlib.redirect_stderr(err):\n"
            "        try:\n            main(['sweep', *args]); rc = 0\n"
            "        except SystemExit as e:\n            rc = e.code\n"
            "    out.append([rc, err.getvalue()])\n"
            "print(json.dumps({'results': out, 'ray': any(m == 'ray' or m.startswith('ray.') for m in sys.modules)}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLCORE_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ray"] is False, "a bad grid imported ray (or started it)"
    expected = ["unknown field 'foo'", "no values for lr", "learning rate -1.0 is out of range",
                "batch size 5000 is larger than the 2400 training samples", "70 trials (70 seed) is over the limit of 64",
                "lr is both fixed (--lr) and swept", "scheduler is both fixed (--lr-schedule) and swept",
                "--samples 2 would repeat identical trials"]
    for (rc, err), want in zip(report["results"], expected):
        assert rc == 2 and err.count("\n") == 1 and err.startswith("dlcore: error: ") and want in err, (rc, err)


def test_a_queue_and_a_grid_become_named_runs():
    cfgs = expand(SPIRAL, parse_grid("lr=1e-3,1e-2\n\nactivation=relu,tanh"))
    assert [n for n, _ in cfgs] == ["lr=0.001 activation=relu", "lr=0.001 activation=tanh", "lr=0.01 activation=relu",
                                    "lr=0.01 activation=tanh"]
    assert cfgs[3][1] == SPIRAL.replace(lr=1e-2, activation="tanh")
    with pytest.raises(ConfigError, match="is a random draw"):
        expand(SPIRAL, (parse_axis("lr=loguniform(1e-4,1e-1)"),))
    with pytest.raises(ConfigError, match="lr is on two grid lines"):
        parse_grid("lr=1e-3\nlr=1e-2")
    with pytest.raises(ConfigError, match=r'^grid line "lr=": no values'):
        parse_grid("lr=")
    spec = spec_from_runs(cfgs, scheduler="asha", max_concurrent=2)
    assert spec.base == cfgs[0][1] and spec.runs[1] == ("lr=0.001 activation=tanh", {"activation": "tanh"})
    assert spec.count == 4 and spec.describe() == "4 runs"
    assert spec_from_dict(json.loads(json.dumps(sweep._spec_json(spec)))) == spec  # stored and read back as it was


def test_a_sweep_folder_reads_back_without_ray(tmp_path):
    """What a sweep leaves (sweep.json, one records file per trial) is its table: the last attempt of a retried
    trial, a line cut short by a killed process, early-stopped trials left out of the best."""
    spec = SweepSpec(SPIRAL, (parse_axis("lr=1e-3,1e-2,3e-2"),), scheduler="asha")
    (tmp_path / "sweep.json").write_text(json.dumps({"spec": sweep._spec_json(spec)}))

    def trial(tid, lr, lines):
        f = sweep.TrialFile(tmp_path / "trials" / f"{tid}.jsonl")
        for line in lines:
            f.write(line)
        return {"start": 1, "node_id": "n1", "name": f"lr={lr:g}", "config": {"lr": lr}}

    def epoch(e, loss):
        return {"epoch": e, "train_loss": loss, "test_loss": loss, "test_accuracy": 1 - loss, "seconds": e / 10}

    start = trial("x_00000", 1e-3, [])
    trial("x_00000", 1e-3, [start, epoch(1, 0.9), epoch(2, 0.8), start, epoch(1, 0.7), epoch(2, 0.6), epoch(3, 0.5),
                            epoch(4, 0.4), epoch(5, 0.3), {**epoch(5, 0.3), "final": True, "seconds": 0.5}])
    trial("x_00001", 1e-2, [{**start, "name": "lr=0.01", "config": {"lr": 1e-2}}, epoch(1, 0.2), {"ended": "stopped early"}])
    trial("x_00002", 3e-2, [{**start, "name": "lr=0.03", "config": {"lr": 3e-2}}, epoch(1, 0.6), epoch(2, 0.5)])
    with (tmp_path / "trials" / "x_00002.jsonl").open("a") as f:
        f.write('{"epoch": 3, "train_lo')  # cut short by a kill
    result = sweep.finish(tmp_path)
    assert [(r["name"], r["status"], r["epochs"]) for r in result.trials] == [
        ("lr=0.001", "finished", 5), ("lr=0.01", "stopped early", 1), ("lr=0.03", "unfinished", 2)]
    assert [r["epoch"] for r in result.curves["x_00000"]] == [1, 2, 3, 4, 5], "a retried trial starts over"
    assert result.best["name"] == "lr=0.001", "an early-stopped trial's better loss is from fewer epochs"
    assert result.epochs_trained == 8 and result.epochs_possible == 15
    csv = (tmp_path / "results.csv").read_text().splitlines()
    assert csv[0].startswith("trial,name,status,epochs,train_loss") and "lr" in csv[0].split(",") and len(csv) == 4
    assert (tmp_path / "curves.csv").read_text().count("\n") == 1 + 5 + 1 + 2


def test_the_fast_reproductions_put_the_spread_over_seeds_beside_the_seeds_number():
    result = seedsweep.spread_over_seeds("gd-1d", seeds.gd_1d(), lambda s: seeds.gd_1d(seed=s), [0, 1, 2])
    row = result["rows"][-2]  # iteration 81, the seed's last printed row
    assert row["seed_w_hand"] == 2.148 and abs(row["w_hand_mean"] - row["w_hand"]) < 0.05 and row["w_hand_std"] > 0
    assert "w_hand, loss: mean ± std over seeds 0..2 (3 runs)" in result["notes"][-1]
    boston = seedsweep.spread_over_seeds("boston-linear", seeds.boston_linear(), lambda s: seeds.boston_linear(seed=s),
                                         list(range(4)))["rows"][0]
    assert abs(boston["train_mse_mean"] - boston["seed_train_mse"]) < 1.0 and boston["train_mse_std"] < 1.0


def test_gd_1d_says_the_seed_has_no_number_for_another_learning_rate():
    assert not any("no numbers" in n for n in seeds.gd_1d(lr=0.001)["notes"])
    other = seeds.gd_1d(lr=0.02)
    assert "The seed ran lr 0.001 only, so it has no numbers for lr 0.02" in other["notes"][0]
    assert all(r["seed_w_hand"] is None for r in other["rows"])


def test_the_sigmoid_note_says_what_the_row_shows_and_what_it_does_not():
    note = seeds.sigmoid_note()
    assert "does not show that sigmoid units cannot learn" in note and "lr 1e-2 reaches about 0.995" in note
    assert "still falling" in note


@pytest.mark.slow  # subprocesses that import torch (and gradio): 8 to 30 s here
def test_the_app_builds_without_importing_ray():
    """Ray is imported when a sweep starts, never at the app's start (bench/bench_startup.py times the start).

    pyarrow is not checked: ray[tune] requires it, and once it is installed pandas 3 imports it on its own import
    (pandas/compat/pyarrow.py), which `import gradio` does: about 50-100 ms measured here, with no Ray code."""
    code = ("import sys\nfrom playground.app import build_demo\nbuild_demo()\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'ray'}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DLCORE_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr[-2000:]


def test_sweep_spiral_over_the_api_names_its_parameters_and_refuses_a_bad_grid(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/sweep_spiral"]
    assert [p["parameter_name"] for p in api["parameters"]] == ["grid", "scheduler", "trials_at_once"]
    with pytest.raises(Exception, match=r'grid line "foo=1": unknown field'):  # refused before Ray starts
        client.predict(grid="foo=1", api_name="/sweep_spiral")
