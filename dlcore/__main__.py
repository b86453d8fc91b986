"""Command line: `python -m dlcore train ...`, `python -m dlcore predict ...`.

Bad flags or values exit with code 2 and one line on stderr naming the value and the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

from .augment import AUGMENTATIONS
from .config import DATASETS, RunConfig, parse_hidden
from .errors import ConfigError, DlcoreError
from .features import FEATURES, RAW, parse_features
from .models import ACTIVATIONS, ARCHITECTURES, FFN_HIDDEN
from .optim import OPTIMIZERS, SCHEDULERS
from .planar import PLANAR
from .presets import PRESETS


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see '{self.prog} --help'\n")


def _fail(message: str, code: int = 2):
    print(f"dlcore: error: {message}", file=sys.stderr)
    sys.exit(code)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="python -m dlcore", description="Train and use the playground's models.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    t = sub.add_parser("train", help="train a model; progress on stderr, --json puts a summary on stdout",
                       description="Flags left out take the dataset's preset (dlcore/presets.py), the settings the "
                                   "app's tab starts with; anything else takes RunConfig's default.")
    t.add_argument("--dataset", choices=DATASETS, default="spiral")
    t.add_argument("--model", choices=sorted(ARCHITECTURES), help="default: the dataset's preset (dlcore/presets.py)")
    t.add_argument("--hidden", help='hidden layer sizes for mlp, e.g. "100,25"')
    t.add_argument("--features", help=f"2-D sets: the input features, from {','.join(FEATURES)} (default x1,x2); "
                                      "csv: the feature columns, e.g. age,city (default: every other column)")
    t.add_argument("--activation", choices=sorted(ACTIVATIONS))
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS))
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--momentum", type=float)
    t.add_argument("--nesterov", action="store_true")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int, help="0 = full batch")
    t.add_argument("--loss", help="cross_entropy|nll|mse (classification), mse|l1|huber (regression)")
    t.add_argument("--weight-decay", type=float)
    t.add_argument("--l1", type=float, help="weight of the L1 penalty sum|w|")
    t.add_argument("--l2", type=float, help="weight of the L2 penalty sum w^2")
    t.add_argument("--dropout", type=float)
    t.add_argument("--batch-norm", action="store_true")
    t.add_argument("--augment", choices=sorted(AUGMENTATIONS), help="images: augment each training batch")
    t.add_argument("--scheduler", choices=sorted(SCHEDULERS))
    t.add_argument("--seed", type=int)
    t.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"])
    t.add_argument("--classes", type=int, help="spiral classes")
    t.add_argument("--points", type=int, help="spiral points per class")
    t.add_argument("--noise", type=float, help="spiral angle noise")
    t.add_argument("--train-fraction", type=float, help="share used for training (spiral 0.8; csv 0.85, as Boston)")
    t.add_argument("--drop-b", action="store_true", help="boston: train without the B column")
    t.add_argument("--mnist-source", choices=["auto", "download", "embedded"])
    t.add_argument("--time-budget", type=float, help="stop after this many seconds (0 = none)")
    t.add_argument("--patience", type=int, help="early stopping: epochs without a better validation loss (0 = off)")
    t.add_argument("--val-fraction", type=float, help="early stopping: share of the training split held out (0.15)")
    t.add_argument("--csv", help="csv: the table to train on (CSV, TSV or ;-separated, UTF-8)")
    t.add_argument("--target", help="csv: the column to predict")
    t.add_argument("--task", dest="table_task", choices=["auto", "regression", "classification"],
                   help="csv: default auto (numbers with many values: regression; text or few whole numbers: classes)")
    t.add_argument("--missing", choices=["drop", "fill"],
                   help="csv: drop rows with a missing value, or fill (training median / most frequent); default drop")
    t.add_argument("--repeats", type=int, default=1,
                   help="train on R seeded splits (seeds SEED..SEED+R-1); every metric as mean ± std with each value")
    t.add_argument("--folds", dest="kfolds", type=int, default=0, help="k-fold cross-validation with K folds")
    t.add_argument("--no-baselines", action="store_true",
                   help="skip the baselines (the mean or majority class, and a linear model) on the same splits")
    t.add_argument("--out", help="save the trained model here (.safetensors)")
    t.add_argument("--json", action="store_true", help="print a JSON summary as the last line on stdout")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("reproduce", help="rerun a seed text's experiment beside its published numbers")
    r.add_argument("name", nargs="?", help="spiral-table, boston-linear, mnist-ffn, gd-1d, d2l-linear or optimizers")
    r.add_argument("--list", action="store_true", help="list the reproductions")
    r.add_argument("--json", action="store_true", help="print the result as one JSON object on the last stdout line")
    r.add_argument("--quick", action="store_true", help="a shorter run (mnist-ffn: 1 epoch; spiral-table: no 10k row)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--lr", type=float, help="gd-1d: the learning rate to try (default the seed's 0.001)")
    r.add_argument("--dataset", choices=["mnist", "fashion"], default="mnist", help="mnist-ffn: which images")
    r.add_argument("--step-lr", action="store_true", help="mnist-ffn: StepLR with gamma 0.9 per epoch")
    r.add_argument("--mnist-source", choices=["auto", "download", "embedded"], default="auto")
    r.add_argument("--threads", type=int, default=0,
                   help="torch threads (0 = torch's default); 1 keeps the small spiral models fast on a busy machine")

    q = sub.add_parser("predict", help="predict with a saved model")
    q.add_argument("--model", required=True, help="a .safetensors checkpoint saved with --out")
    q.add_argument("--input", required=True,
                   help="csv: a CSV of rows with the feature columns; boston: 13 comma-separated values in CSV order "
                        "(or such a CSV); 2-D sets (spiral, xor, ...): x,y; images: an image file")
    q.add_argument("--json", action="store_true")
    add_sweep_parser(sub, t)
    add_reproduce_sweep_flags(r)
    return p


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """The run's config: each flag given, else the dataset's preset, else RunConfig's default."""
    given = {f.name: getattr(a, f.name) for f in dataclasses.fields(RunConfig)
             if f.name != "dataset" and getattr(a, f.name, None) is not None}
    if "hidden" in given:
        given["hidden"] = parse_hidden(given["hidden"])
    if "features" in given:  # computed features of a 2-D set, or a table's columns
        parse = column_names if a.dataset == "csv" else parse_features
        given["features"] = parse(given["features"])
    if a.dataset == "csv" and not a.csv:
        raise ConfigError("--dataset csv needs the table: --csv PATH (and --target COL)")
    for flag in ("csv", "target", "table_task", "missing"):
        if a.dataset != "csv" and getattr(a, flag, None) is not None:
            raise ConfigError(f"--{flag.removeprefix('table_').replace('_', '-')} is for your own table; "
                              "use it with --dataset csv --csv PATH")
    for flag in ("drop_b", "batch_norm", "nesterov"):  # store_true flags: only a given flag overrides the preset
        if not given.get(flag):
            given.pop(flag, None)
    return RunConfig(dataset=a.dataset, **{**PRESETS.get(a.dataset, {}), **given}).validate()


