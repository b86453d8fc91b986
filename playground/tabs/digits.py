"""The Digits tab: train an image classifier live, then draw a digit (the answer follows every stroke), see what the
network sees, and teach it your own hand.

Images reach the handlers unprocessed (`preprocess=False`, see playground/images.py): nothing is fetched from a URL and
no image is decoded before its header has passed the pixel cap.
"""

from __future__ import annotations

import functools
import threading

import gradio as gr
import numpy as np
import torch

from dlcore import explain, plots, strokes
from dlcore.errors import InputError
from dlcore.models import forward_chunked
from dlcore.predict import BlankCanvas, frame, model_input, predict_image, sketch_to_ink, verdict
from dlcore.presets import preset
from dlcore.teach import MAX_DRAWINGS, teach

from .. import fields, settings, store
from ..assets import CLEAR_SKETCH_JS, SELECT_BRUSH_JS, digit_strokes_js
from ..handlers import named, user_errors
from ..images import DrawingMissing, Image, Sketchpad, editor_value, upload_path
from ..training import PRIVATE, TrainingSpec, TrainingTab, Views, predict_event

DRAW_FIRST = "Draw a digit: the answer follows every stroke."
CANVAS = (280, 280)  # the Sketchpad's canvas_size: what its pictures and the page's strokes measure, in px
BRUSH = 11  # the brush's radius at the start, in canvas px (the editor's size slider changes it)
INK = "#000000"
# The page's strokes are read outside the queue (see `quick`): at most this many at once, all users together.
QUICK_READS = threading.BoundedSemaphore(settings.QUICK_CONCURRENCY)


def misclassified(d, logits: torch.Tensor, limit: int = 24) -> list[tuple[np.ndarray, str]]:
    """The `limit` most confidently misclassified test images, captioned 'true → predicted, confidence' (short enough
    to show whole under a thumbnail)."""
    probs = torch.softmax(logits, 1)
    conf, pred = probs.max(1)
    truth = d.y_test.to(pred.device)
    wrong = (pred != truth).nonzero().flatten()
    wrong = wrong[conf[wrong].argsort(descending=True)][:limit].tolist()
    mean, std = d.norm["mean"][0], d.norm["std"][0]
    names = d.class_names
    return [(plots.digit_preview((d.x_test[i, 0].cpu().numpy() * std + mean).clip(0, 1), 3),
             f"{names[int(truth[i])]} → {names[int(pred[i])]}, {conf[i]:.0%}") for i in wrong]


def data_note(run) -> str:
    """Where the images came from, in plain words."""
    d = run.data
    if not d.source.startswith("embedded"):
        return f"\n\nData: {d.source}."
    if "could not be downloaded" in d.source_reason:
        why = "no internet (the download of the full MNIST failed), so"
    elif "DLCORE_OFFLINE" in d.source_reason:
        why = "downloads are off here (DLCORE_OFFLINE), so"
    else:
        why = "as asked,"
    return f"\n\nData: {why} the built-in 5,000 digits (4,000 to train, 1,000 held out), not the full 60,000."


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

# The settings whose preset differs between the tab's data sets (e.g. epochs, augmentation): picking a data set loads
# its own, the way the tab starts with MNIST's.
PER_DATASET = tuple(f for f in fields.DIGITS if f.name != "dataset"
                    and len({f.default(preset(d)) for d in SPEC.datasets}) > 1)


def dataset_settings(values: dict) -> dict:
    """The chosen data set's preset for the settings in PER_DATASET."""
    cfg = preset(fields.DIGIT_DATASETS[values["dataset"]]["dataset"])
    return {f.name: f.default(cfg) for f in PER_DATASET}


# ---------------------------------------------------------------- reading a drawing

def _drawing(value, editor: gr.Sketchpad | None, state: dict | None = None):
    """The handler's sketch value as dlcore reads it: an unprocessed Sketchpad value or uploaded file (the app), or
    arrays and images (tests in this process). When the editor's value names a drawing it has not sent yet (Predict
    clicked within half a second of a stroke), the strokes the page sent (`quick`) are the drawing on the canvas."""
    try:
        return _editor_drawing(value, editor)
    except DrawingMissing:
        drawing = (state or {}).get("drawing")
        if drawing is None or not drawing.strokes or (state or {}).get("quick_off"):
            raise
        return strokes.rasterise(drawing)


