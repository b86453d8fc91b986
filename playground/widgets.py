"""Widgets built from fields, and the few component styles every tab shares."""

from __future__ import annotations

import math

import gradio as gr
import pandas as pd

from .fields import Field

CURVE_COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}


def quiet_choice_refusals() -> None:
    """Gradio's Dropdown and Radio refuse a value outside their choices (an API caller's) with a gr.Error that
    writes a full traceback to the server log, one per call. Make every such refusal name the field and its choices,
    and leave the log alone. (A class-level hook: gradio rebuilds a session's updated component from its class, and
    subclassing a component makes gradio write a .pyi file next to our source.)"""
    for cls in (gr.Dropdown, gr.Radio):
        if getattr(cls.preprocess, "quiet", False):
            continue

        def preprocess(self, payload, _original=cls.preprocess):
            try:
                return _original(self, payload)
            except gr.Error:
                choices = [value for _, value in self.choices]
                raise gr.Error(f"{(self.label or 'value').lower()} {payload!r} is unknown; choose from {choices}",
                               title="Please check the settings", print_exception=False) from None

        preprocess.quiet = True
        preprocess.__doc__ = cls.preprocess.__doc__
        cls.preprocess = preprocess


def widget(f: Field, value, elem_id: str | None = None, visible: bool = True) -> gr.components.Component:  # noqa: PLR0911  one per kind
    """The component for one field, showing `value` (hidden where it does not apply)."""
    common = {"label": f.label, "elem_id": elem_id, "visible": visible}
    if f.help:
        common["info"] = f.help
    if f.kind in ("int", "float"):  # no precision: 2.5 epochs reaches the server, which says it is not whole
        return gr.Number(value, **common)
    if f.kind == "lr":
        return gr.Dropdown(list(f.choices), value=value, allow_custom_value=True, **common)
    if f.kind == "choice":
        return gr.Dropdown(list(f.labels or f.choices), value=value, **common)
    if f.kind == "radio":
        return gr.Radio(list(f.choices), value=value, **common)
    if f.kind == "text":
        return gr.Textbox(value, **common)
    if f.kind == "bool":
        return gr.Checkbox(value, **common)
    if f.kind == "multi":
        return gr.CheckboxGroup(list(f.choices), value=value, **common)
    raise ValueError(f"field {f.name!r} has an unknown kind {f.kind!r}")


def line_plot(title: str, y_title: str, elem_id: str | None = None,
              series: tuple[str, ...] = ("train", "test")) -> gr.LinePlot:
    """A live curve panel: one long-format frame (epoch, value, series) with train and test series."""
    # An empty frame (one blank row per series), not None: the plot is set up, and its drawing library loaded, with
    # the page rather than in the middle of the first run, where it held up the browser for a second just when a
    # Stop click might come. Its series are named now: the plot keeps the colour domain of the first frame it draws.
    empty = pd.DataFrame({"epoch": [0.0] * len(series), "value": [float("nan")] * len(series), "series": list(series)})
    return gr.LinePlot(empty, x="epoch", y="value", color="series", title=title, y_title=y_title, x_title="epoch",
                       color_map=CURVE_COLORS, height=260, show_label=False, elem_id=elem_id)


def log_frame(frame, log: bool):
    """A curve frame with its values rounded to 4 significant digits (what a tooltip needs), on a log10 scale if
    `log` (a loss of 0 or below has no logarithm and is left out)."""
    if log:
        frame = frame.assign(value=[math.log10(v) if v > 0 else float("nan") for v in frame["value"]])
    return frame.assign(value=[float(f"{v:.4g}") if math.isfinite(v) else v for v in frame["value"]])


# Gradio's dropdown takes Enter as "pick the first option that contains what was typed": typing 3 picks 3e-5. A
# number typed into the learning-rate box is committed as typed instead: Enter blurs the box, and on blur the
# dropdown keeps the text as its value (allow_custom_value). Text that is not a number keeps the list's behaviour.
# Installed on the box's first focus; ELEM_ID is the box's element id.
LR_TYPED_JS = """
() => {
  const root = document.getElementById("ELEM_ID");
  if (!root || root.dataset.typedEnter) return;
  root.dataset.typedEnter = "1";
  root.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !(e.target instanceof HTMLInputElement)) return;
    const text = e.target.value.trim();
    if (text === "" || !Number.isFinite(Number(text))) return;
    e.preventDefault();
    e.stopPropagation();
    e.target.blur();
  }, true);
}
"""

# The code editor (CodeMirror) measures its line height only while it is on screen: a script that arrived while the
# "Copy as PyTorch code" box was closed shows its line numbers out of step with its lines until the editor is
# scrolled into view. Opening the box brings the editor into view, so the numbers line up at once.
CODE_IN_VIEW_JS = """
() => {
  setTimeout(() => document.querySelector("#ELEM_ID .cm-editor")?.scrollIntoView({block: "nearest"}), 50);
}
"""

# A new try closes the error notices of earlier ones, so errors that were fixed do not pile up in the corner.
CLEAR_ERRORS_JS = """
() => document.querySelectorAll('.toast-body.error [data-testid="toast-close"]').forEach((b) => b.click())
"""