def column_names(text: str) -> tuple[str, ...]:
    """--features "age,city" as column names; an empty name is an error naming its position."""
    names = [n.strip() for n in text.split(",")]
    for i, name in enumerate(names, start=1):
        if not name:
            raise ConfigError(f'features "{text}": empty column name at position {i}; use e.g. "age,city"')
    return tuple(names)


def hidden_sizes(cfg: RunConfig) -> list[int] | None:
    """The hidden layer sizes the model really has (--hidden applies to mlp only); None for the convnet."""
    return {"mlp": list(cfg.hidden), "ffn": list(FFN_HIDDEN), "linear": []}.get(cfg.model)


def summary(trainer, final) -> dict:
    """The JSON contract of `train --json`."""
    cfg = trainer.cfg
    out = {
        "dataset": cfg.dataset, "model": cfg.model, "hidden": hidden_sizes(cfg),
        "activation": None if cfg.model == "linear" else cfg.activation,
        "optimizer": cfg.optimizer, "lr": cfg.lr, "loss": cfg.loss_name, "batch_size": trainer.batch_size,
        "epochs": final.epoch, "epochs_requested": cfg.epochs, "device": str(trainer.device),
        "train_loss": final.train_loss, "test_loss": final.test_loss, **final.metrics,
        "params": trainer.params, "seconds": round(final.elapsed, 3),
        "samples_per_second": round(final.samples_per_second, 1), "data_source": trainer.data.source,
        "data_source_reason": trainer.data.source_reason, "status": final.status, "message": final.message,
        "seed": cfg.seed,
    }
    if final.status != "stopped":  # what the curves say, and the settings to try next ("changes")
        out["diagnosis"] = _jsonable(run_diagnosis(trainer, final).as_dict())
    if cfg.dataset in PLANAR:
        out["features"] = list(cfg.features or RAW)
    if final.best_epoch is not None:  # early stopping: the epoch whose weights the model keeps
        out["best_epoch"] = final.best_epoch
    return out