def _editor_drawing(value, editor: gr.Sketchpad | None):
    if isinstance(value, dict) and ("path" in value or "meta" in value):  # one uploaded file (the picture box)
        return upload_path(value)
    layers = value.get("layers") if isinstance(value, dict) else None
    parts = [value.get("background"), value.get("composite"), *(layers if isinstance(layers, (list, tuple)) else [])] \
        if isinstance(value, dict) else []
    if isinstance(value, dict) and (value.get("id") or any(isinstance(v, (dict, str)) for v in parts)):
        if editor is None:
            raise InputError("this drawing can only be read by the app that received it; send the images as files")
        return editor_value(value, editor)
    return value


def answer_text(probs: dict[str, float]) -> str:
    """The answer in words: the digit, or "not sure" with the two candidates when the top one is weak."""
    sure, (first, second) = verdict(probs)
    if sure:
        return f"## {first[0]}"
    return f"## Not sure: {first[0]} or {second[0]}?\n{first[1]:.0%} / {second[1]:.0%}"


def read(values: dict, state: dict | None = None, editor: gr.Sketchpad | None = None) -> dict:
    """A drawing or picture -> the top 3, the answer in words, the 28x28 the model saw, which model answered. The
    28x28 is kept in the session state for the views and for Teach."""
    tm = store.session_model(state, "digits")
    return _answer(tm, model_input(tm, _drawing(values["sketch"], editor, state), settings.LIMITS), state)


def _answer(tm, img28: np.ndarray, state: dict | None) -> dict:
    """The outputs for the (28, 28) image the model sees; it is kept in the state for the views and for Teach."""
    probs = predict_image(tm, img28)
    if state is not None:
        state["seen"] = img28
    return {"label": probs, "answer": answer_text(probs), "seen": plots.digit_preview(img28),
            "which": f"Predicted with {store.which_model(state, 'digits')}."}


def read_sketch(values: dict, state: dict | None = None, editor: gr.Sketchpad | None = None) -> dict:
    """The Predict button and the picture upload: like `read`, and an empty canvas is an error that says so."""
    try:
        return read(values, state, editor)
    except BlankCanvas:
        raise InputError("draw a digit first: the canvas is empty (or upload an image of a digit)") from None


def _blank(state: dict | None) -> dict:
    """The answer to an empty canvas: none (and no 28x28 kept for the views or Teach)."""
    if state is not None:
        state.pop("seen", None)
    return {"label": None, "answer": "", "seen": None, "which": DRAW_FIRST}


def live(values: dict, state: dict | None = None, editor: gr.Sketchpad | None = None) -> dict:
    """Every stroke, the editor's own picture: like `read`, but a blank canvas (Clear) quietly empties the answer
    instead of an error. It is the authority, except over a newer drawing the page's strokes already answered for
    (`superseded`): then nothing changes, and the editor's picture of that newer drawing follows."""
    try:
        value = _drawing(values["sketch"], editor)
    except DrawingMissing:  # a picture not sent (yet): nothing to answer; the page's strokes or the next picture do
        return {}
    try:
        ink = sketch_to_ink(value, settings.LIMITS)  # read once, for the comparison and for the answer
    except BlankCanvas:
        ink = None
    if superseded(ink, state):
        return {}
    if ink is None:
        return _blank(state)
    tm = store.session_model(state, "digits")
    return _answer(tm, frame(tm, ink), state)


def quick(values: dict, state: dict | None = None) -> dict:
    """Each stroke's end, from the page (assets.DIGIT_STROKES_JS): the strokes drawn so far, drawn as the editor
    draws them (dlcore.strokes) and read like its picture, about half a second before the editor's picture arrives.

    `"strokes": []` is the canvas cleared; `"strokes": null`, the page no longer follows the pointer (an eraser
    stroke, an undo, a second finger): the editor's pictures answer alone until the next Clear, as they also do after
    one of them showed the strokes no longer describe the canvas (`superseded`).

    It runs outside gradio's queue (a direct POST, as gradio sends `queue=False` events): the queue's join and result
    stream cost the answer 25-40 ms of its 150 ms budget. So it has a bound of its own: at most QUICK_CONCURRENCY
    reads at once, all users together. A stroke that finds them all busy is recorded but not read (nothing changes on
    the page) and the editor's picture, queued like every other prediction, answers it."""
    drawing = strokes.parse(values["strokes"], CANVAS)
    st = state if state is not None else {}
    if drawing is None:
        st.pop("drawing", None)
        return {}
    if not drawing.strokes:
        old = st.pop("drawing", None)
        if old is not None and old.strokes:
            st["cleared"] = old  # the editor's late pictures of it are not taken for a new drawing
        st.pop("quick_off", None)
        st["drawing"] = drawing
        return _blank(state)
    if st.get("quick_off"):
        return {}
    st["drawing"] = drawing  # even when not read: the editor's picture of it is then current, not a different one
    if not QUICK_READS.acquire(blocking=False):
        return {}
    try:
        return read({"sketch": strokes.rasterise(drawing)}, state)
    except BlankCanvas:  # every stroke off the drawing square
        return _blank(state)
    finally:
        QUICK_READS.release()


