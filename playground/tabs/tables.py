"""The Tables tab: Boston housing built in, or a table of your own (a CSV): see its columns, pick the target and the
features, train live, evaluate over splits, then predict one row in a form built from the columns or a whole file.

Endpoints: /train_table (the table file, target, features, task, missing, then the training fields), /predict_table
(one row as {column: value}), /predict_table_batch (a CSV of rows -> the CSV with a prediction column); Boston keeps
/train_boston and /predict_price with their inputs.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import gradio as gr
import pandas as pd

from dlcore import tabular
from dlcore.config import RunConfig
from dlcore.data import B_NOTE
from dlcore.errors import ConfigError
from dlcore.predict import BOSTON_ORDER
from dlcore.presets import PRESETS

from .. import fields, settings, store
from ..handlers import named, user_errors
from ..training import PRIVATE, TrainingSpec, TrainingTab, predict_event, train_event
from . import boston

BOSTON_CSV = str(resources.files("dlcore").joinpath("data/boston_housing.csv"))
TASKS = ("auto", "regression", "classification")
MISSING = {"drop the row": "drop", "fill (training median / most frequent)": "fill"}
PREVIEW_ROWS = 8
LARGE = 5_000  # rows from which full-batch training is slow here: the form suggests mini-batches and early stopping
LARGE_SETTINGS = {"batch_size": 64, "epochs": 30, "patience": 5}
BOSTON_LOSS = next(f for f in fields.BOSTON if f.name == "loss")
NO_TABLE = "Built in: **Boston housing** (506 houses; target MEDV, the median value in $1000s). Upload a CSV to use yours."


def _features(value) -> tuple[str, ...]:
    """The features input: a list (the form), or "a,b" text (an API caller); empty means every other column."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"features {value!r} must be a list of column names; send e.g. ['age', 'city']")
    return tuple(v.strip() for v in value if v.strip())


def _choice(name: str, value, options, default: str) -> str:
    value = default if value in (None, "") else value
    if value not in options:
        raise ConfigError(f"{name} {value!r} is unknown; choose from {list(options)}")
    return value


def configure(cfg: RunConfig, values: dict) -> RunConfig:
    """The tab's own inputs applied: the built-in Boston as the 'boston' dataset (the seeds' data and /predict_price's
    model), any other choice as a table ('csv') with its task settled from the target."""
    path, target, features = values.get("table"), values.get("target") or "", _features(values.get("features"))
    task = _choice("task", values.get("task"), TASKS, "auto")
    missing = _choice("missing values", MISSING.get(values.get("missing"), values.get("missing")),
                      MISSING.values(), "drop")
    if not path and target in ("", "MEDV") and task != "classification" and \
            set(features) in (set(), set(BOSTON_ORDER), set(BOSTON_ORDER) - {"B"}):
        return cfg.replace(dataset="boston", drop_b=bool(features) and "B" not in features)
    df = _table(path)
    cfg = cfg.replace(dataset="csv", csv=str(path or BOSTON_CSV), target=target or str(df.columns[-1]),
                      features=features, table_task=task, missing=missing,
                      train_fraction=PRESETS["csv"]["train_fraction"])
    return tabular.resolve(cfg, df, settings.LIMITS)


def _table(path) -> pd.DataFrame:
    return tabular.read_table_cached(str(path or BOSTON_CSV), settings.LIMITS)


def data_note(run) -> str:
    """Where a table's rows went (dropped, filled), under the status."""
    d = run.data
    return f"\n\n{d.source}: {d.source_reason}." if d.name == "csv" else ""


SPEC = TrainingSpec(key="tables", dataset="boston", fields=fields.TABLES, api_name="train_table",
                    datasets=("boston", "csv"), views=boston.RESULT_VIEWS, start=boston.views, note=data_note,
                    inputs=("table", "target", "features", "task", "missing"), configure=configure, inside=True)


# ---------------------------------------------------------------- the table: what is in it, target and features

