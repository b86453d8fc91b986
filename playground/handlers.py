"""What every handler shares: user errors as gr.Error, and functions whose API parameters have real names.

Gradio names an endpoint's API parameters after the handler's positional parameters, so a handler built from a
field table gets a generated signature with the fields' names (`classes`, `points`, ... or `CRIM` ... `LSTAT`) and
receives the values as one dict: nothing anywhere depends on counting positions.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator

import gradio as gr

from dlcore.errors import DlcoreError

log = logging.getLogger("playground")


def as_gr_error(e: Exception) -> gr.Error:
    """The user's view of an exception: their value and the fix, or a short note that the server hit a bug."""
    if isinstance(e, gr.Error):
        return e
    if isinstance(e, DlcoreError):  # user-facing: the message names the value and the fix
        return gr.Error(str(e), title="Please check the settings", print_exception=False)  # no traceback in the log
    log.error("unexpected error in a handler", exc_info=e)  # the traceback stays in the server log
    return gr.Error(f"the server hit an unexpected {type(e).__name__} ({str(e)[:200]}). Your last good model is kept; "
                    "try smaller settings, or report this with the settings you used", title="Something went wrong",
                    print_exception=False)  # logged just above, once


def user_errors(fn):
    """Every exception a handler raises reaches the user as a gr.Error, never as a traceback."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # GeneratorExit (a cancel) is not an Exception and passes through
                raise as_gr_error(e) from None
        return gen

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise as_gr_error(e) from None
    return call


def _signature(names: Iterable[str], extra: Iterable[str]) -> inspect.Signature:
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    params += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for n in extra]
    return inspect.Signature(params)


def named(fn: Callable[..., object], names: list[str], extra: tuple[str, ...] = ("state",),
          outputs: list[str] | None = None, doc: str = ""):
    """A Gradio handler with parameters `names` (the API's, in order) then `extra` (e.g. the session's state).

    `fn(values: dict, *extra)` gets the named values as one dict. With `outputs`, `fn` returns (or, for a generator,
    yields) dicts keyed by output name, turned here into tuples in `outputs` order; a name left out is not updated.
    """
    names, n = list(names), len(names)

    def split(args, kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        values = list(bound.arguments.values())
        return dict(zip(names, values[:n])), values[n:]

    def shape(out):
        if outputs is None:
            return out
        unknown = set(out) - set(outputs)
        if unknown:  # a programming error, caught by the tests
            raise KeyError(f"outputs {sorted(unknown)} are not among {outputs}")
        row = tuple(out.get(name, gr.skip()) for name in outputs)
        return row[0] if len(row) == 1 else row

    if inspect.isgeneratorfunction(fn):
        def handler(*args, **kwargs) -> Iterator:
            values, rest = split(args, kwargs)
            for out in fn(values, *rest):
                yield shape(out)
    else:
        def handler(*args, **kwargs):
            values, rest = split(args, kwargs)
            return shape(fn(values, *rest))

    sig = _signature(names, extra)
    handler.__signature__ = sig
    handler.__name__ = handler.__qualname__ = getattr(fn, "__name__", "handler")
    handler.__doc__ = doc or fn.__doc__
    handler.__wrapped_fn__ = fn
    return user_errors(handler)