def superseded(ink: np.ndarray | None, state: dict | None) -> bool:
    """Whether the editor's picture (its ink, as `sketch_to_ink` reads it; None for a blank canvas) shows the drawing
    as it was before the strokes the page sent last (or before the last Clear): the editor answers late (it reads its
    canvas back and uploads it), and an answer to an older drawing must not replace the newer one's. A picture that
    matches neither tells the strokes no longer describe the canvas: the page's strokes are then ignored until the
    next Clear, and the picture answers."""
    drawing = (state or {}).get("drawing")
    if drawing is None:
        return False
    if ink is None:
        ink = np.zeros((drawing.size[1], drawing.size[0]), dtype=np.float32)
    rel = strokes.relation(ink, drawing)
    if rel == strokes.OLDER:
        return True
    if rel == strokes.CURRENT:
        return False
    cleared = state.get("cleared")
    if cleared is not None and strokes.relation(ink, cleared) in (strokes.CURRENT, strokes.OLDER):
        return True
    if rel == strokes.DIFFERENT:
        state["quick_off"] = True
        state.pop("drawing", None)
    return False


def label_only(values: dict, state: dict | None = None, editor: gr.Sketchpad | None = None) -> dict:
    """/predict_digit: the top 3 and which model. The 28x28 preview is its own event (/sketch_preview) that the
    Predict button chains after this one, so an API client asking for a label does not also fetch a picture file
    (gradio_client downloads every file output, which cost a third of the round trip)."""
    out = read_sketch(values, state, editor)
    if state is not None:  # the answer in words follows on the page (shown_answer), not in the API's outputs
        state["answer"] = out["answer"]
    return {"label": out["label"], "which": out["which"]}


def shown_answer(state: dict | None) -> str:
    """After Predict: the answer in words ("3", or "Not sure: 4 or 9?") that /predict_digit's label implies."""
    return (state or {}).get("answer", "")


def preview(values: dict, state: dict | None = None, editor: gr.Sketchpad | None = None) -> dict:
    """/sketch_preview: the 28x28 image the model sees, framed as the model's data was made (no forward pass)."""
    try:
        img28 = model_input(store.session_model(state, "digits"), _drawing(values["sketch"], editor, state),
                            settings.LIMITS)
    except BlankCanvas:
        raise InputError("draw a digit first: the canvas is empty (or upload an image of a digit)") from None
    return {"seen": plots.digit_preview(img28)}


# ---------------------------------------------------------------- what the network sees

def seeing(state: dict | None) -> dict:
    """The views of the session's model for the last drawing: filters, feature maps and saliency for a convnet, the
    first layer's weights as 28x28 images for a dense model."""
    tm = store.session_model(state, "digits")
    img28 = (state or {}).get("seen")
    out = {"maps": gr.update(visible=False), "saliency": None, "filters": None, "seeing_note": ""}
    one_of = f" of net 1 of {tm.members}" if tm.members > 1 else ""  # an ensemble: its first net's layers
    if explain.has_conv(tm):
        f = explain.first_layer_filters(tm)
        out["filters"] = gr.update(value=plots.image_grid(f, cols=8, cell=40, signed=True), visible=True,
                                   label=f"First layer{one_of}: {len(f)} filters {f.shape[1]}x{f.shape[2]} "
                                         "(red: weight > 0, blue: < 0)")
    else:
        w, names = explain.first_layer_templates(tm)
        out["filters"] = gr.update(value=plots.image_grid(w, cols=10 if len(w) <= 10 else 8, cell=56, signed=True),
                                   visible=True, label=f"First layer: the weights of {len(w)} "
                                   f"{'classes (0 to 9)' if names[0].startswith('class') else 'units, largest first'}"
                                   " as 28x28 images (red: ink there raises it, blue: lowers it)")
    if img28 is None:
        out["seeing_note"] = "Draw a digit to see its feature maps and saliency."
        return out
    sal, top = explain.saliency(tm, img28)
    out["saliency"] = gr.update(value=plots.saliency_image(img28, sal), label=f"Saliency for “{top}”: gradient × "
                                "input (red pushed it up, blue pushed it down)")
    layers = explain.feature_maps(tm, img28)
    if layers:
        out["maps"] = gr.update(value=[(plots.image_grid(m.maps[:32], cols=8, cell=42, shared_scale=True),
                                        f"{m.name}{one_of}, strongest first") for m in layers], visible=True)
    return out


