"""Your own table: a CSV read with pandas, its columns typed, and the preprocessing a model keeps.

- `read_table` reads a CSV, TSV or ;-separated file (UTF-8 with or without a BOM, quoted fields; pandas parses it) and
  refuses what is not a usable table with a message naming the column or value and the fix. Cells are data: a cell
  such as `=cmd|' /C calc'!A0` stays text and is never evaluated.
- `profile` types each column (number, category, text, empty) with its missing count and range, for the UI.
- `Prep` is the preprocessing fitted on the training split only: numbers standardised with its mean and std,
  categories one-hot encoded, missing values dropped or filled (its median / most frequent value). It travels in the
  checkpoint (`meta["info"]["table"]`), so a prediction takes raw values.
- `prepare(df, cfg)` turns a table into `Data` for the trainer on cfg's split; `load_csv(cfg)` reads `cfg.csv` first.
- `predict_rows(tm, rows)` predicts raw rows with a trained model (a table's, or Boston's).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .config import RunConfig
from .data import Data, split_rows
from .errors import ConfigError, InputError
from .limits import Limits
from .models import forward_chunked
from .records import TrainedModel

FEW_CLASSES = 10  # a target of whole numbers with at most this many distinct values is taken for classes
SNIFF_BYTES = 64 * 1024  # the delimiter is detected on the file's start
DELIMITERS = ",;\t|"
NA_VALUES = ["?"]  # on top of pandas' defaults ("", "NA", "N/A", "NaN", "null", ...): UCI's marker for a missing value
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet evaluates a text cell starting so
MAGIC = {  # file signatures of things people upload instead of a CSV
    b"PK\x03\x04": "a ZIP archive or an Excel workbook (.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"\x80": "a pickle file",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}


# ---------------------------------------------------------------- reading

def _read_bytes(source, limits: Limits) -> tuple[bytes, str]:
    """The file's bytes (at most the upload limit, checked before reading all of it) and a name for messages."""
    if isinstance(source, (bytes, bytearray)):
        raw, name = bytes(source), "the table"
    else:
        path = Path(source)
        name = path.name or str(source)
        if not path.is_file():  # also refuses folders, devices and pipes, which have no size to check
            what = "is not a regular file" if path.exists() else "does not exist"
            raise InputError(f"table file {str(source)!r} {what}; give the path of a CSV file")
        with open(path, "rb") as f:
            raw = f.read(limits.max_upload_bytes + 1)
    if len(raw) > limits.max_upload_bytes:
        raise InputError(f"{name} is over the upload limit of {limits.max_upload_bytes:,} bytes; use a smaller table "
                         "(a sample of its rows) or raise DLCORE_MAX_UPLOAD_BYTES")
    return raw, name


def _text(raw: bytes, name: str) -> str:
    """The file as text: UTF-8, with or without a byte-order mark; anything else refused with the reason."""
    if not raw.strip():
        raise InputError(f"{name} is empty; upload a CSV with a header row and at least one row of data")
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            raise InputError(f"{name} is {what}, not a CSV; save the table as CSV (UTF-8) and upload that")
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise InputError(f"{name} is a binary file, not a CSV (it contains NUL bytes); upload a CSV text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InputError(f"{name} is not UTF-8 text: byte 0x{raw[e.start]:02x} on line {line} is not valid UTF-8; "
                         "save the file as 'CSV UTF-8' (or re-encode it to UTF-8) and upload it again") from None
    return text.removeprefix("\ufeff")


