"""One training-tab builder and one streaming handler for every tab that trains.

A tab is a `TrainingSpec` (its field table, its preset, the names of its own views and how to draw them) plus a few
lines of layout. The spec's `stream(values, state)` is the handler behind the Train button and the `/train_*`
endpoint: it builds the config from the field table, trains in a `LiveRun`, and yields dicts keyed by output name
(`status`, `loss`, `metric`, the tab's views, `state`, `download`); `TrainingTab.wire` turns them into the event's
outputs, so no handler counts its outputs or its `gr.skip()`s.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gradio as gr

from dlcore import evaluate
from dlcore.config import RunConfig
from dlcore.data import io_shape
from dlcore.defaults import DEFAULTS
from dlcore.errors import ConfigError, DlcoreError
from dlcore.models import estimate_params
from dlcore.netstats import dead_text, finding
from dlcore.plots import CURVE_POINTS, LAYER_PANELS, curves_frame, layer_frame
from dlcore.presets import preset
from dlcore.records import Progress
from dlcore.session import (
    STOP_WAIT,
    Job,
    LiveRun,
    cached_data,
    drop_candidate,
    keep_candidate,
    resume_of,
    split_baselines,
    status_line,
    stopped_run,
)

from . import settings, store
from .fields import Field, applies, args, build_config, defaults, view_options, widget_values
from .handlers import named, user_errors
from .widgets import CLEAR_ERRORS_JS, CODE_IN_VIEW_JS, LR_TYPED_JS, line_plot, log_frame, widget

PRIVATE = {"api_visibility": "private"}
# Points per curve in a live update (the last has CURVE_POINTS): the browser copies and redraws every point of both
# plots with each update, and a busy browser answers a Stop click only between two such redraws.
LIVE_CURVE_POINTS = 150
INSIDE = (*LAYER_PANELS, "finding")  # the weights-and-gradients view's outputs: three plots and a one-line finding
INSIDE_HELP = (
    "Per layer, over the epochs: the **weight norm** ‖W‖ (how large the weights have grown), the **gradient norm** "
    "‖∂L/∂W‖ of the last step (log₁₀: −3 is 0.001), and the share of **saturated** sigmoid/tanh outputs (within 0.02 "
    "of their limits, where almost no gradient passes) or of **dead** ReLUs (zero for every probed training point). "
    "Measured every epoch on short runs, about 250 times on long ones, on up to 256 training points.")


def train_event() -> dict:
    """Options of every long job's event: one shared concurrency limit for training, a quiet progress marker."""
    return {"concurrency_id": "train", "concurrency_limit": settings.TRAIN_CONCURRENCY, "show_progress": "minimal"}


def predict_event() -> dict:
    """Options of every prediction's event: a concurrency limit of their own, so training never holds them up."""
    return {"concurrency_id": "predict", "concurrency_limit": settings.PREDICT_CONCURRENCY}


@dataclass
class Views:
    """How a tab draws its own outputs during one run: `live(record, redraw)` while training (and for the last
    record), `final(record)` once at the end; each returns {view name: value}."""

    live: Callable[[Progress, bool], dict] | None = None
    final: Callable[[Progress], dict] | None = None


