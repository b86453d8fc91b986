"""The Spiral tab: seed 002's spiral, the decision boundary drawn live, and a probe of any point."""

from __future__ import annotations

import gradio as gr

from dlcore import plots
from dlcore.errors import ConfigError
from dlcore.predict import probe_point
from dlcore.records import TrainedModel
from dlcore.session import cached_data

from .. import fields
from ..fields import build_config
from ..handlers import named, user_errors
from ..training import PRIVATE, TrainingSpec, TrainingTab, Views, predict_event, train_event

DATA_FIELDS = tuple(f for f in fields.SPIRAL if f.group == "data")
NO_MODEL = "There is no spiral model yet: press Train, then click the picture or enter x and y."


def views(run) -> Views:
    """The boundary of the model being trained, redrawn at most every BOUNDARY_EVERY seconds, over the run's points."""
    d = run.data
    overlay = plots.points_overlay(d.x_train.cpu(), d.y_train.cpu(), d.x_test.cpu(), d.y_test.cpu())
    live = TrainedModel(run.cfg, run.trainer.model, {})  # the model being trained, as the grid function wants it
    return Views(live=lambda rec, redraw: {"boundary": plots.boundary_image(live, overlay)} if redraw else {})


SPEC = TrainingSpec(key="spiral", dataset="spiral", fields=fields.SPIRAL, api_name="train_spiral",
                    datasets=("spiral",), views=("boundary",), start=views)


def preview(values: dict, state: dict | None = None) -> dict:
    """Regenerate: draw the data (under the current model's regions, if it has as many classes)."""
    cfg = build_config(DATA_FIELDS, values, "spiral")
    d = cached_data(cfg)
    overlay = plots.points_overlay(d.x_train, d.y_train, d.x_test, d.y_test)
    tm = (state or {}).get("model")
    if tm is not None and tm.meta.get("num_outputs") != cfg.classes:
        tm = None
    return {"boundary": plots.boundary_image(tm, overlay),
            "info": f"{len(d.x_train):,} training and {len(d.x_test):,} held-out points"}


def probe(values: dict, state: dict | None = None) -> dict:
    """Class probabilities at the point (x, y) under the session's spiral model."""
    tm = (state or {}).get("model")
    if tm is None:
        raise ConfigError("there is no spiral model yet; press Train first, then click the picture or enter x and y")
    probs = probe_point(tm, (values["x"], values["y"]))  # finite, within the stated range
    return {"probe": {f"class {name}": float(p) for name, p in zip(tm.meta["class_names"], probs)}}


@user_errors
def click(state, evt: gr.SelectData):
    """A click on the boundary image: the point it shows and the model's class probabilities there.

    Before any training the point is still filled in and a notice (not an error, which would badge the x and y
    boxes) says to train first."""
    x, y = plots.px_to_xy(evt.index[0], evt.index[1])
    if (state or {}).get("model") is None:
        gr.Warning(NO_MODEL)
        return round(x, 4), round(y, 4), gr.skip()
    return round(x, 4), round(y, 4), probe({"x": x, "y": y}, state)["probe"]


def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)
    with tab.page("Spiral"), tab.columns([("data", "Data"), ("model", None), ("training", None)],
                                         extras={"data": lambda: {"regen": gr.Button("Regenerate", size="sm")}}):
        tab.status("Press **Train** to start. The seed's best row (`100,25`, ReLU, Adam 1e-3, 1000 epochs) is set up.")
        with gr.Row():
            boundary = gr.Image(label="Decision boundary (click to probe)", elem_id="boundary", interactive=False,
                                height=420, width=420, buttons=[], show_label=True,
                                format="png")  # crisp dots, cheaper than webp
            with gr.Column():
                probe_label = gr.Label(label="Class probabilities at (x, y)", num_top_classes=3, elem_id="probe")
                with gr.Row():
                    x, y = gr.Number(0.3, label="x"), gr.Number(-0.2, label="y")
                probe_btn = gr.Button("Probe point", size="sm")
                info = gr.Markdown("")
        tab.curves(("Loss", "cross-entropy"), ("Accuracy", "accuracy"))
    tab.wire(boundary=boundary)

    data_inputs = [tab.inputs[f.name] for f in DATA_FIELDS] + [tab.state]
    show = named(preview, [f.name for f in DATA_FIELDS], outputs=["boundary", "info"])
    tab.parts["regen"].click(show, data_inputs, [boundary, info], **PRIVATE, **train_event())  # up to 200,000 points
    demo.load(lambda state: show(*fields.defaults(DATA_FIELDS, "spiral").values(), state), tab.state, [boundary, info],
              **PRIVATE)  # the preset's data: a client cannot make page loads draw large data sets
    probe_btn.click(named(probe, ["x", "y"], outputs=["probe"]), [x, y, tab.state], probe_label, **PRIVATE,
                    **predict_event())
    boundary.select(click, [tab.state], [x, y, probe_label], **PRIVATE, **predict_event())
    return tab