def _delimiter(text: str) -> str:
    """The delimiter of the file's first lines (csv.Sniffer over , ; tab |), else the one its header has most of."""
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES and "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    header = sample.split("\n", 1)[0]
    with contextlib.suppress(csv.Error):  # the sniffer gives up on some tables: count the header's separators
        sep = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
        if sep in header:
            return sep
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _header(text: str, sep: str, name: str, limits: Limits, min_columns: int) -> list[str]:
    """The header row's names, refused when empty, duplicated, too many or too few."""
    try:
        row = pd.read_csv(io.StringIO(text), sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False,
                          skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"{name} is empty; upload a CSV with a header row and at least one row of data") from None
    except pd.errors.ParserError as e:
        raise InputError(f"{name} cannot be read as a table ({_short(e)}); check its quotes and delimiters") from None
    names = [str(v).strip() for v in row.iloc[0].tolist()]
    if len(names) > limits.max_columns:
        raise InputError(f"{name} has {len(names):,} columns, over the server limit of {limits.max_columns:,}; "
                         "keep the columns you need (or raise DLCORE_MAX_COLUMNS)")
    shown = "tab" if sep == "\t" else repr(sep)
    if len(names) < min_columns:
        raise InputError(f"{name} has only one column ({names[0][:60]!r}): a table needs a target and at least one "
                         f"feature; separate the values with commas, semicolons or tabs (detected: {shown})")
    for i, n in enumerate(names, start=1):
        if not n:
            raise InputError(f"column {i} of {name} has no name; give every column a name in the header row")
    seen: dict[str, int] = {}
    for i, n in enumerate(names, start=1):
        if n in seen:
            raise InputError(f"column name {n!r} appears twice in {name} (columns {seen[n]} and {i}); "
                             "give every column its own name")
        seen[n] = i
    return names


def _short(e: Exception) -> str:
    return str(e).strip().splitlines()[-1][:200]


def _decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns that are numbers written with a decimal comma (a ;-separated European CSV) become numbers."""
    for name in df.columns:
        col = df[name]
        if _is_text(col):
            sample = col.dropna()
            if len(sample) and sample.astype(str).str.fullmatch(r"\s*-?\d+(,\d+)?\s*").all():
                df[name] = pd.to_numeric(col.str.replace(",", ".", regex=False), errors="coerce")
    return df


def read_table(source, limits: Limits | None = None, *, what: str = "", min_columns: int = 2) -> pd.DataFrame:
    """A CSV (bytes or a path) as a DataFrame: delimiter detected, UTF-8 (BOM or not), quoted fields; an InputError
    naming the problem and the fix for anything that is not a usable table. Numbers are read as numbers, everything
    else as text; nothing in a cell is ever evaluated. A table to train on needs 2 columns; rows to predict, 1."""
    limits = limits or Limits.from_env()
    raw, name = _read_bytes(source, limits)
    name = what or name
    text = _text(raw, name)
    sep = _delimiter(text)
    names = _header(text, sep, name, limits, min_columns)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, header=0, names=names, nrows=limits.max_rows + 1,
                         na_values=NA_VALUES, skipinitialspace=True, low_memory=False)
    except (pd.errors.ParserError, ValueError) as e:
        raise InputError(f"{name} cannot be read as a table ({_short(e)}); check that every row has as many values "
                         f"as the header ({len(names)}, separated by {'tab' if sep == chr(9) else repr(sep)})") from None
    if len(df) == 0:
        raise InputError(f"{name} has a header but no rows of data; add rows below the header")
    if len(df) > limits.max_rows:
        raise InputError(f"{name} has more than {limits.max_rows:,} rows, the server limit; use a sample of the rows "
                         "(or raise DLCORE_MAX_ROWS)")
    if sep in ";\t":
        df = _decimal_commas(df)
    df.attrs["name"] = name
    return df


_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_SIZE = 4  # tables (and prepared splits) kept per process


def _cached(key, make):
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = make()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def _file_key(path: str) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (path,)  # read_table reports the missing file
    return (path, st.st_mtime_ns, st.st_size)


def read_table_cached(path: str, limits: Limits | None = None) -> pd.DataFrame:
    """read_table(path), read once per version of the file (repeated splits and folds reuse it). Do not modify it."""
    limits = limits or Limits.from_env()
    return _cached(("table", *_file_key(path), limits), lambda: read_table(path, limits))


# ---------------------------------------------------------------- column types

def _is_text(col: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(col) or pd.api.types.is_object_dtype(col)


def _is_number(col: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)


def _is_bool(col: pd.Series) -> bool:
    """True/False values (pandas reads a column of them with gaps as objects)."""
    if pd.api.types.is_bool_dtype(col):
        return True
    if not pd.api.types.is_object_dtype(col):
        return False
    values = col.dropna().unique()
    return len(values) > 0 and all(isinstance(v, (bool, np.bool_)) for v in values)


def _keys(col: pd.Series, boolean: bool = False) -> pd.Series:
    """Category values as the strings a model knows them by (missing stays missing): True and "TRUE" are "True"; a
    whole number read as 3.0 (a column with gaps) is "3"."""
    if pd.api.types.is_float_dtype(col):
        v = col.dropna().to_numpy()
        if len(v) and np.all(v == np.round(v)):
            col = col.astype("Int64")
    keys = col.astype(str).str.strip()  # pandas 3 keeps a gap a gap (NaN), not the text "nan"
    if boolean:
        low = keys.str.lower()
        keys = keys.mask(low == "true", "True").mask(low == "false", "False")
    return keys


def _codes(keys: pd.Series, categories: list[str]) -> np.ndarray:
    """Each key's position in `categories` (-1: a gap, or a value training never saw). Factorised first: matching the
    few distinct values is much cheaper than matching every row's string."""
    codes, uniques = pd.factorize(keys)
    lookup = np.append(pd.Index(categories).get_indexer(uniques), -1)  # codes -1 (a gap) index the appended -1
    return lookup[codes]


