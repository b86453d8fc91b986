"""The playground: a Gradio Blocks app over dlcore. Handlers turn widget values into a RunConfig, call dlcore, and turn
progress records and predictions into components. Run `python app.py`.

Per-user models live in gr.State (one dict per tab), so two people training at once never see each other's model. A
tab keeps its model until a new run has usable weights: a finished run (or one ended by the job's time limit)
replaces it, a run stopped by the user replaces it only after at least one full epoch, a diverged or failed run never
does (the policy lives in dlcore/session.py).
"""

from __future__ import annotations

import os

# No outside calls at start: gradio's version check and telemetry are off unless explicitly enabled.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("MPLBACKEND", "Agg")  # figures are rendered off-screen on worker threads

import atexit  # noqa: E402
import functools  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dlcore import checkpoint, plots  # noqa: E402
from dlcore.config import ConfigError, Limits, RunConfig, parse_hidden  # noqa: E402
from dlcore.data import B_NOTE, FASHION_DIR, DataError, load_data  # noqa: E402
from dlcore.defaults import load_default  # noqa: E402
from dlcore.models import ACTIVATIONS, estimate_params  # noqa: E402
from dlcore.optim import LOSSES, OPTIMIZERS, SCHEDULERS  # noqa: E402
from dlcore.predict import BOSTON_ORDER, model_input, predict_digit, predict_points, predict_price  # noqa: E402
from dlcore.session import LiveRun, cached_data, describe_model, parse_lr, parse_number, status_line, stopped_run  # noqa: E402
from dlcore.train import TrainedModel, available_devices, forward_chunked  # noqa: E402

log = logging.getLogger("playground")

LIMITS = Limits.from_env()
UPDATES_PER_SECOND = float(os.environ.get("DLCORE_UI_UPDATES_PER_SECOND", "8"))  # live UI refresh rate while training
BOUNDARY_EVERY = 0.5  # seconds between decision-boundary redraws
TRAIN_CONCURRENCY = int(os.environ.get("DLCORE_TRAIN_CONCURRENCY", "2"))  # training jobs at once, all users together
PREDICT_CONCURRENCY = int(os.environ.get("DLCORE_PREDICT_CONCURRENCY", "8"))
QUEUE_SIZE = int(os.environ.get("DLCORE_QUEUE_SIZE", "64"))
# Threads per torch op. Several jobs share the process, and torch's thread pools collapse when oversubscribed (a
# 512x512 matmul ran 6x slower on 2 threads than on 1 with one other busy core here), so split the cores between the
# training slots unless DLCORE_TORCH_THREADS says otherwise.
TORCH_THREADS = int(os.environ.get("DLCORE_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // TRAIN_CONCURRENCY)
LR_CHOICES = ["1e-5", "3e-5", "1e-4", "3e-4", "1e-3", "3e-3", "1e-2", "3e-2", "0.1", "0.3", "1", "3", "10"]
DEVICE_CHOICES = ["auto", *available_devices()]
OFFLINE = os.environ.get("DLCORE_OFFLINE", "") in ("1", "true", "True")
# label -> (dataset, mnist_source). Fashion-MNIST is offered where it can be had: Debian's package, or a download.
DIGIT_DATASETS = {"MNIST": ("mnist", "auto"), "MNIST, built-in 5,000 digits": ("mnist", "embedded")}
if FASHION_DIR.is_dir() or not OFFLINE:
    DIGIT_DATASETS["Fashion-MNIST"] = ("fashion", "auto")
DIGIT_MODELS = {"logistic regression": "linear", "feed-forward net (seed 001)": "ffn", "CNN": "cnn"}
CURVE_COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}
DOWNLOAD_DIR = Path(tempfile.mkdtemp(prefix="dlcore-models-"))
atexit.register(shutil.rmtree, DOWNLOAD_DIR, True)
DOWNLOAD_TTL = 3600.0  # seconds a model file stays in DOWNLOAD_DIR (gradio serves its own copy from its cache)


# ================================================================ helpers


def _as_gr_error(e: Exception) -> gr.Error:
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, (ConfigError, DataError)):  # user-facing: the message names the value and the fix
        return gr.Error(str(e), title="Please check the settings", print_exception=False)  # no traceback in the log
    log.error("unexpected error in a handler", exc_info=e)  # the traceback stays in the server log
    return gr.Error(f"the server hit an unexpected {type(e).__name__} ({str(e)[:200]}). Your last good model is kept; "
                    "try smaller settings, or report this with the settings you used", title="Something went wrong",
                    print_exception=False)  # logged just above, once


def user_errors(fn):
    """Every exception a handler raises reaches the user as a gr.Error, never as a traceback."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # GeneratorExit (a cancel) is not an Exception and passes through
                raise _as_gr_error(e) from None
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise _as_gr_error(e) from None
    return call


number = parse_number  # a widget value as a number, or a ConfigError naming the field


@functools.cache
def default_model(name: str) -> TrainedModel:
    """The shipped default model, loaded once per process and only read (eval mode, no_grad)."""
    return load_default(name)


def default_label(name: str) -> str:
    """The built-in model described with its recorded held-out metric."""
    tm = default_model(name)
    m = tm.meta.get("metrics", {})
    if name == "digits":
        return f"the built-in default {tm.cfg.model.upper()} (held-out accuracy {m.get('test_accuracy', float('nan')):.3f})"
    arch = f"MLP {','.join(map(str, tm.cfg.hidden))}" if tm.cfg.model == "mlp" else tm.cfg.model
    return f"the built-in default model ({arch}; test RMSE {m.get('test_rmse', float('nan')):.2f})"


def params_text(model: str, hidden: str, dataset: str, activation: str = "relu") -> str:
    """The live parameter count under the architecture controls (or what is wrong with the hidden-layers text)."""
    shapes = {"spiral": ((2,), 3), "boston": ((13,), 1), "mnist": ((1, 28, 28), 10), "fashion": ((1, 28, 28), 10)}
    try:
        sizes = parse_hidden(hidden, LIMITS) if model == "mlp" else (100,)
        if model == "mlp" and not sizes:
            raise ConfigError('hidden layers are empty; give at least one size such as "100,25"')
        in_shape, n_out = shapes[dataset]
        n = estimate_params(RunConfig(dataset=dataset, model=model, hidden=sizes, activation=activation), in_shape, n_out)
    except ConfigError as e:
        return f"⚠️ {e}"
    flag = " — over the limit, use smaller layers" if n > LIMITS.max_params else ""
    return f"**{n:,}** trainable parameters{flag}"


def _prune_downloads() -> None:
    cutoff = time.time() - DOWNLOAD_TTL
    for folder in DOWNLOAD_DIR.iterdir():
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def save_for_download(tm: TrainedModel, stem: str) -> str:
    """Write the model as .safetensors into this process's download folder; returns the path for gr.DownloadButton."""
    _prune_downloads()
    folder = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR))
    return str(checkpoint.save(tm, folder / f"{stem}.safetensors"))


