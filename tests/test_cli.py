"""The command line as other tools call it: the --json contract, exit code 2 with one line, save then predict,
and what issue 2 says it must show (marked slow: real training, through the CLI's JSON)."""

import contextlib
import json
import os
import pickle
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from bad_tables import BAD_TABLES
from PIL import Image

from dlcore.__main__ import main
from dlcore.data import FASHION_DIR, boston_table, embedded_mnist
from dlcore.train import available_devices

ROOT = Path(__file__).resolve().parents[1]
COMMON_KEYS = {"dataset", "model", "optimizer", "epochs", "device", "train_loss", "test_loss", "params", "seconds",
               "samples_per_second", "data_source"}
CLASSIFICATION_KEYS = COMMON_KEYS | {"train_accuracy", "test_accuracy"}
REGRESSION_KEYS = COMMON_KEYS | {"test_rmse", "test_mae", "test_r2"}
HOUSE = "0.00632,18,2.31,0,0.538,6.575,65.2,4.09,1,296,15.3,396.9,4.98"


def dlcore(*args: str, check: bool = True, timeout: int = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `python -m dlcore ...` from the repository root, as the README and other tools do."""
    # os.environ read now, not at import: conftest points DLCORE_DATA at a temporary folder when the session starts.
    # One torch thread in the child: these models gain nothing from two, and on a busy 2-core machine two threads ran
    # the spiral and Fashion runs 10-25 times slower (same results).
    env = {**os.environ, "DLCORE_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    assert "DLCORE_DATA" in env
    p = subprocess.run([sys.executable, "-m", "dlcore", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=timeout)
    if check:
        assert p.returncode == 0, p.stderr[-3000:]
    return p


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def train_json(*args: str) -> dict:
    s = last_json(dlcore("train", *args, "--json", "--quiet").stdout)
    print("dlcore train", " ".join(args), "->", json.dumps(s))  # shown with -s / on failure: the measured numbers
    return s


# ------------------------------------------------------------------ the --json contract, save, predict

def test_spiral_contract_save_and_predict(tmp_path):
    out = tmp_path / "run.safetensors"
    p = dlcore("train", "--dataset", "spiral", "--points", "100", "--hidden", "16,8", "--epochs", "20", "--lr", "1e-2",
               "--out", str(out), "--json")  # no --quiet: the progress bar goes to stderr, never stdout
    assert len(p.stdout.strip().splitlines()) == 1  # with --json, stdout is the JSON line alone
    s = last_json(p.stdout)
    assert CLASSIFICATION_KEYS <= set(s), CLASSIFICATION_KEYS - set(s)
    assert s["dataset"] == "spiral" and s["model"] == "mlp" and s["optimizer"] == "adam" and s["epochs"] == 20
    assert s["device"] == available_devices()[0] and s["status"] == "finished" and s["hidden"] == [16, 8]
    assert s["params"] == 2 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3 and s["data_source"].startswith("generated")
    assert 0 <= s["test_accuracy"] <= 1 and s["train_loss"] > 0 and s["seconds"] > 0 and s["samples_per_second"] > 0
    assert "epoch" in p.stderr and f"saved {out}" in p.stderr and out.is_file()

    result = json.loads(dlcore("predict", "--model", str(out), "--input", "0.5,0.1", "--json").stdout)
    assert result["dataset"] == "spiral" and result["label"] in {"0", "1", "2"}
    assert sum(result["probabilities"].values()) == pytest.approx(1, abs=1e-4)
    assert result["label"] == max(result["probabilities"], key=result["probabilities"].get)
    text = dlcore("predict", "--model", str(out), "--input", "0.5,0.1").stdout.strip()
    assert text.startswith(f"class {result['label']} (")


def test_boston_contract_save_and_predict(tmp_path):
    out = tmp_path / "house.safetensors"
    s = train_json("--dataset", "boston", "--model", "linear", "--optimizer", "gd", "--lr", "1e-2", "--epochs", "50",
                   "--drop-b", "--out", str(out))
    assert REGRESSION_KEYS <= set(s), REGRESSION_KEYS - set(s)
    assert "train_accuracy" not in s and s["data_source"].startswith("embedded CSV") and s["params"] == 13
    assert s["test_rmse"] > 0 and s["test_r2"] < 1 and s["epochs"] == 50
    result = json.loads(dlcore("predict", "--model", str(out), "--json", "--input", HOUSE).stdout)
    assert 10 < result["price"] < 40 and result["unit"] == "$1000s" and result["warnings"] == []
    far = HOUSE.replace("6.575", "12")  # 12 rooms: beyond the data
    p = dlcore("predict", "--model", str(out), "--input", far)
    assert p.stdout.startswith("predicted price: ") and "RM 12 is outside the training data's range" in p.stderr


def test_image_contract_save_and_predict_a_file(tmp_path):
    out = tmp_path / "digits.safetensors"
    s = train_json("--dataset", "mnist", "--mnist-source", "embedded", "--model", "linear", "--epochs", "1",
                   "--batch-size", "500", "--lr", "1e-2", "--out", str(out))
    assert CLASSIFICATION_KEYS <= set(s) and s["batch_size"] == 500 and s["params"] == 7850
    assert s["data_source"].startswith("embedded subset") and s["data_source_reason"] == "the embedded subset was asked for"
    _, _, xte, yte = embedded_mnist()
    img = tmp_path / "digit.png"
    Image.fromarray(255 - np.asarray(xte[3])).resize((200, 200)).save(img)  # black on white, like a photo of paper
    result = json.loads(dlcore("predict", "--model", str(out), "--input", str(img), "--json").stdout)
    assert result["dataset"] == "mnist" and result["label"] in {str(d) for d in range(10)}
    confidences = [t["confidence"] for t in result["top3"]]
    assert len(confidences) == 3 and confidences == sorted(confidences, reverse=True)
    assert result["top3"][0]["label"] == result["label"]
    default = ROOT / "dlcore" / "weights" / "digits_default.safetensors"
    assert json.loads(dlcore("predict", "--model", str(default), "--input", str(img), "--json").stdout)["label"] == str(
        int(yte[3]))


def test_json_reports_the_layers_each_architecture_really_has():
    linear = train_json("--dataset", "boston", "--model", "linear", "--hidden", "64", "--epochs", "1")
    assert linear["hidden"] == [] and linear["activation"] is None  # --hidden and --activation do not apply
    ffn = train_json("--dataset", "mnist", "--mnist-source", "embedded", "--model", "ffn", "--hidden", "7", "--epochs",
                     "1", "--batch-size", "500")
    assert ffn["hidden"] == [256, 128, 64] and ffn["activation"] == "relu"


@pytest.mark.parametrize("where", ["missing-folder", "a-folder", "parent-is-a-file"])
def test_an_unusable_out_path_fails_before_training(where, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("a file")
    out, fragment = {"missing-folder": (tmp_path / "no" / "m.safetensors", "does not exist; create the folder"),
                     "a-folder": (tmp_path, "it is a folder; give a file name"),
                     "parent-is-a-file": (tmp_path / "notes.txt" / "m.safetensors", "is a file, not a folder")}[where]
    # 20000 epochs of a 100,25 net would take minutes: the refusal has to come before any training
    with pytest.raises(SystemExit) as e:
        main(["train", "--dataset", "spiral", "--hidden", "100,25", "--epochs", "20000", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and str(out) in err[0] and fragment in err[0], err


def test_text_summary_without_json(capsys):
    assert main(["train", "--dataset", "spiral", "--points", "50", "--epochs", "2", "--quiet", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("train_loss=") and "test_accuracy=" in out[0] and "params=" in out[0]


# ------------------------------------------------------------------ bad flags and values: exit 2, one line

BAD = [
    (["train", "--lr", "-1"], "learning rate -1.0"),
    (["train", "--lr", "0"], "learning rate 0.0"),
    (["train", "--lr", "nan"], "learning rate nan"),
    (["train", "--lr", "abc"], "invalid float value: 'abc'"),
    (["train", "--epochs", "0"], "epochs 0"),
    (["train", "--epochs", "1.5"], "invalid int value: '1.5'"),
    (["train", "--hidden", ""], "hidden layers are empty"),
    (["train", "--hidden", "10,,5"], 'hidden layers "10,,5"'),
    (["train", "--hidden", "abc"], "'abc'"),
    (["train", "--hidden", "-3"], 'hidden layers "-3": size -3'),
    (["train", "--hidden", "0"], 'hidden layers "0": size 0'),
    (["train", "--hidden", "99999"], 'hidden layers "99999": size 99999'),
    (["train", "--optimizer", "adamx"], "invalid choice: 'adamx'"),
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--model", "resnet"], "invalid choice: 'resnet'"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--scheduler", "linear"], "invalid choice: 'linear'"),
    (["train", "--loss", "huber"], "loss for classification 'huber'"),
    (["train", "--dataset", "boston", "--loss", "nll"], "loss for regression 'nll'"),
    (["train", "--batch-size", "99999"], "batch size 99999"),
    (["train", "--batch-size", "-1"], "batch size -1"),
    (["train", "--momentum", "2"], "momentum 2.0"),
    (["train", "--seed", "-1"], "seed -1"),
    (["train", "--points", "5"], "points per class 5"),
    (["train", "--device", "tpu"], "invalid choice: 'tpu'"),
    (["train", "--device", "cuda"], "device 'cuda' is not available"),
    (["train", "--dataset", "spiral", "--model", "cnn"], "model 'cnn' is for 28x28 images"),
    (["train", "--bogus"], "--bogus"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["predict", "--model", "missing.safetensors", "--input", "1,2"], "missing.safetensors"),
    (["predict", "--input", "1,2"], "--model"),
]


@pytest.mark.parametrize("args,fragment", BAD, ids=[" ".join(a) or "empty" for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(args, fragment, capsys):
    if "cuda" in args and "cuda" in available_devices():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], captured.err
    assert captured.out == ""


@pytest.fixture(scope="module")
def spiral_ckpt(tmp_path_factory):
    from dlcore import checkpoint
    from dlcore.config import RunConfig
    from dlcore.train import train

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        tm, _ = train(RunConfig(dataset="spiral", points=50, hidden=(8,), epochs=3, device="cpu"))
    finally:
        torch.set_num_threads(before)
    return checkpoint.save(tm, tmp_path_factory.mktemp("ckpt") / "spiral.safetensors")


def test_bad_predict_inputs_exit_2(spiral_ckpt, tmp_path, capsys):
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps({"a": 1}))
    boston = ROOT / "dlcore" / "weights" / "boston_default.safetensors"
    digits = ROOT / "dlcore" / "weights" / "digits_default.safetensors"
    cases = [
        (["--model", str(spiral_ckpt), "--input", "1,2,3"], "spiral input '1,2,3' must be two numbers x,y"),
        (["--model", str(spiral_ckpt), "--input", "a,b"], "x 'a' is not a number"),
        (["--model", str(evil), "--input", "1,2"], "pickle"),
        (["--model", str(boston), "--input", HOUSE.replace(",0,0.538", ",0.5,0.538")], "CHAS 0.5 must be 1"),
        (["--model", str(boston), "--input", "1,2,3"], "a house needs 13 feature values"),
        (["--model", str(boston), "--input", HOUSE.replace("6.575", "abc")], "RM 'abc' is not a number"),
        (["--model", str(digits), "--input", str(tmp_path / "none.png")], "none.png' does not exist"),
        (["--model", str(digits), "--input", str(evil)], "not a readable image"),
    ]
    for args, fragment in cases:
        with pytest.raises(SystemExit) as e:
            main(["predict", *args])
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert e.value.code == 2 and len(lines) == 1 and fragment in lines[0], (args, captured.err)
        assert captured.out == ""


def _refused_in_one_line(capsys, argv, fragment):
    with pytest.raises(SystemExit) as e:
        main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert e.value.code == 2 and len(lines) == 1 and fragment in lines[0], (argv, captured.err)


def test_special_files_are_refused_and_left_as_they_were(spiral_ckpt, tmp_path, capsys):
    fifo, device = tmp_path / "pipe", tmp_path / "null"
    os.mkfifo(fifo)
    outs = [(fifo, "a FIFO (named pipe), not a regular file")]
    # a copy of /dev/null's node, never the real one (an old build renamed over it as root)
    with contextlib.suppress(PermissionError):
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        outs.append((device, "a device, not a regular file"))
    for out, fragment in outs:  # refused before training, not after
        _refused_in_one_line(capsys, ["train", "--hidden", "100,25", "--epochs", "20000", "--quiet", "--out", str(out)],
                             fragment)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and (len(outs) == 1 or stat.S_ISCHR(os.stat(device).st_mode))
    assert sorted(os.listdir(tmp_path)) == sorted(p.name for p, _ in outs)
    deep = tmp_path / "deep.safetensors"
    nested = b"[" * 100_000 + b"]" * 100_000
    deep.write_bytes(len(nested).to_bytes(8, "little") + nested + b"\0" * 8)
    t0 = time.perf_counter()
    for model, fragment in [("/dev/zero", "is not a regular file"), (str(fifo), "is not a regular file"),
                            (str(tmp_path), "is a folder"), ("/proc/self/mem", "cannot read the checkpoint"),
                            (str(deep), "nested too deeply")]:
        _refused_in_one_line(capsys, ["predict", "--model", model, "--input", "0,0"], fragment)
    assert time.perf_counter() - t0 < 30  # /dev/zero and the FIFO are refused at once, never read


@pytest.mark.parametrize("argv,fragment", [
    (["--input", "nan,inf"], "x 'nan' is not a finite number"),  # was 'class 0 (nan)' with exit 0
    (["--input", "0,1e9"], "y '1e9' is out of range"),
])
def test_a_spiral_point_must_be_finite_and_in_range(spiral_ckpt, capsys, argv, fragment):
    _refused_in_one_line(capsys, ["predict", "--model", str(spiral_ckpt), *argv], fragment)


@pytest.mark.parametrize("feature,value,fragment", [
    (0, "1e308", "CRIM 1e+308 is out of range"), (9, "1e30", "TAX 1e+30 is out of range"),
    (12, "inf", "LSTAT 'inf' is not a finite number"),
])
def test_a_house_feature_must_be_in_its_stated_range(capsys, feature, value, fragment):
    house = HOUSE.split(",")
    house[feature] = value
    boston = ROOT / "dlcore" / "weights" / "boston_default.safetensors"
    _refused_in_one_line(capsys, ["predict", "--model", str(boston), "--input", ",".join(house)], fragment)


@pytest.mark.parametrize("lr", ["nan", "-1", "0", "1.5"])
def test_gd_1d_refuses_a_learning_rate_out_of_range(capsys, lr):
    _refused_in_one_line(capsys, ["reproduce", "gd-1d", f"--lr={lr}"], "is out of range; use a value in (0, 1]")


@pytest.mark.parametrize("args,fragment", [
    (["train", "--hidden", "10,,5"], 'dlcore: error: hidden layers "10,,5": empty size at position 2'),
    (["train", "--optimizer", "adamx"], "invalid choice: 'adamx'"),
])
def test_the_real_process_exits_2_with_one_line(args, fragment):
    p = dlcore(*args, check=False)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], p.stderr


# ------------------------------------------------------------------ what issue 2 must show (slow: real training)

SPIRAL_ROW = ["--dataset", "spiral", "--model", "mlp", "--optimizer", "adam", "--lr", "1e-3", "--epochs", "1000",
              "--batch-size", "0", "--weight-decay", "1e-5"]


@pytest.mark.slow
def test_spiral_relu_reaches_099():
    s = train_json(*SPIRAL_ROW, "--hidden", "100,25", "--activation", "relu")
    assert s["test_accuracy"] >= 0.99 and s["epochs"] == 1000  # measured: 1.000 (train 0.998, loss 0.0225)


@pytest.mark.slow
def test_spiral_one_sigmoid_layer_stays_near_051():
    s = train_json(*SPIRAL_ROW, "--hidden", "100", "--activation", "sigmoid")
    assert abs(s["train_accuracy"] - 0.51) <= 0.03  # seed 002: 0.509; measured: 0.508


@pytest.mark.slow
def test_boston_linear_gd_near_the_seed_mse():
    row = ["--dataset", "boston", "--model", "linear", "--optimizer", "gd", "--lr", "1e-2", "--epochs", "300"]
    s = train_json(*row)
    assert 18 <= s["train_loss"] <= 28  # seed 000: about 23.7
    s73 = train_json(*row, "--seed", "73")  # seed 000's own split (train_test_split random_state=73)
    assert abs(s73["train_loss"] - 23.7) < 1.0


@pytest.fixture(scope="module")
def boston_ten_splits():
    """`train --dataset boston --repeats 10 --json`, run once for the two tests that read it (44 s here)."""
    return train_json("--dataset", "boston", "--repeats", "10")


@pytest.mark.slow
def test_boston_default_mlp_mean_rmse_over_ten_splits_at_most_3(boston_ten_splits):
    # issue 12: one split's 76 test rows say more about the split than the model (2.1-3.9 over seeds 0-9), so the
    # check is the mean over the ten seeded 85/15 splits of seeds 0-9, with the tab's (the preset's) settings
    s = boston_ten_splits
    assert s["model"] == "mlp" and len(s["test_rmse_values"]) == 10 and s["evaluation"]["runs"] == 10
    assert s["test_rmse"] <= 3.0, s["test_rmse_values"]
    assert s["test_rmse"] < s["baselines"]["linear"]["test_rmse"] < s["baselines"]["mean"]["test_rmse"]


@pytest.mark.slow
def test_boston_as_a_csv_with_text_chas_trains_to_the_same_spread(tmp_path, boston_ten_splits):
    header, table = boston_table()
    rows = [[*(f"{v:g}" for v in r[:3]), "yes" if r[3] else "no", *(f"{v:g}" for v in r[4:])] for r in table]
    path = tmp_path / "boston.csv"
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    built_in = boston_ten_splits
    mine = train_json("--dataset", "csv", "--csv", str(path), "--target", "MEDV", "--repeats", "10")
    # CHAS as "no"/"yes" is two one-hot inputs where Boston has one 0/1 input: one more row of first-layer weights
    assert mine["data_source"].startswith("your table boston.csv (506 rows")
    assert mine["params"] == built_in["params"] + built_in["hidden"][0]
    # the same ten splits: the linear baselines agree to rounding (CHAS as yes/no one-hot spans what 0/1 did)
    assert mine["baselines"]["linear"]["test_rmse_values"] == pytest.approx(
        built_in["baselines"]["linear"]["test_rmse_values"], abs=1e-3)
    # within noise: the mean differs by less than the standard error of the difference over ten splits
    noise = (built_in["test_rmse_std"] ** 2 / 10 + mine["test_rmse_std"] ** 2 / 10) ** 0.5
    assert abs(mine["test_rmse"] - built_in["test_rmse"]) <= 2 * noise, (mine["test_rmse"], built_in["test_rmse"])


@pytest.mark.slow
def test_mnist_embedded_cnn_reaches_097():
    s = train_json("--dataset", "mnist", "--mnist-source", "embedded", "--model", "cnn", "--optimizer", "adam",
                   "--lr", "2e-3", "--batch-size", "64", "--epochs", "6", "--scheduler", "cosine")
    assert s["data_source"].startswith("embedded subset")
    # on the fixed 1,000 held-out digits; measured 0.975, 0.976, 0.975 with seeds 0-2 (10 epochs gave 0.975 too)
    assert s["test_accuracy"] >= 0.97


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist not installed (scripts/test installs it)")
def test_fashion_ffn_one_epoch():
    s = train_json("--dataset", "fashion", "--model", "ffn", "--optimizer", "sgd", "--lr", "0.01", "--batch-size", "64",
                   "--epochs", "1")
    assert s["status"] == "finished" and "Fashion-MNIST" in s["data_source"] and s["params"] == 242_762
    assert s["test_accuracy"] > 0.7  # measured 0.724


# ------------------------------------------------------------------ your own table, repeated splits, folds (issue 12)

def _table(path: Path) -> Path:
    """A small mixed table: a category with gaps, a number with gaps, a label."""
    rng = np.random.default_rng(1)
    lines = ["age;city;income;label"]
    for i in range(160):
        age, city = rng.uniform(18, 80), ["Paris", "Rome", "Oslo"][i % 3]
        label = "buy" if (age > 45) != (city == "Oslo") else "skip"
        age_text = "" if i % 19 == 0 else f"{age:.1f}".replace(".", ",")  # a European file: decimal commas
        lines.append(f"{age_text};{'' if i % 23 == 5 else city};{rng.normal(3000, 500):.0f};{label}")
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # with a BOM, as Excel writes it
    return path


def test_csv_contract_train_and_predict(tmp_path):
    table, out = _table(tmp_path / "shop.csv"), tmp_path / "shop.safetensors"
    s = train_json("--dataset", "csv", "--csv", str(table), "--target", "label", "--features", "age,city",
                   "--missing", "fill", "--hidden", "16", "--lr", "1e-2", "--epochs", "200", "--out", str(out))
    assert CLASSIFICATION_KEYS <= set(s) and s["dataset"] == "csv" and s["params"] == (4 + 1) * 16 + (16 + 1) * 2
    assert s["baselines"]["mean"]["test_accuracy"] <= s["test_accuracy"]
    rows = tmp_path / "rows.csv"
    rows.write_text("age,city,income\n60,Paris,1\n30,Oslo,2\n,Rome,3\n")
    p = dlcore("predict", "--model", str(out), "--input", str(rows))
    lines = p.stdout.strip().splitlines()
    assert lines[0] == "age,city,income,prediction,probability,p(buy),p(skip)" and len(lines) == 4
    assert lines[1].split(",")[3] == "buy" and "filled with the training median" in p.stderr
    one = tmp_path / "one.csv"
    one.write_text("city,age\nRome,70\n")
    assert dlcore("predict", "--model", str(out), "--input", str(one)).stdout.startswith("predicted label: buy (")
    result = last_json(dlcore("predict", "--model", str(out), "--input", str(one), "--json").stdout)
    assert result["predictions"][0]["prediction"] == "buy" and result["target"] == "label"


def test_repeats_and_folds_report_mean_std_and_every_value(capsys):
    common = ["train", "--dataset", "boston", "--model", "linear", "--epochs", "30", "--lr", "1e-2", "--quiet", "--json"]
    assert main([*common, "--repeats", "3"]) == 0
    s = last_json(capsys.readouterr().out)
    assert len(s["test_rmse_values"]) == 3 and s["test_rmse"] == pytest.approx(np.mean(s["test_rmse_values"]))
    assert s["test_rmse_std"] == pytest.approx(np.std(s["test_rmse_values"], ddof=1))
    assert s["evaluation"] == {"splits": "3 seeded splits (seeds 0-2)", "runs": 3}
    assert len(s["baselines"]["linear"]["test_r2_values"]) == 3 and "test_rmse_std" in s["baselines"]["mean"]
    assert main([*common, "--folds", "4", "--no-baselines"]) == 0
    s = last_json(capsys.readouterr().out)
    assert len(s["test_mae_values"]) == 4 and s["evaluation"]["splits"] == "4-fold cross-validation (seed 0)"
    assert "baselines" not in s
    assert main(["train", "--dataset", "spiral", "--points", "50", "--hidden", "8", "--epochs", "3", "--quiet",
                 "--repeats", "2"]) == 0
    text = capsys.readouterr().out
    assert "test_accuracy = " in text and "over 2 seeded splits (seeds 0-1): " in text and "baseline linear" in text


BAD_TABLE_FLAGS = [
    (["--dataset", "csv"], "--dataset csv needs the table: --csv PATH"),
    (["--dataset", "boston", "--target", "MEDV"], "--target is for your own table"),
    (["--dataset", "csv", "--csv", "t.csv", "--target", "y", "--features", "a,,b"], 'features "a,,b": empty column name'),
    (["--repeats", "0"], "--repeats 0"),
    (["--folds", "1"], "--folds 1"),
    (["--patience", "-2"], "patience -2 is out of range"),
]


@pytest.mark.parametrize("args,fragment", BAD_TABLE_FLAGS, ids=[" ".join(a) for a, _ in BAD_TABLE_FLAGS])
def test_bad_table_flags_exit_2_with_one_line(args, fragment, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", *args, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and fragment in err[0], err


@pytest.mark.parametrize("case", BAD_TABLES, ids=[c[0] for c in BAD_TABLES])
def test_a_bad_table_exits_2_with_one_line(case, tmp_path, capsys):
    name, raw, target, fragment = case
    path = tmp_path / f"{name}.csv"
    path.write_bytes(raw)
    args = ["train", "--dataset", "csv", "--csv", str(path), "--target", target or "c", "--epochs", "1", "--quiet"]
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and fragment in err[0], err


def test_a_table_over_the_upload_limit_exits_2(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 400)
    p = dlcore("train", "--dataset", "csv", "--csv", str(path), "--target", "b", "--quiet", check=False,
               env={"DLCORE_MAX_UPLOAD_BYTES": "1000"})
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0
    assert "big.csv is over the upload limit of 1,000 bytes" in p.stderr and "DLCORE_MAX_UPLOAD_BYTES" in p.stderr