def _blank(col: pd.Series) -> np.ndarray:
    """Missing cells: NaN/None, or text that is only spaces (a cleared form box)."""
    gap = col.isna().to_numpy().copy()
    if _is_text(col):
        gap |= col.astype(str).str.strip().eq("").to_numpy() & ~gap
    return gap


def column_kind(col: pd.Series, limits: Limits) -> str:
    """number | category (booleans, text with few distinct values) | text (too many distinct values) | empty."""
    if col.notna().sum() == 0:
        return "empty"
    if _is_number(col):
        return "number"
    if _is_bool(col):
        return "category"
    return "category" if col.nunique(dropna=True) <= limits.max_categories else "text"


def infer_task(col: pd.Series, limits: Limits) -> str:
    """What a target's values ask for: numbers with many distinct values -> regression; text, booleans or a few
    distinct whole numbers -> classification."""
    if column_kind(col, limits) != "number":
        return "classification"
    v = col.dropna().to_numpy(dtype=np.float64)
    whole = bool(np.all(v == np.round(v)))
    return "classification" if whole and len(np.unique(v)) <= FEW_CLASSES else "regression"


def profile(df: pd.DataFrame, limits: Limits | None = None) -> pd.DataFrame:
    """One row per column: its type, missing count, distinct values and range (numbers) or values (categories)."""
    limits = limits or Limits.from_env()
    rows = []
    for name in df.columns:
        col = df[name]
        kind = column_kind(col, limits)
        distinct = int(col.nunique(dropna=True))
        if kind == "number":
            shown = f"{_fmt(col.min())} to {_fmt(col.max())} (median {_fmt(col.median())})"
        elif kind == "category":
            top = _keys(col, _is_bool(col)).value_counts().index[:5].tolist()
            shown = ", ".join(top) + (", …" if distinct > 5 else "")
        elif kind == "text":
            shown = f"too many distinct values for a category (the cap is {limits.max_categories}): left out"
        else:
            shown = "no values: left out"
        rows.append({"column": str(name), "type": kind, "missing": int(col.isna().sum()), "distinct": distinct,
                     "range or values": shown})
    return pd.DataFrame(rows, columns=["column", "type", "missing", "distinct", "range or values"])


def _fmt(v) -> str:
    return f"{float(v):.4g}"


def usable_features(df: pd.DataFrame, target: str, limits: Limits | None = None) -> list[str]:
    """The columns a form offers as features by default: all but the target, the empty and the free-text ones."""
    limits = limits or Limits.from_env()
    return [str(c) for c in df.columns if c != target and column_kind(df[c], limits) in ("number", "category")]


