"""Your own table in dlcore: reading (delimiters, BOM, quotes), refusals that name the problem, column types and the
task, preprocessing fitted on the training split only, missing values, and predictions from raw values."""

import numpy as np
import pandas as pd
import pytest
import torch
from bad_tables import BAD_TABLES, formula_table

from dlcore import checkpoint
from dlcore.config import RunConfig
from dlcore.data import boston_table, load_data
from dlcore.errors import InputError
from dlcore.limits import Limits
from dlcore.tabular import (
    infer_task,
    predict_one,
    predict_rows,
    prepare,
    profile,
    read_table,
    safe_for_spreadsheets,
    usable_features,
    with_predictions,
)
from dlcore.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def csv_cfg(**kw) -> RunConfig:
    return RunConfig(**{"dataset": "csv", "target": "y", "train_fraction": 0.85, "hidden": (16,), "epochs": 30,
                        "lr": 1e-2, "device": "cpu", **kw})


def mixed(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A small mixed table: two numbers, a category, a boolean, gaps, and a label that depends on them."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 80, n).round(1)
    city = rng.choice(["Paris", "Rome", "Oslo"], n)
    member = rng.choice([True, False], n)
    score = rng.normal(50, 10, n).round(2)
    label = np.where((age > 45) ^ (city == "Oslo"), "buy", "skip")
    df = pd.DataFrame({"age": age, "city": city, "member": member, "score": score, "label": label})
    df.loc[::17, "age"] = np.nan
    df.loc[3::23, "city"] = None
    return df


def to_csv_bytes(df: pd.DataFrame, **kw) -> bytes:
    return df.to_csv(index=False, **kw).encode()


# ---------------------------------------------------------------- reading

@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
@pytest.mark.parametrize("bom", [False, True])
def test_the_delimiter_and_a_bom_are_detected(sep, bom):
    text = sep.join(["name", "note", "price"]) + "\n" + sep.join(["a", '"x, y; z"', "1.5"]) + "\n" + \
        sep.join(["b", '"say ""hi"""', "2"]) + "\n"
    df = read_table(("\ufeff" if bom else "").encode() + text.encode())
    assert list(df.columns) == ["name", "note", "price"]  # no BOM glued to the first name
    assert df["note"].tolist() == ["x, y; z", 'say "hi"'] and df["price"].tolist() == [1.5, 2.0]


def test_decimal_commas_in_a_semicolon_file_are_numbers():
    df = read_table(b"a;b;c\n1,5;x;2\n-3,25;y;4\n")
    assert df["a"].tolist() == [1.5, -3.25] and df["b"].tolist() == ["x", "y"]


@pytest.mark.parametrize("case", BAD_TABLES, ids=[c[0] for c in BAD_TABLES])
def test_a_bad_table_is_refused_with_its_reason(case):
    _, raw, target, fragment = case
    with pytest.raises(InputError) as e:
        df = read_table(raw, what="the table")
        prepare(df, csv_cfg(target=target or str(df.columns[-1])))
    assert fragment in str(e.value), str(e.value)


def test_server_limits_on_rows_columns_and_bytes():
    raw = to_csv_bytes(mixed(50))
    with pytest.raises(InputError, match=r"more than 40 rows, the server limit.*DLCORE_MAX_ROWS"):
        read_table(raw, Limits(max_rows=40))
    with pytest.raises(InputError, match=r"has 5 columns, over the server limit of 4.*DLCORE_MAX_COLUMNS"):
        read_table(raw, Limits(max_columns=4))
    with pytest.raises(InputError, match=r"over the upload limit of 100 bytes.*DLCORE_MAX_UPLOAD_BYTES"):
        read_table(raw, Limits(max_upload_bytes=100))


def test_a_path_that_is_not_a_file_is_refused(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is not a regular file"):
        read_table(tmp_path)


def test_formula_cells_stay_text_and_are_escaped_for_spreadsheets():
    df = read_table(formula_table())
    assert df["note"].iloc[0] == "=cmd|' /C calc'!A0" and df["note"].iloc[3] == "-2+3"  # data, not evaluated
    data = prepare(df, csv_cfg(target="label"))
    assert "note==cmd|' /C calc'!A0" in data.feature_names  # a category like any other
    safe = safe_for_spreadsheets(df)
    assert safe["note"].iloc[0] == "'=cmd|' /C calc'!A0" and safe["note"].iloc[2] == "'@evil"
    assert safe["x"].equals(df["x"])  # numbers untouched, negative ones included


# ---------------------------------------------------------------- types and task

def test_profile_types_missing_and_ranges():
    df = mixed()
    df["id"] = [f"row{i}" for i in range(len(df))]
    p = profile(df, Limits(max_categories=50)).set_index("column")
    assert p.loc["age", "type"] == "number" and p.loc["age", "missing"] == 12
    assert p.loc["age", "range or values"].startswith(f"{df.age.min():.4g} to {df.age.max():.4g}")
    assert p.loc["city", "type"] == "category" and p.loc["city", "missing"] == 9
    assert p.loc["member", "type"] == "category" and p.loc["id", "type"] == "text"
    assert usable_features(df, "label", Limits(max_categories=50)) == ["age", "city", "member", "score"]


@pytest.mark.parametrize("values,task", [
    ([1.5, 2.25, 3.0, 4.75] * 5, "regression"),
    (list(range(40)), "regression"),  # many whole numbers: a count, not classes
    ([0, 1, 2] * 10, "classification"),
    (["a", "b"] * 10, "classification"),
    ([True, False] * 10, "classification"),
])
def test_the_task_follows_the_target(values, task):
    assert infer_task(pd.Series(values), Limits()) == task


def test_a_text_target_cannot_be_regressed_and_too_many_classes_are_refused():
    df = mixed()
    with pytest.raises(InputError, match="target column 'label' holds text .* choose classification"):
        prepare(df, csv_cfg(target="label", table_task="regression"))
    with pytest.raises(InputError, match=r"target column 'score' has \d+ distinct values, too many classes"):
        prepare(df, csv_cfg(target="score", table_task="classification"))


# ---------------------------------------------------------------- preprocessing

def test_numbers_standardised_with_the_training_split_and_categories_one_hot():
    df = mixed()
    data = prepare(df, csv_cfg(target="label", features=("age", "city", "member"), missing="fill"))
    assert data.task == "classification" and data.class_names == ["buy", "skip"]
    assert data.feature_names == ["age", "city=Oslo", "city=Paris", "city=Rome", "member=False", "member=True"]
    x = data.x_train.numpy()
    assert abs(x[:, 0].mean()) < 0.1 and abs(x[:, 0].std() - 1) < 0.1  # fitted on these rows (gaps -> median)
    onehot = x[:, 1:4]
    assert set(np.unique(onehot)) <= {0.0, 1.0} and np.all(onehot.sum(1) == 1)  # missing city -> the mode
    assert abs(data.x_test[:, 0].mean()) > 1e-6  # the test rows are not re-centred on themselves
    prep = data.info["table"]
    assert prep["counts"]["filled"] == {"age": 12, "city": 9} and "median" in data.source_reason


def test_missing_values_dropped_and_counted():
    data = prepare(mixed(), csv_cfg(target="label", missing="drop"))
    counts = data.info["table"]["counts"]
    assert counts["dropped"] == {"age": 12, "city": 9} and counts["used"] == 200 - 21 + 1  # row 51 misses both
    assert len(data.x_train) + len(data.x_test) == counts["used"]
    assert "21 rows dropped" not in data.source_reason and "20 of 200 rows dropped" in data.source_reason


def test_the_boston_csv_with_text_chas_gives_the_built_in_split():
    header, table = boston_table()
    df = pd.DataFrame(table, columns=header)
    df["CHAS"] = df["CHAS"].map({0.0: "no", 1.0: "yes"})
    for seed in (0, 7):
        mine = prepare(df, csv_cfg(target="MEDV", seed=seed))
        built_in = load_data(RunConfig(dataset="boston", seed=seed))
        assert torch.equal(mine.y_test, built_in.y_test) and torch.equal(mine.y_train, built_in.y_train)
        assert torch.allclose(mine.x_test[:, 0], built_in.x_test[:, 0], atol=1e-5)  # CRIM, standardised alike
        assert mine.task == "regression" and "CHAS=yes" in mine.feature_names


def test_folds_hold_out_every_row_once():
    df = mixed(100)
    seen = []
    for fold in range(4):
        d = prepare(df, csv_cfg(target="score", folds=4, fold=fold, missing="fill"))
        seen.append(d.y_test[:, 0].numpy())
        assert len(d.x_train) + len(d.x_test) == 100
    assert np.allclose(np.sort(np.concatenate(seen)), np.sort(df["score"].to_numpy()))


# ---------------------------------------------------------------- prediction from raw values

@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    torch.set_num_threads(1)
    df = mixed(400)
    tm, _ = train(csv_cfg(target="label", hidden=(32,), epochs=300, missing="fill"), prepare(
        df, csv_cfg(target="label", missing="fill")))
    path = checkpoint.save(tm, tmp_path_factory.mktemp("tab") / "label.safetensors")
    return tm, path, df


def test_a_saved_table_model_predicts_raw_rows_alike(classifier):
    tm, path, df = classifier
    back = checkpoint.load(path)
    rows = df.drop(columns=["label"]).head(50)
    a, _ = predict_rows(tm, rows)
    b, _ = predict_rows(back, rows)
    pd.testing.assert_frame_equal(a, b)
    assert (a["prediction"] == df["label"].head(50)).mean() >= 0.8  # it learned the rule
    label, probs, warnings = predict_one(back, {"age": "60", "city": "Paris", "member": "True", "score": 50})
    assert label == "buy" and probs["buy"] > 0.5 and abs(sum(probs.values()) - 1) < 1e-6 and warnings == []


def test_out_of_range_unknown_and_missing_values_are_said(classifier):
    tm, _, _ = classifier
    _, _, warnings = predict_one(tm, {"age": 200, "city": "Lyon", "member": True, "score": None})
    text = " ".join(warnings)
    assert "age 200 is outside the training data's range" in text
    assert "city 'Lyon' was not seen in training (known: Oslo, Paris, Rome)" in text
    assert "score is missing: filled with the training median" in text
    with pytest.raises(InputError, match="age 'old' is not a number; enter e.g."):
        predict_one(tm, {"age": "old", "city": "Rome", "member": True, "score": 1})
    with pytest.raises(InputError, match="the rows have no column 'city'"):
        predict_rows(tm, pd.DataFrame({"age": [1.0]}))


def test_a_batch_gets_a_prediction_column_and_rows_with_gaps_are_skipped_when_trained_so():
    df = mixed(300)
    tm, _ = train(csv_cfg(target="score", epochs=20), prepare(df, csv_cfg(target="score", missing="drop")))
    rows = df.drop(columns=["score"]).head(40)
    result, warnings = predict_rows(tm, rows)
    skipped = rows[["age", "city"]].isna().any(axis=1)
    assert result["prediction"].isna().tolist() == skipped.tolist() and skipped.sum() == 5
    assert any("5 rows have missing values and get no prediction" in w for w in warnings)
    out = with_predictions(rows, result)
    assert list(out.columns) == [*rows.columns, "prediction"]
    with pytest.raises(InputError, match="age is empty; enter a value"):
        predict_one(tm, {"age": " ", "city": "Rome", "member": True, "label": "buy"})
