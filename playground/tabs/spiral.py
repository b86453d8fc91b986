"""The 2-D tab: every 2-D set (spiral by default), input features, points added by clicking, the decision picture
and the network view drawn live, Step and Reset, a probe of any point, and the whole configuration as a link.

The module keeps its historic name (and the endpoint /train_spiral its inputs): the tab grew out of the Spiral tab.
"""

from __future__ import annotations

import copy
import time

import gradio as gr
import numpy as np

from dlcore import plots
from dlcore.errors import ConfigError
from dlcore.netstats import PROBE, dead_text
from dlcore.netview import network_view, unit_detail
from dlcore.planar import PLANAR, parse_points, planar_classes, points_text
from dlcore.plots import LAYER_PANELS, class_colour, curves_frame, layer_frame
from dlcore.predict import check_point, far_point_warnings, predict_points, predict_values
from dlcore.records import TrainedModel
from dlcore.session import cached_data, status_line
from dlcore.stepper import Stepper

from .. import fields, settings, store
from ..fields import build_config, view_options
from ..handlers import named, user_errors
from ..share import from_query, to_query
from ..training import PRIVATE, TrainingSpec, TrainingTab, Views, predict_event, train_event

DATA_FIELDS = tuple(f for f in fields.SPIRAL if f.group == "data")
VIEW_FIELDS = tuple(f for f in fields.SPIRAL if f.view)
NAMES = [f.name for f in fields.SPIRAL]
NO_MODEL = "There is no model for these points yet: press Train (or Step), then click the picture or enter x and y."
# seconds between two live network views: under the UI's update interval, so every update carries one (the decision
# picture, dearer, comes every settings.BOUNDARY_EVERY)
NETWORK_EVERY = 0.1
PROBE_MODE = "probe the point"


def _vmax(data) -> float:
    """The colour scale of a value over the plane: the largest |target| in training (1 for classes)."""
    return max(float(data.y_train.abs().max()), 1e-6) if data.task == "regression" else 1.0


def _overlay(cfg, data, options: dict):
    """The points layer: generated training dots, held-out rings (unless hidden), and the added points marked."""
    n_added = len(cfg.added_points)
    x, y = data.x_train.cpu(), data.y_train.cpu()
    if n_added:
        x, y = x[:-n_added], y[:-n_added]
    test = options.get("show_test", True)
    return plots.points_overlay(x, y, data.x_test.cpu() if test else None, data.y_test.cpu() if test else None,
                                added=cfg.added_points or None, vmax=_vmax(data))


def _picture(state: dict, model: TrainedModel | None, overlay, options: dict, vmax: float):
    """The decision picture (and what redrawing it for a probe needs, kept in the state)."""
    state["picture"] = {"model": model, "overlay": overlay, "discretize": options.get("discretize", False),
                        "vmax": vmax}
    return plots.boundary_image(model, overlay, discretize=options.get("discretize", False), marker=state.get("probe_xy"),
                                vmax=vmax)


def _network(state: dict, model, task: str, options: dict, *, vmax: float, probe):
    """The network view (and what a click on a tile needs, kept in the state); None when the view is off."""
    if not options.get("network_view", True):
        return None
    img, layout = network_view(model, task, discretize=options.get("discretize", False), vmax=vmax)
    state["net"] = {"layout": layout, "model": model, "task": task, "vmax": vmax, "probe": probe}
    return img


def views(run, options: dict) -> Views:
    """The picture of the model being trained (every BOUNDARY_EVERY s) and its network view (every NETWORK_EVERY s),
    drawn on the training thread between two steps."""
    d, state = run.data, run.state
    overlay, vmax, task = _overlay(run.cfg, d, options), _vmax(d), run.cfg.task
    model = run.trainer.model
    live = TrainedModel(run.cfg, model, {"task": task})
    probe = d.x_train[:PROBE].cpu()
    last = {"network": -1e9, "first": True}

    def draw(rec, redraw: bool) -> dict:
        out = {}
        if redraw:
            out["boundary"] = _picture(state, live, overlay, options, vmax)
        now = time.perf_counter()
        if options.get("network_view", True) and (redraw or now - last["network"] >= NETWORK_EVERY):
            out["network"] = _network(state, model, task, options, vmax=vmax, probe=probe)
            last["network"] = now
        elif last["first"] and not options.get("network_view", True):
            out["network"] = None  # turned off: no stale picture from an earlier run
        last["first"] = False
        return out

    def settle(rec) -> dict:
        """After the run: a probe redraws the picture of the model the tab kept (a diverged run keeps the last)."""
        kept = state.get("model")
        if kept is None or kept.model is not model:
            state["picture"]["model"] = kept
        return {}

    return Views(live=draw, final=settle)