def run_diagnosis(trainer, final):
    """The run's lesson from its records (dlcore.diagnose), with the test split's most common class as baseline."""
    from .diagnose import diagnose, majority_share

    chance = majority_share(trainer.data.y_test.cpu()) if trainer.cfg.task == "classification" else None
    return diagnose(trainer.cfg, trainer.history, final, chance, trainer.limits.max_epochs)


def _say_data(data) -> None:
    if data.source_reason and data.source.startswith("embedded"):
        print(f"dlcore: using the {data.source}: {data.source_reason}", file=sys.stderr)
    elif data.name == "csv":  # what happened to missing values
        print(f"dlcore: {data.source}: {data.source_reason}", file=sys.stderr)


def cmd_train(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import checkpoint
    from .data import load_data
    from .evaluate import baselines
    from .train import Trainer

    cfg = config_from_args(a)
    if a.repeats < 1 or a.kfolds < 0 or a.kfolds == 1:
        raise ConfigError(f"--repeats {a.repeats} / --folds {a.kfolds}: use --repeats 1 or more and --folds 0 (none) "
                          "or 2 or more")
    if a.out:
        checkpoint.check_target(a.out)  # before the run, not after it
    if a.repeats > 1 or a.kfolds:
        return _train_splits(a, cfg)
    data = load_data(cfg)
    trainer = Trainer(cfg, data)
    _say_data(trainer.data)
    for note in trainer.notes:
        print(f"dlcore: note: {note}", file=sys.stderr)
    bar = tqdm(total=cfg.epochs, unit="epoch", file=sys.stderr, disable=a.quiet, dynamic_ncols=True)
    final = None
    for rec in trainer.run():
        if rec.done:
            final = rec
            break
        post = {"loss": f"{rec.train_loss:.4g}"}
        if rec.test_loss is not None:
            post["test"] = f"{rec.test_loss:.4g}"
        bar.set_postfix(post, refresh=False)
        bar.update(int(rec.epoch) - bar.n)  # tqdm itself limits how often it redraws
    bar.close()
    if final.status == "diverged":
        print(f"dlcore: {final.message}", file=sys.stderr)
    if a.out:
        path = checkpoint.save(trainer.trained(), a.out)
        print(f"dlcore: saved {path}", file=sys.stderr)
    s = summary(trainer, final)
    if not a.no_baselines:  # on the same split; the whole training split, validation part included
        s["baselines"] = baselines(data)
    if "diagnosis" in s:
        print(f"dlcore: diagnosis: {s['diagnosis']['text'].replace('**', '')}", file=sys.stderr)
    _print_summary(s, a.json)
    return 0


def _print_summary(s: dict, as_json: bool) -> None:
    """A run's summary: the JSON object, or one line of key=value pairs with the baselines'."""
    if as_json:
        print(json.dumps(s))
        return
    base = " ".join(f"baseline_{name}_{k}={v:.4f}" for name, m in s.get("baselines", {}).items()
                    for k, v in m.items() if k in SHOWN[1:] and k.startswith("test_"))
    keys = [k for k in SHOWN if k in s]
    print(" ".join(f"{k}={s[k]:.4f}" for k in keys) + f" params={s['params']} seconds={s['seconds']}"
          + (f" {base}" if base else ""))


SHOWN = ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "test_rmse", "test_mae", "test_r2")