def download_update(state: dict):
    """The Download button for the tab's current model (disabled while there is none), named after its dataset."""
    tm = (state or {}).get("model")
    if tm is None:
        return gr.update(value=None, interactive=False)
    return gr.update(value=save_for_download(tm, tm.cfg.dataset), interactive=True)


def restore_upload(path: str | None, dataset_choices: tuple[str, ...]) -> TrainedModel:
    """A user's uploaded checkpoint, refused with a clear reason unless it is an intact dlcore model for this tab."""
    if not path:
        raise ConfigError("no file was uploaded; choose a .safetensors model saved by the playground")
    tm = checkpoint.load(path, limits=LIMITS)
    if tm.cfg.dataset not in dataset_choices:
        raise ConfigError(f"this model was trained on {tm.cfg.dataset!r}; upload it in its own tab, or upload a "
                          f"model for {' or '.join(dataset_choices)}")
    return tm


def final_note(rec, kept_previous: bool) -> str:
    if rec.status == "diverged":
        return f"⚠️ {rec.message}." + (" The previous model is kept." if kept_previous else
                                     " Nothing was kept: this tab still has no trained model.")
    if rec.status == "time_limit":
        return f"⏱️ {rec.message}. The model trained so far is now in use."
    return f"✅ {rec.message}. This model is now used for predictions."


def final_status(rec, run: LiveRun) -> str:
    """The status box after a run: the last record's numbers and what became of the model. A diverged run's numbers
    are those of the weights it fell back to, not a result, so only the note is shown."""
    note = final_note(rec, run.kept_previous)
    return note if rec.status == "diverged" else status_line(rec, run.device) + "\n\n" + note


def after_stop(state):
    """After Stop: say what became of the cancelled run and which model the tab holds now."""
    run = stopped_run(state)
    if run is None:  # nothing was running (not started yet, or already finished): leave the status as it is
        return gr.skip(), gr.skip(), gr.skip()
    if not run.ended.is_set():
        return "⏹️ Stopping… the run ends at its next update.", gr.skip(), gr.skip()
    head = status_line(run.last, run.device) + "\n\n" if run.last is not None else ""
    return head + "⏹️ " + run.result, download_update(state), code_for(state)


# ================================================================ spiral


def spiral_config(classes, points, noise, train_fraction, seed, model, hidden, activation, optimizer, lr, loss,
                  epochs, batch_size, weight_decay, l1, l2, dropout, scheduler, device) -> RunConfig:
    sizes = parse_hidden(hidden, LIMITS) if model == "mlp" else ()
    return RunConfig(
        dataset="spiral", classes=number("classes", classes, whole=True, example="3"),
        points=number("points per class", points, whole=True, example="1000"),
        noise=number("noise", noise, example="0.2"),
        train_fraction=number("train fraction", train_fraction, example="0.8"),
        seed=number("seed", seed, whole=True, example="0"), model=model, hidden=sizes, activation=activation,
        optimizer=optimizer, lr=parse_lr(lr), loss=loss, epochs=number("epochs", epochs, whole=True, example="1000"),
        batch_size=number("batch size", batch_size, whole=True, example="0 (full batch) or 64"),
        weight_decay=number("weight decay", weight_decay, example="1e-5"), l1=number("L1 penalty", l1, example="0"),
        l2=number("L2 penalty", l2, example="0"), dropout=number("dropout", dropout, example="0"),
        scheduler=scheduler, device=device,
    ).validate(LIMITS)


@user_errors
def train_spiral(classes, points, noise, train_fraction, seed, model, hidden, activation, optimizer, lr, loss, epochs,
                 batch_size, weight_decay, l1, l2, dropout, scheduler, device, state=None):
    """Stream a spiral run: (status, loss curves, accuracy curves, boundary image, state, download button)."""
    cfg = spiral_config(classes, points, noise, train_fraction, seed, model, hidden, activation, optimizer, lr, loss,
                        epochs, batch_size, weight_decay, l1, l2, dropout, scheduler, device)
    with LiveRun(cfg, state, LIMITS) as run:
        d = run.data
        overlay = plots.points_overlay(d.x_train.cpu(), d.y_train.cpu(), d.x_test.cpu(), d.y_test.cpu())
        live = TrainedModel(run.cfg, run.trainer.model, {})  # the model being trained, as the grid function wants it

        def render(rec, redraw):  # on the training thread, between steps
            boundary = plots.boundary_image(live, overlay) if redraw else gr.skip()
            loss_df, acc_df = plots.curves_frame(run.curves, "loss"), plots.curves_frame(run.curves, "metric")
            if not rec.done:
                return status_line(rec, run.device), loss_df, acc_df, boundary, gr.skip(), gr.skip()
            return (final_status(rec, run), loss_df, acc_df,
                    boundary, run.state, download_update(run.state))

        yield from run.stream(render, 1.0 / UPDATES_PER_SECOND, BOUNDARY_EVERY)

@user_errors
def spiral_preview(classes, points, noise, train_fraction, seed, state=None):
    """Regenerate: draw the data (under the current model's regions, if there is a model)."""
    cfg = RunConfig(dataset="spiral", classes=number("classes", classes, whole=True, example="3"),
                    points=number("points per class", points, whole=True, example="1000"),
                    noise=number("noise", noise, example="0.2"),
                    train_fraction=number("train fraction", train_fraction, example="0.8"),
                    seed=number("seed", seed, whole=True, example="0")).validate(LIMITS)
    d = cached_data(cfg)
    overlay = plots.points_overlay(d.x_train, d.y_train, d.x_test, d.y_test)
    tm = (state or {}).get("model")
    if tm is not None and tm.meta.get("num_outputs") != cfg.classes:
        tm = None
    return plots.boundary_image(tm, overlay), f"{len(d.x_train):,} training and {len(d.x_test):,} held-out points"


@user_errors
def spiral_probe(x, y, state=None):
    """Class probabilities at the point (x, y) under the session's spiral model."""
    tm = (state or {}).get("model")
    if tm is None:
        raise ConfigError("there is no spiral model yet; press Train first, then click the picture or enter x and y")
    px, py = number("x", x, example="0.3"), number("y", y, example="-0.2")
    probs = predict_points(tm, [[px, py]])[0]
    return {f"class {name}": float(p) for name, p in zip(tm.meta["class_names"], probs)}


NO_SPIRAL_MODEL = "There is no spiral model yet: press Train, then click the picture or enter x and y."


