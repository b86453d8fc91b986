"""The Digits tab: train an image classifier live, then draw a digit (or upload a picture) and read it."""

from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from dlcore import plots
from dlcore.models import forward_chunked
from dlcore.predict import model_input, predict_digit

from .. import fields, settings, store
from ..assets import CLEAR_SKETCH_JS, SELECT_BRUSH_JS
from ..handlers import named
from ..training import PRIVATE, TrainingSpec, TrainingTab, Views, predict_event


def misclassified(d, logits: torch.Tensor, limit: int = 24) -> list[tuple[np.ndarray, str]]:
    """The `limit` most confidently misclassified test images, with 'true → predicted (confidence)' captions."""
    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    truth = d.y_test.to(pred.device)
    wrong = (pred != truth).nonzero().flatten()
    wrong = wrong[conf[wrong].argsort(descending=True)][:limit].tolist()
    mean, std = d.norm["mean"][0], d.norm["std"][0]
    names = d.class_names
    return [(plots.digit_preview((d.x_test[i, 0].cpu().numpy() * std + mean).clip(0, 1), 3),
             f"true {names[int(truth[i])]} → {names[int(pred[i])]} ({conf[i]:.0%})") for i in wrong]


def data_note(run) -> str:
    """Where the images came from, said plainly (the embedded subset says why)."""
    d = run.data
    if d.source.startswith("embedded"):
        return f"\n\nData: the {d.source}, not the full 60,000 — {d.source_reason}."
    return f"\n\nData: {d.source}."


def views(run) -> Views:
    """After the run: the confusion matrix and the most confident mistakes on the test split."""
    def final(rec) -> dict:
        d = run.data
        logits = forward_chunked(run.trainer.model, d.x_test)
        cm = plots.confusion_matrix(d.y_test.cpu().numpy(), logits.argmax(1).cpu().numpy(), len(d.class_names))
        return {"confusion": gr.update(value=plots.confusion_figure(cm, d.class_names), visible=True),
                "gallery": gr.update(value=misclassified(d, logits), visible=True)}
    return Views(final=final)


SPEC = TrainingSpec(key="digits", dataset="mnist", fields=fields.DIGITS, api_name="train_digits",
                    datasets=("mnist", "fashion"), views=("confusion", "gallery"), start=views, note=data_note,
                    inside=True)


def read_sketch(values: dict, state: dict | None = None) -> dict:
    """A Sketchpad value (or an image path) -> the top 3, the 28x28 image the model sees, and which model answered."""
    probs, img28 = predict_digit(store.session_model(state, "digits"), values["sketch"], settings.LIMITS)
    return {"label": probs, "seen": plots.digit_preview(img28),
            "which": f"Predicted with {store.which_model(state, 'digits')}."}


def label_only(values: dict, state: dict | None = None) -> dict:
    """/predict_digit: the top 3 and which model. The 28x28 preview is its own event (/sketch_preview) that the
    Predict button chains after this one, so an API client asking for a label does not also fetch a picture file
    (gradio_client downloads every file output, which cost a third of the round trip)."""
    out = read_sketch(values, state)
    return {"label": out["label"], "which": out["which"]}


def preview(values: dict, state: dict | None = None) -> dict:
    """/sketch_preview: the 28x28 image the model sees, framed as the model's data was made (no forward pass)."""
    return {"seen": plots.digit_preview(model_input(store.session_model(state, "digits"), values["sketch"], settings.LIMITS))}


def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)

    def progress() -> None:  # under the settings: the status and curves, so the drawing stays beside them
        tab.status("Until you train, predictions use the built-in CNN.")
        tab.curves(("Loss", "cross-entropy"), ("Accuracy", "accuracy"))
        tab.inside()

    with tab.page("Digits"):
        with tab.columns([("data", None), ("model", None), ("training", None)], left=progress):
            gr.Markdown("### Draw a digit\nBlack ink on white; use most of the square.")
            sketch = gr.Sketchpad(label="Sketchpad", elem_id="sketchpad", canvas_size=(280, 280), type="numpy",
                                  image_mode="RGBA", layers=False, transforms=(),
                                  brush=gr.Brush(colors=["#000000"], color_mode="fixed", default_size=11),
                                  height=380, width=380)
            with gr.Row():
                predict = gr.Button("Predict", variant="primary")
                clear = gr.Button("Clear")
            picture = gr.Image(label="…or upload an image of a digit", type="filepath", sources=["upload"], height=140)
            with gr.Row():
                label = gr.Label(label="Top 3", num_top_classes=3, elem_id="digit-label")
                seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=170, width=170,
                                buttons=[], format="png", elem_id="digit-seen")
            which = gr.Markdown("", elem_id="digit-which")
        with gr.Row():
            confusion = gr.Plot(label="Confusion matrix (test set)", show_label=False, visible=False, scale=4)
            gallery = gr.Gallery(label="Most confident mistakes (true → predicted)", columns=6, height=420,
                                 visible=False, scale=5, object_fit="contain")
    tab.wire(confusion=confusion, gallery=gallery)

    predict.click(named(label_only, ["sketch"], outputs=["label", "which"]), [sketch, tab.state], [label, which],
                  api_name="predict_digit", **predict_event()).success(
        named(preview, ["sketch"], outputs=["seen"]), [sketch, tab.state], seen, api_name="sketch_preview",
        **predict_event())
    picture.upload(named(read_sketch, ["sketch"], outputs=["label", "seen", "which"]), [picture, tab.state],
                   [label, seen, which], **PRIVATE, **predict_event())
    clear.click(lambda: (None, None, ""), None, [label, seen, which], js=CLEAR_SKETCH_JS, queue=False, **PRIVATE)
    for opened in (demo.load, tab.tab.select):  # the brush is ready at the first stroke
        opened(None, None, None, js=SELECT_BRUSH_JS, **PRIVATE)
    return tab