SPEC = TrainingSpec(key="spiral", dataset="spiral", fields=fields.SPIRAL, api_name="train_spiral",
                    datasets=tuple(PLANAR), views=("boundary", "network"), start=views, inside=True)


# ------------------------------------------------------------------ data, legend, probe and clicks

def legend(dataset: str, classes) -> str:
    """Which colour is which class (or the value scale), and what the marks on the picture mean."""
    try:
        k = planar_classes(dataset, int(classes))
    except (KeyError, TypeError, ValueError):
        return ""
    if k:
        swatch = " ".join(f'<span class="swatch" style="background:rgb{class_colour(c)}"></span>class {c}'
                          for c in range(k))
    else:
        swatch = ('<span class="scale"></span> value: <span style="color:rgb(245,147,34)">below 0</span>, '
                  'white at 0, <span style="color:rgb(8,119,189)">above 0</span>')
    return (f'<div class="legend">{swatch} &nbsp;·&nbsp; dot: training point · ring: held-out point · '
            "black-edged dot: added by you · ⊕: probed point</div>")


def click_modes(dataset: str, classes) -> list[str]:
    """What a click on the picture does: probe, or add a point of a class (a value, for a value over the plane)."""
    try:
        k = planar_classes(dataset, int(classes))
    except (KeyError, TypeError, ValueError):
        k = 2
    adds = [f"add class {c}" for c in range(k)] if k else [f"add value {v:g}" for v in (-1, -0.5, 0, 0.5, 1)]
    return [PROBE_MODE, *adds]


def preview(values: dict, state: dict | None = None) -> dict:
    """Regenerate: draw the data (under the current model's regions, if it was trained on the same kind of data)."""
    state = state if state is not None else {}
    cfg = build_config(DATA_FIELDS, values, "spiral")
    d = cached_data(cfg)
    options = view_options(VIEW_FIELDS, values) if all(f.name in values for f in VIEW_FIELDS) else {}
    tm = state.get("model")
    if tm is not None and (tm.cfg.task != cfg.task or tm.meta.get("num_outputs") != d.num_outputs):
        tm = None
    added = f", {len(cfg.added_points)} added by you" if cfg.added_points else ""
    return {"boundary": _picture(state, tm, _overlay(cfg, d, options), options, _vmax(d)),
            "info": f"{len(d.x_train) - len(cfg.added_points):,} training{added} and {len(d.x_test):,} held-out points",
            "legend": legend(cfg.dataset, cfg.classes)}


def _redraw(state: dict):
    """The picture as last drawn, with the probed point marked (gr.skip() before anything was drawn)."""
    pic = state.get("picture")
    if pic is None:
        return gr.skip()
    return plots.boundary_image(pic["model"], pic["overlay"], discretize=pic["discretize"], vmax=pic["vmax"],
                                marker=state.get("probe_xy"))


def probe(values: dict, state: dict | None = None) -> dict:
    """The model's answer at the point (x, y): class probabilities or the value; the point is marked on the picture
    and a point far outside the training data gets a warning."""
    state = state if state is not None else {}
    tm = state.get("model")
    if tm is None:
        raise ConfigError("there is no model yet; press Train first, then click the picture or enter x and y")
    px, py = check_point((values["x"], values["y"]))  # finite, within the stated range
    state["probe_xy"] = (px, py)
    warnings = far_point_warnings(tm, [px, py])
    for w in warnings:
        gr.Warning(w)
    if tm.meta.get("task") == "regression":
        answer = f"value {float(predict_values(tm, [[px, py]])[0, 0]):.4f}"
    else:
        probs = predict_points(tm, [[px, py]])[0]
        if not np.isfinite(probs).all():
            raise ConfigError("the model's answer here is not a finite number; the model is broken: train it again")
        answer = {f"class {name}": float(p) for name, p in zip(tm.meta["class_names"], probs)}
    note = "\n".join(f"⚠️ {w}" for w in warnings) or f"At ({px:g}, {py:g}), with {store.describe_model(tm, '')}."
    return {"probe": answer, "boundary": _redraw(state), "info": note}


