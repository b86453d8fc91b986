"""Boston housing, the Tables tab's built-in table: its training endpoint (/train_boston), the result views every
table shares (predicted vs actual or a confusion matrix, a linear model's coefficients), and the price form
(/predict_price, 13 features in the CSV's order)."""

from __future__ import annotations

import gradio as gr

from dlcore import plots
from dlcore.config import RunConfig
from dlcore.data import load_data
from dlcore.models import forward_chunked
from dlcore.predict import BOSTON_ORDER, predict_price
from dlcore.tabular import coefficients

from .. import fields, store
from ..training import TrainingSpec, Views

RESULT_VIEWS = ("figure", "coefficients")


def views(run) -> Views:
    """After the run, on the test split: predicted vs actual and the residuals (numbers) or the confusion matrix
    (classes); and a linear model's learned coefficients (hidden for a network)."""
    def final(rec) -> dict:
        d, model = run.data, run.trainer.model
        out = forward_chunked(model, d.x_test).cpu()
        if d.task == "regression":
            fig = plots.regression_figure(d.y_test.cpu().numpy(), out.numpy(), rec.metrics)
        else:
            cm = plots.confusion_matrix(d.y_test.cpu().numpy(), out.argmax(1).numpy(), len(d.class_names))
            fig = plots.confusion_figure(cm, d.class_names)
        linear = run.cfg.model == "linear"
        target = d.info.get("target", "") if d.name == "csv" else "MEDV ($1000s)"
        table = coefficients(model, d.feature_names, d.class_names, target) if linear else None
        return {"figure": gr.update(value=fig, visible=True), "coefficients": gr.update(value=table, visible=linear)}
    return Views(final=final)


SPEC = TrainingSpec(key="boston", dataset="boston", fields=fields.BOSTON, api_name="train_boston",
                    datasets=("boston",), views=RESULT_VIEWS, start=views, inside=True)
MEDIANS: dict[str, float] = {}  # the price form's starting values, filled on page load (see price_form)


def boston_model(state: dict | None):
    """The session's model if it prices houses (a Boston one), else the built-in default."""
    own = (state or {}).get("model")
    return own if own is not None and own.cfg.dataset == "boston" else store.default_model("boston")


def predict_house(values: dict, state: dict | None = None) -> dict:
    """/predict_price: the 13 features in the CSV's order (CRIM ... LSTAT) -> the price in $1000s and notes."""
    tm = boston_model(state)
    price, warnings = predict_price(tm, [values[n] for n in BOSTON_ORDER])
    for w in warnings:
        gr.Warning(w)
    notes = "\n".join(f"- ⚠️ {w}" for w in warnings)
    own = (state or {}).get("model")
    if own is None or own is tm:
        which = store.which_model(state, "boston")
    else:  # the tab's model was trained on another table: the houses are priced by the built-in one, and it says so
        which = store.default_label("boston") + " (the tab's own model was trained on another table)"
    return {"price": round(price, 2),
            "note": f"Predicted with {which}. Value in $1000s." + (f"\n\n{notes}" if notes else "")}


def cleared(_values: dict | None = None, _state: dict | None = None) -> dict:
    """Before each prediction: no stale price or warning stays on screen if this one fails."""
    return {"price": None, "note": ""}


def price_form() -> tuple[list[gr.Number], gr.Number, gr.Markdown, gr.Button]:
    """The 13 feature boxes, the button, the price and its notes. The boxes have no value of their own (a component's
    value would be the API parameter's default, and gradio_client would fill a missing feature with it); the page
    fills them with the training medians (MEDIANS) when it loads."""
    gr.Markdown("### Price a house\nValues in the data's units; each box starts at the training median.")
    feats = load_data(RunConfig(dataset="boston")).info["features"]
    house = []
    for start in range(0, len(BOSTON_ORDER), 5):
        with gr.Row():
            for name in BOSTON_ORDER[start:start + 5]:
                f = feats[name]
                MEDIANS[name] = float(f"{f['median']:.4g}")
                house.append(gr.Number(label=f"{name} ({f['unit']})", elem_id=f"house-{name}",
                                       info=f"{f['description']}; typical {f['p05']:.3g}–{f['p95']:.3g}"))
    with gr.Row():
        button = gr.Button("Predict price", variant="primary")
        price = gr.Number(label="Predicted price ($1000s)", interactive=False)
    return house, price, gr.Markdown(""), button
