"""The command line as other tools call it: the --json contract, exit code 2 with one line, save then predict."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CLASSIFICATION_KEYS = {"dataset", "model", "optimizer", "epochs", "device", "train_loss", "test_loss", "train_accuracy",
                       "test_accuracy", "params", "seconds", "samples_per_second", "data_source"}
REGRESSION_KEYS = CLASSIFICATION_KEYS - {"train_accuracy", "test_accuracy"} | {"test_rmse", "test_mae", "test_r2"}


def dlcore(*args, check=True):
    env = {**os.environ, "DLCORE_OFFLINE": "1"}
    p = subprocess.run([sys.executable, "-m", "dlcore", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert p.returncode == 0, p.stderr[-2000:]
    return p


def train_json(*args) -> dict:
    p = dlcore("train", *args, "--json", "--quiet")
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_json_contract_classification_and_save_predict(tmp_path):
    out = tmp_path / "run.safetensors"
    s = train_json("--dataset", "spiral", "--points", "100", "--hidden", "16", "--epochs", "20", "--lr", "1e-2",
                   "--out", str(out))
    assert CLASSIFICATION_KEYS <= set(s)
    assert s["dataset"] == "spiral" and s["epochs"] == 20 and s["device"] == "cpu" and s["status"] == "finished"
    p = dlcore("predict", "--model", str(out), "--input", "0.5,0.1", "--json")
    result = json.loads(p.stdout)
    assert result["label"] in {"0", "1", "2"} and sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-4)


def test_json_contract_regression_and_price(tmp_path):
    out = tmp_path / "house.safetensors"
    s = train_json("--dataset", "boston", "--model", "linear", "--optimizer", "gd", "--lr", "1e-2", "--epochs", "50",
                   "--out", str(out))
    assert REGRESSION_KEYS <= set(s) and s["data_source"].startswith("embedded CSV")
    p = dlcore("predict", "--model", str(out), "--json", "--input",
               "0.00632,18,2.31,0,0.538,6.575,65.2,4.09,1,296,15.3,396.9,4.98")
    assert 10 < json.loads(p.stdout)["price"] < 40


def test_predict_an_image_file(tmp_path):
    from dlcore.data import embedded_mnist

    _, _, xte, yte = embedded_mnist()
    img = tmp_path / "digit.png"
    Image.fromarray(255 - np.asarray(xte[3])).resize((200, 200)).save(img)
    ckpt = ROOT / "dlcore" / "weights" / "digits_default.safetensors"
    p = dlcore("predict", "--model", str(ckpt), "--input", str(img), "--json")
    assert json.loads(p.stdout)["label"] == str(int(yte[3]))


@pytest.mark.parametrize("args,fragment", [
    (["train", "--lr", "-1"], "learning rate -1.0"),
    (["train", "--hidden", "10,,5"], 'hidden layers "10,,5"'),
    (["train", "--hidden", "abc"], "'abc'"),
    (["train", "--epochs", "0"], "epochs 0"),
    (["train", "--optimizer", "adamx"], "invalid choice: 'adamx'"),
    (["train", "--batch-size", "99999"], "batch size 99999"),
    (["train", "--device", "cuda"], "cuda"),
    (["train", "--dataset", "spiral", "--model", "cnn"], "model 'cnn'"),
    (["train", "--bogus"], "--bogus"),
    (["predict", "--model", "missing.safetensors", "--input", "1,2"], "missing.safetensors"),
])
def test_bad_input_exits_2_with_one_line(args, fragment):
    if "cuda" in args:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    p = dlcore(*args, check=False)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], p.stderr
    assert p.stdout == ""


# ------------------------------------------------------------------ what issue 2 must show (slow: real training)

@pytest.mark.slow
def test_spiral_relu_reaches_099():
    s = train_json("--dataset", "spiral", "--model", "mlp", "--hidden", "100,25", "--activation", "relu",
                   "--optimizer", "adam", "--lr", "1e-3", "--epochs", "1000", "--batch-size", "0",
                   "--weight-decay", "1e-5")
    assert s["test_accuracy"] >= 0.99


@pytest.mark.slow
def test_spiral_sigmoid_stays_near_051():
    s = train_json("--dataset", "spiral", "--model", "mlp", "--hidden", "100", "--activation", "sigmoid",
                   "--optimizer", "adam", "--lr", "1e-3", "--epochs", "1000", "--batch-size", "0",
                   "--weight-decay", "1e-5")
    assert abs(s["train_accuracy"] - 0.51) <= 0.03


@pytest.mark.slow
def test_boston_linear_gd_near_seed_mse():
    s = train_json("--dataset", "boston", "--model", "linear", "--optimizer", "gd", "--lr", "1e-2", "--epochs", "300")
    assert 18 <= s["train_loss"] <= 28  # seed 000: 23.7 (its own split: --seed 73 gives 23.4)
    s73 = train_json("--dataset", "boston", "--model", "linear", "--optimizer", "gd", "--lr", "1e-2", "--epochs", "300",
                     "--seed", "73")
    assert abs(s73["train_loss"] - 23.7) < 1.0


@pytest.mark.slow
def test_boston_mlp_rmse():
    s = train_json("--dataset", "boston", "--model", "mlp", "--hidden", "64,32", "--optimizer", "adam", "--lr", "1e-2",
                   "--epochs", "300", "--weight-decay", "1e-4", "--seed", "2")
    assert s["test_rmse"] <= 3.2


@pytest.mark.slow
def test_mnist_embedded_cnn_reaches_097():
    s = train_json("--dataset", "mnist", "--mnist-source", "embedded", "--model", "cnn", "--optimizer", "adam",
                   "--lr", "1e-3", "--batch-size", "64", "--epochs", "12", "--scheduler", "cosine")
    assert s["data_source"].startswith("embedded subset") and s["test_accuracy"] >= 0.97


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="dataset-fashion-mnist not installed")
def test_fashion_ffn_one_epoch():
    s = train_json("--dataset", "fashion", "--model", "ffn", "--optimizer", "sgd", "--lr", "0.01", "--batch-size", "64",
                   "--epochs", "1")
    assert s["status"] == "finished" and s["test_accuracy"] > 0.6 and "Fashion" in s["data_source"]
