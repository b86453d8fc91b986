"""Command line: `python -m dlcore train ...`, `python -m dlcore predict ...`.

Bad flags or values exit with code 2 and one line on stderr naming the value and the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys

from .augment import AUGMENTATIONS
from .config import DATASETS, RunConfig, parse_hidden
from .errors import ConfigError, DlcoreError
from .models import ACTIVATIONS, ARCHITECTURES, FFN_HIDDEN
from .optim import OPTIMIZERS, SCHEDULERS
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
    t.add_argument("--train-fraction", type=float, help="spiral share used for training")
    t.add_argument("--drop-b", action="store_true", help="boston: train without the B column")
    t.add_argument("--mnist-source", choices=["auto", "download", "embedded"])
    t.add_argument("--time-budget", type=float, help="stop after this many seconds (0 = none)")
    t.add_argument("--out", help="save the trained model here (.safetensors)")
    t.add_argument("--json", action="store_true", help="print a JSON summary as the last line on stdout")
    t.add_argument("--quiet", action="store_true", help="no progress bar")

    r = sub.add_parser("reproduce", help="rerun a seed text's experiment beside its published numbers")
    r.add_argument("name", nargs="?", help="spiral-table, boston-linear, mnist-ffn, gd-1d or d2l-linear")
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
                   help="boston: 13 comma-separated values in CSV order; spiral: x,y; images: an image file")
    q.add_argument("--json", action="store_true")
    return p


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """The run's config: each flag given, else the dataset's preset, else RunConfig's default."""
    given = {f.name: getattr(a, f.name) for f in dataclasses.fields(RunConfig)
             if f.name != "dataset" and getattr(a, f.name, None) is not None}
    if "hidden" in given:
        given["hidden"] = parse_hidden(given["hidden"])
    for flag in ("drop_b", "batch_norm", "nesterov"):  # store_true flags: only a given flag overrides the preset
        if not given.get(flag):
            given.pop(flag, None)
    return RunConfig(dataset=a.dataset, **{**PRESETS.get(a.dataset, {}), **given}).validate()


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
    return out


def cmd_train(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import checkpoint
    from .train import Trainer

    cfg = config_from_args(a)
    if a.out:
        checkpoint.check_target(a.out)  # before the run, not after it
    trainer = Trainer(cfg)
    if trainer.data.source_reason and trainer.data.source.startswith("embedded"):
        print(f"dlcore: using the {trainer.data.source}: {trainer.data.source_reason}", file=sys.stderr)
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
    if a.json:
        print(json.dumps(s))
    else:
        keys = [k for k in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "test_rmse", "test_mae",
                            "test_r2") if k in s]
        print(" ".join(f"{k}={s[k]:.4f}" for k in keys) + f" params={s['params']} seconds={s['seconds']}")
    return 0


def cmd_predict(a: argparse.Namespace) -> int:
    from pathlib import Path

    from . import checkpoint, predict

    tm = checkpoint.load(a.model)
    ds = tm.cfg.dataset
    if ds == "boston":
        price, warnings = predict.predict_price(tm, a.input.split(","))
        for w in warnings:
            print(f"dlcore: warning: {w}", file=sys.stderr)
        result = {"dataset": ds, "price": price, "unit": "$1000s", "warnings": warnings}
        text = f"predicted price: {price:.2f} ($1000s)"
    elif ds == "spiral":
        try:
            xy = [float(v) for v in a.input.split(",")]
        except ValueError:
            xy = []
        if len(xy) != 2:
            raise predict.InputError(f"spiral input {a.input!r} must be two numbers x,y; use e.g. --input 0.3,-0.2")
        probs = predict.predict_points(tm, xy)[0]
        result = {"dataset": ds, "probabilities": {n: float(p) for n, p in zip(tm.meta["class_names"], probs)}}
        result["label"] = max(result["probabilities"], key=result["probabilities"].get)
        text = f"class {result['label']} ({max(probs):.3f})"
    else:
        if not Path(a.input).is_file():
            raise predict.InputError(f"image file {a.input!r} does not exist; give the path of a PNG or JPEG")
        probs, _ = predict.predict_digit(tm, a.input)
        top = sorted(probs.items(), key=lambda kv: -kv[1])[:3]
        result = {"dataset": ds, "label": top[0][0], "top3": [{"label": k, "confidence": v} for k, v in top]}
        text = ", ".join(f"{k}: {v:.3f}" for k, v in top)
    print(json.dumps(result) if a.json else text)
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
    result = run[a.name]()
    print(f"{result['name']}: {seeds.REPRODUCTIONS[a.name][1]}")
    print(_format_table(result["rows"]))
    for key in ("max_abs_diff", "max_rel_diff", "behaviour", "w", "b", "w_error", "b_error", "data_source"):
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
    args = build_parser().parse_args(argv)
    try:
        if args.command == "train":
            return cmd_train(args)
        if args.command == "reproduce":
            return cmd_reproduce(args)
        return cmd_predict(args)
    except DlcoreError as e:  # a user's value (exit 2: config, device, checkpoint, input) or missing data (exit 1)
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    return 0


if __name__ == "__main__":
    sys.exit(main())