@user_errors
def click(mode: str, added: str, state, evt: gr.SelectData):
    """A click anywhere on the picture: probe that point, or add a point of the chosen class there.

    Before any training a probe still fills in x and y and shows a notice (not an error, which would badge the x
    and y boxes) to train first."""
    state = state if state is not None else {}
    x, y = (round(v, 3) for v in plots.px_to_xy(evt.index[0], evt.index[1]))
    if mode and mode != PROBE_MODE:
        label = float(mode.rsplit(" ", 1)[1])
        value = mode.startswith("add value")
        points = parse_points(added) + ((x, y, label if value else int(label)),)
        pic = state.get("picture")
        if pic is not None:  # the new point on the picture at once; Train uses it
            layer = plots.points_overlay(None, np.zeros((0, 1)) if value else [], added=[points[-1]], vmax=pic["vmax"])
            pic["overlay"] = pic["overlay"].copy()
            pic["overlay"].alpha_composite(layer)
        return gr.skip(), gr.skip(), gr.skip(), _redraw(state), f"Added ({x:g}, {y:g}): {mode[4:]}.", points_text(points)
    if state.get("model") is None:
        gr.Warning(NO_MODEL)
        return x, y, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    out = probe({"x": x, "y": y}, state)
    return x, y, out["probe"], out["boundary"], out["info"], gr.skip()


def on_dataset(values: dict, state: dict | None = None) -> dict:
    """A new data set: the controls that apply to it, a loss that fits its task, the click modes and the legend."""
    dataset, state = values["dataset"], state if state is not None else {}
    regression = PLANAR.get(dataset) is not None and PLANAR[dataset].task == "regression"
    loss = values["loss"]
    if regression and loss in ("cross_entropy", "nll"):
        loss = "mse"
    elif not regression and loss in ("l1", "huber"):
        loss = "cross_entropy"
    hidden = state.get("hidden", [])
    return {"classes": gr.update(visible=dataset == "spiral" and "classes" not in hidden),
            "points": gr.update(label="Points" if regression else "Points per class"),
            "loss": loss,
            "metric": gr.update(title="Test RMSE" if regression else "Accuracy",
                                y_title="RMSE" if regression else "accuracy"),
            "click_mode": gr.update(choices=click_modes(dataset, values["classes"]), value=PROBE_MODE),
            "legend": legend(dataset, values["classes"])}


# ------------------------------------------------------------------ the network view's tiles

def tile_click(state, evt: gr.SelectData):
    """A click on a tile of the network view: that unit large, its incoming weights and bias, how often it is 0."""
    net = (state or {}).get("net")
    tile = net["layout"].tile_at(*evt.index) if net else None
    if tile is None:
        return gr.skip(), "Click a tile of the network view to see that unit large, with its weights."
    model = copy.deepcopy(net["model"])  # a live run may be training it: read a copy
    img, info = unit_detail(model, net["task"], tile.stage, tile.unit, net["probe"], vmax=net["vmax"])
    return img, detail_text(info)


def detail_text(info: dict) -> str:
    """A unit's detail as Markdown: what feeds it and how often it is zero."""
    lines = [f"**{info['title']}**"]
    if not info["inputs"]:
        return lines[0] + " — an input: the network sees this value of each point."
    shown = info["weights"][:8]
    rest = len(info["weights"]) - len(shown)
    lines.append("incoming weights: " + ", ".join(f"{name} {w:+.3f}" for name, w in shown)
                 + (f" … and {rest} more" if rest > 0 else ""))
    if info["bias"] is not None:
        lines.append(f"bias {info['bias']:+.3f}")
    if info["zero_share"] is not None:
        dead = " — a dead ReLU: no gradient reaches its weights" if info["zero_share"] >= 1 else ""
        lines.append(f"zero on {100 * info['zero_share']:.0f} % of the probed training points{dead}")
    if info["dead_inputs"] is not None:
        lines.append(f"dead (always-zero) ReLUs among its {info['inputs']} inputs: {info['dead_inputs']}")
    return "  \n".join(lines)


