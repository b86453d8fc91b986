"""One training-tab builder and one streaming handler for every tab that trains.

A tab is a `TrainingSpec` (its field table, its preset, the names of its own views and how to draw them) plus a few
lines of layout. The spec's `stream(values, state)` is the handler behind the Train button and the `/train_*`
endpoint: it builds the config from the field table, trains in a `LiveRun`, and yields dicts keyed by output name
(`status`, `loss`, `metric`, the tab's views, `state`, `download`); `TrainingTab.wire` turns them into the event's
outputs, so no handler counts its outputs or its `gr.skip()`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gradio as gr

from dlcore import evaluate
from dlcore.config import RunConfig
from dlcore.data import io_shape
from dlcore.errors import ConfigError
from dlcore.models import estimate_params
from dlcore.plots import curves_frame
from dlcore.records import Progress
from dlcore.session import STOP_WAIT, Job, LiveRun, cached_data, status_line, stopped_run

from . import settings, store
from .fields import Field, args, build_config, defaults
from .handlers import named, user_errors
from .widgets import line_plot, widget

PRIVATE = {"api_visibility": "private"}


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
    start: Callable[[LiveRun], Views] | None = None  # per-run set-up of the views
    note: Callable[[LiveRun], str] | None = None  # appended to every status line (e.g. where the data came from)
    inputs: tuple[str, ...] = ()  # the tab's own inputs (not fields), first in the API, e.g. the Tables tab's table
    configure: Callable[[RunConfig, dict], RunConfig] | None = None  # applies those inputs to the config

    @property
    def outputs(self) -> tuple[str, ...]:
        """The training event's outputs, in order (derived, never counted by hand)."""
        return ("status", "loss", "metric", *self.views, "state", "download")

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

    def stream(self, values: dict, state: dict | None = None) -> Iterator[dict]:
        """Train with the tab's values; yield {output name: value} updates, the last with the final views."""
        cfg = self.config(values)
        with LiveRun(cfg, state, settings.LIMITS) as run:
            views = self.start(run) if self.start else Views()
            note = self.note(run) if self.note else ""

            def render(rec: Progress, redraw: bool) -> dict:  # on the training thread, between two steps
                out = {"loss": curves_frame(run.curves, "loss"), "metric": curves_frame(run.curves, "metric")}
                if views.live:
                    out.update(views.live(rec, redraw or rec.done))
                if not rec.done:
                    return {"status": status_line(rec, run.device) + note, **out}
                if views.final:
                    out.update(views.final(rec))
                base = baseline_note(run.data, rec) if rec.status != "diverged" else ""
                return {"status": final_status(rec, run) + base + note, **out, "state": run.state,
                        "download": store.download_update(run.state)}

            yield from run.stream(render, 1.0 / settings.UPDATES_PER_SECOND, settings.BOUNDARY_EVERY)

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


HEADLINE = {"classification": ("test_accuracy", "test accuracy"), "regression": ("test_rmse", "test RMSE")}


def _headline(metrics: dict, task: str) -> str:
    key, label = HEADLINE[task]
    return f"{label} {metrics[key]:.3f}" if key in metrics else "no result"


def _progress_text(done: list[str], splits: int) -> str:
    return f"⏳ Evaluating over {splits} splits…\n\n" + "\n".join(f"- {line}" for line in done)


def baseline_note(data, rec: Progress) -> str:
    """The baselines on the run's own split, beside its number: does the network help?"""
    key, label = HEADLINE[data.task]
    if key not in rec.metrics:
        return ""
    b = evaluate.baselines(data)
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
    """The status after a run: the last record's numbers and what became of the tab's model. A diverged run's numbers
    are those of the weights it fell back to, not a result, so only the note is shown."""
    if rec.status == "diverged":
        kept = " The previous model is kept." if run.kept_previous else \
            " Nothing was kept: this tab still has no trained model."
        return f"⚠️ {rec.message}.{kept}"
    if rec.status == "time_limit":
        note = f"⏱️ {rec.message}. The model trained so far is now in use."
    else:
        note = f"✅ {rec.message}. This model is now used for predictions."
    return status_line(rec, run.device) + "\n\n" + note