# ---------------------------------------------------------------- choosing target, features and task

def select(df: pd.DataFrame, cfg: RunConfig, limits: Limits) -> tuple[str, list[str], str]:
    """(target, features, task) for cfg on this table, or an InputError naming the column and the fix."""
    columns = [str(c) for c in df.columns]
    listed = ", ".join(columns[:20]) + (", …" if len(columns) > 20 else "")
    target = cfg.target.strip()
    if target not in columns:
        raise InputError(f"target column {target!r} is not in the table; choose one of: {listed}")
    features = [f.strip() for f in cfg.features] or [c for c in columns if c != target]
    unknown = [f for f in features if f not in columns]
    if unknown:
        raise InputError(f"feature column {unknown[0]!r} is not in the table; choose from: {listed}")
    if target in features:
        raise InputError(f"column {target!r} is the target, so it cannot also be a feature; leave it out of the features")
    if len(set(features)) != len(features):
        raise InputError("a feature column is listed twice; list each once")
    if not features:
        raise InputError("no feature columns are left; choose at least one column besides the target")
    for f in features:
        kind = column_kind(df[f], limits)
        if kind == "text":
            raise InputError(f"column {f!r} has {df[f].nunique():,} distinct values, too many to one-hot encode as a "
                             f"category (the cap is {limits.max_categories}); leave it out of the features (an id or "
                             "free text) or raise DLCORE_MAX_CATEGORIES")
        if kind == "empty":
            raise InputError(f"column {f!r} has no values; leave it out of the features")
    col = df[target]
    if col.notna().sum() == 0:
        raise InputError(f"target column {target!r} has no values (all {len(col):,} are missing); choose another target")
    task = cfg.table_task if cfg.table_task != "auto" else infer_task(col, limits)
    if task == "regression" and column_kind(col, limits) != "number":
        example = str(col.dropna().iloc[0])[:40]
        raise InputError(f"target column {target!r} holds text (e.g. {example!r}), so it cannot be a regression "
                         "target; choose classification (or task auto)")
    return target, features, task


# ---------------------------------------------------------------- the preprocessing a model keeps

@dataclass
class Prep:
    """The preprocessing fitted on a training split, stored in the checkpoint so predictions take raw values."""

    target: str
    task: str  # regression | classification
    classes: list[str]  # classification: the target's values, in output order
    columns: list[dict]  # per feature, in order: {"name", "kind": "number", mean, std, median, min, max, p05, p95}
    #                      or {"name", "kind": "category", "categories": [...], "mode", "boolean"}
    missing: str = "drop"  # drop | fill: what training did with a missing value (and prediction does too)
    counts: dict = field(default_factory=dict)  # rows read, used, dropped and cells filled, per column

    @classmethod
    def fit(cls, train: pd.DataFrame, *, target: str, features: list[str], task: str, classes: list[str],
            missing: str) -> Prep:
        """Statistics of the training rows only: mean, std, median and range of numbers; categories and the mode."""
        columns = []
        for name in features:
            col = train[name]
            if _is_number(col):
                v = col.dropna().to_numpy(dtype=np.float64)
                if len(v) == 0:
                    raise InputError(f"column {name!r} has no values in the training split; leave it out of the features")
                std = float(v.std())
                columns.append({"name": name, "kind": "number", "mean": float(v.mean()), "std": std if std > 0 else 1.0,
                                "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
                                "p05": float(np.percentile(v, 5)), "p95": float(np.percentile(v, 95))})
            else:
                boolean = _is_bool(col)
                counts = _keys(col, boolean).value_counts()
                if len(counts) == 0:
                    raise InputError(f"column {name!r} has no values in the training split; leave it out of the features")
                columns.append({"name": name, "kind": "category", "categories": sorted(counts.index.tolist()),
                                "mode": str(counts.index[0]), "boolean": boolean})
        return cls(target, task, classes, columns, missing)

    @property
    def features(self) -> list[str]:
        return [c["name"] for c in self.columns]

    @property
    def names(self) -> list[str]:
        """The encoded inputs' names: a number keeps its name, a category gives one "name=value" per value."""
        out = []
        for c in self.columns:
            out += [c["name"]] if c["kind"] == "number" else [f"{c['name']}={v}" for v in c["categories"]]
        return out

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        """Raw rows -> the float32 inputs (N, width): numbers standardised, categories one-hot (an unknown value, or a
        missing one, is all zeros), missing numbers filled with the training median."""
        n = len(df)
        blocks = []
        for c in self.columns:
            col = df[c["name"]]
            if c["kind"] == "number":
                v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                v = np.where(np.isnan(v), c["median"], v)
                blocks.append(((v - c["mean"]) / c["std"]).astype(np.float32)[:, None])
            else:
                codes = _codes(_keys(col, c.get("boolean", False)).fillna(c["mode"]), c["categories"])
                block = np.zeros((n, len(c["categories"])), dtype=np.float32)
                known = codes >= 0
                block[np.flatnonzero(known), codes[known]] = 1.0
                blocks.append(block)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0), dtype=np.float32)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Prep:
        try:
            return cls(**d)
        except TypeError as e:
            raise InputError(f"the model's table description is damaged ({e}); train it again") from None