@dataclass(frozen=True)
class TrainingSpec:
    """What makes a training tab different from the others."""

    key: str  # the tab's id; also the prefix of its element ids
    dataset: str  # the preset the tab starts from (dlcore/presets.py)
    fields: tuple[Field, ...]  # the field table: widgets, config and API parameters, in API order
    api_name: str  # the training endpoint, e.g. "train_spiral" (a contract)
    datasets: tuple[str, ...]  # the checkpoint datasets an upload may carry
    views: tuple[str, ...] = ()  # the tab's own outputs, after the two curve panels
    start: Callable[..., Views] | None = None  # per-run set-up of the views: start(run), or start(run, options)
    # with the tab's view options ({name: value} of its fields with view=True) when it has any
    note: Callable[[LiveRun], str] | None = None  # appended to every status line (e.g. where the data came from)
    inside: bool = False  # the weights-and-gradients view (TrainingTab.inside): per-layer norms, saturated/dead units
    inputs: tuple[str, ...] = ()  # the tab's own inputs (not fields), first in the API, e.g. the Tables tab's table
    configure: Callable[[RunConfig, dict], RunConfig] | None = None  # applies those inputs to the config

    @property
    def outputs(self) -> tuple[str, ...]:
        """The training event's outputs, in order (derived, never counted by hand)."""
        return ("status", "loss", "metric", *self.views, *(INSIDE if self.inside else ()), "state", "download")

    @property
    def names(self) -> list[str]:
        """The training endpoint's parameters, in API order: the tab's own inputs, then its fields."""
        return [*self.inputs, *(f.name for f in self.fields)]

    def config(self, values: dict) -> RunConfig:
        cfg = build_config(self.fields, values, self.dataset)
        return self.configure(cfg, values) if self.configure else cfg

    def args(self, /, **changes) -> dict:
        """The tab's values by name, the preset's with `changes` (tests and benchmarks); own inputs default to None."""
        own = {n: changes.pop(n, None) for n in self.inputs}
        return {**own, **args(self.fields, self.dataset, **changes)}

    @property
    def continue_api_name(self) -> str:
        """The Continue event's endpoint, e.g. "continue_spiral"."""
        return self.api_name.replace("train_", "continue_", 1)

    def stream(self, values: dict, state: dict | None = None, resume: bool = False) -> Iterator[dict]:
        """Train with the tab's values; yield {output name: value} updates, the last with the final views.

        `resume`: continue the tab's model (Continue) instead of starting afresh; its curves go on."""
        try:
            cfg = self.config(values)
            # what the tab answers with now, when nothing is trained: the built-in model for its data (Boston's for
            # the Tables tab when Boston is its table)
            built_in = self.key if self.key in DEFAULTS else cfg.dataset
            default = store.default_model(built_in) if built_in in DEFAULTS else None
            options = view_options(self.fields, values)
            store.check_room(store.config_bytes(cfg), state, store.describe_config(cfg))  # kept-model memory caps
            run = LiveRun(cfg, state, settings.LIMITS, default=default, resume=resume)
        except DlcoreError as e:  # the status no longer shows an older run as if it were this one's result
            yield {"status": f"⚠️ Not {'continued' if resume else 'trained'}: {e}. The tab's model is unchanged."}
            raise
        with run:
            views = (self.start(run, options) if options else self.start(run)) if self.start else Views()
            note = self.note(run) if self.note else ""

            def render(rec: Progress, redraw: bool) -> dict:  # on the training thread, between two steps
                out = {}
                if redraw or rec.done:  # pictures at most every BOUNDARY_EVERY s: the browser redraws each one whole
                    log, points = run.state.get("log_loss", False), CURVE_POINTS if rec.done else LIVE_CURVE_POINTS
                    out = {"loss": log_frame(curves_frame(run.curves, "loss", points), log),
                           "metric": log_frame(curves_frame(run.curves, "metric", points), False)}
                if views.live:
                    out.update(views.live(rec, redraw or rec.done))
                dead = self.inside_views(run, out, rec)
                if not rec.done:
                    return {"status": status_line(rec, run.device) + (f" · {dead}" if dead else "") + note, **out}
                if views.final:
                    out.update(views.final(rec))
                base = baseline_note(run, rec) if rec.status != "diverged" else ""
                return {"status": final_status(rec, run) + (f"\n\n{dead}." if dead else "") + base + note, **out,
                        "state": run.state, "download": store.download_update(run.state)}

            yield from run.stream(render, 1.0 / settings.UPDATES_PER_SECOND, settings.BOUNDARY_EVERY)

    def resume_stream(self, values: dict, state: dict | None = None) -> Iterator[dict]:
        """Continue: train the tab's model further from its current weights, for `epochs` more epochs."""
        yield from self.stream(values, state, resume=True)

    def inside_views(self, run: LiveRun, out: dict, rec: Progress) -> str:
        """The weights-and-gradients plots into `out` (and the finding, at the end); the dead-ReLU count for the
        status line ("" when the tab has no such view or the net no ReLU)."""
        if not self.inside:
            return ""
        out.update({panel: layer_frame(run.curves, panel) for panel in LAYER_PANELS})
        history = run.trainer.history if run.trainer is not None else []
        if rec.done:  # a diverged run's weights are the fallback ones: nothing to read from them
            line = finding(history, run.cfg) if rec.status != "diverged" else ""
            out["finding"] = f"**Inside the network:** {line}" if line else ""
        latest = rec if rec.layers else next((r for r in reversed(history) if r.layers), None)
        return dead_text(latest.layers if latest else None)

    def evaluate(self, values: dict, state: dict | None = None, splits: int = 5) -> Iterator[dict]:
        """"Evaluate over 5 splits": the tab's settings trained afresh on `splits` seeded splits (seed, seed + 1, ...),
        each metric as mean ± std beside this split's number, and the baselines on the same splits."""
        cfg = self.config(values)
        configs = evaluate.splits(cfg, splits)
        done: list[str] = []

        def work(job: Job) -> dict:
            def progress(i, c, final, trainer):
                done.append(f"split {i + 1}/{splits} (seed {c.seed}): {_headline(final.metrics, cfg.task)}")
                job.put({"evaluation": _progress_text(done, splits)})
            return evaluate.evaluate_splits(cfg, configs, data_for=cached_data, progress=progress,
                                            should_stop=job.stopping)

        job = Job(work, name=f"evaluate-{self.key}", tick=1.0, tick_item={})  # ticks: a Stop is seen within 1 s
        job.cfg = cfg
        state = state if state is not None else {}
        state["evaluation"] = job  # for the Stop handler
        yield {"evaluation": f"⏳ Evaluating over {splits} splits (seeds {cfg.seed}-{cfg.seed + splits - 1})…"}
        yield from job.stream()
        if state.get("evaluation") is job:
            state.pop("evaluation")
        yield {"evaluation": evaluation_table(job.result, cfg)}

    def params_text(self, values: dict) -> str:
        """The parameter count under the architecture, from the fields that change it (or what is wrong)."""
        fields = tuple(f for f in self.fields if f.params)
        try:
            cfg = build_config(fields, values, self.dataset, validate=False)
            if self.configure and all(n in values for n in self.inputs):
                cfg = self.configure(cfg, values)
            n = estimate_params(cfg, *io_shape(cfg))
        except ConfigError as e:
            return f"⚠️ {e}"
        flag = " — over the limit, use smaller layers" if n > settings.LIMITS.max_params else ""
        return f"**{n:,}** trainable parameters{flag}"


