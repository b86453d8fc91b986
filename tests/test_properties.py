"""Property-based tests: any input to the parsers and preprocessors gives a valid result or a clear error, never a crash."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dlcore.config import ConfigError, Limits, parse_hidden
from dlcore.defaults import load_default
from dlcore.predict import BOSTON_ORDER, InputError, preprocess_sketch, validate_features

LIMITS = Limits()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

layer_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.one_of(st.integers(-10, 10_000), st.text(alphabet="0123456789 -+.ae", max_size=6)), max_size=20)
    .map(lambda xs: ",".join(map(str, xs))),
    st.lists(st.integers(1, 4096), min_size=1, max_size=16).map(lambda xs: "[" + ", ".join(map(str, xs)) + "]"),
)


@FAST
@given(layer_text)
def test_parse_hidden_gives_sizes_or_a_clear_error(text):
    try:
        sizes = parse_hidden(text, LIMITS)
    except ConfigError as e:
        msg = str(e)
        assert msg.startswith("hidden layers") and text.strip() in msg or text in msg
        assert any(fix in msg for fix in ("e.g.", "smaller", "fewer"))
        return
    assert isinstance(sizes, tuple) and len(sizes) <= LIMITS.max_layers
    assert all(isinstance(s, int) and 1 <= s <= LIMITS.max_layer for s in sizes)


@FAST
@given(st.lists(st.integers(1, 4096), min_size=1, max_size=16))
def test_valid_layer_lists_round_trip(sizes):
    assert parse_hidden(",".join(map(str, sizes)), LIMITS) == tuple(sizes)
    assert parse_hidden(" , ".join(map(str, sizes)), LIMITS) == tuple(sizes)


def _check_image(out):
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


dtypes = st.sampled_from([np.uint8, np.float32, np.float64, np.int64, bool])
shapes = st.one_of(
    st.tuples(st.integers(1, 64), st.integers(1, 64)),
    st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4, 5])),
    st.tuples(st.integers(1, 50)),
)


@FAST
@given(shapes, dtypes, st.integers(0, 2**31 - 1), st.booleans())
def test_any_array_is_a_28x28_image_or_an_input_error(shape, dtype, seed, specials):
    rng = np.random.default_rng(seed)
    arr = (rng.random(shape) * (1 if dtype in (np.float32, np.float64) else 300)).astype(dtype)
    if specials and np.issubdtype(arr.dtype, np.floating) and arr.size > 2:
        arr.flat[0], arr.flat[1] = np.nan, np.inf
    for value in (arr, {"background": None, "layers": [arr], "composite": None},
                  {"background": arr, "layers": [], "composite": None}):
        try:
            _check_image(preprocess_sketch(value, LIMITS))
        except InputError as e:
            assert str(e)


@FAST
@given(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I", "LA"]), st.integers(1, 120), st.integers(1, 120),
       st.integers(0, 2**31 - 1))
def test_any_pil_image_mode(mode, w, h, seed):
    rng = np.random.default_rng(seed)
    img = Image.fromarray((rng.random((h, w)) * 255).astype(np.uint8)).convert(mode)
    try:
        _check_image(preprocess_sketch(img, LIMITS))
    except InputError as e:
        assert str(e)


@FAST
@given(st.integers(4, 100), st.integers(4, 100), st.integers(0, 180), st.integers(0, 180), st.integers(2, 30))
def test_drawn_strokes_are_centred_and_20px(w, h, x0, y0, width):
    img = Image.new("RGB", (200, 200), "white")
    from PIL import ImageDraw

    ImageDraw.Draw(img).line([(x0 % 190, y0 % 190), ((x0 + w) % 195, (y0 + h) % 195)], fill="black", width=width)
    try:
        out = preprocess_sketch(np.asarray(img), LIMITS)
    except InputError:
        return
    _check_image(out)
    ys, xs = np.nonzero(out > 0.02)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 <= 22
    cy, cx = (np.indices(out.shape) * out).reshape(2, -1).sum(1) / out.sum()
    assert abs(cy - 14) <= 3.5 and abs(cx - 14) <= 3.5  # may sit off-centre only where a stroke touches the frame


@pytest.fixture(scope="module")
def info():
    return load_default("boston").meta["info"]["features"]


feature_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 1000),
                          st.text(max_size=8), st.none(), st.sampled_from(["1.5", " 3 ", "1e2", "-0", "nan"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(feature_value, min_size=13, max_size=13))
def test_house_features_are_numbers_or_a_named_error(info, values):
    try:
        x, warnings = validate_features(values, info)
    except InputError as e:
        assert any(str(e).startswith(name + " ") for name in BOSTON_ORDER)
        return
    assert x.dtype == np.float64 and x.shape == (13,) and np.isfinite(x).all() and (x >= 0).all()
    for w in warnings:
        assert "extrapolates" in w and w.split()[0] in BOSTON_ORDER


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1000), min_size=0, max_size=20).filter(lambda xs: len(xs) != 13))
def test_wrong_feature_count(info, values):
    with pytest.raises(InputError, match="13 feature values"):
        validate_features(values, info)


def test_in_range_values_do_not_warn(info):
    medians = [info[n]["median"] for n in BOSTON_ORDER]
    x, warnings = validate_features(medians, info)
    assert warnings == [] and not any(math.isnan(v) for v in x)