# ------------------------------------------------------------------ Step and Reset

def _stepped(stepper: Stepper, state: dict, values: dict, status: str) -> dict:
    """The outputs after a Step or a Reset: the stepper's model drawn, its curves, the status."""
    options = view_options(VIEW_FIELDS, values)
    d, model, task = stepper.trainer.data, stepper.trainer.model, stepper.cfg.task
    tm = TrainedModel(stepper.cfg, model, {"task": task})
    out = {"status": status, "loss": curves_frame(stepper.curves, "loss"),
           "metric": curves_frame(stepper.curves, "metric"),
           "boundary": _picture(state, tm, _overlay(stepper.cfg, d, options), options, _vmax(d)),
           "network": _network(state, model, task, options, vmax=_vmax(d), probe=d.x_train[:PROBE].cpu()),
           **{panel: layer_frame(stepper.curves, panel) for panel in LAYER_PANELS}, "finding": "", "state": state}
    return out


def _idle(state: dict | None, button: str) -> dict:
    """The tab's state, when no training run is going on (Step and Reset must not touch a live run's model)."""
    state = state if state is not None else {}
    run = state.get("run")
    if run is not None and not run.ended.is_set():
        raise ConfigError(f"a training run is going on; press Stop first, then {button}")
    return state


def step(values: dict, state: dict | None = None) -> dict:
    """Step: train one epoch (or one batch) more of the hand-driven run; new settings start it afresh."""
    state = _idle(state, "Step")
    cfg = SPEC.config(values)
    stepper = state.get("stepper")
    fresh = stepper is None or not stepper.matches(cfg)
    if fresh:
        if stepper is not None:
            stepper.close()
        stepper = state["stepper"] = Stepper(cfg, cached_data(cfg), settings.LIMITS, state.get("resets", 0))
    if stepper.done:
        raise ConfigError(f"the hand-driven run has reached its {stepper.cfg.epochs} epochs; press Reset to start "
                          "again, or raise Epochs")
    unit = values.get("step_unit") or "epoch"
    rec = stepper.step(unit)
    state["model"] = stepper.trained()  # in eval mode between steps, for predictions
    dead = dead_text(rec.layers)
    head = "👣 New run, stepped by hand. " if fresh else "👣 "
    status = head + status_line(rec, stepper.trainer.device) + (f" · {dead}" if dead else "")
    out = _stepped(stepper, state, values, status + f"\n\nOne {unit} per Step; Train starts a fresh run.")
    out["download"] = store.download_update(state)
    return out


def reset(values: dict, state: dict | None = None) -> dict:
    """Reset: new initial weights with the same settings, at epoch 0 (Step then trains from them)."""
    state = _idle(state, "Reset")
    if state.get("stepper") is not None:
        state["stepper"].close()
    state["resets"] = state.get("resets", 0) + 1
    cfg = SPEC.config(values)
    stepper = state["stepper"] = Stepper(cfg, cached_data(cfg), settings.LIMITS, state["resets"])
    status = (f"🔄 New initial weights (draw {state['resets']}), epoch 0. Press **Step** to train them one epoch or "
              "batch at a time; **Train** starts a fresh run from the seed's own weights.")
    return _stepped(stepper, state, values, status)


# ------------------------------------------------------------------ the link

def share_link(values: dict, state: dict | None = None):
    """The settings as a query string (the page's address is put in front of it in the browser)."""
    return gr.update(value=to_query(fields.SPIRAL, values, (state or {}).get("hidden", [])), visible=True)