def _class_order(values: pd.Series, numeric: bool) -> list[str]:
    uniq = values.dropna().unique().tolist()
    return sorted(uniq, key=float) if numeric else sorted(uniq)


def prepare(df: pd.DataFrame, cfg: RunConfig, limits: Limits | None = None) -> Data:
    """A table as the trainer's Data on cfg's split: rows with missing values dropped or filled, the preprocessing
    fitted on the training rows only, classes or a regression target, and the counts said in `source_reason`."""
    limits = limits or Limits.from_env()
    target, features, task = select(df, cfg, limits)
    used = df[[*features, target]]
    keep = used[target].notna().to_numpy().copy()
    dropped = {"target": int((~keep).sum())}
    missing = used[features].isna()
    if cfg.missing == "drop":
        for f in features:
            dropped[f] = int((missing[f].to_numpy() & keep).sum())
        keep &= ~missing.to_numpy().any(axis=1)
    used = used[keep]
    n = len(used)
    test_fraction = round(1.0 - cfg.train_fraction, 9)
    if n < 4 or (not cfg.folds and math.ceil(n * test_fraction) >= n) or (cfg.folds and n < 2 * cfg.folds):
        fix = "fill missing values instead of dropping rows, or add rows" if cfg.missing == "drop" else "add rows"
        raise InputError(f"only {n} rows are usable ({sum(dropped.values())} dropped for missing values): too few for "
                         f"a training and a test split; {fix}")
    classes: list[str] = []
    y_col = used[target]
    if task == "classification":
        boolean = _is_bool(y_col)
        keys = _keys(y_col, boolean)
        classes = [str(c) for c in _class_order(keys, _is_number(y_col))]
        if len(classes) < 2:
            raise InputError(f"target column {target!r} has only one class ({classes[0]!r}) in the rows used; a "
                             "classifier needs at least two (choose another target, or regression)")
        if len(classes) > limits.max_categories:
            raise InputError(f"target column {target!r} has {len(classes):,} distinct values, too many classes (the cap "
                             f"is {limits.max_categories}); choose regression for a number, or another target")
        y = _codes(keys, classes).astype(np.int64)
    else:
        y = y_col.to_numpy(dtype=np.float32).reshape(-1, 1)
    tr, te = split_rows(n, cfg, test_fraction)
    prep = Prep.fit(used.iloc[tr], target=target, features=features, task=task, classes=classes, missing=cfg.missing)
    x = prep.encode(used)
    filled = {f: int(missing[f].to_numpy()[keep].sum()) for f in features} if cfg.missing == "fill" else {}
    prep.counts = {"rows": len(df), "used": n, "train": len(tr), "test": len(te),
                   "dropped": {k: v for k, v in dropped.items() if v}, "filled": {k: v for k, v in filled.items() if v}}
    t = torch.from_numpy
    name = df.attrs.get("name", Path(cfg.csv).name if cfg.csv else "your table")
    return Data(
        "csv", task, t(x[tr]), t(y[tr]), t(x[te]), t(y[te]), class_names=classes, feature_names=prep.names,
        source=f"your table {name} ({n:,} rows used of {len(df):,}; {len(features)} features)",
        source_reason=counts_text(prep), info={"table": prep.to_dict(), "target": target},
    )


