"""Copy as code: the generated script is standalone, runs, trains, and prints the losses dlcore records."""

import ast
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dlcore import codegen
from dlcore.codegen import to_pytorch_code
from dlcore.config import RunConfig
from dlcore.data import FASHION_DIR
from dlcore.models import ACTIVATIONS
from dlcore.optim import LOSSES, OPTIMIZERS, SCHEDULERS
from dlcore.train import Trainer

ALLOWED_IMPORTS = {"csv", "math", "os", "sys", "numpy", "pandas", "torch", "torchvision"}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread here and in the scripts: small models gain nothing from two, and two spinning threads slow
    down many times over when other processes share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _imports(code: str) -> set[str]:
    """Top-level package names the script imports (anywhere in it)."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names


def _write_script(cfg: RunConfig, path: Path) -> Path:
    code = to_pytorch_code(cfg)
    assert "dlcore" not in _imports(code) and _imports(code) <= ALLOWED_IMPORTS, _imports(code)
    path.write_text(code)
    return path


def _numbers(line: str) -> tuple:
    """The numbers of "epoch 3: train loss 0.5, test loss 0.6, test accuracy 0.8" (or of the "final: ..." line)."""
    return tuple(float(part.rsplit(" ", 1)[1]) for part in line.split(": ", 1)[1].split(", "))


def _parse(stdout: str, epochs: int) -> list[tuple]:
    """(train loss, test loss, metric) per progress line; runs of up to 19 epochs print every epoch."""
    rows = [_numbers(line) for line in stdout.splitlines() if line.startswith("epoch ")]
    assert len(rows) == epochs, stdout
    assert stdout.splitlines()[-1].startswith("final: "), stdout
    return rows


def _python(args: list[str], cwd: Path, env: dict | None = None) -> str:
    env = {**os.environ, **(env or {}), "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def _run_script(cfg: RunConfig, tmp_path: Path, epochs: int, *args: str, env: dict | None = None) -> list[tuple]:
    """Write the script for cfg, run it alone for `epochs` (the argv override), return its rows (see _parse)."""
    path = _write_script(cfg, tmp_path / "run.py")
    return _parse(_python([str(path), str(epochs), *args], tmp_path, env), epochs)


def _dlcore_losses(cfg: RunConfig) -> list[float]:
    """dlcore's per-epoch mean training loss for the same run, from the records the app plots.

    A long epoch has records inside it, each the mean since the previous one: weight them by the share of the
    epoch they cover (epoch positions are fractional) to get the epoch's mean.
    """
    epochs, pos, acc = [], 0.0, 0.0
    for r in Trainer(cfg.replace(device="cpu")).run():
        if r.done:
            break
        acc += r.train_loss * (r.epoch - pos)
        pos = r.epoch
        if r.test_loss is not None:  # the end of an epoch
            epochs.append(acc)
            acc = 0.0
    return epochs


def test_a_long_run_prints_a_short_summary(tmp_path):
    # ~10 % of the epochs apart, then the final train and test metrics: the numbers dlcore records for the same run
    cfg = RunConfig(points=100, hidden=(16,), lr=1e-2, epochs=40)
    out = _python([str(_write_script(cfg, tmp_path / "run.py"))], tmp_path).splitlines()
    assert [line.split(":")[0] for line in out] == [f"epoch {e}" for e in range(4, 41, 4)] + ["final"]
    ours = _dlcore_losses(cfg)
    assert [_numbers(line)[0] for line in out[:-1]] == pytest.approx(ours[3::4], rel=1e-4, abs=2e-6)
    final = list(Trainer(cfg.replace(device="cpu")).run())[-1]
    expected = (final.train_loss, final.metrics["train_accuracy"], final.test_loss, final.metrics["test_accuracy"])
    assert _numbers(out[-1]) == pytest.approx(expected, rel=1e-4, abs=1e-4)


def test_the_script_flushes_denormals_before_any_work():
    code = to_pytorch_code(RunConfig())
    body = code.split("def main():\n", 1)[1].splitlines()
    assert body[0].strip().startswith("torch.set_flush_denormal(True)")


def test_registries_are_all_covered():
    # a name added to a dlcore registry must be taught to the generator too
    assert set(codegen.ACT) == set(ACTIVATIONS)
    assert set(codegen.OPT) == set(OPTIMIZERS)
    assert set(codegen.SCHED) == set(SCHEDULERS)
    assert set(codegen.LOSS) == {(task, name) for task, losses in LOSSES.items() for name in losses}


CONFIGS = {
    "spiral-mlp-adam": RunConfig(hidden=(32, 16), lr=1e-2),
    "spiral-gd": RunConfig(points=200, hidden=(16,), optimizer="gd", lr=0.5, weight_decay=1e-3),
    "boston-linear-gd": RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2),
    "boston-mlp-l1-l2-step": RunConfig(dataset="boston", model="mlp", hidden=(16,), lr=1e-2, l1=1e-4, l2=1e-4,
                                       scheduler="step", drop_b=True),
    "spiral-minibatch-bn-dropout-nll": RunConfig(points=200, hidden=(16,), batch_norm=True, dropout=0.1, batch_size=64,
                                                 loss="nll", optimizer="sgd", lr=0.1, momentum=0.9, scheduler="cosine"),
    "boston-huber-gd-cosine": RunConfig(dataset="boston", model="mlp", hidden=(8,), optimizer="gd", lr=1e-2,
                                        loss="huber", scheduler="cosine", batch_size=64),
}


@pytest.mark.parametrize("cfg", CONFIGS.values(), ids=CONFIGS.keys())
def test_generated_script_trains_like_dlcore(cfg, tmp_path):
    epochs = 6
    rows = _run_script(cfg, tmp_path, epochs)
    losses = [r[0] for r in rows]
    assert losses[-1] < losses[0]
    # same data, split, initial weights, batch order and update: the losses dlcore recorded, to print precision
    ours = _dlcore_losses(cfg.replace(epochs=epochs))
    assert losses == pytest.approx(ours, rel=1e-4, abs=2e-6)


def _optimizer_config(name: str) -> RunConfig:
    lr = {"gd": 0.5, "sgd": 0.1, "adadelta": 1.0, "lbfgs": 0.5, "adagrad": 0.1}.get(name, 1e-2)
    return RunConfig(points=100, hidden=(16,), optimizer=name, lr=lr, nesterov=name == "sgd", weight_decay=1e-4,
                     momentum=0.9 if name in ("sgd", "rmsprop") else 0.0)


@pytest.fixture(scope="module")
def optimizer_runs(tmp_path_factory) -> dict[str, list[tuple]]:
    """Every optimizer's script, run for 8 epochs one after another in one fresh interpreter (one torch start-up)."""
    folder = tmp_path_factory.mktemp("optimizers")
    paths = [str(_write_script(_optimizer_config(name), folder / f"{name}.py")) for name in sorted(OPTIMIZERS)]
    driver = ("import runpy, sys\n"
              "for path in sys.argv[1:]:\n"
              "    print('=== ' + path, flush=True)\n"
              "    sys.argv = [path, '8']\n"
              "    runpy.run_path(path, run_name='__main__')\n")
    chunks = _python(["-c", driver, *paths], folder).split("=== ")[1:]
    return {Path(chunk.split("\n", 1)[0]).stem: _parse(chunk.split("\n", 1)[1], 8) for chunk in chunks}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_generated_script_for_every_optimizer(name, optimizer_runs):
    losses = [r[0] for r in optimizer_runs[name]]
    assert losses[-1] < losses[0]
    assert losses == pytest.approx(_dlcore_losses(_optimizer_config(name).replace(epochs=8)), rel=1e-4, abs=2e-6)


