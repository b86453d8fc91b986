"""The Boston housing tab: train a regressor live, then price a house from its 13 features."""

from __future__ import annotations

import gradio as gr

from dlcore import plots
from dlcore.config import RunConfig
from dlcore.data import B_NOTE, load_data
from dlcore.models import forward_chunked
from dlcore.predict import BOSTON_ORDER, predict_price

from .. import fields, store
from ..handlers import named
from ..training import PRIVATE, TrainingSpec, TrainingTab, Views, predict_event

MEDIANS: dict[str, float] = {}  # the form's starting values, filled on page load (see build)


def views(run) -> Views:
    """After the run: predicted vs actual and the residuals on the test split."""
    def final(rec) -> dict:
        d = run.data
        pred = forward_chunked(run.trainer.model, d.x_test).cpu().numpy()
        fig = plots.regression_figure(d.y_test.cpu().numpy(), pred, rec.metrics)
        return {"figure": gr.update(value=fig, visible=True)}
    return Views(final=final)


SPEC = TrainingSpec(key="boston", dataset="boston", fields=fields.BOSTON, api_name="train_boston",
                    datasets=("boston",), views=("figure",), start=views, inside=True)


def predict_house(values: dict, state: dict | None = None) -> dict:
    """/predict_price: the 13 features in the CSV's order (CRIM ... LSTAT) -> the price in $1000s and notes."""
    price, warnings = predict_price(store.session_model(state, "boston"), [values[n] for n in BOSTON_ORDER])
    for w in warnings:
        gr.Warning(w)
    notes = "\n".join(f"- ⚠️ {w}" for w in warnings)
    which = store.which_model(state, "boston")
    return {"price": round(price, 2),
            "note": f"Predicted with {which}. Value in $1000s." + (f"\n\n{notes}" if notes else "")}


def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)
    with tab.page("Boston housing"):
        with tab.columns([("model", None), ("training", None), ("data", None)],
                         extras={"data": lambda: {"b_note": gr.Markdown(f"<small>ℹ️ {B_NOTE}</small>")}}):
            tab.status("Press **Train**. Until then, prices come from the built-in model.")
            tab.curves(("Loss (train and test)", "loss"), ("Test RMSE ($1000s)", "RMSE"))
            tab.inside()
            figure = gr.Plot(label="Test split: predicted vs actual, residuals", show_label=False, visible=False)
        house, price, note, button = _price_form()
    tab.wire(figure=figure)
    # The boxes have no value of their own (a component's value would be the API parameter's default, and
    # gradio_client would fill a missing feature with it); the page fills them with the medians when it loads.
    demo.load(lambda: tuple(MEDIANS.values()), None, house, queue=False, **PRIVATE)
    button.click(named(predict_house, BOSTON_ORDER, outputs=["price", "note"]), [*house, tab.state], [price, note],
                 api_name="predict_price", **predict_event())
    return tab


def _price_form() -> tuple[list[gr.Number], gr.Number, gr.Markdown, gr.Button]:
    """The 13 feature boxes (each prefilled with the training median), the button, the price and its notes."""
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