# ---------------------------------------------------------------- teach it your hand

def add_drawing(values: dict, state: dict | None, editor: gr.Sketchpad | None = None) -> dict:
    """Keep the drawing on the pad (as the model sees it) with the label the user gives it; with the pad empty, the
    picture last read (an upload). The pad is read here, not taken from the last stroke's answer: Add pressed right
    after a stroke would otherwise keep the drawing as it was before that stroke, or nothing after a Clear."""
    try:
        img28 = model_input(store.session_model(state, "digits"), _drawing(values["sketch"], editor, state),
                            settings.LIMITS)
    except BlankCanvas:
        img28 = (state or {}).get("seen")
    if img28 is None:
        raise InputError("draw a digit first, then pick what it is and add it")
    label = values["digit"]
    if label is None or str(label) not in [str(d) for d in range(10)]:
        raise InputError(f"pick the digit you drew (0 to 9), not {label!r}")
    taught = state.setdefault("teach", [])
    if len(taught) >= MAX_DRAWINGS:
        raise InputError(f"the teaching set holds at most {MAX_DRAWINGS} drawings; press Teach, or empty it")
    taught.append((img28.copy(), int(label)))
    return {"teach_set": _teach_gallery(taught), "teach_note": f"{len(taught)} drawing(s) ready. Draw another, or "
                                                                "press **Teach**."}


def _teach_gallery(taught: list) -> list[tuple[np.ndarray, str]]:
    return [(plots.digit_preview(img, 3), f"drawn {label}") for img, label in taught]


def forget_drawings(values: dict, state: dict | None) -> dict:
    (state or {}).pop("teach", None)
    return {"teach_set": [], "teach_note": "The teaching set is empty."}


def teach_it(values: dict, state: dict | None) -> dict:
    """Fine-tune the session's model on the labelled drawings mixed with MNIST; it becomes the session's model."""
    taught = (state or {}).get("teach") or []
    if not taught:
        raise InputError("add a few of your drawings first: draw, pick the digit, press Add")
    tm = store.session_model(state, "digits")
    new, rep = teach(tm, np.stack([t[0] for t in taught]), [t[1] for t in taught], limits=settings.LIMITS)
    state["model"], state["history"] = new, []
    note = (f"✅ Taught in {rep.seconds:.1f} s on your {rep.drawings} drawing(s) mixed with MNIST.\n\n"
            f"| | before | after |\n|---|---|---|\n"
            f"| your drawings | {rep.before:.0%} ({rep.drawings - len(rep.wrong_before)}/{rep.drawings}) | "
            f"{rep.after:.0%} ({rep.drawings - len(rep.wrong_after)}/{rep.drawings}) |\n"
            f"| MNIST held-out digits | {rep.mnist_before:.1%} | {rep.mnist_after:.1%} |\n\n"
            "Your drawings were trained on, so *after* shows it learnt them; the MNIST row shows it did not forget "
            "the rest. This model now answers in this session; **Download model** keeps it.")
    return {"teach_note": note, "state": state, "download": store.download_update(state),
            "which": f"Predicted with {store.which_model(state, 'digits')}."}


# ---------------------------------------------------------------- the tab

def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)

    def progress() -> None:  # under the settings: the status and curves, so the drawing stays beside them
        tab.status("Until you train, predictions use the built-in CNN.")
        tab.curves(("Loss", "cross-entropy"), ("Accuracy", "accuracy"))
        tab.inside()

    with tab.page("Digits"):
        with tab.columns([("data", None), ("model", None), ("training", None)], left=progress):
            ui = _draw_panel()
            ui.update(_seeing_panel())
            ui.update(_teach_panel())
        with gr.Row():
            confusion = gr.Plot(label="Confusion matrix (test set)", show_label=False, visible=False, scale=4)
            gallery = gr.Gallery(label="Most confident mistakes (true → predicted, confidence)", columns=6, height=420,
                                 visible=False, scale=5, object_fit="contain", elem_id="digits-gallery")
    tab.wire(confusion=confusion, gallery=gallery)
    names = [f.name for f in PER_DATASET]
    tab.inputs["dataset"].change(named(dataset_settings, ["dataset"], extra=(), outputs=names), tab.inputs["dataset"],
                                 [tab.inputs[n] for n in names], queue=False, **PRIVATE)
    _wire_reading(demo, tab, ui)
    _wire_seeing(tab, ui)
    _wire_teaching(tab, ui)
    return tab