def spiral_click(state, evt: gr.SelectData):
    """A click on the boundary image: the point it shows and the model's class probabilities there.

    Before any training the point is still filled in and a notice (not an error, which would badge the x and y
    boxes) says to train first."""
    col, row = evt.index[0], evt.index[1]
    x, y = plots.px_to_xy(col, row)
    if (state or {}).get("model") is None:
        gr.Warning(NO_SPIRAL_MODEL)
        return round(x, 4), round(y, 4), gr.skip()
    return round(x, 4), round(y, 4), spiral_probe(x, y, state)


# ================================================================ boston


def boston_config(model, hidden, activation, optimizer, lr, loss, epochs, batch_size, weight_decay, l1, l2, dropout,
                  scheduler, device, seed, drop_b) -> RunConfig:
    sizes = parse_hidden(hidden, LIMITS) if model == "mlp" else ()
    return RunConfig(
        dataset="boston", model=model, hidden=sizes, activation=activation, optimizer=optimizer, lr=parse_lr(lr),
        loss=loss, epochs=number("epochs", epochs, whole=True, example="300"),
        batch_size=number("batch size", batch_size, whole=True, example="0 (full batch) or 32"),
        weight_decay=number("weight decay", weight_decay, example="1e-4"), l1=number("L1 penalty", l1, example="0"),
        l2=number("L2 penalty", l2, example="0"), dropout=number("dropout", dropout, example="0"),
        scheduler=scheduler, device=device, seed=number("seed", seed, whole=True, example="0"), drop_b=bool(drop_b),
    ).validate(LIMITS)


@user_errors
def train_boston(model, hidden, activation, optimizer, lr, loss, epochs, batch_size, weight_decay, l1, l2, dropout,
                 scheduler, device, seed, drop_b, state=None):
    """Stream a Boston run: (status, loss curves, RMSE curve, scatter/residual figure, state, download button)."""
    cfg = boston_config(model, hidden, activation, optimizer, lr, loss, epochs, batch_size, weight_decay, l1, l2,
                        dropout, scheduler, device, seed, drop_b)
    with LiveRun(cfg, state, LIMITS) as run:
        def render(rec, _redraw):
            loss_df, rmse_df = plots.curves_frame(run.curves, "loss"), plots.curves_frame(run.curves, "metric")
            if not rec.done:
                return status_line(rec, run.device), loss_df, rmse_df, gr.skip(), gr.skip(), gr.skip()
            d = run.data
            pred = forward_chunked(run.trainer.model, d.x_test).cpu().numpy()
            fig = plots.regression_figure(d.y_test.cpu().numpy(), pred, rec.metrics)
            return (final_status(rec, run), loss_df, rmse_df,
                    gr.update(value=fig, visible=True), run.state, download_update(run.state))

        yield from run.stream(render, 1.0 / UPDATES_PER_SECOND)

@user_errors
def predict_house(*values_and_state):
    """The 13 features in CSV order (CRIM … LSTAT) -> (price in $1000s, notes). Uses the session's model if any."""
    *values, state = values_and_state if len(values_and_state) == 14 else (*values_and_state, None)
    own = (state or {}).get("model")
    price, warnings = predict_price(own or default_model("boston"), values)
    for w in warnings:
        gr.Warning(w)
    notes = "\n".join(f"- ⚠️ {w}" for w in warnings)
    which = describe_model(own, default_label("boston"))
    return round(price, 2), f"Predicted with {which}. Value in $1000s." + (f"\n\n{notes}" if notes else "")


# ================================================================ digits


def digits_config(dataset_label, model_label, activation, optimizer, lr, loss, epochs, batch_size, weight_decay,
                  scheduler, device, seed) -> RunConfig:
    if dataset_label not in DIGIT_DATASETS:
        raise ConfigError(f"dataset {dataset_label!r} is unknown; choose from {list(DIGIT_DATASETS)}")
    if model_label not in DIGIT_MODELS:
        raise ConfigError(f"architecture {model_label!r} is unknown; choose from {list(DIGIT_MODELS)}")
    dataset, source = DIGIT_DATASETS[dataset_label]
    return RunConfig(
        dataset=dataset, mnist_source=source, model=DIGIT_MODELS[model_label], hidden=(), activation=activation,
        optimizer=optimizer, lr=parse_lr(lr), loss=loss, epochs=number("epochs", epochs, whole=True, example="5"),
        batch_size=number("batch size", batch_size, whole=True, example="64"),
        weight_decay=number("weight decay", weight_decay, example="0"), scheduler=scheduler, device=device,
        seed=number("seed", seed, whole=True, example="0"),
    ).validate(LIMITS)


def misclassified(d, logits, limit: int = 24) -> list[tuple[np.ndarray, str]]:
    """The `limit` most confidently misclassified test images, with 'true → predicted (confidence)' captions."""
    import torch

    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    truth = d.y_test.to(pred.device)
    wrong = (pred != truth).nonzero().flatten()
    wrong = wrong[conf[wrong].argsort(descending=True)][:limit].tolist()
    mean, std = d.norm["mean"][0], d.norm["std"][0]
    names = d.class_names
    return [(plots.digit_preview((d.x_test[i, 0].cpu().numpy() * std + mean).clip(0, 1), 3),
             f"true {names[int(truth[i])]} → {names[int(pred[i])]} ({conf[i]:.0%})") for i in wrong]


def data_note(d) -> str:
    """Where the images came from, said plainly (the embedded subset says why)."""
    if d.source.startswith("embedded"):
        return f"Data: the {d.source}, not the full 60,000 — {d.source_reason}."
    return f"Data: {d.source}."


@user_errors
def train_digits(dataset_label, model_label, activation, optimizer, lr, loss, epochs, batch_size, weight_decay,
                 scheduler, device, seed, state=None):
    """Stream a digits run: (status, loss curves, accuracy curves, confusion matrix, gallery, state, download)."""
    cfg = digits_config(dataset_label, model_label, activation, optimizer, lr, loss, epochs, batch_size, weight_decay,
                        scheduler, device, seed)
    with LiveRun(cfg, state, LIMITS) as run:
        source = data_note(run.data)

        def render(rec, _redraw):
            loss_df, acc_df = plots.curves_frame(run.curves, "loss"), plots.curves_frame(run.curves, "metric")
            if not rec.done:
                return (status_line(rec, run.device) + "\n\n" + source, loss_df, acc_df, gr.skip(), gr.skip(),
                        gr.skip(), gr.skip())
            d = run.data
            logits = forward_chunked(run.trainer.model, d.x_test)
            cm = plots.confusion_matrix(d.y_test.cpu().numpy(), logits.argmax(1).cpu().numpy(), len(d.class_names))
            fig, gallery = plots.confusion_figure(cm, d.class_names), misclassified(d, logits)
            return (final_status(rec, run) + "\n\n" + source,
                    loss_df, acc_df, gr.update(value=fig, visible=True), gr.update(value=gallery, visible=True),
                    run.state, download_update(run.state))

        yield from run.stream(render, 1.0 / UPDATES_PER_SECOND)