def _train_splits(a: argparse.Namespace, cfg: RunConfig) -> int:
    """--repeats / --folds: the run on every split, each metric as mean ± std with every value, beside the
    baselines on the same splits; --out saves the first split's model with the figures in its metadata."""
    import time

    from . import checkpoint
    from .evaluate import evaluate_splits, flat, splits

    configs = splits(cfg, a.repeats, a.kfolds)
    start = time.perf_counter()

    def progress(i, c, final, trainer):
        if i == 0:
            _say_data(trainer.data)
        if not a.quiet:
            shown = " ".join(f"{k}={final.metrics[k]:.4f}" for k in SHOWN if k in final.metrics)
            where = f"fold {c.fold + 1}/{c.folds}, seed {c.seed}" if c.folds else f"seed {c.seed}"
            print(f"dlcore: split {i + 1}/{len(configs)} ({where}): {shown} ({final.message})", file=sys.stderr)

    result = evaluate_splits(cfg, configs, with_baselines=not a.no_baselines, progress=progress)
    trainer, final = result["first"]
    s = summary(trainer, final)
    s.update(flat(result["metrics"]))  # each metric: the mean, its _std and its _values over the splits
    s["seconds"] = round(time.perf_counter() - start, 3)
    s["evaluation"] = {"splits": result["splits"], "runs": result["runs"]}
    if result["baselines"]:
        s["baselines"] = {name: flat(m) for name, m in result["baselines"].items()}
    if a.out:
        tm = trainer.trained()
        tm.meta["metrics"] = flat(result["metrics"])
        tm.meta["metrics_over"] = result["splits"]
        print(f"dlcore: saved {checkpoint.save(tm, a.out)} (the model of the first split)", file=sys.stderr)
    if a.json:
        print(json.dumps(_jsonable(s), allow_nan=False))
        return 0
    for k in (k for k in SHOWN if k in result["metrics"]):
        m = result["metrics"][k]
        values = ", ".join(f"{v:.4f}" for v in m["values"])
        print(f"{k} = {m['mean']:.4f} ± {m['std']:.4f} over {result['splits']}: {values}")
    for name, m in result["baselines"].items():
        shown = ", ".join(f"{k} {v['mean']:.4f} ± {v['std']:.4f}" for k, v in m.items() if k.startswith("test_"))
        print(f"baseline {name} ({BASELINE_WORDS[name]}): {shown}")
    return 0


BASELINE_WORDS = {"mean": "the training mean or majority class", "linear": "a linear model"}


def cmd_predict(a: argparse.Namespace) -> int:
    from . import checkpoint, predict
    from .limits import Limits, read_regular_file

    tm = checkpoint.load(a.model)  # a regular file under the size limit, read with a bounded read
    ds = tm.cfg.dataset
    if ds == "csv" or (ds == "boston" and Path(a.input).is_file()):
        return _predict_table(a, tm)
    if ds == "boston":
        price, warnings = predict.predict_price(tm, a.input.split(","))
        for w in warnings:
            print(f"dlcore: warning: {w}", file=sys.stderr)
        result = {"dataset": ds, "price": price, "unit": "$1000s", "warnings": warnings}
        text = f"predicted price: {price:.2f} ($1000s)"
    elif ds in PLANAR:
        parts = a.input.split(",")
        if len(parts) != 2:
            raise predict.InputError(f"{ds} input {a.input!r} must be two numbers x,y; use e.g. --input 0.3,-0.2")
        xy = list(predict.check_point(parts))  # finite, within the stated range
        result, text = _planar_prediction(tm, xy)
    else:
        if not Path(a.input).exists():
            raise predict.InputError(f"image file {a.input!r} does not exist; give the path of a PNG or JPEG")
        limit = Limits.from_env().max_upload_bytes
        image = read_regular_file(a.input, limit, "image", predict.InputError, fix="use a smaller image")
        probs, _ = predict.predict_digit(tm, image)
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        result = {"dataset": ds, "label": top[0][0], "top3": [{"label": k, "confidence": v} for k, v in top]}
        text = ", ".join(f"{k}: {v:.3f}" for k, v in top)
    print(json.dumps(result) if a.json else text)
    return 0