def test_boston_script_reads_the_csv_given_as_argument(tmp_path):
    cfg = RunConfig(dataset="boston", model="linear", optimizer="gd", lr=1e-2)
    code = to_pytorch_code(cfg)
    default = next(line for line in code.splitlines() if line.startswith("CSV = "))
    assert Path(ast.literal_eval(default.split(" else ")[1])).is_file()  # the shipped CSV by default
    csv_copy = tmp_path / "houses.csv"
    shutil.copy(ast.literal_eval(default.split(" else ")[1]), csv_copy)
    assert _run_script(cfg, tmp_path, 2, str(csv_copy)) == _run_script(cfg, tmp_path, 2)
    p = subprocess.run([sys.executable, str(tmp_path / "run.py"), "1", str(tmp_path / "missing.csv")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "missing.csv" in p.stderr


@pytest.mark.parametrize("cfg", [RunConfig(dataset="mnist", model="cnn", batch_size=64, epochs=3),
                                 RunConfig(dataset="fashion", model="ffn", optimizer="sgd", lr=0.01, batch_size=64,
                                           loss="nll", scheduler="step")], ids=["mnist-cnn", "fashion-ffn"])
def test_image_scripts_use_torchvision_with_the_seed_normalisation(cfg):
    code = to_pytorch_code(cfg)
    compile(code, "run.py", "exec")
    assert "torchvision" in _imports(code) and "dlcore" not in _imports(code)
    assert "/ 255 - 0.1307) / 0.3081" in code  # the seed's Normalize((0.1307,), (0.3081,)) on [0, 1] pixels
    assert ("datasets.MNIST(" in code) == (cfg.dataset == "mnist")


@pytest.mark.parametrize("model", ["cnn", "cnn_bn", "cnn_patch"])
def test_image_scripts_build_dlcores_convnet_layer_for_layer(model):
    """The Digits tab's default (cnn_bn) and the LeNet-style cnn: the script's nn.Sequential has dlcore's weights, name
    for name and shape for shape; what the plain loop leaves out (the augmentation) is said in the script."""
    from dlcore.models import build_model
    from dlcore.presets import preset

    cfg = preset("mnist", model=model).validate()
    code = to_pytorch_code(cfg)
    start = code.index("model = nn.Sequential(") + len("model = ")
    expr = code[start:code.index("\n", code.index("nn.Linear(", start))].rstrip().rstrip(",")
    theirs = eval(expr, {"nn": torch.nn}).state_dict()  # noqa: S307  our own generated expression
    ours = build_model(cfg, (1, 28, 28), 10).state_dict()
    assert {k: v.shape for k, v in theirs.items()} == {k: v.shape for k, v in ours.items()}
    assert "'digits' augmentation is left out" in code


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_script_matches_dlcore_for_an_epoch(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"  # where torchvision looks, so the script finds the files offline
    raw.mkdir(parents=True)
    for gz in FASHION_DIR.glob("*-ubyte.gz"):
        with gzip.open(gz) as src, open(raw / gz.name.removesuffix(".gz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    cfg = RunConfig(dataset="fashion", model="ffn", optimizer="sgd", lr=0.01, batch_size=64, loss="nll", epochs=1)
    (train_loss, _, accuracy), = _run_script(cfg, tmp_path, 1, env={"DATA": str(tmp_path)})
    assert accuracy > 0.6
    assert train_loss == pytest.approx(_dlcore_losses(cfg)[0], rel=1e-4)


def _table(path: Path) -> str:
    """A table with a number with gaps, a category with gaps, a boolean and a whole-number label."""
    import numpy as np

    rng = np.random.default_rng(5)
    lines = ["age;city;member;visits;grade"]
    for i in range(150):
        age, city = rng.uniform(18, 80), ["Paris", "Rome", "Oslo"][i % 3]
        grade = int(age > 45) + int(city == "Oslo")
        lines.append(f"{'' if i % 13 == 0 else round(age, 1)};{'' if i % 17 == 3 else city};{bool(i % 2)};{i % 7};"
                     f"{grade}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.mark.parametrize("target,missing", [("grade", "fill"), ("age", "drop")], ids=["classes-fill", "numbers-drop"])
def test_a_table_script_prepares_the_table_like_dlcore(target, missing, tmp_path):
    cfg = RunConfig(dataset="csv", csv=_table(tmp_path / "shop.csv"), target=target, missing=missing, hidden=(16,),
                    lr=1e-2, train_fraction=0.85, patience=3)
    cfg = cfg.replace(table_task="classification" if target == "grade" else "regression")
    code = to_pytorch_code(cfg)
    assert "early stopping (patience 3) is left out" in code
    rows = _run_script(cfg.replace(patience=0), tmp_path, 5)
    assert [r[0] for r in rows] == pytest.approx(_dlcore_losses(cfg.replace(epochs=5, patience=0)), rel=1e-4, abs=2e-6)