def lesson(run: LiveRun) -> str:
    """The run's diagnosis as a paragraph of the status (with a pointer to the Try this button), or ""."""
    d = run.diagnosis
    if d is None:
        return ""
    icon = "👍" if d.ok else "💡"
    hint = " Press **Try this** to set it up." if d.changes else ""
    return f"\n\n{icon} {d.text}{hint}"
HEADLINE = {"classification": ("test_accuracy", "test accuracy"), "regression": ("test_rmse", "test RMSE")}


def _headline(metrics: dict, task: str) -> str:
    key, label = HEADLINE[task]
    return f"{label} {metrics[key]:.3f}" if key in metrics else "no result"


def _progress_text(done: list[str], splits: int) -> str:
    return f"⏳ Evaluating over {splits} splits…\n\n" + "\n".join(f"- {line}" for line in done)


def baseline_note(run: LiveRun, rec: Progress) -> str:
    """The baselines on the run's own split, beside its number: does the network help?"""
    data = run.data
    key, label = HEADLINE[data.task]
    if key not in rec.metrics:
        return ""
    b = split_baselines(run.cfg, data)
    mean = "predicting the training mean" if data.task == "regression" else "always the most frequent class"
    return (f"\n\nBaselines on this split: {label} {b['mean'][key]:.3f} {mean}, {b['linear'][key]:.3f} with a linear "
            f"model (yours: {rec.metrics[key]:.3f}).")