def after_stop(state: dict | None) -> dict:
    """After Stop: what became of the cancelled run (or evaluation) and which model the tab holds now."""
    out = stopped_evaluation(state)
    run = stopped_run(state)
    if run is None:  # nothing was running (not started yet, or already finished): leave the status as it is
        return out
    if not run.ended.is_set():
        return {**out, "status": "⏹️ Stopping… the run ends at its next update."}
    head = status_line(run.last, run.device) + "\n\n" if run.last is not None else ""
    return {**out, "status": head + "⏹️ " + run.result, "download": store.download_update(state),
            "code": store.code_for(state)}


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
            self.state = gr.State({})
            self.outputs["state"] = self.state
            yield self.tab

    @contextmanager
    def columns(self, sections: list[tuple[str, str | None]], extras: dict[str, Callable[[], dict]] | None = None,
                left: Callable[[], None] | None = None):
        """The usual frame: settings and controls on the left (then `left()`), and the body of the `with` on the
        right."""
        with gr.Row():
            with gr.Column(scale=5, min_width=360):
                self.settings(sections, extras)
                self.controls()
                if left:
                    left()
            with gr.Column(scale=7):
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

    def _rows(self, fields: list[Field]) -> None:
        """Three to a row; a text box on a row of its own."""
        row: list[Field] = []

        def flush() -> None:
            if row:
                with gr.Row():
                    for f in row:
                        self.inputs[f.name] = widget(f, self._initial[f.name], elem_id=f"{self.spec.key}-{f.name}-field")
                row.clear()

        for f in fields:
            if f.kind == "text":
                flush()
                self.inputs[f.name] = widget(f, self._initial[f.name], elem_id=f"{self.spec.key}-{f.name}-field")
                continue
            row.append(f)
            if len(row) == 3:
                flush()
        flush()

    def controls(self) -> None:
        """Train and Stop, Download and Upload, and the code view."""
        with gr.Row():
            self.train = gr.Button("Train", variant="primary")
            self.stop = gr.Button("Stop", variant="stop")
        self.evaluate = gr.Button("Evaluate over 5 splits", size="sm")
        with gr.Row():
            self.outputs["download"] = gr.DownloadButton("Download model", interactive=False, size="sm",
                                                         elem_id=f"{self.spec.key}-download")
            self.upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm",
                                          elem_id=f"{self.spec.key}-upload")
        with gr.Accordion("Copy as PyTorch code", open=False):
            self.outputs["code"] = gr.Code(store.code_for(None), language="python", label="Standalone script")

    def status(self, text: str) -> gr.Markdown:
        self.outputs["status"] = gr.Markdown(text, elem_classes="status", elem_id=f"{self.spec.key}-status")
        self.outputs["evaluation"] = gr.Markdown("", elem_id=f"{self.spec.key}-evaluation")
        return self.outputs["status"]

    def curves(self, loss: tuple[str, str], metric: tuple[str, str]) -> None:
        """The two live curve panels, each (title, y axis title)."""
        with gr.Row():
            self.outputs["loss"] = line_plot(*loss, elem_id=f"{self.spec.key}-loss")
            self.outputs["metric"] = line_plot(*metric, elem_id=f"{self.spec.key}-metric")

    def wire(self, **views: gr.components.Component) -> gr.events.Dependency:
        """Train (streaming, the spec's API name), Stop, Upload, the code view and the parameter count."""
        spec, out = self.spec, self.outputs
        out.update(views)
        names = spec.names
        inputs = [self.parts[n] for n in spec.inputs] + [self.inputs[n] for n in names[len(spec.inputs):]] + [self.state]
        handler = named(spec.stream, names, outputs=list(spec.outputs),
                        doc=f"Train on the {spec.key} tab's settings; streams {', '.join(spec.outputs)}.")
        ev = self.train.click(handler, inputs, [out[n] for n in spec.outputs], api_name=spec.api_name,
                              **train_event())
        after_train = ev.then(store.code_for, [self.state], out["code"], **PRIVATE)
        judge = named(spec.evaluate, names, outputs=["evaluation"],
                      doc=f"Train the {spec.key} tab's settings on 5 seeded splits; mean ± std and baselines.")
        ev_eval = self.evaluate.click(judge, inputs, out["evaluation"], api_name=f"evaluate_{spec.key}",
                                      **train_event())
        # Stop: the cancel is a listener of its own, and the report (which waits for the run to close) runs after it,
        # because the browser awaits each listener of a click in turn.
        report = ("status", "download", "code", "evaluation")
        stopped = self.stop.click(None, None, None, cancels=[ev, ev_eval], **PRIVATE).then(
            named(lambda _values, state: after_stop(state), [], outputs=list(report)), [self.state],
            [out[n] for n in report], queue=False, **PRIVATE)
        restore = named(self._restore, ["file"], outputs=["status", "state", "download"])
        restored = self.upload.upload(restore, [self.upload, self.state], [out["status"], self.state, out["download"]],
                                      **PRIVATE).then(store.code_for, [self.state], out["code"], **PRIVATE)
        self.events = {"train": after_train, "stop": stopped, "upload": restored}  # for a tab to chain its own updates
        if "params" in out:
            counted = [*spec.inputs, *(f.name for f in spec.fields if f.params)]
            count = named(lambda values: spec.params_text(values), counted, extra=())
            widgets = {**self.inputs, **self.parts}
            for n in counted:
                widgets[n].change(count, [widgets[m] for m in counted], out["params"], queue=False, **PRIVATE)
        return ev

    def _restore(self, values: dict, state: dict | None) -> dict:
        """Upload model: the checkpoint becomes the tab's model, if it is one for this tab."""
        tm = store.restore_upload(values["file"], self.spec.datasets)
        state = state if state is not None else {}
        state["model"], state["history"] = tm, []
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in tm.meta.get("metrics", {}).items()
                            if isinstance(v, (int, float)) and k.startswith("test_"))
        status = (f"✅ Restored {store.describe_model(tm, '')} ({metrics or 'no metrics recorded'}). It is now used "
                  "for predictions.")
        return {"status": status, "state": state, "download": store.download_update(state)}


__all__ = ["predict_event", "PRIVATE", "train_event", "TrainingSpec", "TrainingTab", "Views", "after_stop",
           "final_status", "user_errors"]
