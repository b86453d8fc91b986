"""Widgets built from fields, and the few component styles every tab shares."""

from __future__ import annotations

import gradio as gr

from .fields import Field

CURVE_COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}


def widget(f: Field, value, elem_id: str | None = None) -> gr.components.Component:  # noqa: PLR0911  one per kind
    """The component for one field, showing `value`."""
    common = {"label": f.label, "elem_id": elem_id}
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


def line_plot(title: str, y_title: str, elem_id: str | None = None) -> gr.LinePlot:
    """A live curve panel: one long-format frame (epoch, value, series) with train and test series."""
    return gr.LinePlot(x="epoch", y="value", color="series", title=title, y_title=y_title, x_title="epoch",
                       color_map=CURVE_COLORS, height=260, show_label=False, elem_id=elem_id)
