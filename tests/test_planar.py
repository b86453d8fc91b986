"""The 2-D sets, input features and added points: each set's rule, the model's input, the parameter count, the
checkpoint, the CLI's --features contract and the generated code all follow the chosen features."""

import json
import math
import subprocess
import sys

import pytest
import torch

from dlcore import checkpoint
from dlcore.__main__ import main
from dlcore.codegen import to_pytorch_code
from dlcore.config import ConfigError, RunConfig
from dlcore.data import io_shape, load_data
from dlcore.features import FEATURES, RAW, feature_map, parse_features
from dlcore.models import build_model, count_params, estimate_params
from dlcore.planar import PLANAR, planar_points
from dlcore.plots import BOUNDARY_LIM
from dlcore.predict import far_point_warnings, predict_values
from dlcore.presets import preset
from dlcore.train import Trainer, train

pytestmark = pytest.mark.usefixtures("one_thread")
CLASSES = [n for n, s in PLANAR.items() if s.task == "classification"]
VALUES = [n for n, s in PLANAR.items() if s.task == "regression"]


# ------------------------------------------------------------------ the sets

@pytest.mark.parametrize("name", sorted(PLANAR))
def test_every_set_is_seeded_in_the_unit_square_and_split_once(name):
    cfg = RunConfig(dataset=name, points=200, noise=0.0, seed=3).validate()
    d = load_data(cfg)
    x = torch.cat([d.x_train, d.x_test])
    assert d.task == PLANAR[name].task and d.input_shape == (2,) and x.abs().max() <= BOUNDARY_LIM
    n = 600 if name == "spiral" else (400 if d.task == "classification" else 200)
    assert len(d.x_train) == round(0.8 * n) and len(x) == n
    assert name == "spiral" or len(torch.unique(x, dim=0)) == n  # (every spiral arm starts at the origin)
    if d.task == "classification":
        assert torch.bincount(torch.cat([d.y_train, d.y_test])).tolist() == [200] * d.num_outputs
    else:
        assert d.y_train.shape == (160, 1) and d.num_outputs == 1
    again, other = load_data(cfg), load_data(cfg.replace(seed=4))
    assert torch.equal(again.x_train, d.x_train) and not torch.equal(other.x_train, d.x_train)
    assert io_shape(cfg) == ((2,), d.num_outputs)


def test_each_set_follows_its_rule():
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    x, y = PLANAR["xor"].make(300, g())
    assert torch.equal(y, (x[:, 0] * x[:, 1] < 0).long()) and x.abs().min() >= 0.05
    x, y = PLANAR["circle"].make(300, g())
    r = x.norm(dim=1)
    assert (r[y == 0] <= 0.5 + 1e-6).all() and (r[y == 1] >= 0.7 - 1e-6).all()
    x, y = PLANAR["checkerboard"].make(300, g())
    cell = torch.floor((x + 1) * 2).long()
    assert torch.equal((cell[:, 0] + cell[:, 1]) % 2, y)
    x, y = PLANAR["gaussians"].make(300, g())
    assert x[y == 0].mean(0).sub(0.4).abs().max() < 0.05 and x[y == 1].mean(0).add(0.4).abs().max() < 0.05
    x, y = PLANAR["plane"].make(300, g())
    assert torch.allclose(y[:, 0], (x[:, 0] + x[:, 1]) / 2)
    x, y = PLANAR["gaussian_mix"].make(300, g())
    near = (x - torch.tensor([-0.6, 0.4])).norm(dim=1) < 0.05  # on a positive bump's centre the value is about +1
    assert y.abs().max() <= 1.01 and (y[near] > 0.8).all()


def test_noise_moves_points_of_classes_and_values_of_a_plane():
    x0, y0 = planar_points("xor", 2, 100, 0.0, 1)
    x1, y1 = planar_points("xor", 2, 100, 1.0, 1)
    assert torch.equal(y0, y1) and 0.15 < (x1 - x0).std() < 0.35  # noise 1 = N(0, 0.25²) per coordinate
    x0, y0 = planar_points("plane", 2, 100, 0.0, 1)
    x1, y1 = planar_points("plane", 2, 100, 1.0, 1)
    assert torch.equal(x0, x1) and 0.15 < (y1 - y0).std() < 0.35


def test_the_spiral_is_unchanged():
    a = load_data(RunConfig(dataset="spiral", points=50, seed=7))
    assert a.feature_names == ["x", "y"] and a.class_names == ["0", "1", "2"]
    assert a.source == "generated (seed 002's formula)"


# ------------------------------------------------------------------ input features

def test_parse_features():
    assert parse_features("x1,x2,x1x2") == ("x1", "x2", "x1x2")
    assert parse_features(["x1x2", "x1"]) == ("x1", "x1x2")  # the registry's order, whatever the order given
    assert parse_features("x1^2, sin(x2), x₁x₂") == ("x1sq", "x1x2", "sinx2")
    with pytest.raises(ConfigError, match="every input feature is off; turn on at least one"):
        parse_features("")
    with pytest.raises(ConfigError, match="every input feature is off"):
        parse_features([])
    with pytest.raises(ConfigError, match="input feature 'x3' is unknown; choose from"):
        parse_features("x1,x3")