def _draw_panel() -> dict:
    gr.Markdown("### Draw a digit\nBlack ink on white; the answer follows every stroke.")
    sketch = Sketchpad(label="Sketchpad", elem_id="sketchpad", canvas_size=CANVAS, type="numpy", image_mode="RGBA",
                       layers=False, transforms=(), brush=gr.Brush(colors=[INK], color_mode="fixed", default_size=BRUSH),
                       height=380)
    limits = {"max_strokes": strokes.MAX_STROKES, "max_points": strokes.MAX_POINTS, "max_work": strokes.MAX_WORK}
    follow = gr.HTML(None, html_template="", js_on_load=digit_strokes_js(CANVAS, BRUSH, INK, limits),
                     elem_id="digit-strokes", visible="hidden", apply_default_css=False)
    with gr.Row():
        predict = gr.Button("Predict", variant="primary", elem_id="digit-predict")
        clear = gr.Button("Clear", elem_id="digit-clear")
    with gr.Row(equal_height=True):
        with gr.Column(min_width=160):
            answer = gr.Markdown("", elem_id="digit-answer")
            label = gr.Label(label="Top 3", num_top_classes=3, elem_id="digit-label")
        with gr.Column(min_width=160):
            gr.Markdown("What the model sees (28×28)", elem_classes="digit-caption")
            seen = gr.Image(show_label=False, interactive=False, height=170, width=170, buttons=[], format="png",
                            elem_id="digit-seen")
    which = gr.Markdown(DRAW_FIRST, elem_id="digit-which")
    picture = Image(label="…or upload an image of a digit", type="filepath", sources=["upload"], height=140,
                    elem_id="digit-picture")
    return {"sketch": sketch, "strokes": follow, "predict": predict, "clear": clear, "answer": answer, "label": label,
            "seen": seen, "which": which, "picture": picture}


def _seeing_panel() -> dict:
    with gr.Accordion("What the network sees", open=False, elem_id="digit-seeing") as box:
        note = gr.Markdown("")
        filters = gr.Image(label="First layer", interactive=False, buttons=[], format="png", elem_id="digit-filters")
        saliency = gr.Image(label="Saliency", interactive=False, buttons=[], format="png", height=240, width=240,
                            elem_id="digit-saliency")
        maps = gr.Gallery(label="Feature maps of your drawing, layer by layer (strongest first)", columns=1,
                          height="auto", object_fit="contain", elem_id="digit-maps")
    opened = gr.State(False)  # inside the tab: a component straight in gr.Tabs would be taken for a tab
    return {"seeing_box": box, "seeing_note": note, "filters": filters, "saliency": saliency, "maps": maps,
            "seeing_open": opened}


def _teach_panel() -> dict:
    with gr.Accordion("Teach it your hand", open=False, elem_id="digit-teach"):
        gr.Markdown("Draw a digit, pick what it is, **Add**; a few per digit (or only those it reads wrong). "
                    "**Teach** fine-tunes this session's model on them mixed with MNIST, in a few seconds.")
        with gr.Row():
            digit = gr.Radio([str(d) for d in range(10)], label="This drawing is a", elem_id="teach-digit")
        with gr.Row():
            add = gr.Button("Add", size="sm", elem_id="teach-add")
            run = gr.Button("Teach", variant="primary", size="sm", elem_id="teach-run")
            forget = gr.Button("Empty the set", size="sm", elem_id="teach-forget")
        note = gr.Markdown("", elem_id="teach-note")
        shelf = gr.Gallery(label="Your labelled drawings", columns=8, height=160, object_fit="contain",
                           elem_id="teach-set")
    return {"digit": digit, "add": add, "teach": run, "forget": forget, "teach_note": note, "teach_set": shelf}