def counts_text(prep: Prep) -> str:
    """What happened to missing values, in words: rows dropped, cells filled (with which value), per column."""
    c, parts = prep.counts, []
    dropped = c.get("dropped", {})
    if dropped:
        each = ", ".join(f"{k} {v:,}" for k, v in dropped.items())
        parts.append(f"{c['rows'] - c['used']:,} of {c['rows']:,} rows dropped for missing values ({each})")
    filled = c.get("filled", {})
    if filled:
        by = {col["name"]: col for col in prep.columns}
        each = ", ".join(f"{k} {v:,} (with {_fill_value(by[k])})" for k, v in filled.items())
        parts.append(f"missing cells filled from the training split: {each}")
    return "; ".join(parts) or "no missing values"


def _fill_value(col: dict) -> str:
    return f"median {col['median']:.4g}" if col["kind"] == "number" else f"most frequent {col['mode']!r}"


def resolve(cfg: RunConfig, df: pd.DataFrame, limits: Limits | None = None) -> RunConfig:
    """cfg with the table's task settled ("auto" read from the target's values), checked against the table."""
    _, _, task = select(df, cfg, limits or Limits.from_env())
    return cfg.replace(table_task=task).validate(limits)


def load_csv(cfg: RunConfig, limits: Limits | None = None) -> Data:
    """The table at cfg.csv, prepared on cfg's split (the CLI's and repeated evaluations' loader)."""
    if not cfg.csv:
        raise ConfigError("dataset 'csv' needs a table: give its path (--csv PATH)")
    limits = limits or Limits.from_env()
    return prepare(read_table_cached(cfg.csv, limits), cfg, limits)


def table_shape(cfg: RunConfig) -> tuple[tuple[int, ...], int]:
    """The model's input shape and outputs for cfg's table (for a parameter count before training)."""
    data = _cached(("prepared", *_file_key(cfg.csv), cfg.target, cfg.features, cfg.table_task, cfg.missing,
                    cfg.seed, cfg.train_fraction, cfg.folds, cfg.fold), lambda: load_csv(cfg))
    return data.input_shape, data.num_outputs


# ---------------------------------------------------------------- prediction from raw values

def prep_of(tm: TrainedModel) -> Prep:
    """The preprocessing a model applies to raw values: its table's, or one made from Boston's stored statistics."""
    meta = tm.meta
    if "table" in meta.get("info", {}):
        return Prep.from_dict(meta["info"]["table"])
    if tm.cfg.dataset == "boston":
        info = meta["info"]["features"]
        cols = [{"name": n, "kind": "number", "mean": m, "std": s, **{k: info[n][k] for k in
                 ("median", "min", "max", "p05", "p95")}}
                for n, m, s in zip(meta["feature_names"], meta["norm"]["mean"], meta["norm"]["std"])]
        return Prep("MEDV", "regression", [], cols)
    raise InputError(f"a {tm.cfg.dataset} model does not take table rows; upload or train a model on a table")