def test_feature_values():
    p = torch.tensor([[0.5, -2.0], [1.0, 3.0]])
    f = feature_map(p, tuple(FEATURES))
    expected = [[0.5, -2.0, 0.25, 4.0, -1.0, math.sin(0.5), math.sin(-2.0)],
                [1.0, 3.0, 1.0, 9.0, 3.0, math.sin(1.0), math.sin(3.0)]]
    assert torch.allclose(f, torch.tensor(expected))


def test_the_model_input_and_the_parameter_count_follow_the_features():
    for features, n_in in (((), 2), (RAW, 2), (("x1", "x2", "x1x2"), 3), (tuple(FEATURES), 7), (("sinx2",), 1)):
        cfg = preset("xor", features=features).validate()
        assert estimate_params(cfg, *io_shape(cfg)) == n_in * 100 + 100 + 100 * 25 + 25 + 25 * 2 + 2
        model = build_model(cfg, (2,), 2)
        assert model(torch.zeros(5, 2)).shape == (5, 2)  # the model takes raw points whatever the features
    lin = preset("xor", model="linear", features=("x1", "x2", "x1x2")).validate()
    assert count_params(build_model(lin, (2,), 2)) == 8
    raw = build_model(preset("spiral").validate(), (2,), 3)  # the raw inputs add no layer: older checkpoints load
    assert list(raw.state_dict())[0] == "0.weight"