def restore_link(values: dict, state: dict | None = None) -> dict:
    """Opening a shared link: its settings in the controls, the controls it hides hidden, a notice naming what was
    ignored."""
    state = state if state is not None else {}
    restored, hide, notices = from_query(fields.SPIRAL, values["query"] or "")
    state["hidden"] = hide
    dataset = restored.get("dataset", SPEC.args()["dataset"])
    out = {name: gr.update(value=value) for name, value in restored.items()}
    full = {**SPEC.args(), **restored}  # the controls that do not apply stay hidden (momentum for adam...)
    for name in NAMES:
        field = next((f for f in fields.SPIRAL if f.name == name), None)
        visible = name not in hide and (name != "classes" or dataset == "spiral") and (
            field is None or fields.applies(field, fields.SPIRAL, full, "spiral"))
        out[name] = gr.update(**({"value": restored[name]} if name in restored else {}), visible=visible)
    for notice in notices:
        gr.Warning(f"Link: {notice} (ignored)")
    said = ("Ignored from the link: " + "; ".join(notices)) if notices else ""
    if restored or hide:
        said = (f"Settings from the link: {len(restored)} restored" + (f", {len(hide)} controls hidden" if hide else "")
                + ("." if not notices else f". {said}."))
    return {**out, "link_note": said}


# ------------------------------------------------------------------ the layout

def _data_extras() -> dict:
    with gr.Row():
        regen = gr.Button("Regenerate", size="sm")
        clear = gr.Button("Clear added points", size="sm")
    return {"regen": regen, "clear": clear}


def _left(parts: dict):
    def build() -> None:
        with gr.Row():
            parts["step"] = gr.Button("Step", size="sm", elem_id="spiral-step")
            parts["reset"] = gr.Button("Reset", size="sm", elem_id="spiral-reset")
            parts["step_unit"] = gr.Radio(["epoch", "batch"], value="epoch", label="Step by", container=False,
                                          elem_id="spiral-step-unit")
        with gr.Row():
            parts["copy_link"] = gr.Button("Copy link", size="sm", elem_id="spiral-copy-link")
        parts["link"] = gr.Textbox(label="Link to these settings (add &hide=optimizer,lr to hide controls)",
                                   elem_id="spiral-link", interactive=False, buttons=["copy"], visible=False)
        parts["link_note"] = gr.Markdown("", elem_id="spiral-link-note")
        parts["query"] = gr.Textbox(visible=False, elem_id="spiral-query")
    return build