def evaluation_table(result: dict | None, cfg: RunConfig) -> str:
    """The evaluation as a small table: this split's number beside the mean ± std over the splits, with baselines."""
    if not result or not result["runs"]:
        return "⏹️ The evaluation was stopped before a split finished."
    names = {"network": result["metrics"], **{f"baseline: {n}": m for n, m in result["baselines"].items()}}
    keys = [k for k in ("test_accuracy", "test_rmse", "test_mae", "test_r2") if k in result["metrics"]]
    short = {k: k.removeprefix("test_").replace("_", " ").replace("r2", "R²").replace("rmse", "RMSE").replace(
        "mae", "MAE") for k in keys}
    head = "| | " + " | ".join(f"{short[k]}, seed {cfg.seed} | {short[k]}, mean ± std over {result['runs']}"
                               for k in keys) + " |"
    rows = [head, "|---" * (1 + 2 * len(keys)) + "|"]
    for name, m in names.items():
        label = {"baseline: mean": "mean / majority class", "baseline: linear": "linear model"}.get(name, name)
        rows.append(f"| {label} | " + " | ".join(f"{m[k]['values'][0]:.3f} | {m[k]['mean']:.3f} ± {m[k]['std']:.3f}"
                                                 for k in keys) + " |")
    each = ", ".join(f"{v:.3f}" for v in result["metrics"][keys[0]]["values"])
    return (f"**Over {result['splits']}**: one split's number is mostly the split; the mean ± std is the figure to "
            f"quote. Each split's {keys[0].removeprefix('test_')}: {each}.\n\n" + "\n".join(rows))


def final_status(rec: Progress, run: LiveRun) -> str:
    """The status after a run: the last record's numbers, what became of the tab's model and what the curves say. A
    diverged run's numbers are those of the weights it fell back to, not a result, so only the note is shown."""
    if rec.status == "diverged":
        kept = " The previous model is kept." if run.kept_previous else \
            " Nothing was kept: this tab still has no trained model."
        return f"⚠️ {rec.message}.{kept}" + lesson(run)
    done = f"continued for {rec.epochs - run.offset:,} more epochs ({rec.epoch:g} in all)" \
        if run.resumed and rec.status == "finished" else rec.message
    if run.result == "candidate":
        note = (f"⚠️ {done[:1].upper()}{done[1:]}, but this model is worse than the one the tab already has "
                f"({run.compared}), so predictions still use that one. **Use the new model** or **Keep the previous "
                "one** below.")
    elif rec.status == "time_limit":
        note = f"⏱️ {done}. The model trained so far is now in use."
    else:
        good = run.diagnosis is None or run.diagnosis.ok
        note = f"{'✅' if good else '⚠️'} {done[:1].upper()}{done[1:]}. This model is now used for predictions."
    return status_line(rec, run.device) + "\n\n" + note + lesson(run)


def after_stop(state: dict | None) -> dict:
    """After Stop: what became of the cancelled run (or evaluation) and which model the tab holds now."""
    out = stopped_evaluation(state)
    run = stopped_run(state)
    if run is None:  # nothing was running (not started yet, or already finished): leave the status as it is
        return out
    if not run.ended.is_set():
        return {**out, "status": "⏹️ Stopping… the run ends at its next update."}
    head = status_line(run.last, run.device) + "\n\n" if run.last is not None else ""
    result = run.result if run.result != "candidate" else (
        f"Stopped at epoch {run.last.epoch:g}/{run.last.epochs}; the weights trained so far are worse than the tab's "
        f"model ({run.compared}), so predictions still use that one. **Use the new model** or **Keep the previous "
        "one** below.")
    return {**out, "status": head + "⏹️ " + result + lesson(run), "download": store.download_update(state),
            "code": store.code_for(state), **advice_buttons(state)}


def advice_buttons(state: dict | None) -> dict:
    """Try this (when the latest run has a suggestion) and the keep-either pair (when a worse run waits)."""
    state = state or {}
    d = (state.get("advice") or {}).get("diagnosis")
    label = f"Try this: {d.label}" if d is not None and d.changes else "Try this"
    waiting = "candidate" in state
    return {"try_this": gr.update(value=label, visible=d is not None and bool(d.changes)),
            "keep_new": gr.update(visible=waiting), "keep_old": gr.update(visible=waiting)}


def hidden_advice() -> dict:
    """The advice buttons hidden (a new run starts, or the user has chosen)."""
    return {name: gr.update(visible=False) for name in ADVICE}


def hide_advice() -> tuple:
    """The advice buttons' updates as an event's outputs, all hidden."""
    return tuple(hidden_advice().values())