@pytest.mark.parametrize("changes,fragment", [
    ({"features": ("x1", "x3")}, "input features"),
    ({"features": ("x1", "x1")}, "a repeated name"),
    ({"dataset": "boston", "features": ("x1",)}, "apply to the 2-D sets only"),
    ({"added_points": ((0.1, 0.2, 3),)}, "has class 3; this set has classes 0 to 1"),
    ({"added_points": ((0.1, 0.2, 0.5),)}, "has class 0.5"),
    ({"added_points": ((5.0, 0.2, 1),)}, "within [-2, 2]"),
    ({"added_points": ((0.1, 0.2),)}, "must be three numbers"),
    ({"added_points": ((0.1, math.nan, 1),)}, "must be three numbers"),
    ({"dataset": "plane", "added_points": ((0.1, 0.2, 50.0),)}, "use a value between -10 and 10"),
    ({"dataset": "mnist", "added_points": ((0.1, 0.2, 1),)}, "apply to the 2-D sets only"),
])
def test_bad_planar_settings_are_clear_errors(changes, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        preset(changes.pop("dataset", "xor"), **changes).validate()


# ------------------------------------------------------------------ added points

def test_added_points_train_like_any_others():
    added = ((0.9, 0.9, 1), (-0.9, -0.9, 1), (0.0, 0.0, 0))
    cfg = RunConfig(dataset="xor", points=50, added_points=added).validate()
    d, plain = load_data(cfg), load_data(cfg.replace(added_points=()))
    assert len(d.x_train) == len(plain.x_train) + 3 and torch.equal(d.x_test, plain.x_test)
    assert torch.equal(d.x_train[-3:], torch.tensor([[0.9, 0.9], [-0.9, -0.9], [0.0, 0.0]]))
    assert d.y_train[-3:].tolist() == [1, 1, 0]
    assert "with 3 added points" in d.source
    v = load_data(RunConfig(dataset="plane", points=50, added_points=((0.5, 0.5, -3.0),)).validate())
    assert v.y_train[-1].tolist() == [-3.0]
    # a model trained on a single added point far from its own class learns it
    lone = RunConfig(dataset="gaussians", points=30, hidden=(16,), lr=3e-2, epochs=150, device="cpu",
                     added_points=((0.9, -0.9, 0), (0.95, -0.85, 0), (0.85, -0.95, 0))).validate()
    tm, _ = train(lone)
    assert predict_values(tm, [[0.9, -0.9]])[0].argmax() == 0


# ------------------------------------------------------------------ checkpoint, prediction, code

def test_checkpoint_round_trip_keeps_features_and_added_points(tmp_path):
    cfg = RunConfig(dataset="moons", points=40, hidden=(8,), epochs=3, device="cpu", features=("x1", "x2", "x1sq"),
                    added_points=((0.5, 0.5, 1),)).validate()
    tm, _ = train(cfg)
    back = checkpoint.load(checkpoint.save(tm, tmp_path / "m.safetensors"))
    assert back.cfg == cfg and back.cfg.features == ("x1", "x2", "x1sq") and back.cfg.added_points == ((0.5, 0.5, 1),)
    pts = [[0.1, 0.2], [-0.7, 0.3]]
    assert predict_values(back, pts).tolist() == predict_values(tm, pts).tolist()


def test_a_header_length_ending_in_0x80_is_not_taken_for_a_pickle():
    tm, _ = train(RunConfig(points=20, hidden=(4,), epochs=1, device="cpu").validate())
    for pad in range(256):  # safetensors pads its header to 8 bytes: some padding lands on a low byte of 0x80
        tm.meta["pad"] = "x" * pad
        blob = checkpoint.to_bytes(tm)
        if blob[0] == 0x80:
            break
    assert blob[0] == 0x80 and checkpoint.from_bytes(blob).meta["pad"] == tm.meta["pad"]


def test_far_points_warn_like_far_houses():
    tm, _ = train(RunConfig(dataset="circle", points=50, hidden=(4,), epochs=1, device="cpu").validate())
    assert far_point_warnings(tm, [0.3, -0.2]) == []
    warnings = far_point_warnings(tm, [3.0, -0.2])
    assert len(warnings) == 1 and warnings[0].startswith("x 3 is outside the training points' range")
    assert len(far_point_warnings(tm, [-4.0, 9.0])) == 2


CODE_CONFIGS = {
    "xor-linear-features-added": RunConfig(dataset="xor", model="linear", features=("x1", "x2", "x1x2"), lr=1e-2,
                                           points=100, epochs=5, added_points=((0.1, 0.2, 1), (-0.3, 0.4, 0))),
    "gaussian-mix-features": RunConfig(dataset="gaussian_mix", hidden=(8, 8), lr=1e-2, points=200, epochs=5,
                                       features=("x1", "sinx2", "x2sq")),
}


@pytest.fixture(scope="module")
def script_losses(tmp_path_factory) -> dict[str, list[float]]:
    """Each config's generated script, run one after another in one fresh interpreter (one torch start-up)."""
    folder = tmp_path_factory.mktemp("scripts")
    paths = []
    for name, cfg in CODE_CONFIGS.items():
        paths.append(folder / f"{name}.py")
        paths[-1].write_text(to_pytorch_code(cfg))
    driver = ("import runpy, sys\n"
              "for path in sys.argv[1:]:\n"
              "    print('=== ' + path, flush=True)\n"
              "    sys.argv = [path]\n"
              "    runpy.run_path(path, run_name='__main__')\n")
    p = subprocess.run([sys.executable, "-c", driver, *map(str, paths)], capture_output=True, text=True, timeout=300,
                       env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr[-2000:]
    out = {}
    for chunk in p.stdout.split("=== ")[1:]:
        head, body = chunk.split("\n", 1)
        out[head.rsplit("/", 1)[1].removesuffix(".py")] = [float(line.split("train loss ")[1].split(",")[0])
                                                            for line in body.splitlines()
                                                            if line.startswith("epoch ")]  # 5 epochs: each printed
    return out


@pytest.mark.parametrize("name", CODE_CONFIGS)
def test_generated_code_follows_the_features_and_the_added_points(name, script_losses):
    cfg = CODE_CONFIGS[name]
    code = to_pytorch_code(cfg)
    assert "def features(p):" in code and "import dlcore" not in code
    ours = [r.train_loss for r in Trainer(cfg).run() if r.test_loss is not None and not r.done]
    assert script_losses[name] == pytest.approx(ours, rel=1e-4, abs=2e-6)


# ------------------------------------------------------------------ the CLI

def _train_json(capsys, *args) -> dict:
    assert main(["train", *args, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cli_xor_needs_the_product_feature(capsys):
    """The issue's contract: a linear model solves XOR with x1*x2 and cannot without it."""
    solved = _train_json(capsys, "--dataset", "xor", "--model", "linear", "--features", "x1,x2,x1x2")
    assert solved["test_accuracy"] >= 0.95 and solved["features"] == ["x1", "x2", "x1x2"] and solved["params"] == 8
    plain = _train_json(capsys, "--dataset", "xor", "--model", "linear", "--features", "x1,x2")
    assert abs(plain["test_accuracy"] - 0.5) <= 0.1 and plain["params"] == 6


@pytest.mark.parametrize("features,fragment", [("", "every input feature is off"), ("x1,z", "'z' is unknown")])
def test_cli_bad_features_exit_2_with_one_line(features, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "xor", "--features", features, "--epochs", "1"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and fragment in err


def test_cli_predicts_a_value_and_warns_far_away(tmp_path, capsys):
    out = tmp_path / "plane.safetensors"
    assert main(["train", "--dataset", "plane", "--model", "linear", "--epochs", "300", "--points", "200",
                 "--quiet", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(out), "--input", "0.5,0.3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["dataset"] == "plane" and res["value"] == pytest.approx(0.4, abs=0.05) and res["warnings"] == []
    assert main(["predict", "--model", str(out), "--input", "5,0.3", "--json"]) == 0
    captured = capsys.readouterr()
    assert "x 5 is outside the training points' range" in captured.err and json.loads(captured.out)["warnings"]