def _planar_prediction(tm, xy: list[float]) -> tuple[dict, str]:
    """A 2-D model's answer at one point: class probabilities or the value, with a warning for a far point."""
    from . import predict

    ds = tm.cfg.dataset
    warnings = predict.far_point_warnings(tm, xy)
    for w in warnings:
        print(f"dlcore: warning: {w}", file=sys.stderr)
    if tm.meta.get("task") == "regression":
        value = float(predict.predict_values(tm, xy)[0, 0])
        if not math.isfinite(value):
            raise predict.InputError("the model's answer here is not a finite number; the model is broken: train it again")
        return {"dataset": ds, "value": value, "warnings": warnings}, f"value {value:.4f}"
    probs = predict.probe_point(tm, xy)  # a finite answer, or an error
    result = {"dataset": ds, "probabilities": {n: float(p) for n, p in zip(tm.meta["class_names"], probs)}}
    result["label"] = max(result["probabilities"], key=result["probabilities"].get)
    result["warnings"] = warnings
    return result, f"class {result['label']} ({max(probs):.3f})"
def _predict_table(a: argparse.Namespace, tm) -> int:
    """Rows of a CSV through a table's model: one row -> its prediction; several -> the CSV with prediction columns."""
    from .tabular import predict_rows, prep_of, read_table, with_predictions

    rows = read_table(a.input, what=f"the input {a.input}", min_columns=1)
    result, warnings = predict_rows(tm, rows)
    for w in warnings:
        print(f"dlcore: warning: {w}", file=sys.stderr)
    target = prep_of(tm).target
    if a.json:
        records = [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))}
                   for r in result.to_dict(orient="records")]
        print(json.dumps(_jsonable({"dataset": tm.cfg.dataset, "target": target, "predictions": records,
                                    "warnings": warnings}), allow_nan=False))
    elif len(rows) == 1 and result["prediction"].notna().all():
        r = result.iloc[0]
        p = f"{r['prediction']:.4g}" if tm.cfg.task == "regression" else f"{r['prediction']} ({r['probability']:.3f})"
        print(f"predicted {target}: {p}")
    else:
        print(with_predictions(rows, result).to_csv(index=False), end="")
    return 0