def inspect(values: dict, state: dict | None = None) -> dict:
    """A table chosen (or the built-in one): its first rows, each column's type, missing count and range, and the
    target and features to start from (the last column; the usable others)."""
    df = _table(values["table"])
    target = str(df.columns[-1])
    usable = tabular.usable_features(df, target, settings.LIMITS)
    name = "Boston housing (built in)" if not values["table"] else df.attrs.get("name", "your table")
    about = NO_TABLE if not values["table"] else f"**{name}**: {len(df):,} rows, {len(df.columns)} columns."
    large = {}
    if len(df) > LARGE:  # a full batch of this many rows per step makes each run take minutes on a CPU
        large = dict(LARGE_SETTINGS)
        about += (f" A large table: batches of {large['batch_size']}, {large['epochs']} epochs and early stopping "
                  f"(patience {large['patience']}) are set; change them as you like.")
    return {"preview": df.head(PREVIEW_ROWS), "columns": tabular.profile(df, settings.LIMITS), **large,
            "target": gr.update(choices=list(map(str, df.columns)), value=target if values["table"] else None),
            "features": gr.update(choices=usable, value=usable if values["table"] else []),
            "about": about, "task_note": task_note(df, target), "b_note": gr.update(visible=not values["table"])}


def pick_target(values: dict, state: dict | None = None) -> dict:
    """The target changed: the features offered are the other columns, and the task it asks for is said."""
    df = _table(values["table"])
    target = values["target"] or str(df.columns[-1])
    if target not in df.columns:
        return {}
    others = [str(c) for c in df.columns if c != target]
    chosen = [f for f in _features(values["features"]) if f != target] if values["features"] else []
    if values["table"]:
        chosen = chosen or tabular.usable_features(df, target, settings.LIMITS)
    return {"features": gr.update(choices=others, value=chosen), "task_note": task_note(df, target)}


def task_note(df: pd.DataFrame, target: str) -> str:
    """What "auto" makes of the target: regression, or classification with its classes."""
    col = df[target]
    task = tabular.infer_task(col, settings.LIMITS)
    if task == "regression":
        return f"<small>auto → **regression** of {target} ({col.min():.4g} to {col.max():.4g})</small>"
    classes = col.dropna().astype(str).value_counts()
    shown = ", ".join(classes.index[:6]) + (", …" if len(classes) > 6 else "")
    return f"<small>auto → **classification**: {len(classes)} classes of {target} ({shown})</small>"


# ---------------------------------------------------------------- predictions: one row, or a file of rows

def _model(state: dict | None):
    own = (state or {}).get("model")
    return own if own is not None else store.default_model("boston")


def predict_row(values: dict, state: dict | None = None) -> dict:
    """/predict_table: one row of raw values ({column: value}) -> the prediction, notes, and the numbers as JSON."""
    row = values["row"]
    if not isinstance(row, dict):
        raise ConfigError(f"row {row!r} must be an object of column: value pairs, e.g. {{'age': 31, 'city': 'Oslo'}}")
    tm = _model(state)
    prediction, probs, warnings = tabular.predict_one(tm, row)
    for w in warnings:
        gr.Warning(w)
    target = tabular.prep_of(tm).target
    shown = probs if probs else {f"{target} ≈ {prediction:.4g}": 1.0}
    which = store.describe_model((state or {}).get("model"), store.default_label("boston"))
    notes = "".join(f"\n- ⚠️ {w}" for w in warnings)
    return {"prediction": shown, "note": f"Predicted with {which}.{notes}",
            "result": {"target": target, "prediction": prediction, "probabilities": probs, "warnings": warnings}}


def predict_file(values: dict, state: dict | None = None) -> dict:
    """/predict_table_batch: a CSV of rows without the target -> the same rows with the prediction columns, to download
    (text cells that a spreadsheet would run as formulas are escaped), a preview and notes."""
    if not values["rows"]:
        raise ConfigError("no file was uploaded; choose a CSV of rows with the model's feature columns")
    tm = _model(state)
    rows = tabular.read_table(values["rows"], settings.LIMITS, what="the rows file", min_columns=1)
    result, warnings = tabular.predict_rows(tm, rows)
    out = tabular.with_predictions(rows, result)
    path = store.download_file(f"{Path(values['rows']).stem}-predictions.csv")
    tabular.safe_for_spreadsheets(out).to_csv(path, index=False)
    done = int(result["prediction"].notna().sum())
    notes = "".join(f"\n- ⚠️ {w}" for w in warnings)
    which = store.describe_model((state or {}).get("model"), store.default_label("boston"))
    return {"file": str(path), "preview": out.head(PREVIEW_ROWS).round(4),
            "note": f"{done:,} of {len(rows):,} rows predicted with {which}.{notes}"}