@user_errors
def predict_sketch(sketch, state=None):
    """A Sketchpad value (or an image path) -> (top-3 label, the 28x28 image the model sees, which model)."""
    own = (state or {}).get("model")
    probs, img28 = predict_digit(own or default_model("digits"), sketch, LIMITS)
    return probs, plots.digit_preview(img28), f"Predicted with {describe_model(own, default_label('digits'))}."


@user_errors
def predict_sketch_label(sketch, state=None):
    """/predict_digit: (top-3 label, which model). The 28x28 preview is its own event (/sketch_preview) that the
    Predict button chains after this one, so an API client asking for a label does not also fetch a picture file
    (gradio_client downloads every file output, which cost a third of the round trip)."""
    probs, _, which = predict_sketch(sketch, state)
    return probs, which


@user_errors
def sketch_preview(sketch, state=None):
    """/sketch_preview: the 28x28 image the model sees, as the digits model preprocesses the drawing (no forward)."""
    return plots.digit_preview(model_input((state or {}).get("model") or default_model("digits"), sketch, LIMITS))


# ================================================================ uploads


def upload_handler(dataset_choices: tuple[str, ...]):
    @user_errors
    def restore(path, state=None):
        tm = restore_upload(path, dataset_choices)
        state = state if state is not None else {}
        state["model"], state["history"] = tm, []
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in tm.meta.get("metrics", {}).items()
                            if isinstance(v, (int, float)) and k.startswith("test_"))
        return (f"✅ Restored {describe_model(tm, '')} ({metrics or 'no metrics recorded'}). It is now used for "
                "predictions.", state, download_update(state))
    return restore


# ================================================================ seed lab


def code_for(state) -> str:
    """'Copy as PyTorch code' for the tab's current model: a standalone script with the same settings."""
    from dlcore.codegen import to_pytorch_code

    tm = (state or {}).get("model")
    if tm is None:
        return "# Train a model first: its settings become a standalone PyTorch script here."
    return to_pytorch_code(tm.cfg)


REPRODUCTION_TICK = 0.1  # seconds between yields of a long reproduction (a cancel waits at most this long)


@user_errors
def run_reproduction(name: str, lr):
    """Run one seed reproduction, streaming its progress: (table, notes, figure or None) at the end.

    The long ones (the spiral table, the MNIST FFN) train in a worker thread that checks a stop flag between steps,
    and the notes list each row or epoch as it finishes. Stop (which closes this generator) ends the worker before its
    next step and the notes keep what finished; the job's time limit ends it too, and then the table shows those rows.
    """
    from dlcore import seeds

    if name not in seeds.REPRODUCTIONS:
        raise ConfigError(f"reproduction {name!r} is unknown; choose from {sorted(seeds.REPRODUCTIONS)}")
    fig = None
    if name == "gd-1d":
        rate = number("learning rate", lr, example="0.001")
        if not 0 < rate <= 1:
            raise ConfigError(f"learning rate {rate:g} is out of range; use a value in (0, 1], e.g. 0.001")
        result, fig = seeds.gd_1d(lr=rate), seeds.gd_1d_figure(rate)
    elif name in ("spiral-table", "mnist-ffn"):
        fn = seeds.spiral_table if name == "spiral-table" else seeds.mnist_ffn
        yield pd.DataFrame(), "⏳ running… 0 s", None  # clear the last results (a cancel then shows no stale table)
        result = yield from _stream_reproduction(fn)
    else:
        result = seeds.REPRODUCTIONS[name][0]()
    extra = [f"- **{k}**: {result[k]}" for k in ("max_abs_diff", "behaviour", "w", "b", "w_error", "b_error")
             if k in result]
    notes = "\n".join(extra + [f"- {n}" for n in result.get("notes", [])])
    yield pd.DataFrame(result["rows"]), notes, fig


def reproduction_stopped(notes: str):
    """After Stop: (table, notes, figure) with the progress notes marked as stopped (what finished stays listed)."""
    notes = (notes or "").replace("⏳ running…", "⏹️ Stopped after", 1) if "⏳" in (notes or "") else "⏹️ Stopped."
    return gr.skip(), notes, gr.skip()


def _stream_reproduction(fn):
    """Run fn(progress=..., should_stop=...) in a thread; yield its progress lines; return its result."""
    stop, lines, box = threading.Event(), [], {}
    deadline = time.monotonic() + LIMITS.max_seconds

    def should_stop() -> bool:
        return stop.is_set() or time.monotonic() > deadline

    def work():
        try:
            box["result"] = fn(progress=lines.append, should_stop=should_stop)
        except Exception as e:  # raised again in the handler, as a gr.Error
            box["error"] = e

    worker = threading.Thread(target=work, name="reproduction", daemon=True)
    worker.start()
    t0 = shown_at = time.monotonic()
    shown_lines = -1
    try:
        while worker.is_alive():
            # Yield often, so Gradio's cancel never waits long on a next() call; send new notes only when a line was
            # added or a second has passed (for the clock)
            worker.join(REPRODUCTION_TICK)
            now = time.monotonic()
            if len(lines) == shown_lines and now - shown_at < 1.0:
                yield gr.skip(), gr.skip(), gr.skip()
                continue
            shown_lines, shown_at = len(lines), now
            done = "".join(f"\n- {line}" for line in lines)
            yield gr.skip(), f"⏳ running… {now - t0:.0f} s{done}", gr.skip()
    finally:
        stop.set()  # a cancel (Stop, a closed tab) lands here too: the worker ends before its next step
    if "error" in box:
        raise box["error"]
    result = box["result"]
    if time.monotonic() > deadline:
        result.setdefault("notes", []).append(f"The job's time limit of {LIMITS.max_seconds:g} s ended the run.")
    return result


@user_errors
def queue_spiral_table(queue):
    """Load seed 002's six rows into the comparison queue (the 10,000-epoch row included)."""
    from dlcore import seeds

    queue = list(queue or []) + [(n, c) for n, c in seeds.spiral_table_configs()]
    return queue, queue_text(queue)


@user_errors
def queue_current_spiral(queue, *spiral_values):
    """Add the Spiral tab's current settings to the comparison queue."""
    cfg = spiral_config(*spiral_values)
    arch = ",".join(map(str, cfg.hidden)) if cfg.model == "mlp" else "linear"
    queue = list(queue or []) + [(f"{arch} {cfg.activation} {cfg.optimizer} {cfg.lr:g}", cfg)]
    return queue, queue_text(queue)