def _wire_reading(demo: gr.Blocks, tab: TrainingTab, ui: dict) -> None:
    """Every stroke reads the drawing (a newer stroke replaces one still waiting); Predict stays for API clients and
    uploads; Clear empties the canvas through the editor's own button, keeping its zoom."""
    sketch, state = ui["sketch"], tab.state
    raw = {"preprocess": False, **predict_event()}  # images are read by dlcore under the limits, never by gradio
    with_editor = functools.partial
    outs = ["label", "answer", "seen", "which"]
    ev = sketch.change(named(with_editor(live, editor=sketch), ["sketch"], outputs=outs, doc=live.__doc__),
                       [sketch, state], [ui[n] for n in outs], trigger_mode="always_last", show_progress="hidden",
                       **PRIVATE, **raw)
    # the page's strokes at each stroke's end: the answer without waiting for the editor's picture (a newer stroke
    # replaces one still waiting, so a fast drawer queues nothing); outside the queue, with a bound of its own (`quick`)
    ui["strokes"].change(named(quick, ["strokes"], outputs=outs), [ui["strokes"], state], [ui[n] for n in outs],
                         trigger_mode="always_last", show_progress="hidden", queue=False, **PRIVATE)
    first = ["label", "which"]  # /predict_digit's outputs: a contract for API clients (README)
    predicted = ui["predict"].click(named(with_editor(label_only, editor=sketch), ["sketch"], outputs=first,
                                          doc=label_only.__doc__), [sketch, state], [ui[n] for n in first],
                                    api_name="predict_digit", **raw)
    predicted.success(shown_answer, [state], ui["answer"], queue=False, **PRIVATE)
    predicted.success(named(with_editor(preview, editor=sketch), ["sketch"], outputs=["seen"], doc=preview.__doc__),
                      [sketch, state], ui["seen"], api_name="sketch_preview", **raw)
    ui["picture"].upload(named(read_sketch, ["sketch"], outputs=outs), [ui["picture"], state], [ui[n] for n in outs],
                         **PRIVATE, **raw)
    ui["clear"].click(None, None, None, js=CLEAR_SKETCH_JS, queue=False, **PRIVATE)
    for opened in (demo.load, tab.tab.select):  # the brush is ready at the first stroke
        opened(None, None, None, js=SELECT_BRUSH_JS, **PRIVATE)
    ui["live_event"] = ev


def _wire_seeing(tab: TrainingTab, ui: dict) -> None:
    """The views follow the drawing while their panel is open (after the answer, so they never delay it)."""
    outs = ["filters", "saliency", "maps", "seeing_note"]
    show = named(lambda _v, state: seeing(state), [], outputs=outs)
    targets = [ui[n] for n in outs]
    opened = ui["seeing_open"]
    ui["seeing_box"].expand(lambda: True, None, opened, queue=False, **PRIVATE).then(
        show, [tab.state], targets, **PRIVATE, **predict_event())
    ui["seeing_box"].collapse(lambda: False, None, opened, queue=False, **PRIVATE)
    follow = user_errors(lambda is_open, state: seeing(state) if is_open else {})
    ui["live_event"].then(lambda is_open, state: _shaped(follow(is_open, state), outs), [opened, tab.state], targets,
                          show_progress="hidden", **PRIVATE, **predict_event())


def _shaped(out: dict, names: list[str]) -> tuple:
    return tuple(out.get(n, gr.skip()) for n in names)


def _wire_teaching(tab: TrainingTab, ui: dict) -> None:
    shelf = ["teach_set", "teach_note"]
    sketch = ui["sketch"]
    ui["add"].click(named(functools.partial(add_drawing, editor=sketch), ["sketch", "digit"], outputs=shelf,
                          doc=add_drawing.__doc__), [sketch, ui["digit"], tab.state], [ui[n] for n in shelf],
                    **PRIVATE, preprocess=False, **predict_event())
    ui["forget"].click(named(forget_drawings, [], outputs=shelf), [tab.state], [ui[n] for n in shelf], **PRIVATE,
                       queue=False)
    outs = ["teach_note", "state", "download", "which"]
    targets = {"state": tab.state, "download": tab.outputs["download"]}
    ui["teach"].click(named(teach_it, [], outputs=outs), [tab.state], [targets.get(n) or ui[n] for n in outs],
                      **PRIVATE, concurrency_id="train", concurrency_limit=settings.TRAIN_CONCURRENCY,
                      show_progress="minimal").then(store.code_for, [tab.state], tab.outputs["code"], **PRIVATE)
