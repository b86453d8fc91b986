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

from dlcore.config import RunConfig
from dlcore.data import io_shape
from dlcore.errors import ConfigError
from dlcore.models import estimate_params
from dlcore.netstats import dead_text, finding
from dlcore.plots import LAYER_PANELS, curves_frame, layer_frame
from dlcore.records import Progress
from dlcore.session import LiveRun, status_line, stopped_run

from . import settings, store
from .fields import Field, args, build_config, defaults, view_options
from .handlers import named, user_errors
from .widgets import line_plot, widget

PRIVATE = {"api_visibility": "private"}
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

    @property
    def outputs(self) -> tuple[str, ...]:
        """The training event's outputs, in order (derived, never counted by hand)."""
        return ("status", "loss", "metric", *self.views, *(INSIDE if self.inside else ()), "state", "download")

    def config(self, values: dict) -> RunConfig:
        return build_config(self.fields, values, self.dataset)

    def args(self, /, **changes) -> dict:
        """The tab's values by name, the preset's with `changes` (tests and benchmarks)."""
        return args(self.fields, self.dataset, **changes)

    def stream(self, values: dict, state: dict | None = None) -> Iterator[dict]:
        """Train with the tab's values; yield {output name: value} updates, the last with the final views."""
        cfg = self.config(values)
        options = view_options(self.fields, values)
        with LiveRun(cfg, state, settings.LIMITS) as run:
            views = (self.start(run, options) if options else self.start(run)) if self.start else Views()
            note = self.note(run) if self.note else ""

            def render(rec: Progress, redraw: bool) -> dict:  # on the training thread, between two steps
                out = {"loss": curves_frame(run.curves, "loss"), "metric": curves_frame(run.curves, "metric")}
                if views.live:
                    out.update(views.live(rec, redraw or rec.done))
                dead = self.inside_views(run, out, rec)
                if not rec.done:
                    return {"status": status_line(rec, run.device) + (f" · {dead}" if dead else "") + note, **out}
                if views.final:
                    out.update(views.final(rec))
                return {"status": final_status(rec, run) + (f"\n\n{dead}." if dead else "") + note, **out,
                        "state": run.state, "download": store.download_update(run.state)}

            yield from run.stream(render, 1.0 / settings.UPDATES_PER_SECOND, settings.BOUNDARY_EVERY)

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

    def params_text(self, values: dict) -> str:
        """The parameter count under the architecture, from the fields that change it (or what is wrong)."""
        fields = tuple(f for f in self.fields if f.params)
        try:
            cfg = build_config(fields, values, self.dataset, validate=False)
            n = estimate_params(cfg, *io_shape(cfg))
        except ConfigError as e:
            return f"⚠️ {e}"
        flag = " — over the limit, use smaller layers" if n > settings.LIMITS.max_params else ""
        return f"**{n:,}** trainable parameters{flag}"


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
    """After Stop: what became of the cancelled run and which model the tab holds now."""
    run = stopped_run(state)
    if run is None:  # nothing was running (not started yet, or already finished): leave the status as it is
        return {}
    if not run.ended.is_set():
        return {"status": "⏹️ Stopping… the run ends at its next update."}
    head = status_line(run.last, run.device) + "\n\n" if run.last is not None else ""
    return {"status": head + "⏹️ " + run.result, "download": store.download_update(state),
            "code": store.code_for(state)}


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
            if f.kind in ("text", "multi"):
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
        with gr.Row():
            self.outputs["download"] = gr.DownloadButton("Download model", interactive=False, size="sm")
            self.upload = gr.UploadButton("Upload model", file_types=[".safetensors"], size="sm")
        with gr.Accordion("Copy as PyTorch code", open=False):
            self.outputs["code"] = gr.Code(store.code_for(None), language="python", label="Standalone script")

    def status(self, text: str) -> gr.Markdown:
        self.outputs["status"] = gr.Markdown(text, elem_classes="status", elem_id=f"{self.spec.key}-status")
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
        """The two live curve panels, each (title, y axis title)."""
        with gr.Row():
            self.outputs["loss"] = line_plot(*loss, elem_id=f"{self.spec.key}-loss")
            self.outputs["metric"] = line_plot(*metric, elem_id=f"{self.spec.key}-metric")

    def wire(self, **views: gr.components.Component) -> gr.events.Dependency:
        """Train (streaming, the spec's API name), Stop, Upload, the code view and the parameter count."""
        spec, out = self.spec, self.outputs
        out.update(views)
        names = [f.name for f in spec.fields]
        inputs = [self.inputs[n] for n in names] + [self.state]
        handler = named(spec.stream, names, outputs=list(spec.outputs),
                        doc=f"Train on the {spec.key} tab's settings; streams {', '.join(spec.outputs)}.")
        ev = self.train.click(handler, inputs, [out[n] for n in spec.outputs], api_name=spec.api_name,
                              **train_event())
        ev.then(store.code_for, [self.state], out["code"], **PRIVATE)
        # Stop: the cancel is a listener of its own, and the report (which waits for the run to close) runs after it,
        # because the browser awaits each listener of a click in turn.
        report = ("status", "download", "code")
        self.stop.click(None, None, None, cancels=[ev], **PRIVATE).then(
            named(lambda _values, state: after_stop(state), [], outputs=list(report)), [self.state],
            [out[n] for n in report], queue=False, **PRIVATE)
        restore = named(self._restore, ["file"], outputs=["status", "state", "download"])
        self.upload.upload(restore, [self.upload, self.state], [out["status"], self.state, out["download"]],
                           **PRIVATE).then(store.code_for, [self.state], out["code"], **PRIVATE)
        if "params" in out:
            counted = [f.name for f in spec.fields if f.params]
            count = named(lambda values: spec.params_text(values), counted, extra=())
            for n in counted:
                self.inputs[n].change(count, [self.inputs[m] for m in counted], out["params"], queue=False, **PRIVATE)
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