# long: one layout, then the wiring of its buttons, clicks and the shared link
def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)
    mine: dict = {}
    sections = [("data", None), ("model", None), ("training", None), ("view", "View options")]
    with tab.page("2-D"), tab.columns(sections, extras={"data": _data_extras}, left=_left(mine)):
        tab.status("Press **Train** to start. The seed's best row (`100,25`, ReLU, Adam 1e-3, 1000 epochs) is set up "
                   "on the spiral; pick another data set, input features or net on the left.")
        with gr.Row():
            with gr.Column(scale=6, min_width=300):
                # no label badge over the picture: a click on its corner must reach the picture (issue 15)
                gr.Markdown("**Decision picture** — click to probe a point, or to add one", elem_classes="pic-title")
                boundary = gr.Image(label="Decision picture", elem_id="boundary", interactive=False, height=420,
                                    width=420, buttons=[], show_label=False, format="png")  # crisp dots, cheaper than webp
                mine["legend"] = gr.HTML(legend("spiral", 3), elem_id="spiral-legend")
            with gr.Column(scale=4, min_width=220):
                probe_label = gr.Label(label="At (x, y)", num_top_classes=3, elem_id="probe")
                mine["click_mode"] = gr.Radio(click_modes("spiral", 3), value=PROBE_MODE, label="A click on the picture",
                                              elem_id="spiral-click-mode")
                with gr.Row():
                    x = gr.Number(0.3, label="x", elem_id="probe-x")
                    y = gr.Number(-0.2, label="y", elem_id="probe-y")
                probe_btn = gr.Button("Probe point", size="sm")
                info = gr.Markdown("", elem_id="spiral-info")
        with gr.Row():
            with gr.Column(scale=7, min_width=480):
                gr.Markdown("**Network view** — each tile is one unit's output over the picture's square; links: "
                            "blue positive, orange negative, thicker = larger |weight|. Click a tile.",
                            elem_classes="pic-title")
                network = gr.Image(label="Network view", elem_id="network", interactive=False, buttons=[],
                                   show_label=False, format="png", height=440)
            with gr.Column(scale=3, min_width=240):
                unit_img = gr.Image(label="Unit", elem_id="unit", interactive=False, buttons=[], height=240,
                                    format="png")
                unit_md = gr.Markdown("Click a tile of the network view to see that unit large, with its weights.",
                                      elem_id="unit-detail")
        tab.curves(("Loss", "loss"), ("Accuracy", "accuracy"))
        tab.inside()
    tab.wire(boundary=boundary, network=network)
    parts, inp, out = {**tab.parts, **mine}, tab.inputs, tab.outputs
    views_out = {"boundary": boundary, "info": info, "legend": parts["legend"]}

    data_names = [f.name for f in DATA_FIELDS] + [f.name for f in VIEW_FIELDS]
    data_inputs = [inp[n] for n in data_names] + [tab.state]
    show = named(preview, data_names, outputs=list(views_out))
    parts["regen"].click(show, data_inputs, list(views_out.values()), **PRIVATE, **train_event())  # up to 200,000 points
    parts["clear"].click(lambda: "", None, inp["added_points"], queue=False, **PRIVATE).then(
        show, data_inputs, list(views_out.values()), **PRIVATE, **predict_event())
    for name in ("show_test", "discretize"):
        inp[name].input(show, data_inputs, list(views_out.values()), **PRIVATE, **predict_event())

    changed = {n: inp[n] for n in ("classes", "points", "loss")} | {"metric": out["metric"],
                                                                       "click_mode": parts["click_mode"],
                                                                       "legend": parts["legend"]}
    switch = named(on_dataset, ["dataset", "classes", "loss"], outputs=list(changed))
    inp["dataset"].input(switch, [inp["dataset"], inp["classes"], inp["loss"], tab.state], list(changed.values()),
                         **PRIVATE).then(show, data_inputs, list(views_out.values()), **PRIVATE)
    inp["classes"].input(switch, [inp["dataset"], inp["classes"], inp["loss"], tab.state], list(changed.values()),
                         **PRIVATE)

    probe_outs = [probe_label, boundary, info]
    probe_btn.click(named(probe, ["x", "y"], outputs=["probe", "boundary", "info"]), [x, y, tab.state], probe_outs,
                    **PRIVATE, **predict_event())
    boundary.select(click, [parts["click_mode"], inp["added_points"], tab.state],
                    [x, y, probe_label, boundary, info, inp["added_points"]], **PRIVATE, **predict_event())
    network.select(tile_click, [tab.state], [unit_img, unit_md], **PRIVATE, **predict_event())

    stepped = ["status", "loss", "metric", "boundary", "network", *LAYER_PANELS, "finding", "state", "download"]
    step_inputs = [inp[n] for n in NAMES] + [parts["step_unit"], tab.state]
    step_outs = [out[n] for n in stepped]
    parts["step"].click(named(step, [*NAMES, "step_unit"], outputs=stepped), step_inputs, step_outs, **PRIVATE,
                        concurrency_id="train", concurrency_limit=settings.TRAIN_CONCURRENCY).then(
        store.code_for, [tab.state], out["code"], **PRIVATE)
    parts["reset"].click(named(reset, NAMES, outputs=stepped), [inp[n] for n in NAMES] + [tab.state], step_outs,
                         **PRIVATE, concurrency_id="train", concurrency_limit=settings.TRAIN_CONCURRENCY)

    link = parts["link"]
    parts["copy_link"].click(named(share_link, NAMES, outputs=None), [inp[n] for n in NAMES] + [tab.state], link,
                             **PRIVATE).then(None, link, link, js=COPY_LINK_JS, **PRIVATE)
    restored = [inp[n] for n in NAMES] + [parts["link_note"]]
    demo.load(None, None, parts["query"], js="() => window.location.search", **PRIVATE).then(
        named(restore_link, ["query"], outputs=[*NAMES, "link_note"]), [parts["query"], tab.state], restored,
        **PRIVATE).then(switch, [inp["dataset"], inp["classes"], inp["loss"], tab.state], list(changed.values()),
                        **PRIVATE).then(show, data_inputs, list(views_out.values()), **PRIVATE)
    return tab


# The link: the page's own address with the settings' query; shown, copied, and put in the address bar.
COPY_LINK_JS = """
(query) => {
  const url = window.location.origin + window.location.pathname + query;
  try { window.history.replaceState(null, "", url); } catch (e) {}
  try { navigator.clipboard && navigator.clipboard.writeText(url); } catch (e) {}
  return url;
}
"""