def form_of(state: dict | None) -> dict:
    """After training or an upload: which form asks for a row (the price form for a Boston model, one built from the
    columns for a table's), and no stale prediction left."""
    tm = (state or {}).get("model")
    table = tm is not None and tm.cfg.dataset == "csv"
    return {"form": tabular.form_fields(tm) if table else [], "price_box": gr.update(visible=not table),
            "form_box": gr.update(visible=table), "prediction": None, "note": "", "price": None, "price_note": ""}


# ---------------------------------------------------------------- layout and wiring

def _table_inputs() -> dict:
    """The data section: the table, its target and features, the task and what to do with missing values."""
    about = gr.Markdown(NO_TABLE, elem_id="tables-about")
    table = gr.File(label="Your table (CSV, TSV or ;-separated, UTF-8)", file_types=[".csv", ".tsv", ".txt"],
                    type="filepath", height=110, elem_id="tables-file")
    header = list(_table(None).columns)
    # custom values allowed: the choices follow the table in the browser, but an API caller's table is not known here
    target = gr.Dropdown(header, value=None, label="Target (empty: the last column)", elem_id="tables-target",
                         allow_custom_value=True)
    features = gr.Dropdown(header[:-1], value=[], multiselect=True, label="Features (empty: every other column)",
                           elem_id="tables-features", allow_custom_value=True)
    with gr.Row():
        task = gr.Radio(list(TASKS), value="auto", label="Task", elem_id="tables-task")
        missing = gr.Radio(list(MISSING), value="drop the row", label="A missing value", elem_id="tables-missing")
    note = gr.Markdown(task_note(_table(None), header[-1]))
    b_note = gr.Markdown(f"<small>ℹ️ {B_NOTE} Leave **B** out of the features to train without it.</small>")
    return {"table": table, "target": target, "features": features, "task": task, "missing": missing, "about": about,
            "task_note": note, "b_note": b_note}