def _format_table(rows: list[dict]) -> str:
    """Rows of dicts as an aligned text table (floats to 4 significant digits)."""
    if not rows:
        return "(no rows)"
    cols = list(rows[0])
    cell = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    widths = {c: max(len(c), *(len(cell(r.get(c))) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols), "  ".join("-" * widths[c] for c in cols)]
    lines += ["  ".join(cell(r.get(c)).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def cmd_reproduce(a: argparse.Namespace) -> int:
    from . import seeds

    if a.list or not a.name:
        for name, (_, about) in seeds.REPRODUCTIONS.items():
            print(f"{name:14s} {about}")
        return 0
    if a.name not in seeds.REPRODUCTIONS:
        raise ConfigError(f"reproduction {a.name!r} is unknown; choose from {sorted(seeds.REPRODUCTIONS)}")
    say = lambda msg: print(f"dlcore: {msg}", file=sys.stderr)  # noqa: E731
    if a.threads < 0:
        raise ConfigError(f"--threads {a.threads} is negative; use 0 (torch's default) or a count such as 1")
    if a.threads:
        import torch

        torch.set_num_threads(a.threads)
    run = {  # each reproduction with the flags that apply to it
        "spiral-table": lambda: seeds.spiral_table(seed=a.seed, rows=list(range(5)) if a.quick else None,
                                                   progress=say),
        "boston-linear": lambda: seeds.boston_linear(seed=a.seed),
        "mnist-ffn": lambda: seeds.mnist_ffn(a.dataset, epochs=1 if a.quick else 5, step_lr=a.step_lr,
                                             mnist_source=a.mnist_source, progress=say),
        "gd-1d": lambda: seeds.gd_1d(lr=a.lr if a.lr is not None else 0.001, seed=a.seed),
        "d2l-linear": lambda: seeds.d2l_linear(seed=a.seed),
    }
    result = reproduce_as_sweep(a, say) if a.name in SWEPT or a.sweep else run[a.name]()
    result = with_spread(a, result)
    print(f"{result['name']}: {seeds.REPRODUCTIONS[a.name][1]}")
    print(_format_table(result["rows"]))
    for key in ("max_abs_diff", "max_rel_diff", "behaviour", "w", "b", "w_error", "b_error", "data_source", "sweep"):
        if key in result:
            print(f"{key}: {result[key]}")
    for note in result.get("notes", []):
        print(f"note: {note}")
    if a.json:
        print(json.dumps(_jsonable({k: v for k, v in result.items() if k != "losses"}), allow_nan=False))
    return 0


def _jsonable(value):
    """Plain JSON: numpy scalars and tuples converted, NaN and infinity (a diverged run) as null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    from .denormals import flush_denormals

    flush_denormals()  # before any parallel op, so torch's intra-op threads start with it (see dlcore.denormals)
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "reproduce":
            return cmd_reproduce(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        return cmd_predict(args)
    except DlcoreError as e:  # a user's value (exit 2: config, device, checkpoint, input) or missing data (exit 1)
        _fail(" ".join(str(e).split()), e.exit_code)  # one line, whatever the message holds
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    return 0


# ---------------------------------------------------------------- sweeps (dlcore.sweep, on Ray Tune)

SWEEP_ONLY = ("help", "out", "json", "quiet")  # train flags a sweep does not take (it writes a table, not a model)


def add_sweep_parser(sub, train: argparse.ArgumentParser) -> None:
    """`sweep`: every `train` flag (fixed for all trials), --grid to sweep any of them, and how trials run."""
    import copy

    s = sub.add_parser(
        "sweep", help="train many settings at once as trials on Ray Tune (this machine's cores, or a cluster)",
        description="Flags fix a setting for every trial (as in train; the learning-rate schedule is --lr-schedule "
                    "here); --grid sweeps one. Trials run in parallel on a local Ray, or a cluster with --address / "
                    "RAY_ADDRESS. The last stdout line is JSON (--json); a results.csv is written beside it.")
    for action in train._actions:  # the train subcommand's own flag definitions, shared rather than copied
        if action.dest in SWEEP_ONLY:
            continue
        if action.dest == "scheduler":  # --scheduler is the trial scheduler here (the contract)
            action = copy.copy(action)
            action.option_strings = ["--lr-schedule"]
        s._add_action(action)
    s.add_argument("--grid", action="append", default=[], metavar='"FIELD=V1,V2,..."',
                   help='sweep a field: "lr=1e-4,1e-3", "hidden=100;100,25" (; between values holding commas), '
                        '"lr=loguniform(1e-4,1e-1)" (a draw per sample; also uniform, randint); repeat for more fields')
    s.add_argument("--samples", type=int, default=1, help="repeats of the grid, each with its own random draws")
    s.add_argument("--scheduler", dest="trial_scheduler", choices=["fifo", "asha"], default="fifo",
                   help="fifo: train every trial to the end; asha: stop the weak ones early (ASHA)")
    s.add_argument("--max-concurrent", type=int, default=0, help="trials at once (0 = as many as the CPUs allow)")
    s.add_argument("--metric", default="", help="what ranks the trials (default test_loss; e.g. test_accuracy)")
    s.add_argument("--threads", type=int, default=1, help="CPUs (torch threads) per trial")
    s.add_argument("--address", help="a Ray cluster to run on (default RAY_ADDRESS, else a local Ray)")
    s.add_argument("--storage", help="folder for the sweep's results (default $DLCORE_SWEEPS or ~/.cache/dlcore/sweeps)")
    s.add_argument("--name", default="", help="the sweep's folder name under --storage (default sweep-DATASET-TIME)")
    s.add_argument("--resume", metavar="PATH", help="finish (or just show) the sweep in this folder")
    s.add_argument("--json", action="store_true", help="print the result as one JSON object on the last stdout line")
    s.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def sweep_spec(a: argparse.Namespace):
    """The sweep the flags describe; every refusal (exit 2) before Ray is even imported."""
    from .grid import SweepSpec, parse_axis

    axes = tuple(parse_axis(text) for text in a.grid)
    for axis in axes:
        flag = getattr(a, axis.name, None)
        if flag not in (None, False):
            option = "--lr-schedule" if axis.name == "scheduler" else "--" + axis.name.replace("_", "-")
            raise ConfigError(f"{axis.name} is both fixed ({option}) and swept (--grid \"{axis}\"); drop one")
    base = config_from_args(a)
    return SweepSpec(base, axes, samples=a.samples, scheduler=a.trial_scheduler, metric=a.metric,
                     max_concurrent=a.max_concurrent, threads=a.threads, seed=base.seed)


def sweep_progress(quiet: bool):
    """A progress line on stderr as each trial ends."""
    def show(event: dict) -> None:
        if quiet or event["status"] in ("running",):
            return
        r = event["result"]
        shown = ", ".join(f"{k} {r[k]:.4g}" for k in ("test_loss", "test_accuracy", "test_rmse") if k in r)
        at = f" at epoch {r['epoch']:g}" if "epoch" in r else ""
        print(f"dlcore: trial {event['name']}: {event['status']}{at}" + (f" ({shown})" if shown else ""),
              file=sys.stderr, flush=True)
    return show


def sweep_table(result) -> list[dict]:
    """The trials as the text table shows them: name, status, epochs, losses and metrics, seconds, node."""
    keys = ("train_loss", "test_loss", "test_accuracy", "test_rmse", "test_r2")
    return [{"trial": r["name"], "status": r["status"], "epochs": r["epochs"], **{k: r[k] for k in keys if k in r},
             "seconds": r["seconds"], "node": (r["node_id"] or "")[:8]} for r in result.trials]


def cmd_sweep(a: argparse.Namespace) -> int:
    from . import sweep

    if a.resume:
        result = sweep.resume(a.resume, address=a.address, on_update=sweep_progress(a.quiet))
    else:
        spec = sweep_spec(a)
        result = sweep.run(spec, storage=a.storage, name=a.name, address=a.address, on_update=sweep_progress(a.quiet))
    print(f"sweep {result.path.name}: {len(result.trials)} trials ({result.spec.describe()}), "
          f"{result.spec.scheduler}, ranked by {result.spec.rank_by} ({result.spec.mode})")
    print(_format_table(sweep_table(result)))
    best = result.best
    metric = result.spec.rank_by
    print(f"best: {best['name']} ({metric} {best[metric]:.4g})" if best else "best: none (no trial finished)")
    print(f"epochs trained: {result.epochs_trained:,} of {result.epochs_possible:,}; table: {result.path / 'results.csv'}")
    if a.json:
        print(json.dumps(_jsonable(result.to_json()), allow_nan=False))
    return 0


def add_reproduce_sweep_flags(r: argparse.ArgumentParser) -> None:
    """`reproduce ... --sweep`: run the rows as trials of a sweep, on several seeds, with the spread over seeds."""
    r.add_argument("--sweep", action="store_true",
                   help="spiral-table, mnist-ffn: run as a sweep on Ray Tune, every row on --seeds seeds at once")
    r.add_argument("--seeds", type=int, help="how many seeds the spread is over (default 10 for the fast "
                                             "reproductions, 5 for spiral-table, 3 for mnist-ffn and optimizers)")
    r.add_argument("--address", help="--sweep: a Ray cluster to run on (default RAY_ADDRESS, else a local Ray)")
    r.add_argument("--storage", help="--sweep: folder for the sweep's results")


SWEPT = ("optimizers",)  # reproductions that always run as sweeps


def reproduce_as_sweep(a: argparse.Namespace, say) -> dict:
    """A trainer-based reproduction as a sweep over seeds: the seed's number, ours, and the spread beside them."""
    from . import seedsweep

    if a.name not in seedsweep.SWEEPS:
        raise ConfigError(f"--sweep applies to {', '.join(seedsweep.SWEEPS)}, not {a.name}; drop --sweep")
    progress = sweep_progress(a.quiet if hasattr(a, "quiet") else False)
    return seedsweep.SWEEPS[a.name](a, progress=progress, say=say)


def with_spread(a: argparse.Namespace, result: dict) -> dict:
    """The fast reproductions rerun on seeds 0..N-1 in process, each row with the spread beside it."""
    from . import seedsweep

    if a.name in seedsweep.FAST:
        return seedsweep.FAST[a.name](a, result)
    return result


if __name__ == "__main__":
    sys.exit(main())