def queue_text(queue) -> str:
    if not queue:
        return "The queue is empty: load the seed's spiral table or add the Spiral tab's settings."
    return "\n".join(f"{i + 1}. **{name}** — {cfg.epochs} epochs" for i, (name, cfg) in enumerate(queue))


COMPARE_COLUMNS = ("name", "epochs", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "test_rmse",
                   "test_r2", "seconds", "status")


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The comparison table as shown: the name, results and time, rounded (the CSV keeps every setting in full)."""
    shown = [{k: (float(f"{r[k]:.4g}") if isinstance(r[k], float) else r[k]) for k in COMPARE_COLUMNS if k in r}
             for r in rows]
    return pd.DataFrame(shown)


def compare_curves(curves: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Each run's training loss, thinned to a few hundred points per run so the browser stays light."""
    rows = [(e, v, name) for name, points in curves.items() for e, v in plots.thin(points)]
    return pd.DataFrame(rows, columns=["epoch", "value", "series"])


@user_errors
def run_comparison(queue):
    """Train the queued runs in turn: (status, overlaid loss curves, table, CSV path)."""
    from dlcore import seeds

    if not queue:
        raise ConfigError("the comparison queue is empty; load the spiral table or add the current settings first")
    if len(queue) > 12:
        raise ConfigError(f"{len(queue)} runs are queued; compare at most 12 at a time (clear the queue)")
    names = [name for name, _ in queue]
    names = [f"{n} (#{i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]  # one legend entry each
    runs = [(name, cfg.replace(time_budget=LIMITS.max_seconds)) for name, (_, cfg) in zip(names, queue)]
    curves: dict[str, list[tuple[float, float]]] = {}
    last_ui = 0.0
    table: list[dict] = []
    rows_shown = 0
    for i, rec, table in seeds.compare(runs):
        if rec.test_loss is not None and not rec.done:
            curves.setdefault(runs[i][0], []).append((rec.epoch, rec.train_loss))
        now = time.perf_counter()
        if rec.done or now - last_ui > 1.0 / UPDATES_PER_SECOND:
            last_ui = now
            new_rows = len(table) != rows_shown
            rows_shown = len(table)
            yield (f"run {i + 1}/{len(runs)}: {runs[i][0]} — epoch {rec.epoch:g}/{rec.epochs}", compare_curves(curves),
                   compare_table(table) if new_rows else gr.skip(), gr.skip())
    path = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR)) / "comparison.csv"
    path.write_text(seeds.table_to_csv(table))
    yield (f"✅ {len(table)} runs compared.", compare_curves(curves), compare_table(table),
           gr.update(value=str(path), interactive=True))


# ================================================================ UI

ABOUT = f"""
## What the playground does
You choose a model and how to train it; the playground trains it live on the device shown (CUDA, Apple MPS or CPU)
and draws what it learns. Everything runs in your own session: your models are yours alone.

**The update rule.** Every optimizer here refines the same idea, gradient descent:

    w ← w − lr · ∂L/∂w

The loss `L` says how wrong the model is; its gradient `∂L/∂w` points uphill, so a small step against it lowers
the loss. `lr` (the learning rate) is the step size: too small and training crawls, too large and `w` overshoots the
minimum and oscillates around it — or the loss explodes (the playground stops a run whose loss turns non-finite or
grows a million-fold, and keeps your previous model).

## The controls
- **Architecture**: *linear* has no hidden layer (a straight line between classes); *MLP* stacks layers, sizes as text
  such as `100,25`. The parameter count updates as you type.
- **Activation**: the non-linearity between layers (never after the output). *identity* makes the network linear
  however deep it is.
- **Optimizer**: *gd* is plain gradient descent written by hand (seed 000); *sgd* adds mini-batches (and momentum);
  *adam*/*adamw*/*rmsprop*/*adagrad*/*adadelta* adapt the step per weight; *rprop* and *lbfgs* are full-batch methods.
- **Loss**: cross-entropy (or NLL, or MSE on one-hot labels) for classes; MSE, L1 or Huber for prices. The optional
  **L1/L2 penalties** add `λ·Σ|w|` and `λ·Σw²` (seed 001's `L = L1 + λ·L2`); **weight decay** is the optimizer's own.
- **Epochs** are passes over the training data; **batch size** 0 means the whole set at once (full batch).
- **Scheduler**: *step* multiplies the learning rate by 0.9 each epoch (seed 001); *cosine* decays it to zero.
- **Dropout** randomly silences units while training, which fights over-fitting.

## What the seeds teach
The spiral table of seed 002 (full batch, 1000 epochs): without a non-linearity, `Linear(2,100) → Linear(100,3)` is
still one linear map and stays near **50 %** accuracy; a sigmoid barely helps under Adam at 1e-3 (**51 %**); ReLU makes
the same net reach **95.5 %**, and a second hidden layer (`100,25`) **99.8 %**. Non-linearity lets a network bend its
boundaries; depth lets it bend them cheaply. Try the rows yourself in the Spiral tab.

## Where the data comes from
- **Spiral**: generated with seed 002's formula — for class c, `t = linspace(0,1,N)`,
  `θ = linspace(2πc/C, 2π(2+c)/C, N) + noise·randn`, point `t·(sin θ, cos θ)`.
- **Boston housing**: 506 towns, Harrison & Rubinfeld (1978), StatLib, public domain. {B_NOTE}
- **MNIST**: LeCun, Cortes & Burges, CC BY-SA 3.0 — the full set when it can be downloaded, else the 5,000-digit
  subset shipped with the app. **Fashion-MNIST**: Zalando Research, MIT.
"""

CSS = """
#boundary img { cursor: crosshair; }
.status textarea, .status p { font-family: ui-monospace, monospace; }
footer { display: none !important; }
"""

# Gradio 6's image editor starts with no tool selected; select its brush so the first stroke draws. A click on the
# brush while it is already selected would change nothing here, but skip it anyway when it is highlighted.
SELECT_BRUSH_JS = """
() => {
  const t0 = Date.now();
  const tick = () => {
    const root = document.querySelector('#sketchpad');
    const brush = root && root.querySelector('button[aria-label="Brush"]');
    if (brush && root.querySelector('canvas')) {
      if (!brush.classList.contains('highlight')) brush.click();
      return;
    }
    if (Date.now() - t0 < 8000) setTimeout(tick, 150);
  };
  setTimeout(tick, 100);
}
"""

# Clear through the editor's own "Clear canvas" button: sending None to the Sketchpad leaves 6.31's editor loading.
CLEAR_SKETCH_JS = """
() => {
  const root = document.querySelector('#sketchpad');
  const clear = root && root.querySelector('button[aria-label="Clear canvas"]');
  if (clear) clear.click();
  (SELECT_BRUSH)();
}
""".replace("SELECT_BRUSH", SELECT_BRUSH_JS.strip())