def check_rows(prep: Prep, df: pd.DataFrame, *, single: bool = False) -> tuple[np.ndarray, list[str]]:
    """Raw rows checked against the model's columns: (rows that can be predicted, warnings).

    Refused, naming the column (and row) and the fix: a missing feature column, a value that is not a number where
    one is needed, an infinite one. Warned about: values outside the training range, categories it never saw, cells
    filled. A missing value is filled (model trained with "fill") or its row skipped ("drop"; a single row is refused).
    """
    absent = [f for f in prep.features if f not in df.columns]
    if absent:
        raise InputError(f"the rows have no column {absent[0]!r}, which the model needs; give the columns "
                         f"{', '.join(prep.features)} (the target {prep.target!r} is not needed)")
    ok = np.ones(len(df), dtype=bool)
    warnings: list[str] = []
    for c in prep.columns:
        col, name = df[c["name"]], c["name"]
        gap = _blank(col)
        if c["kind"] == "number":
            v = pd.to_numeric(col.where(~gap), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            bad = np.flatnonzero(np.isnan(v) & ~gap)
            if len(bad):
                where = "" if single else f" in row {bad[0] + 1}"
                raise InputError(f"{name} {col.iloc[bad[0]]!r}{where} is not a number; enter e.g. {c['median']:.4g}")
            if np.isinf(v).any():
                row = np.flatnonzero(np.isinf(v))[0]
                raise InputError(f"{name} {col.iloc[row]!r}{'' if single else f' in row {row + 1}'} is not a finite "
                                 f"number; enter e.g. {c['median']:.4g}")
            out = (v < c["min"]) | (v > c["max"])
            if out.any():
                many = int(out.sum())
                shown = f"{name} {v[out][0]:g} is" if single else f"{name}: {_rows(many)} {'are' if many > 1 else 'is'}"
                warnings.append(f"{shown} outside the training data's range {c['min']:.4g} to {c['max']:.4g}: the "
                                "prediction extrapolates and may be unreliable")
        else:
            keys = _keys(col.where(~gap), c.get("boolean", False))
            unknown = keys.notna() & ~keys.isin(c["categories"])
            if unknown.any():
                first = keys[unknown].iloc[0]
                known = ", ".join(c["categories"][:10]) + (", …" if len(c["categories"]) > 10 else "")
                count = "" if single else f" ({_rows(int(unknown.sum()))})"
                warnings.append(f"{name} {first!r}{count} was not seen in training (known: {known}); it counts as none "
                                "of them")
        if gap.any():
            if prep.missing == "fill":
                count = "" if single else f" in {_rows(int(gap.sum()))}"
                warnings.append(f"{name} is missing{count}: filled with the training {_fill_value(c)}")
            elif single:
                typical = f"{c['median']:.4g}" if c["kind"] == "number" else repr(c["mode"])
                raise InputError(f"{name} is empty; enter a value (typical: {typical})")
            else:
                ok &= ~gap
    if not single and not ok.all():
        skipped = int((~ok).sum())
        warnings.append(f"{_rows(skipped)} {'have' if skipped > 1 else 'has'} missing values and get no prediction "
                        "(the model was trained with such rows dropped)")
    return ok, warnings


def _outputs(tm: TrainedModel, df: pd.DataFrame, single: bool) -> tuple[Prep, np.ndarray, np.ndarray, list[str]]:
    """(preprocessing, rows predicted (mask), the model's outputs for them (regression values or class probabilities),
    warnings)."""
    prep = prep_of(tm)
    ok, warnings = check_rows(prep, df, single=single)
    x = torch.from_numpy(prep.encode(df[ok])).to(tm.device)
    if x.shape[1] != int(np.prod(tm.meta["input_shape"])):
        raise InputError("the model's table description does not match its weights; train or upload it again")
    if not len(x):
        return prep, ok, np.zeros((0, max(1, len(prep.classes)))), warnings
    out = forward_chunked(tm.model, x)
    out = torch.softmax(out, dim=1) if prep.task == "classification" else out
    return prep, ok, out.cpu().numpy().astype(np.float64), warnings


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def predict_rows(tm: TrainedModel, df: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Predictions for raw rows: a DataFrame aligned with the rows, with `prediction` (and, for classes,
    `probability` and each class's) left empty where a row was skipped, and the warnings."""
    prep, ok, out, warnings = _outputs(tm, df, single=False)
    n = len(df)
    if prep.task == "regression":
        pred = np.full(n, np.nan)
        pred[ok] = out[:, 0]
        return pd.DataFrame({"prediction": pred}, index=df.index), warnings
    names = tm.meta.get("class_names") or prep.classes
    labels = np.full(n, None, dtype=object)
    labels[ok] = [names[i] for i in out.argmax(1)]
    columns = {"prediction": labels, "probability": _fill(n, ok, out.max(1) if len(out) else out[:, 0])}
    columns.update({f"p({name})": _fill(n, ok, out[:, j]) for j, name in enumerate(names)})
    return pd.DataFrame(columns, index=df.index), warnings


def _fill(n: int, ok: np.ndarray, values: np.ndarray) -> np.ndarray:
    full = np.full(n, np.nan)
    full[ok] = values
    return full


def predict_one(tm: TrainedModel, values: dict) -> tuple[object, dict[str, float], list[str]]:
    """One row of raw values by column name -> (prediction, class probabilities ({} for regression), warnings)."""
    prep = prep_of(tm)
    row = pd.DataFrame([{f: values.get(f) for f in prep.features}], dtype=object)
    prep, _, out, warnings = _outputs(tm, row, single=True)
    if prep.task == "regression":
        return float(out[0, 0]), {}, warnings
    names = tm.meta.get("class_names") or prep.classes
    probs = {name: float(p) for name, p in zip(names, out[0])}
    return max(probs, key=probs.get), probs, warnings


def with_predictions(df: pd.DataFrame, result: pd.DataFrame) -> pd.DataFrame:
    """The rows with the prediction columns appended (renamed if the table has such columns), ready to save."""
    out = df.copy()
    for name in result.columns:
        new = name
        while new in out.columns:
            new = f"{new}_"
        out[new] = result[name]
    return out


def safe_for_spreadsheets(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells that a spreadsheet would run as a formula (=, +, -, @ ...) start with an apostrophe,
    so a downloaded file opened in Excel shows them as text (OWASP's advice against CSV injection)."""
    out = df.copy()
    for name in out.columns:
        if _is_text(out[name]):
            out[name] = out[name].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v)
    return out


def form_fields(tm: TrainedModel) -> list[dict]:
    """What a prediction form shows per feature: its name, kind, typical range or categories, and starting value
    (the training median or most frequent value)."""
    prep = prep_of(tm)
    out = []
    for c in prep.columns:
        if c["kind"] == "number":
            out.append({"name": c["name"], "kind": "number", "value": float(f"{c['median']:.4g}"),
                        "info": f"typical {c['p05']:.4g} to {c['p95']:.4g} (training data {c['min']:.4g} to "
                                f"{c['max']:.4g})"})
        else:
            out.append({"name": c["name"], "kind": "category", "value": c["mode"], "choices": c["categories"],
                        "info": f"{len(c['categories'])} values seen in training"})
    return out


def coefficients(model: torch.nn.Module, feature_names: list[str], class_names: list[str] | None = None,
                 target: str = "") -> pd.DataFrame:
    """A linear model's learned weights, one row per (standardised) input, largest effect first, the intercept last.

    Regression: the change in the target per one standard deviation of a number (or for a category being present).
    Classification: one column per class (its logit's change); the rows are ordered by the largest absolute weight.
    """
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if len(layers) != 1:
        raise InputError("coefficients are shown for the linear model only (a network's weights have no one meaning)")
    w = layers[0].weight.detach().cpu().numpy().astype(np.float64)
    b = layers[0].bias.detach().cpu().numpy().astype(np.float64)
    columns = [f"effect on {target}" if target else "coefficient"] if w.shape[0] == 1 else [
        f"logit of {c}" for c in (class_names or range(w.shape[0]))]
    table = pd.DataFrame(w.T, columns=columns)
    table.insert(0, "input", feature_names)
    table = table.iloc[np.argsort(-np.abs(w).max(axis=0), kind="stable")]
    intercept = pd.DataFrame([["(intercept)", *b]], columns=table.columns)
    return pd.concat([table, intercept], ignore_index=True).round(4)