ADVICE = ("try_this", "keep_new", "keep_old")


def warm_up(spec: TrainingSpec) -> float:
    """Run a tiny training run through `spec`'s handler once, so the first user's first run does not pay the one-time
    costs (torch's optimizers import torch._dynamo on first use, ~3 s; the first autograd step and the first
    render). Meant for a background thread at start-up; returns the seconds it took."""
    t0 = time.perf_counter()
    tiny = {"epochs": 2, "points": 20, "hidden": "4"}
    values = spec.args(**{k: v for k, v in tiny.items() if any(f.name == k for f in spec.fields)})
    collections.deque(spec.stream(values, {}), maxlen=0)  # run the generator to its end; its updates are not shown
    return time.perf_counter() - t0


def stopped_evaluation(state: dict | None) -> dict:
    """After Stop during "Evaluate over 5 splits": the splits finished so far, summarised."""
    job = (state or {}).pop("evaluation", None)
    if job is None:
        return {}
    job.stop("user")
    job.ended.wait(STOP_WAIT)
    result = job.result if job.ended.is_set() else None
    return {"evaluation": "⏹️ Stopped. " + evaluation_table(result, job.cfg).removeprefix("⏹️ ")}


class TrainingTab:
    """The widgets and the wiring every training tab shares; the tab module places them and adds its own views."""

    def __init__(self, spec: TrainingSpec):
        self.spec = spec
        self.inputs: dict[str, gr.components.Component] = {}
        self.outputs: dict[str, gr.components.Component] = {}
        self.parts: dict[str, gr.components.Component] = {}  # the tab's own components placed among the settings
        self._initial = defaults(spec.fields, spec.dataset)

    @contextmanager
    def page(self, title: str):
        """The tab itself (its id is the spec's key), holding the session's state for it. Everything a tab shows is
        created inside this: a component placed straight in gr.Tabs would be taken for a tab by the browser."""
        with gr.Tab(title, id=self.spec.key) as self.tab:
            self.state = gr.State({}, delete_callback=store.forget)  # an expired session frees its model
            self.outputs["state"] = self.state
            yield self.tab

    @contextmanager
    def columns(self, sections: list[tuple[str, str | None]], extras: dict[str, Callable[[], dict]] | None = None,
                left: Callable[[], None] | None = None):
        """The usual frame: settings and controls on the left (then `left()`), and the body of the `with` on the
        right. On a phone (assets.CSS) the body comes first, then the controls and `left()`, then the settings."""
        with gr.Row(elem_classes="tab-frame"):
            with gr.Column(scale=5, min_width=360, elem_classes="tab-settings"):
                self.settings(sections, extras)
                with gr.Column(elem_classes="tab-first"):
                    self.controls()
                    if left:
                        left()
            with gr.Column(scale=7, elem_classes="tab-main"):
                yield

    def settings(self, sections: list[tuple[str, str | None]], extras: dict[str, Callable[[], dict]] | None = None):
        """The field widgets by group: (group, title) sections in order; a title makes a closed accordion.

        `extras[group]()` adds the tab's own components at the end of that group and returns them by name (they are
        kept in `self.parts`)."""
        extras = extras or {}
        for group, title in sections:
            fields = [f for f in self.spec.fields if f.group == group]
            box = gr.Accordion(title, open=False) if title else gr.Group()
            with box:
                self._rows(fields)
                if group == "model" and any(f.params for f in self.spec.fields):
                    self.outputs["params"] = gr.Markdown(self.spec.params_text(self._initial),
                                                         elem_id=f"{self.spec.key}-params")
                if group in extras:
                    self.parts.update(extras[group]())

    def _widget(self, f: Field) -> None:
        self.inputs[f.name] = widget(f, self._initial[f.name], elem_id=f"{self.spec.key}-{f.name}-field",
                                     visible=applies(f, self.spec.fields, self._initial, self.spec.dataset))

    def _rows(self, fields: list[Field]) -> None:
        """Three to a row; a text box on a row of its own."""
        row: list[Field] = []

        def flush() -> None:
            if row:
                with gr.Row():
                    for f in row:
                        self._widget(f)
                row.clear()

        for f in fields:
            if f.kind in ("text", "multi"):
                flush()
                self._widget(f)
                continue
            row.append(f)
            if len(row) == 3:
                flush()
        flush()

    def controls(self) -> None:
        """Train, Continue and Stop, Evaluate over 5 splits, Download and Upload, and the code view."""
        with gr.Row():  # one row on a phone too
            self.train = gr.Button("Train", variant="primary", min_width=90)
            self.cont = gr.Button("Continue", elem_id=f"{self.spec.key}-continue", min_width=90)
            self.stop = gr.Button("Stop", variant="stop", min_width=90, elem_id=f"{self.spec.key}-stop")
        self.evaluate = gr.Button("Evaluate over 5 splits", size="sm", elem_id=f"{self.spec.key}-evaluate")
        with gr.Row():
            self.outputs["download"] = store.protect(gr.DownloadButton("Download model", interactive=False, size="sm",
                                                                       elem_id=f"{self.spec.key}-download"))
            self.upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm",
                                          elem_id=f"{self.spec.key}-upload")
        with gr.Accordion("Copy as PyTorch code", open=False) as self.code_box:
            self.outputs["code"] = gr.Code(store.code_for(None), language="python", label="Standalone script",
                                           elem_id=f"{self.spec.key}-code")

    def status(self, text: str) -> gr.Markdown:
        """The status box, and under it the run's advice: Try this, and the keep-either pair (hidden until needed)."""
        key = self.spec.key
        self.outputs["status"] = gr.Markdown(text, elem_classes="status", elem_id=f"{key}-status")
        with gr.Row():
            self.outputs["try_this"] = gr.Button("Try this", visible=False, size="sm", elem_id=f"{key}-try-this")
            self.outputs["keep_new"] = gr.Button("Use the new model", visible=False, size="sm",
                                                 elem_id=f"{key}-keep-new")
            self.outputs["keep_old"] = gr.Button("Keep the previous one", visible=False, size="sm",
                                                 elem_id=f"{key}-keep-old")
        self.outputs["evaluation"] = gr.Markdown("", elem_id=f"{key}-evaluation")
        return self.outputs["status"]

    def inside(self) -> None:
        """Weights and gradients over time (the spec's `inside`): the one-line finding after a run, and per-layer
        weight norm, gradient norm and saturated/dead unit curves in a closed accordion."""
        key = self.spec.key
        self.outputs["finding"] = gr.Markdown("", elem_id=f"{key}-finding")
        with gr.Accordion("Weights and gradients over time", open=False, elem_id=f"{key}-inside"):
            gr.Markdown(INSIDE_HELP)
            with gr.Row():
                for panel, title, y, lim in (("weights", "Weight norm", "‖W‖", None),
                                             ("grads", "Gradient norm (log₁₀)", "log₁₀ ‖∂L/∂W‖", None),
                                             ("units", "Saturated / dead units", "share of units", [0, 1])):
                    self.outputs[panel] = gr.LinePlot(x="epoch", y="value", color="series", title=title, y_title=y,
                                                      x_title="epoch", height=240, show_label=False, y_lim=lim,
                                                      elem_id=f"{key}-{panel}")

    def curves(self, loss: tuple[str, str], metric: tuple[str, str]) -> None:
        """The two live curve panels, each (title, y axis title), and a log-scale switch for the loss."""
        key = self.spec.key
        self.loss_title = loss[1]
        regression = preset(self.spec.dataset).task == "regression"  # its metric panel has a test series only
        with gr.Row():
            self.outputs["loss"] = line_plot(*loss, elem_id=f"{key}-loss")
            self.outputs["metric"] = line_plot(*metric, elem_id=f"{key}-metric",
                                               series=("test",) if regression else ("train", "test"))
        self.log = gr.Checkbox(False, label="Loss on a log scale", elem_id=f"{key}-log", container=False)

    # long: the one place a training tab's events are wired, each a line or two
    def wire(self, **views: gr.components.Component) -> gr.events.Dependency:
        """Train and Continue (streaming, the spec's API names), Stop, the advice buttons, Upload, the code view, the
        parameter count, the log scale, the controls that apply, and a typed learning rate."""
        spec, out = self.spec, self.outputs
        out.update(views)
        names, fnames = spec.names, [f.name for f in spec.fields]
        inputs = [self.parts[n] for n in spec.inputs] + [self.inputs[n] for n in fnames] + [self.state]
        streamed = [out[n] for n in spec.outputs]
        advice = [out[n] for n in ADVICE]
        runs, self.events = [], {}
        for key, button, fn, api_name, what in (
                ("train", self.train, spec.stream, spec.api_name, "Train"),
                ("continue", self.cont, spec.resume_stream, spec.continue_api_name,
                 "Train the tab's current model further (Continue)")):
            handler = named(fn, names, outputs=list(spec.outputs),
                            doc=f"{what} on the {spec.key} tab's settings; streams {', '.join(spec.outputs)}.")
            button.click(hide_advice, None, advice, queue=False, **PRIVATE)  # a new run asks its own questions
            button.click(None, None, None, js=CLEAR_ERRORS_JS, **PRIVATE)  # errors of earlier tries do not pile up
            ev = button.click(handler, inputs, streamed, api_name=api_name, **train_event())
            self.events[key] = ev.then(self._after_run, [self.state], [out["code"], *advice], **PRIVATE)
            runs.append(ev)
        judge = named(spec.evaluate, names, outputs=["evaluation"],
                      doc=f"Train the {spec.key} tab's settings on 5 seeded splits; mean ± std and baselines.")
        runs.append(self.evaluate.click(judge, inputs, out["evaluation"], api_name=f"evaluate_{spec.key}",
                                        **train_event()))
        # Stop: the cancel is a listener of its own, and the report (which waits for the run to close) runs after it,
        # because the browser awaits each listener of a click in turn.
        report = ("status", "download", "code", "evaluation", *ADVICE)
        self.events["stop"] = self.stop.click(None, None, None, cancels=runs, **PRIVATE).then(
            named(lambda _values, state: after_stop(state), [], outputs=list(report)), [self.state],
            [out[n] for n in report], queue=False, **PRIVATE)
        # Try this sets the fields; their change events then update the parameter count and what is shown
        out["try_this"].click(named(self._try_this, [], outputs=[*fnames, "try_this"]), [self.state],
                              [*(self.inputs[n] for n in fnames), out["try_this"]], queue=False, **PRIVATE)
        chosen = ("status", "download", "code", *ADVICE)
        # keep-either, also for API clients (a run worse than the session's model waits for their choice)
        for button, fn, api_name in ((out["keep_new"], self._keep_new, f"use_new_{spec.key}"),
                                     (out["keep_old"], self._keep_old, f"keep_previous_{spec.key}")):
            button.click(named(fn, [], outputs=list(chosen), doc=fn.__doc__), [self.state],
                         [out[n] for n in chosen], queue=False, api_name=api_name)
        restore = named(self._restore, ["file"], outputs=["status", "state", "download"])
        restored = self.upload.upload(restore, [self.upload, self.state], [out["status"], self.state, out["download"]],
                                      **PRIVATE).then(store.code_for, [self.state], out["code"], **PRIVATE)
        self.events["upload"] = restored  # self.events: for a tab to chain its own updates
        if "params" in out:
            counted = [*spec.inputs, *(f.name for f in spec.fields if f.params)]
            count = named(lambda values: spec.params_text(values), counted, extra=())
            widgets = {**self.inputs, **self.parts}
            for n in counted:
                widgets[n].change(count, [widgets[m] for m in counted], out["params"], queue=False, **PRIVATE)
        self.log.change(named(self._log_scale, ["log"], outputs=["loss"]), [self.log, self.state], out["loss"],
                        queue=False, **PRIVATE)
        self._wire_applies()
        self.code_box.expand(None, None, None, js=CODE_IN_VIEW_JS.replace("ELEM_ID", f"{spec.key}-code"), **PRIVATE)
        for f in spec.fields:
            if f.kind == "lr":  # Enter takes a typed number as typed (see widgets.LR_TYPED_JS)
                elem_id = f"{spec.key}-{f.name}-field"
                self.inputs[f.name].focus(None, None, None, js=LR_TYPED_JS.replace("ELEM_ID", elem_id), **PRIVATE)
        return runs[0]

    def _wire_applies(self) -> None:
        """Show a field only where it applies (hidden layers for the MLP, momentum for sgd/rmsprop...): each field
        that decides another's relevance updates the visibility of those it decides."""
        spec = self.spec
        dependent = [f for f in spec.fields if f.applies]
        if not dependent:
            return
        deciding = sorted({f.name for f in spec.fields if any(k in f.decides for d in dependent for k in d.applies)})
        shown = [f.name for f in dependent]

        def show(values: dict) -> dict:
            full = {**self._initial, **values}
            return {f.name: gr.update(visible=applies(f, spec.fields, full, spec.dataset)) for f in dependent}

        handler = named(show, deciding, extra=(), outputs=shown)
        for n in deciding:
            self.inputs[n].change(handler, [self.inputs[m] for m in deciding], [self.inputs[m] for m in shown],
                                  queue=False, show_progress="hidden", **PRIVATE)

    def _after_run(self, state: dict | None):
        """After a run's last update: the code view and the advice buttons (a separate event, so the training
        endpoint's API outputs stay as they were)."""
        buttons = advice_buttons(state)
        return (store.code_for(state), *(buttons[n] for n in ADVICE))

    def _try_this(self, _values: dict, state: dict | None) -> dict:
        """Try this: the latest run's suggestion applied to the tab's fields (only those it changes)."""
        advice = (state or {}).get("advice") or {}
        d = advice.get("diagnosis")
        if d is None or not d.changes:
            raise ConfigError("there is no suggestion to apply; train first")
        cfg: RunConfig = advice["cfg"]
        changed = widget_values(self.spec.fields, cfg, cfg.replace(**d.changes))
        gr.Info(f"Set {d.label}. Press Train to see the difference.")
        return {**changed, "try_this": gr.update(visible=False)}

    def _keep_new(self, _values: dict, state: dict | None) -> dict:
        """Use the new model: the latest run's model, held back as worse than the tab's, replaces it."""
        if not keep_candidate(state):
            raise ConfigError("there is no newer model waiting; train first")
        return {"status": "✅ The new model is now used for predictions.", **self._chosen(state)}

    def _keep_old(self, _values: dict, state: dict | None) -> dict:
        """Keep the previous model: the latest run's model, held back as worse than the tab's, is dropped."""
        drop_candidate(state)
        return {"status": "✅ Kept the previous model; the newer run's model was dropped.", **self._chosen(state)}

    def _chosen(self, state: dict | None) -> dict:
        return {"download": store.download_update(state), "code": store.code_for(state), **hidden_advice()}

    def _log_scale(self, values: dict, state: dict | None) -> dict:
        """The loss panel on a log scale (log10 of the loss) or back; live runs read the choice from the state."""
        state = state if state is not None else {}
        state["log_loss"] = bool(values["log"])
        run = state.get("run")
        curves = run.curves if run is not None else state.get("curves", {})
        title = f"log₁₀ {self.loss_title}" if values["log"] else self.loss_title
        return {"loss": gr.update(value=log_frame(curves_frame(curves, "loss"), values["log"]), y_title=title)}

    def _restore(self, values: dict, state: dict | None) -> dict:
        """Upload model: the checkpoint becomes the tab's model, if it is one for this tab."""
        tm = store.restore_upload(values["file"], self.spec.datasets)
        store.check_room(store.model_bytes(tm), state, store.describe_config(tm.cfg))
        state = state if state is not None else {}
        for key in ("candidate", "advice", "curves"):  # what belonged to the model it replaces
            state.pop(key, None)
        state.update(model=tm, history=[], resume=resume_of(tm), trained_epochs=tm.cfg.epochs)
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in tm.meta.get("metrics", {}).items()
                            if isinstance(v, (int, float)) and k.startswith("test_"))
        status = (f"✅ Restored {store.describe_model(tm, '')} ({metrics or 'no metrics recorded'}). It is now used "
                  "for predictions.")
        return {"status": status, "state": state, "download": store.download_update(state)}


__all__ = ["warm_up", "predict_event", "PRIVATE", "train_event", "TrainingSpec", "TrainingTab", "Views", "after_stop",
           "final_status", "user_errors"]