def line_plot(title: str, y_title: str, elem_id: str | None = None) -> gr.LinePlot:
    return gr.LinePlot(x="epoch", y="value", color="series", title=title, y_title=y_title, x_title="epoch",
                       color_map=CURVE_COLORS, height=260, show_label=False, elem_id=elem_id)


def training_controls(task: str, defaults: dict) -> dict:
    """The controls every tab shares, with per-tab defaults."""
    c = {}
    with gr.Row():
        c["optimizer"] = gr.Dropdown(sorted(OPTIMIZERS), value=defaults["optimizer"], label="Optimizer",
                                     info="gd = hand-written gradient descent")
        c["lr"] = gr.Dropdown(LR_CHOICES, value=defaults["lr"], label="Learning rate", allow_custom_value=True,
                              info="pick or type, e.g. 0.005")
    with gr.Row():
        c["loss"] = gr.Dropdown(sorted(LOSSES[task]), value=defaults["loss"], label="Loss")
        c["epochs"] = gr.Number(value=defaults["epochs"], label="Epochs")
        c["batch_size"] = gr.Number(value=defaults["batch_size"], label="Batch size",
                                    info="0 = full batch")
    with gr.Row():
        c["weight_decay"] = gr.Number(value=defaults["weight_decay"], label="Weight decay")
        c["scheduler"] = gr.Dropdown(sorted(SCHEDULERS), value="none", label="LR schedule")
        c["device"] = gr.Dropdown(DEVICE_CHOICES, value="auto", label="Device",
                                  info=f"auto = {DEVICE_CHOICES[1]} here")
    return c


