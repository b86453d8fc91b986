"""The seed lab: each reproduction within its tolerance of the seed's numbers; compare; copy as code."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlcore import seeds
from dlcore.codegen import to_pytorch_code
from dlcore.config import RunConfig
from dlcore.optim import OPTIMIZERS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_spiral_table_rows_within_tolerance():
    result = seeds.spiral_table()
    assert len(result["rows"]) == 6
    for row in result["rows"]:
        assert {"name", "seed_loss", "seed_accuracy", "loss", "train_accuracy", "test_accuracy", "seconds"} <= set(row)
        assert abs(row["train_accuracy"] - row["seed_accuracy"]) <= row["tolerance"], row
    linear, deep = result["rows"][0], result["rows"][4]
    assert linear["test_accuracy"] < 0.6 < 0.99 < deep["test_accuracy"]  # the seed's lesson, on held-out points


def test_boston_linear_matches_seed_mse():
    row = seeds.boston_linear()["rows"][0]
    assert abs(row["train_mse"] - 23.73) < 1.0 and 3.5 < row["test_rmse"] < 5.5


def test_gd_1d_hand_and_autograd_agree_and_lr_regimes():
    r = seeds.gd_1d()
    assert r["max_abs_diff"] < 1e-5
    assert [abs(row["w_hand"] - row["seed_w"]) < 0.03 for row in r["rows"]] == [True] * 5
    assert seeds.classify_lr(0.001) == "converges"
    assert seeds.classify_lr(0.025) == "oscillates"
    assert seeds.classify_lr(0.05) == "diverges"
    p = seeds.gd_1d_paths(lr=0.025)
    steps = [b - a for a, b in zip(p["hand"], p["hand"][1:])]
    assert any(s < 0 for s in steps) and any(s > 0 for s in steps)  # it overshoots back and forth
    assert abs(p["hand"][-1] - seeds.gd_1d_paths(lr=0.001, iters=2000)["hand"][-1]) < 0.05
    assert seeds.gd_1d_figure(0.05) is not None


def test_d2l_recovers_w_and_b():
    r = seeds.d2l_linear()
    assert max(abs(e) for e in r["w_error"]) < 0.01 and abs(r["b_error"]) < 0.01


def test_mnist_ffn_on_embedded_learns_epoch_by_epoch():
    r = seeds.mnist_ffn(epochs=5, mnist_source="embedded")
    accs = [row["test_accuracy"] for row in r["rows"]]
    assert r["data_source"].startswith("embedded") and len(accs) == 5
    assert accs == sorted(accs) and accs[-1] > 0.5  # SGD 0.01 on 4,000 digits: slow but steady


def test_reproduce_cli_json_contract():
    env = {**os.environ, "DLCORE_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "dlcore", "reproduce", "gd-1d", "--json"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["name"] == "gd-1d" and isinstance(out["rows"], list) and out["max_abs_diff"] < 1e-5
    p = subprocess.run([sys.executable, "-m", "dlcore", "reproduce", "boston-linear", "--json"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=300)
    rows = json.loads(p.stdout.strip().splitlines()[-1])["rows"]
    assert rows[0]["seed_train_mse"] == pytest.approx(23.73, abs=0.01) and abs(rows[0]["train_mse"] - 23.73) < 1
    p = subprocess.run([sys.executable, "-m", "dlcore", "reproduce", "nope"], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "reproduction 'nope' is unknown" in p.stderr


def test_compare_and_csv():
    runs = [(name, cfg.replace(epochs=20)) for name, cfg in seeds.spiral_table_configs()[:2]]
    table = list(seeds.compare(runs))[-1][2]
    assert [r["name"] for r in table] == [n for n, _ in runs] and all(r["epochs"] == 20 for r in table)
    text = seeds.table_to_csv(table)
    assert text.splitlines()[0].startswith("name,") and len(text.splitlines()) == 3


def _run_script(cfg: RunConfig, tmp_path, epochs: int = 6) -> list[float]:
    code = to_pytorch_code(cfg)
    assert "import dlcore" not in code and "from dlcore" not in code  # plain torch, no playground code
    path = tmp_path / "run.py"
    path.write_text(code)
    p = subprocess.run([sys.executable, str(path), str(epochs)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    return [float(line.split("train loss ")[1].split(",")[0]) for line in p.stdout.splitlines()]


@pytest.mark.parametrize("cfg", [
    RunConfig(hidden=(32, 16), lr=1e-2),
    RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2),
    RunConfig(dataset="boston", model="mlp", hidden=(16,), lr=1e-2, l1=1e-4, l2=1e-4, scheduler="step", drop_b=True),
    RunConfig(dataset="spiral", points=200, hidden=(16,), batch_norm=True, dropout=0.1, batch_size=64, loss="nll"),
], ids=["spiral-adam", "boston-gd", "boston-mlp-penalties", "spiral-minibatch"])
def test_generated_code_trains(cfg, tmp_path):
    losses = _run_script(cfg, tmp_path)
    assert len(losses) == 6 and losses[-1] < losses[0]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_generated_code_for_every_optimizer(name, tmp_path):
    lr = {"gd": 0.5, "sgd": 0.1, "adadelta": 1.0, "lbfgs": 0.5, "adagrad": 0.1}.get(name, 1e-2)
    losses = _run_script(RunConfig(points=100, hidden=(16,), optimizer=name, lr=lr, momentum=0.9 if name == "sgd"
                                   else 0.0), tmp_path, epochs=8)
    assert losses[-1] < losses[0]
