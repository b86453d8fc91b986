"""Tables for the tests: ones a user might upload that are not usable, each with the words its refusal must contain
(issue 12's bad-input list, shared by the dlcore, UI-handler, API and command-line tests), and a usable one."""

from __future__ import annotations

import numpy as np

MANY = 3000  # distinct values of a free-text column: far over the one-hot cap


def _many_categories() -> bytes:
    rows = [f"user{i},{i % 7},{i * 0.5}" for i in range(MANY)]
    return ("name,group,y\n" + "\n".join(rows) + "\n").encode()


def _one_class() -> bytes:
    return ("x,label\n" + "\n".join(f"{i},yes" for i in range(40)) + "\n").encode()


def _all_missing_target() -> bytes:
    return ("x,z,label\n" + "\n".join(f"{i},{i % 3}," for i in range(40)) + "\n").encode()


# (id, file bytes, target column (None: the last), words the message must contain)
BAD_TABLES = [
    ("binary", b"\x00\x01\x02garbage\x00" * 50, None, "binary file, not a CSV"),
    ("png", b"\x89PNG\r\n\x1a\n" + bytes(100), None, "a PNG image, not a CSV"),
    ("xlsx", b"PK\x03\x04" + bytes(100), None, "Excel workbook (.xlsx), not a CSV"),
    ("empty", b"", None, "is empty"),
    ("header-only", b"a,b,c\n", None, "has a header but no rows"),
    ("one-column", b"a\n1\n2\n3\n", None, "has only one column ('a')"),
    ("duplicate-names", b"a,b,a\n1,2,3\n4,5,6\n", None, "column name 'a' appears twice"),
    ("empty-name", b"a,,c\n1,2,3\n4,5,6\n", None, "column 2 of"),
    ("one-class", _one_class(), "label", "only one class ('yes')"),
    ("target-all-missing", _all_missing_target(), "label", "target column 'label' has no values"),
    ("no-such-target", b"a,b\n1,2\n3,4\n5,6\n7,8\n", "price", "target column 'price' is not in the table"),
    ("thousands-of-categories", _many_categories(), "y", f"column 'name' has {MANY:,} distinct values"),
    ("not-utf8", "city,price\nZürich,3\nGenève,4\n".encode("latin-1"), None, "is not UTF-8 text: byte 0xfc on line 2"),
]


def formula_table() -> bytes:
    """A table whose text cells are spreadsheet formulas: data, never evaluated."""
    rng = np.random.default_rng(0)
    cmds = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "@evil", "-2+3"]
    rows = [f"{x:.3f},\"{cmds[i % 4]}\",{'yes' if x > 0 else 'no'}" for i, x in enumerate(rng.normal(size=60))]
    return ("x,note,label\n" + "\n".join(rows) + "\n").encode()


def shop_csv(path, rows: int = 240, seed: int = 3) -> str:
    """Customers: age with gaps, city (a category) with gaps, visits; the label depends on age and city."""
    rng = np.random.default_rng(seed)
    lines = ["age,city,visits,label"]
    for i in range(rows):
        age, city = rng.uniform(18, 80), ["Paris", "Rome", "Oslo"][i % 3]
        label = "buy" if (age > 45) != (city == "Oslo") else "skip"
        lines.append(f"{'' if i % 11 == 0 else round(age, 1)},{'' if i % 31 == 4 else city},{i % 9},{label}")
    path.write_text("\n".join(lines) + "\n")
    return str(path)
