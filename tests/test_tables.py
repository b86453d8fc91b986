"""The Tables tab's handlers, called as Gradio calls them: a CSV's columns shown, a classifier trained on a table with
a category and gaps, one row and a file predicted from raw values, bad tables refused by name with the model kept,
Boston as the built-in table (its price form, a linear model's coefficients), and "Evaluate over 5 splits"."""

import dataclasses

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from bad_tables import BAD_TABLES, formula_table
from conftest import HOUSE

from dlcore.limits import Limits
from dlcore.predict import BOSTON_ORDER
from dlcore.session import keep_candidate
from playground import settings
from playground.handlers import user_errors
from playground.tabs import boston, tables
from playground.training import TrainingTab

pytestmark = pytest.mark.usefixtures("one_thread")


def shop(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Customers: age (with gaps), city (a category, with gaps), visits; the label depends on age and city."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, n).round(1)
    city = rng.choice(["Paris", "Rome", "Oslo"], n).astype(object)
    label = np.where((age > 45) ^ (city == "Oslo"), "buy", "skip")
    df = pd.DataFrame({"age": age, "city": city, "visits": rng.integers(0, 30, n), "label": label})
    df.loc[::13, "age"] = np.nan
    df.loc[5::29, "city"] = None
    return df


@pytest.fixture(scope="module")
def shop_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("tables") / "shop.csv"
    shop().to_csv(path, index=False)
    return str(path)


def args(**over) -> dict:
    return tables.SPEC.args(**{"hidden": "32", "lr": "1e-2", "epochs": 150, "device": "cpu", **over})


def train(values, state=None) -> list[dict]:
    return list(user_errors(tables.SPEC.stream)(values, {} if state is None else state))


@pytest.fixture(scope="module")
def trained(shop_csv):
    """A classifier trained through the tab on the shop table, missing values filled."""
    import torch

    torch.set_num_threads(1)
    return train(args(table=shop_csv, target="label", missing="fill (training median / most frequent)"))


def test_a_table_shows_its_rows_and_column_types(shop_csv):
    out = user_errors(tables.inspect)({"table": shop_csv}, {})
    assert list(out["preview"].columns) == ["age", "city", "visits", "label"] and len(out["preview"]) == 8
    cols = out["columns"].set_index("column")
    assert cols.loc["age", "type"] == "number" and cols.loc["age", "missing"] == 19
    assert cols.loc["city", "type"] == "category" and cols.loc["city", "missing"] == 9
    assert out["target"]["value"] == "label" and out["features"]["value"] == ["age", "city", "visits"]
    assert "classification**: 2 classes of label" in out["task_note"]
    picked = user_errors(tables.pick_target)({"table": shop_csv, "target": "age", "features": ["city", "age"]}, {})
    assert picked["features"]["value"] == ["city"] and "**regression** of age" in picked["task_note"]
    built_in = user_errors(tables.inspect)({"table": None}, {})
    assert "Boston housing" in built_in["about"] and len(built_in["columns"]) == 14


def test_the_built_in_table_is_boston_and_other_choices_are_tables():
    cfg = tables.SPEC.config(args())
    assert cfg.dataset == "boston" and not cfg.drop_b
    assert tables.SPEC.config(args(features=[n for n in BOSTON_ORDER if n != "B"])).drop_b
    other = tables.SPEC.config(args(target="CHAS", features=["RM", "LSTAT"]))
    assert other.dataset == "csv" and other.task == "classification" and other.features == ("RM", "LSTAT")


def test_a_classifier_on_a_table_with_a_category_and_gaps(trained, shop_csv):
    final = trained[-1]
    assert "now used for predictions" in final["status"] and "test acc" in final["status"]
    assert "missing cells filled from the training split: age 19 (with median" in final["status"]
    assert "Baselines on this split: test accuracy" in final["status"]
    assert final["figure"]["visible"] and final["coefficients"]["visible"] is False
    tm = final["state"]["model"]
    assert tm.cfg.dataset == "csv" and tm.meta["class_names"] == ["buy", "skip"] and tm.meta["metrics"][
        "test_accuracy"] >= 0.8
    assert final["download"]["value"].endswith("csv.safetensors")
    form = tables.form_of(final["state"])
    assert [f["name"] for f in form["form"]] == ["age", "city", "visits"] and form["form_box"]["visible"]
    assert form["form"][1]["choices"] == ["Oslo", "Paris", "Rome"] and form["price_box"]["visible"] is False
    out = user_errors(tables.predict_row)({"row": {"age": 70, "city": "Rome", "visits": 3}}, final["state"])
    assert out["result"]["prediction"] == "buy" and max(out["prediction"], key=out["prediction"].get) == "buy"
    assert "your model: mlp 32" in out["note"]


def test_a_file_of_rows_comes_back_with_predictions(trained, tmp_path):
    rows = shop(30, seed=1).drop(columns=["label"])
    rows.loc[0, "note"] = "=cmd|' /C calc'!A0"
    path = tmp_path / "rows.csv"
    rows.to_csv(path, index=False)
    out = user_errors(tables.predict_file)({"rows": str(path)}, trained[-1]["state"])
    back = pd.read_csv(out["file"])
    assert list(back.columns) == [*rows.columns, "prediction", "probability", "p(buy)", "p(skip)"]
    assert back["prediction"].isin(["buy", "skip"]).all() and len(back) == 30
    assert back["note"].iloc[0] == "'=cmd|' /C calc'!A0"  # escaped for spreadsheets, shown as text
    assert out["note"].startswith("30 of 30 rows predicted") and "age is missing in 3 rows: filled" in out["note"]
    with pytest.raises(gr.Error, match="the rows have no column 'city'"):
        user_errors(tables.predict_file)({"rows": str(_write(tmp_path, b"age\n3\n"))}, trained[-1]["state"])


def _write(tmp_path, raw: bytes, name: str = "t.csv"):
    path = tmp_path / name
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("case", BAD_TABLES, ids=[c[0] for c in BAD_TABLES])
def test_a_bad_table_is_a_clear_error_and_the_model_stays(case, trained, tmp_path):
    _, raw, target, fragment = case
    state = dict(trained[-1]["state"])
    model = state["model"]
    path = _write(tmp_path, raw)
    with pytest.raises(gr.Error) as e:
        train(args(table=str(path), target=target, epochs=2), state)
    assert fragment in e.value.message and state["model"] is model
    if target is None:  # a file that cannot be read is refused as soon as it is chosen
        with pytest.raises(gr.Error) as e:
            user_errors(tables.inspect)({"table": str(path)}, state)
        assert fragment in e.value.message


def test_a_table_over_the_servers_limits(trained, tmp_path, monkeypatch):
    path = _write(tmp_path, shop(100).to_csv(index=False).encode())
    for limit, fragment in [({"max_upload_bytes": 500}, "over the upload limit of 500 bytes"),
                            ({"max_rows": 50}, "more than 50 rows"), ({"max_columns": 3}, "over the server limit of 3")]:
        monkeypatch.setattr(settings, "LIMITS", dataclasses.replace(Limits(), **limit))
        with pytest.raises(gr.Error, match=fragment):
            train(args(table=str(path), target="label", epochs=2), dict(trained[-1]["state"]))


def test_formula_cells_are_shown_as_text(tmp_path):
    out = user_errors(tables.inspect)({"table": str(_write(tmp_path, formula_table()))}, {})
    assert out["preview"]["note"].iloc[0] == "=cmd|' /C calc'!A0"


def test_boston_linear_model_shows_its_coefficients_and_prices():
    final = train(args(model="linear", optimizer="gd", lr="1e-2", epochs=300))[-1]
    coefs = final["coefficients"]
    assert coefs["visible"] and list(coefs["value"].columns) == ["input", "effect on MEDV ($1000s)"]
    table = coefs["value"].set_index("input")["effect on MEDV ($1000s)"]
    assert set(table.index) == {*BOSTON_ORDER, "(intercept)"} and table["LSTAT"] < 0 and table["RM"] > 0
    assert abs(table.drop("(intercept)")).is_monotonic_decreasing  # largest effect first
    assert table["(intercept)"] == pytest.approx(22.5, abs=1.5)  # the mean price: inputs are standardised
    state = final["state"]
    assert "worse than the one the tab already has" in final["status"]  # than the built-in MLP: held back...
    assert keep_candidate(state)  # ...until the user keeps it
    out = user_errors(boston.predict_house)(dict(zip(BOSTON_ORDER, HOUSE)), state)
    assert "your model: linear" in out["note"] and tables.form_of(state)["price_box"]["visible"]


def test_prices_come_from_the_built_in_model_when_the_tab_holds_a_table_model(trained):
    out = user_errors(boston.predict_house)(dict(zip(BOSTON_ORDER, HOUSE)), trained[-1]["state"])
    assert "built-in default model" in out["note"] and "trained on another table" in out["note"]


def test_an_uploaded_table_model_brings_its_form_back(trained):
    restore = user_errors(TrainingTab(tables.SPEC)._restore)
    state = restore({"file": trained[-1]["download"]["value"]}, {})["state"]
    assert [f["name"] for f in tables.form_of(state)["form"]] == ["age", "city", "visits"]
    with pytest.raises(gr.Error, match="age 'old' is not a number"):
        user_errors(tables.predict_row)({"row": {"age": "old", "city": "Rome", "visits": 1}}, state)


def test_evaluate_over_five_splits_shows_the_spread_beside_this_split(shop_csv):
    updates = [u for u in user_errors(tables.SPEC.evaluate)(args(table=shop_csv, target="label", epochs=30), {}) if u]
    final = updates[-1]["evaluation"]
    assert "**Over 5 seeded splits (seeds 0-4)**" in final and "accuracy, mean ± std over 5" in final
    assert "| linear model |" in final and "| mean / majority class |" in final
    assert any("split 3/5 (seed 2): test accuracy" in u["evaluation"] for u in updates)


def test_a_large_table_gets_mini_batches_and_early_stopping(tmp_path):
    path = tmp_path / "large.csv"
    shop(6000).to_csv(path, index=False)
    out = user_errors(tables.inspect)({"table": str(path)}, {})
    assert (out["batch_size"], out["epochs"], out["patience"]) == (64, 30, 5) and "A large table" in out["about"]
    assert "batch_size" not in user_errors(tables.inspect)({"table": None}, {})  # Boston keeps its preset