# long: one tab's layout and wiring, read top to bottom
def build(demo: gr.Blocks) -> TrainingTab:
    tab = TrainingTab(SPEC)
    with tab.page("Tables"):
        with tab.columns([("data", None), ("model", None), ("training", None)], extras={"data": _table_inputs}):
            tab.status("Press **Train**. Until then, prices come from the built-in model.")
            tab.curves(("Loss (train and test)", "loss"), ("Test metric (RMSE, or accuracy for classes)", "metric"))
            tab.inside()
            figure = gr.Plot(label="Test split", show_label=False, visible=False)
            coefs = gr.Dataframe(label="Learned coefficients (per standard deviation of each input)", visible=False,
                                 interactive=False, elem_id="tables-coefficients")
            with gr.Accordion("The table: first rows and column types", open=True):
                preview = gr.Dataframe(_table(None).head(PREVIEW_ROWS), interactive=False, label="First rows",
                                       elem_id="tables-preview")
                columns = gr.Dataframe(tabular.profile(_table(None), settings.LIMITS), interactive=False,
                                       label="Columns", elem_id="tables-columns")
        with gr.Column(visible=True) as price_box:
            house, price, price_note, price_btn = boston.price_form()
        with gr.Column(visible=False) as form_box:
            gr.Markdown("### Predict one row\nEach box starts at the training median (or most frequent value).")
            form = gr.State([])
            pred, note = gr.Label(label="Prediction", num_top_classes=3, elem_id="tables-prediction"), gr.Markdown("")
            row_json, result = gr.JSON(visible=False), gr.JSON(visible=False)

            @gr.render(inputs=[form])
            def row_form(spec):
                boxes = []
                for start in range(0, len(spec), 4):
                    with gr.Row():
                        for f in spec[start:start + 4]:
                            if f["kind"] == "number":
                                boxes.append(gr.Number(f["value"], label=f["name"], info=f["info"], interactive=True))
                            else:
                                boxes.append(gr.Dropdown(f["choices"], value=f["value"], label=f["name"],
                                                         info=f["info"], allow_custom_value=True, interactive=True))
                go = gr.Button("Predict", variant="primary", elem_id="tables-predict")
                names = [f["name"] for f in spec]

                @user_errors
                def from_form(*args):
                    out = predict_row({"row": dict(zip(names, args[:-1]))}, args[-1])
                    return out["prediction"], out["note"]
                go.click(lambda: (None, ""), None, [pred, note], queue=False, **PRIVATE).then(
                    from_form, [*boxes, tab.state], [pred, note], **PRIVATE, **predict_event())
        with gr.Accordion("Predict a file of rows", open=False):
            with gr.Row():
                rows = gr.File(label="Rows without the target (CSV)", file_types=[".csv", ".tsv", ".txt"],
                               type="filepath", height=110, elem_id="tables-rows")
                batch_out = gr.File(label="The rows with a prediction column", interactive=False,
                                    elem_id="tables-batch-out")
            batch_btn = gr.Button("Predict the file", elem_id="tables-predict-file")
            batch_note, batch_preview = gr.Markdown(""), gr.Dataframe(interactive=False, visible=True)
        row_btn = gr.Button(visible=False)  # /predict_table's trigger: API callers send the row as JSON
        # /train_boston keeps its inputs: Boston's loss list and the B checkbox live on as hidden inputs
        hidden = {"loss": gr.Dropdown(list(BOSTON_LOSS.choices), value="mse", visible=False),
                  "drop_b": gr.Checkbox(False, visible=False)}
        b_train = gr.Button(visible=False)
    tab.wire(figure=figure, coefficients=coefs)
    p = tab.parts
    looked = ["preview", "columns", "target", "features", "about", "task_note", "b_note", *LARGE_SETTINGS]
    shown = named(inspect, ["table"], outputs=looked)
    p["table"].change(shown, [p["table"], tab.state],
                      [preview, columns, *({**p, **tab.inputs}[n] for n in looked[2:])], **PRIVATE)
    p["target"].input(named(pick_target, ["table", "target", "features"], outputs=["features", "task_note"]),
                      [p["table"], p["target"], p["features"], tab.state], [p["features"], p["task_note"]], **PRIVATE)
    refresh = named(lambda _v, state: form_of(state), [],
                    outputs=["form", "price_box", "form_box", "prediction", "note", "price", "price_note"])
    for event in tab.events.values():
        event.then(refresh, [tab.state], [form, price_box, form_box, pred, note, price, price_note], **PRIVATE)
    b_names = [f.name for f in boston.SPEC.fields]
    b_train.click(named(boston.SPEC.stream, b_names, outputs=list(boston.SPEC.outputs)),
                  [hidden[n] if n in hidden else tab.inputs[n] for n in b_names] + [tab.state],
                  [tab.outputs[n] for n in boston.SPEC.outputs], api_name="train_boston", **train_event())
    # the boxes start at the training medians (see boston.price_form), set in the page: an event with a server
    # function would put the 13 boxes among the components whose loading status every later event of the page
    # updates, twice (gradio's frontend), which cost each live digit answer ~10 ms
    demo.load(None, None, house, js=f"() => {json.dumps(list(boston.MEDIANS.values()))}", **PRIVATE)
    price_btn.click(lambda: (None, ""), None, [price, price_note], queue=False, **PRIVATE).then(
        named(boston.predict_house, BOSTON_ORDER, outputs=["price", "note"]), [*house, tab.state], [price, price_note],
        api_name="predict_price", **predict_event())
    row_btn.click(named(predict_row, ["row"], outputs=["prediction", "note", "result"]), [row_json, tab.state],
                  [pred, note, result], api_name="predict_table", **predict_event())
    batch_btn.click(lambda: (None, "", None), None, [batch_out, batch_note, batch_preview], queue=False,
                    **PRIVATE).then(named(predict_file, ["rows"], outputs=["file", "preview", "note"]),
                                    [rows, tab.state], [batch_out, batch_preview, batch_note],
                                    api_name="predict_table_batch", **predict_event())
    return tab