def build_demo() -> gr.Blocks:
    """The whole app. Event names given with api_name are a contract for API clients."""
    with gr.Blocks(title="Neural Network Playground") as demo:
        gr.Markdown("# 🧠 Neural Network Playground\nPick a model, train it live, then ask it questions. "
                    f"Training runs on **{DEVICE_CHOICES[1].upper()}**; see *About* for what each control does.")
        with gr.Tabs():
            # ---------------------------------------------------------------- spiral
            with gr.Tab("Spiral", id="spiral"):
                spiral_state = gr.State({})
                with gr.Row():
                    with gr.Column(scale=5, min_width=360):
                        with gr.Accordion("Data", open=False):
                            with gr.Row():
                                s_classes = gr.Number(3, label="Classes")
                                s_points = gr.Number(1000, label="Points per class")
                            with gr.Row():
                                s_noise = gr.Number(0.2, label="Noise")
                                s_frac = gr.Number(0.8, label="Train fraction")
                                s_seed = gr.Number(0, label="Seed")
                            s_regen = gr.Button("Regenerate", size="sm")
                        with gr.Group():
                            with gr.Row():
                                s_model = gr.Radio(["linear", "mlp"], value="mlp", label="Architecture")
                                s_act = gr.Dropdown(sorted(ACTIVATIONS), value="relu", label="Activation")
                            s_hidden = gr.Textbox("100,25", label="Hidden layers", info="sizes, input to output")
                            s_params = gr.Markdown(params_text("mlp", "100,25", "spiral"))
                            with gr.Row():
                                s_dropout = gr.Number(0, label="Dropout")
                                s_l1 = gr.Number(0, label="L1 penalty λ")
                                s_l2 = gr.Number(0, label="L2 penalty λ")
                        sc = training_controls("classification", {"optimizer": "adam", "lr": "1e-3",
                                                                   "loss": "cross_entropy", "epochs": 1000,
                                                                   "batch_size": 0, "weight_decay": 1e-5})
                        with gr.Row():
                            s_train = gr.Button("Train", variant="primary")
                            s_stop = gr.Button("Stop", variant="stop")
                        with gr.Row():
                            s_download = gr.DownloadButton("Download model", interactive=False, size="sm")
                            s_upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm")
                        with gr.Accordion("Copy as PyTorch code", open=False):
                            s_code = gr.Code(code_for(None), language="python", label="Standalone script")
                    with gr.Column(scale=7):
                        s_status = gr.Markdown("Press **Train** to start. The seed's best row (`100,25`, ReLU, Adam "
                                               "1e-3, 1000 epochs) is set up.", elem_classes="status",
                                               elem_id="spiral-status")
                        with gr.Row():
                            s_boundary = gr.Image(label="Decision boundary (click to probe)", elem_id="boundary",
                                                  interactive=False, height=420, width=420, buttons=[],
                                                  show_label=True, format="png")  # crisp dots, cheaper than webp
                            with gr.Column():
                                s_probe = gr.Label(label="Class probabilities at (x, y)", num_top_classes=3, elem_id="probe")
                                with gr.Row():
                                    s_x = gr.Number(0.3, label="x")
                                    s_y = gr.Number(-0.2, label="y")
                                s_probe_btn = gr.Button("Probe point", size="sm")
                                s_data_info = gr.Markdown("")
                        with gr.Row():
                            s_loss_plot = line_plot("Loss", "cross-entropy", "spiral-loss")
                            s_acc_plot = line_plot("Accuracy", "accuracy", "spiral-accuracy")

            # ---------------------------------------------------------------- boston
            with gr.Tab("Boston housing", id="boston"):
                boston_state = gr.State({})
                info = load_data(RunConfig(dataset="boston")).info
                with gr.Row():
                    with gr.Column(scale=5, min_width=360):
                        with gr.Group():
                            with gr.Row():
                                b_model = gr.Radio(["linear", "mlp"], value="mlp", label="Architecture")
                                b_act = gr.Dropdown(sorted(ACTIVATIONS), value="relu", label="Activation")
                            b_hidden = gr.Textbox("64,32", label="Hidden layers")
                            b_params = gr.Markdown(params_text("mlp", "64,32", "boston"))
                            with gr.Row():
                                b_dropout = gr.Number(0, label="Dropout")
                                b_l1 = gr.Number(0, label="L1 penalty λ")
                                b_l2 = gr.Number(0, label="L2 penalty λ")
                        bc = training_controls("regression", {"optimizer": "adam", "lr": "1e-2", "loss": "mse",
                                                              "epochs": 300, "batch_size": 0, "weight_decay": 1e-4})
                        with gr.Row():
                            b_seed = gr.Number(2, label="Seed (sets the split too)")
                            b_drop_b = gr.Checkbox(False, label="Train without B")
                        gr.Markdown(f"<small>ℹ️ {B_NOTE}</small>")
                        with gr.Row():
                            b_train = gr.Button("Train", variant="primary")
                            b_stop = gr.Button("Stop", variant="stop")
                        with gr.Row():
                            b_download = gr.DownloadButton("Download model", interactive=False, size="sm")
                            b_upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm")
                        with gr.Accordion("Copy as PyTorch code", open=False):
                            b_code = gr.Code(code_for(None), language="python", label="Standalone script")
                    with gr.Column(scale=7):
                        b_status = gr.Markdown("Press **Train**. Until then, prices come from the built-in model.",
                                               elem_classes="status",
                                               elem_id="boston-status")
                        with gr.Row():
                            b_loss_plot = line_plot("Loss (train and test)", "loss")
                            b_rmse_plot = line_plot("Test RMSE ($1000s)", "RMSE")
                        b_fig = gr.Plot(label="Test split: predicted vs actual, residuals", show_label=False, visible=False)
                gr.Markdown("### Price a house\nValues in the data's units; each box starts at the training median.")
                feats = info["features"]
                b_inputs = []
                for start in range(0, 13, 5):
                    with gr.Row():
                        for name in BOSTON_ORDER[start:start + 5]:
                            f = feats[name]
                            b_inputs.append(gr.Number(
                                value=float(f"{f['median']:.4g}"), label=f"{name} ({f['unit']})",
                                info=f"{f['description']}; typical {f['p05']:.3g}–{f['p95']:.3g}"))
                with gr.Row():
                    b_predict = gr.Button("Predict price", variant="primary")
                    b_price = gr.Number(label="Predicted price ($1000s)", interactive=False)
                b_price_note = gr.Markdown("")

            # ---------------------------------------------------------------- digits
            with gr.Tab("Digits", id="digits") as digits_tab:
                digits_state = gr.State({})
                with gr.Row():
                    with gr.Column(scale=5, min_width=360):
                        with gr.Row():
                            d_dataset = gr.Dropdown(list(DIGIT_DATASETS), value="MNIST", label="Dataset",
                                                    info="MNIST: the full 60,000 digits if they can be downloaded, "
                                                         "else the built-in 5,000 (the status says which)")
                            d_model = gr.Dropdown(list(DIGIT_MODELS), value="CNN", label="Architecture")
                        d_act = gr.Dropdown(sorted(ACTIVATIONS), value="relu", label="Activation")
                        d_params = gr.Markdown(params_text("cnn", "", "mnist"))
                        dc = training_controls("classification", {"optimizer": "adam", "lr": "1e-3",
                                                                   "loss": "cross_entropy", "epochs": 3,
                                                                   "batch_size": 64, "weight_decay": 0})
                        d_seed = gr.Number(0, label="Seed")
                        with gr.Row():
                            d_train = gr.Button("Train", variant="primary")
                            d_stop = gr.Button("Stop", variant="stop")
                        with gr.Row():
                            d_download = gr.DownloadButton("Download model", interactive=False, size="sm")
                            d_upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm")
                        with gr.Accordion("Copy as PyTorch code", open=False):
                            d_code = gr.Code(code_for(None), language="python", label="Standalone script")
                        d_status = gr.Markdown("Until you train, predictions use the built-in CNN.",
                                               elem_classes="status",
                                               elem_id="digits-status")
                        with gr.Row():
                            d_loss_plot = line_plot("Loss", "cross-entropy", elem_id="digits-loss")
                            d_acc_plot = line_plot("Accuracy", "accuracy")
                    with gr.Column(scale=6):
                        gr.Markdown("### Draw a digit\nBlack ink on white; use most of the square.")
                        sketch = gr.Sketchpad(
                            label="Sketchpad", elem_id="sketchpad", canvas_size=(280, 280), type="numpy",
                            image_mode="RGBA", layers=False, transforms=(),
                            brush=gr.Brush(colors=["#000000"], color_mode="fixed", default_size=11),
                            height=380, width=380,
                        )
                        with gr.Row():
                            d_predict = gr.Button("Predict", variant="primary")
                            d_clear = gr.Button("Clear")
                        d_upload_img = gr.Image(label="…or upload an image of a digit", type="filepath",
                                                sources=["upload"], height=140)
                        with gr.Row():
                            d_label = gr.Label(label="Top 3", num_top_classes=3, elem_id="digit-label")
                            d_seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=170,
                                              width=170, buttons=[], format="png", elem_id="digit-seen")
                        d_which = gr.Markdown("", elem_id="digit-which")
                with gr.Row():
                    d_confusion = gr.Plot(label="Confusion matrix (test set)", show_label=False, visible=False, scale=4)
                    d_gallery = gr.Gallery(label="Most confident mistakes (true → predicted)", columns=6, height=420,
                                           visible=False, scale=5, object_fit="contain")

            with gr.Tab("Seed lab", id="seeds"):
                gr.Markdown("### Reproduce the seed texts\nEach experiment of the five tutorial texts, rerun here, "
                            "with the seed's own numbers beside ours.")
                from dlcore.seeds import REPRODUCTIONS

                with gr.Row():
                    r_name = gr.Dropdown(list(REPRODUCTIONS), value="gd-1d", label="Reproduction",
                                         info="the five seed texts' experiments; see the notes under the table")
                    r_lr = gr.Dropdown(["0.001", "0.01", "0.02", "0.025", "0.03", "0.05"], value="0.001",
                                       allow_custom_value=True, label="gd-1d learning rate",
                                       info="converges / oscillates around the minimum / diverges")
                    r_run = gr.Button("Run", variant="primary")
                    r_stop = gr.Button("Stop", variant="stop")
                r_table = gr.Dataframe(label="Ours beside the seed's", wrap=True)
                r_notes = gr.Markdown("")
                r_fig = gr.Plot(label="J(w) and the path of w (gd-1d)", show_label=False)
                gr.Markdown("### Compare runs\nQueue several configurations, train them in turn on the same data and "
                            "seed, and compare them in one table — as seed 002's table does by hand.")
                compare_queue = gr.State([])
                with gr.Row():
                    c_load = gr.Button("Load the seed's spiral table (6 runs)")
                    c_add = gr.Button("Add the Spiral tab's settings")
                    c_clear = gr.Button("Clear the queue")
                    c_run = gr.Button("Train the queue", variant="primary")
                    c_stop = gr.Button("Stop", variant="stop")
                c_list = gr.Markdown(queue_text([]))
                c_status = gr.Markdown("")
                c_plot = gr.LinePlot(x="epoch", y="value", color="series", title="Training loss, overlaid",
                                     y_title="loss", height=320, show_label=False)
                c_table = gr.Dataframe(label="Results", wrap=True)
                c_csv = gr.DownloadButton("Download the table as CSV", interactive=False, size="sm")

            with gr.Tab("About", id="about"):
                gr.Markdown(ABOUT)

        # ------------------------------------------------------------------------ wiring
        private = {"api_visibility": "private"}
        train_opts = {"concurrency_id": "train", "concurrency_limit": TRAIN_CONCURRENCY, "show_progress": "minimal"}
        predict_opts = {"concurrency_id": "predict", "concurrency_limit": PREDICT_CONCURRENCY}

        for model_w, hidden_w, act_w, params_w, ds in ((s_model, s_hidden, s_act, s_params, "spiral"),
                                                       (b_model, b_hidden, b_act, b_params, "boston")):
            count = functools.partial(lambda m, h, a, dataset: params_text(m, h, dataset, a), dataset=ds)
            for w in (model_w, hidden_w, act_w):
                w.change(count, [model_w, hidden_w, act_w], params_w, queue=False, **private)

        spiral_inputs = [s_classes, s_points, s_noise, s_frac, s_seed, s_model, s_hidden, s_act, sc["optimizer"],
                         sc["lr"], sc["loss"], sc["epochs"], sc["batch_size"], sc["weight_decay"], s_l1, s_l2,
                         s_dropout, sc["scheduler"], sc["device"], spiral_state]
        s_ev = s_train.click(train_spiral, spiral_inputs,
                             [s_status, s_loss_plot, s_acc_plot, s_boundary, spiral_state, s_download],
                             api_name="train_spiral", **train_opts)
        # Stop: the cancel is a listener of its own, and the report (which waits for the run to close) runs after it,
        # because the browser awaits each listener of a click in turn.
        s_stop.click(None, None, None, cancels=[s_ev], **private).then(
            after_stop, [spiral_state], [s_status, s_download, s_code], queue=False, **private)
        preview_inputs = [s_classes, s_points, s_noise, s_frac, s_seed, spiral_state]
        s_regen.click(spiral_preview, preview_inputs, [s_boundary, s_data_info], **private, **predict_opts)
        demo.load(spiral_preview, preview_inputs, [s_boundary, s_data_info], **private)
        s_probe_btn.click(spiral_probe, [s_x, s_y, spiral_state], s_probe, **private, **predict_opts)
        s_boundary.select(user_errors(spiral_click), [spiral_state], [s_x, s_y, s_probe], **private, **predict_opts)
        s_upload.upload(upload_handler(("spiral",)), [s_upload, spiral_state],
                        [s_status, spiral_state, s_download], **private)

        boston_inputs = [b_model, b_hidden, b_act, bc["optimizer"], bc["lr"], bc["loss"], bc["epochs"],
                         bc["batch_size"], bc["weight_decay"], b_l1, b_l2, b_dropout, bc["scheduler"], bc["device"],
                         b_seed, b_drop_b, boston_state]
        b_ev = b_train.click(train_boston, boston_inputs,
                             [b_status, b_loss_plot, b_rmse_plot, b_fig, boston_state, b_download],
                             api_name="train_boston", **train_opts)
        b_stop.click(None, None, None, cancels=[b_ev], **private).then(
            after_stop, [boston_state], [b_status, b_download, b_code], queue=False, **private)
        b_predict.click(predict_house, [*b_inputs, boston_state], [b_price, b_price_note], api_name="predict_price",
                        **predict_opts)
        b_upload.upload(upload_handler(("boston",)), [b_upload, boston_state],
                        [b_status, boston_state, b_download], **private)

        digits_inputs = [d_dataset, d_model, d_act, dc["optimizer"], dc["lr"], dc["loss"], dc["epochs"],
                         dc["batch_size"], dc["weight_decay"], dc["scheduler"], dc["device"], d_seed, digits_state]
        d_ev = d_train.click(train_digits, digits_inputs,
                             [d_status, d_loss_plot, d_acc_plot, d_confusion, d_gallery, digits_state, d_download],
                             api_name="train_digits", **train_opts)
        d_stop.click(None, None, None, cancels=[d_ev], **private).then(
            after_stop, [digits_state], [d_status, d_download, d_code], queue=False, **private)
        for w in (d_dataset, d_model, d_act):
            w.change(lambda ds, m, a: params_text(DIGIT_MODELS.get(m, "cnn"), "", DIGIT_DATASETS.get(ds, ("mnist",))[0], a),
                     [d_dataset, d_model, d_act], d_params, queue=False, **private)
        d_predict.click(predict_sketch_label, [sketch, digits_state], [d_label, d_which], api_name="predict_digit",
                        **predict_opts).success(sketch_preview, [sketch, digits_state], d_seen,
                                                api_name="sketch_preview", **predict_opts)
        d_upload_img.upload(predict_sketch, [d_upload_img, digits_state], [d_label, d_seen, d_which], **private,
                            **predict_opts)
        d_clear.click(lambda: (None, None, ""), None, [d_label, d_seen, d_which], js=CLEAR_SKETCH_JS, queue=False,
                      **private)
        d_upload.upload(upload_handler(("mnist", "fashion")), [d_upload, digits_state],
                        [d_status, digits_state, d_download], **private)
        for ev, state, code in ((s_ev, spiral_state, s_code), (b_ev, boston_state, b_code),
                                (d_ev, digits_state, d_code)):
            ev.then(code_for, [state], code, **private)
        r_ev = r_run.click(run_reproduction, [r_name, r_lr], [r_table, r_notes, r_fig], **private, **train_opts)
        # the report covers the run's three outputs, as the run's own last update would
        r_stop.click(None, None, None, cancels=[r_ev], **private).then(
            reproduction_stopped, r_notes, [r_table, r_notes, r_fig], **private)
        c_load.click(queue_spiral_table, [compare_queue], [compare_queue, c_list], **private)
        c_add.click(queue_current_spiral, [compare_queue, *spiral_inputs[:-1]], [compare_queue, c_list], **private)
        c_clear.click(lambda: ([], queue_text([])), None, [compare_queue, c_list], **private)
        c_ev = c_run.click(run_comparison, [compare_queue], [c_status, c_plot, c_table, c_csv], **private,
                           **train_opts)
        c_stop.click(lambda: "⏹️ Stopped.", None, c_status, cancels=[c_ev], queue=False, **private)
        digits_tab.select(None, None, None, js=SELECT_BRUSH_JS, **private)
        demo.load(None, None, None, js=SELECT_BRUSH_JS, **private)

        demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=PREDICT_CONCURRENCY)
    return demo


def main() -> None:
    import torch

    torch.set_num_threads(TORCH_THREADS)
    demo = build_demo()
    demo.launch(ssr_mode=False, css=CSS, max_file_size=LIMITS.max_upload_bytes, show_error=True,
                allowed_paths=[str(DOWNLOAD_DIR)])


if __name__ == "__main__":
    main()
