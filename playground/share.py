"""A tab's whole configuration as a link: the field values in the page's query string, and back.

`?dataset=xor&features=x1,x2,x1x2&lr=0.01&...&hide=optimizer,lr` restores every setting it names and hides the
controls listed in `hide` (a teacher's link shows a class only what the lesson needs). A value that is unknown or
bad is ignored, and named in the notice, never half-applied. Parameter names are the field (= API) names.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from dlcore.errors import ConfigError

from .fields import Field, build_config, defaults

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _text(f: Field, value) -> str:
    """A widget value as the link writes it."""
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "multi":
        return ",".join(value or [])
    return "" if value is None else str(value)


def to_query(fields: tuple[Field, ...], values: dict, hide: list[str] | tuple[str, ...] = ()) -> str:
    """"?name=value&...", every field's current value (and the hidden controls), ready to append to the page's URL."""
    pairs = [(f.name, _text(f, values[f.name])) for f in fields if f.name in values]
    if hide:
        pairs.append(("hide", ",".join(hide)))
    return "?" + urlencode(pairs, safe=",;")


def _value(f: Field, text: str):  # noqa: PLR0911  one reading per kind of field
    """The widget value a link's text stands for; ConfigError when the field would refuse it."""
    if f.kind == "bool":
        low = text.strip().lower()
        if low not in TRUE + FALSE:
            raise ConfigError(f"{text!r} is not true or false")
        return low in TRUE
    if f.kind == "multi":
        return list(f.parse([t for t in text.split(",") if t.strip()])[f.name])
    if f.kind in ("int", "float"):
        number = f.parse(text)[f.name]
        return int(number) if f.kind == "int" else number
    if f.kind == "lr":
        f.parse(text)
        return text
    f.parse(text)  # choice, radio, text: the field's own check
    return text


def from_query(fields: tuple[Field, ...], query: str | dict, dataset: str = "spiral") -> tuple[dict, list[str], list[str]]:
    """A link's query -> ({field: widget value} for every good value, the controls to hide, notices naming each value
    that was ignored and why). A value is good when its field reads it and the config takes it (in range)."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True) if isinstance(query, str) else list(query.items())
    by_name = {f.name: f for f in fields}
    values, hide, notices = {}, [], []
    for name, text in pairs:
        if name == "hide":
            for h in (h.strip() for h in text.split(",") if h.strip()):
                if h in by_name:
                    hide.append(h)
                else:
                    notices.append(f"hide={h}: there is no control {h!r}")
            continue
        f = by_name.get(name)
        if f is None:
            notices.append(f"{name}={text[:40]}: unknown setting")
            continue
        try:
            values[name] = _value(f, text)
        except ConfigError as e:
            notices.append(f"{name}={text[:40]}: {e}")
    _in_range(fields, values, pairs, notices, dataset)
    return values, list(dict.fromkeys(hide)), notices


def _in_range(fields: tuple[Field, ...], values: dict, pairs: list, notices: list[str], dataset: str) -> None:
    """Drop (and name) the values the config refuses, each checked on the tab's defaults with the link's data set
    and loss, which decide what else is allowed."""
    base = defaults(fields, dataset)
    for key in ("dataset", "loss"):
        if key in values:
            trial = {**base, **{k: values[k] for k in ("dataset", "loss") if k in values}}
            try:
                build_config(fields, trial, dataset)
                base = trial
            except ConfigError as e:
                notices.append(f"{key}={values.pop(key)}: {e}")
    text = dict(pairs)
    for name in [n for n in values if n not in ("dataset", "loss")]:
        try:
            build_config(fields, {**base, name: values[name]}, dataset)
        except ConfigError as e:
            notices.append(f"{name}={text.get(name, '')[:40]}: {e}")
            del values[name]
