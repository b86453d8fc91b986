"""Property-based tests: any value a stranger can send (layer spec, sketch or image, house features, config fields)
gives a valid result or the module's own clear error (ConfigError / InputError), never another exception.

Examples are derandomised so CI runs are repeatable; each known crash is pinned with @example or a parametrized
case so it stays covered whatever hypothesis draws.
"""

import io
import math
import struct
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from dlcore import models, optim
from dlcore.config import DATASETS, ConfigError, Limits, RunConfig, parse_hidden
from dlcore.data import load_data
from dlcore.predict import (
    BOSTON_ORDER,
    PERCENT_FEATURES,
    InputError,
    mnist_style,
    preprocess_sketch,
    sketch_to_ink,
    validate_features,
)

LIMITS = Limits()  # the defaults, whatever DLCORE_MAX_* the shell has set
PROPS = settings(max_examples=120, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(PROPS, max_examples=50)


@pytest.fixture(autouse=True)
def subnormals_representable():
    """Hypothesis draws subnormal floats and refuses to run where they flush to zero. The trainer flushes them on the
    thread it trains on (dlcore.denormals), and earlier tests train on this one: give them back for these tests."""
    torch.set_flush_denormal(False)


# ---------------------------------------------------------------- hidden-layer specs

def _join(draw_parts):
    """Join a list of tokens with the separators and brackets people actually type."""
    parts, sep, brackets, pad = draw_parts
    text = sep.join(parts)
    return f"{brackets[0]}{pad}{text}{pad}{brackets[1]}"


size_token = st.one_of(
    st.integers(-5, 5),  # zero and negatives
    st.integers(1, 5000),  # around the per-layer cap of 4096
    st.integers(-10**60, 10**60),  # absurd sizes
).map(str) | st.sampled_from(["", " ", "abc", "1.5", "1e3", "+7", "0x10", "1_000", "٣", "nan", "-0"])
structured_spec = st.tuples(
    st.lists(size_token, max_size=20),
    st.sampled_from([",", ", ", " , ", ";", ",,", " ", "\t"]),
    st.sampled_from([("", ""), ("[", "]"), ("(", ")"), ("[", ""), ("", ")")]),
    st.sampled_from(["", " ", "  "]),
).map(_join)


@PROPS
@given(st.one_of(st.text(max_size=40), structured_spec))
@example("10,,5")
@example("abc")
@example("-3,0")
@example("9" * 5000)  # int() refuses strings this long with ValueError, not a crash
@example(",".join(["8"] * 17))  # one layer too many
def test_parse_hidden_gives_sizes_or_a_clear_error(text):
    try:
        sizes = parse_hidden(text, LIMITS)
    except ConfigError as e:
        msg = str(e)
        assert msg.startswith("hidden layers") and text in msg, msg  # the offending text, as typed
        assert "use " in msg, msg  # and a fix
        return
    assert isinstance(sizes, tuple) and len(sizes) <= LIMITS.max_layers
    assert all(type(s) is int and 1 <= s <= LIMITS.max_layer for s in sizes)


@PROPS
@given(st.lists(st.one_of(st.integers(-10, 5000), st.text(max_size=4), st.floats(), st.none(), st.booleans()),
                max_size=20))
def test_parse_hidden_of_a_list_gives_sizes_or_a_clear_error(items):
    try:
        sizes = parse_hidden(items, LIMITS)
    except ConfigError as e:
        assert str(e).startswith("hidden layers") and "use " in str(e)
        return
    assert all(type(s) is int and 1 <= s <= LIMITS.max_layer for s in sizes) and len(sizes) == len(items)


@PROPS
@given(st.lists(st.integers(1, LIMITS.max_layer), min_size=1, max_size=LIMITS.max_layers),
       st.sampled_from([",", ", ", " ,", ";"]), st.sampled_from([("", ""), ("[", "]"), ("(", ")")]))
def test_valid_layer_lists_round_trip(sizes, sep, brackets):
    text = brackets[0] + sep.join(map(str, sizes)) + brackets[1]
    assert parse_hidden(text, LIMITS) == tuple(sizes)
    assert parse_hidden(sizes, LIMITS) == tuple(sizes)
    assert parse_hidden(",".join(map(str, parse_hidden(text, LIMITS))), LIMITS) == tuple(sizes)


# ---------------------------------------------------------------- sketches and images

def _check_image(out):
    assert isinstance(out, np.ndarray) and out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


def _expect_image_or_input_error(fn, value):
    try:
        out = fn(value, LIMITS)
    except InputError as e:
        assert str(e)
        return None
    _check_image(out)
    return out


@st.composite
def arrays(draw):
    """Arrays of any rank, channel count, dtype and value range, some with a stroke so preprocessing succeeds."""
    shape = draw(st.one_of(
        st.tuples(st.integers(1, 64), st.integers(1, 64)),
        st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 2, 3, 4, 5])),
        st.tuples(st.integers(0, 50)),  # 1-D
        st.tuples(st.integers(0, 3), st.integers(0, 3)),  # empty and tiny
        st.just(()),  # a scalar
        st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 4), st.integers(1, 3)),  # 4-D
    ))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64, bool, np.int64, np.int32, np.float16]))
    content = draw(st.sampled_from(["noise", "stroke", "flat", "dots"]))
    scale = draw(st.sampled_from([1.0, 255.0, 1e6, -1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if content == "noise":
        a = rng.random(shape) * scale
    elif content == "flat":
        a = np.full(shape, rng.random() * scale)
    else:
        a = np.zeros(shape)
        if a.ndim >= 2 and a.size:
            if content == "stroke":
                r = rng.integers(0, shape[0])
                a[r, : max(1, shape[1] // 2)] = scale
                a[: max(1, shape[0] // 2), rng.integers(0, shape[1])] = scale
            else:
                a.reshape(-1)[rng.integers(0, a.size, size=3)] = scale
    a = a.astype(dtype) if dtype is not bool else a > 0.5 * abs(scale)
    if np.issubdtype(a.dtype, np.floating) and a.size >= 3 and draw(st.booleans()):
        a.reshape(-1)[:3] = [np.nan, np.inf, -np.inf]
    return a


@PROPS
@given(arrays())
def test_any_array_is_a_28x28_image_or_an_input_error(arr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # casting inf/NaN to ints while building the input
        for value in (arr, {"background": None, "layers": [arr], "composite": None},
                      {"composite": arr}, {"background": arr, "layers": []}):
            _expect_image_or_input_error(preprocess_sketch, value)


@PROPS
@given(arrays())
def test_sketch_to_ink_gives_ink_in_0_1_or_an_input_error(arr):
    try:
        ink = sketch_to_ink(arr, LIMITS)
    except InputError:
        return
    assert ink.ndim == 2 and ink.dtype == np.float32 and np.isfinite(ink).all()
    assert ink.min() >= 0.0 and ink.max() <= 1.0


@PROPS
@given(st.integers(1, 80), st.integers(1, 80), st.integers(0, 2**32 - 1), st.sampled_from(["noise", "sparse", "zeros", "ones"]))
def test_mnist_style_of_any_ink(h, w, seed, kind):
    rng = np.random.default_rng(seed)
    ink = {"noise": lambda: rng.random((h, w)), "sparse": lambda: (rng.random((h, w)) > 0.97) * rng.random((h, w)),
           "zeros": lambda: np.zeros((h, w)), "ones": lambda: np.ones((h, w))}[kind]().astype(np.float32)
    _expect_image_or_input_error(lambda v, _lim: mnist_style(v), ink)


layer_value = st.one_of(st.none(), arrays(), st.just([]), st.integers(), st.text(max_size=5))
sketch_dict = st.dictionaries(
    st.sampled_from(["background", "layers", "composite", "other"]),
    st.one_of(layer_value, st.lists(st.one_of(st.none(), arrays()), max_size=3)),
    max_size=4,
)


@PROPS
@given(sketch_dict)
@example({})
@example({"background": None, "layers": [None, None], "composite": None})
@example({"background": None, "layers": [], "composite": None})
@example({"layers": [np.zeros((10, 10, 4), np.uint8), np.zeros((12, 12, 4), np.uint8)]})
@example({"layers": np.zeros((0,), np.uint8)})  # one array where a list of layers belongs
@example({"layers": np.zeros((30, 30), np.uint8)})
def test_any_sketchpad_value_is_an_image_or_an_input_error(value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _expect_image_or_input_error(preprocess_sketch, value)


PIL_MODES = ["L", "RGB", "RGBA", "P", "1", "I", "F", "LA", "I;16", "CMYK", "YCbCr"]


@PROPS
@given(st.sampled_from(PIL_MODES), st.integers(1, 120), st.integers(1, 120), st.integers(0, 2**32 - 1),
       st.sampled_from(["noise", "stroke", "blank"]))
def test_any_pil_image_is_an_image_or_an_input_error(mode, w, h, seed, content):
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (w, h), "white")
    if content == "noise":
        img = Image.fromarray((rng.random((h, w, 3)) * 255).astype(np.uint8))
    elif content == "stroke":
        ImageDraw.Draw(img).line([(0, 0), (w - 1, h - 1)], fill="black", width=max(1, min(w, h) // 8))
    _expect_image_or_input_error(preprocess_sketch, img.convert(mode))


def _digit_picture() -> Image.Image:
    img = Image.new("RGB", (140, 140), "white")
    d = ImageDraw.Draw(img)
    d.line([(70, 20), (70, 120)], fill="black", width=12)
    d.line([(45, 40), (70, 20)], fill="black", width=12)
    return img


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "1", "I", "F", "LA"])
def test_every_pil_mode_of_the_same_drawing_reads_the_same(mode):
    """A palette image holds colour indices, not brightness; LA is grey + alpha: both must be decoded, not guessed at.

    The same picture sent as PNG bytes reads correctly, so the in-memory PIL path must agree with it.
    """
    img = _digit_picture()
    want = preprocess_sketch(img, LIMITS)
    converted = img.convert(mode)
    got = preprocess_sketch(converted, LIMITS)
    assert np.abs(got - want).max() < 0.05, mode
    buf = io.BytesIO()
    converted.save(buf, "PNG" if mode not in ("F", "I") else "TIFF")
    assert np.abs(preprocess_sketch(buf.getvalue(), LIMITS) - want).max() < 0.05, mode


SHAPES = ["line", "ellipse", "box", "cross", "glyph"]


@FEW
@given(st.sampled_from(SHAPES), st.integers(30, 400), st.integers(30, 400), st.floats(0, 0.5), st.floats(0, 0.5),
       st.floats(0.2, 1.0), st.floats(0.2, 1.0), st.integers(1, 12), st.integers(0, 9),
       st.sampled_from(["L", "RGB", "sketchpad-layer", "white-on-black-float", "bool"]))
def test_drawn_shapes_come_out_20px_and_centred(shape, W, H, fx, fy, fw, fh, width, digit, form):  # noqa: PLR0917  hypothesis draws one value per parameter
    """MNIST's recipe: the longer side of the ink's box is 20 px, its centre of mass sits at the centre of 28x28."""
    x0, y0 = fx * W, fy * H
    x1, y1 = min(W - 1, x0 + 2 + fw * (W - x0)), min(H - 1, y0 + 2 + fh * (H - y0))
    img = Image.new("L", (W, H), 255)
    d = ImageDraw.Draw(img)
    if shape == "line":
        d.line([(x0, y0), (x1, y1)], fill=0, width=width)
    elif shape == "ellipse":
        d.ellipse([x0, y0, x1, y1], outline=0, width=width)
    elif shape == "box":
        d.rectangle([x0, y0, x1, y1], outline=0, width=width)
    elif shape == "cross":
        d.line([(x0, y0), (x1, y1)], fill=0, width=width)
        d.line([(x0, y1), (x1, y0)], fill=0, width=width)
    else:
        d.text((x0, y0), str(digit), fill=0, font=ImageFont.load_default(size=max(8, int(min(x1 - x0, y1 - y0)))))
    grey = np.asarray(img)
    if not (grey < 200).any():
        return  # the glyph fell off the canvas: nothing was drawn
    value = {
        "L": grey,
        "RGB": np.asarray(img.convert("RGB")),
        # a Gradio Sketchpad layer: transparent paper, opaque black strokes
        "sketchpad-layer": {"background": None, "composite": None,
                            "layers": [np.dstack([np.zeros_like(grey)] * 3 + [255 - grey])]},
        "white-on-black-float": (255 - grey).astype(np.float32) / 255.0,
        "bool": grey < 128,
    }[form]
    out = preprocess_sketch(value, LIMITS)
    _check_image(out)
    ys, xs = np.nonzero(out > 0)
    side = max(np.ptp(ys), np.ptp(xs)) + 1
    assert 18 <= side <= 20, side
    cy, cx = (np.indices(out.shape) * out).reshape(2, -1).sum(1) / out.sum()
    assert math.hypot(cy - 14, cx - 14) <= 1.5, (cy, cx)


def _encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


_PICTURE = _digit_picture().resize((48, 48))
ENCODED = {fmt: _encoded(_PICTURE if fmt != "GIF" else _PICTURE.convert("P"), fmt)
           for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP", "PPM", "TIFF")}


@PROPS
@given(st.sampled_from(sorted(ENCODED)), st.sampled_from(["truncate", "flip", "splice"]), st.integers(0, 2**32 - 1))
def test_damaged_image_files_are_an_image_or_an_input_error(fmt, how, seed):
    rng = np.random.default_rng(seed)
    data = bytearray(ENCODED[fmt])
    if how == "truncate":
        data = data[: rng.integers(0, len(data))]
    elif how == "flip":
        for _ in range(rng.integers(1, 8)):
            data[rng.integers(len(data))] = rng.integers(256)
    else:
        at = rng.integers(len(data))
        data[at:at + rng.integers(1, 40)] = rng.bytes(int(rng.integers(0, 40)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about truncated files before it raises
        _expect_image_or_input_error(preprocess_sketch, bytes(data))


_PNG = ENCODED["PNG"]
_IDAT = _PNG.index(b"IDAT") - 4  # offset of the IDAT chunk's length field
BROKEN_FILES = {
    # each of these once escaped as SyntaxError / ValueError from Pillow instead of "not a readable image"
    "png-idat-length-short": _PNG[:_IDAT] + struct.pack(">I", 20) + _PNG[_IDAT + 4:],
    "png-ihdr-truncated": _PNG[:8] + struct.pack(">I", 4) + _PNG[12:],
    "ppm-header-only": b"P6\n",
    "empty": b"",
    "text": b"hello, this is not a picture\n",
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "zip": b"PK\x03\x04" + bytes(40),
    "png-signature-only": _PNG[:8],
    "html": b"<!doctype html><title>x</title>",
}


@pytest.mark.parametrize("name", sorted(BROKEN_FILES))
def test_non_images_and_broken_files_get_a_clear_error(name, tmp_path):
    data = BROKEN_FILES[name]
    path = tmp_path / f"upload-{name}.png"
    path.write_bytes(data)
    for value in (data, str(path), {"background": str(path), "layers": [], "composite": None}):
        with pytest.raises(InputError, match="not a readable image|upload a PNG"):
            preprocess_sketch(value, LIMITS)


# ---------------------------------------------------------------- house features

@pytest.fixture(scope="module")
def info():
    return load_data(RunConfig(dataset="boston")).info["features"]


def _reference_number(raw):
    """What a reasonable reader would take the value to be, or None when it is not a usable number."""
    if raw is None or isinstance(raw, (list, dict)):
        return None
    try:
        v = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return v if math.isfinite(v) else None


def _ceiling(name, info):
    """The stated range's top (README, SECURITY.md): 100 for a percentage, 1 for CHAS, 396.9 for B (1000 * 0.63^2),
    else ten times the data's largest value."""
    return {"CHAS": 1.0, "B": 396.9}.get(name, 100.0 if name in PERCENT_FEATURES else 10 * info[name]["max"])


def _acceptable(name, raw, info):
    v = _reference_number(raw)
    if v is None or v < 0 or (name == "CHAS" and v not in (0.0, 1.0)) or v > _ceiling(name, info):
        return False
    return True


feature_value = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 120),
    st.integers(),  # includes integers too large to be a float
    st.integers(0, 700),
    st.floats(0, 700).map(repr),
    st.integers(-5, 700).map(str),
    st.sampled_from(["", "  ", "nan", "inf", "-inf", "1e400", " 3 ", "1,5", "0x10", "abc", "None", "١٢", "-0"]),
    st.text(max_size=6),
    st.none(),
)


@settings(PROPS, max_examples=250)
@given(st.lists(feature_value, min_size=13, max_size=13))
@example([10**400] + [1] * 12)  # float(10**400) raises OverflowError, a bare int from a JSON API call
@example([1] * 12 + [-(10**400)])
def test_house_features_are_numbers_or_an_error_naming_a_bad_feature(info, values):
    try:
        x, warns = validate_features(values, info)
    except InputError as e:
        name = str(e).split()[0]
        assert name in BOSTON_ORDER, str(e)
        assert not _acceptable(name, values[BOSTON_ORDER.index(name)], info), str(e)  # the named value really is bad
        return
    assert all(_acceptable(n, v, info) for n, v in zip(BOSTON_ORDER, values))
    assert x.dtype == np.float64 and x.shape == (13,) and np.isfinite(x).all()
    assert x.tolist() == [_reference_number(v) for v in values]
    for w in warns:
        assert w.split()[0] in BOSTON_ORDER and "extrapolates" in w


@PROPS
@given(st.one_of(
    st.lists(st.floats(0, 100), max_size=30).filter(lambda xs: len(xs) != 13),
    st.lists(st.floats(0, 100), max_size=30).filter(lambda xs: len(xs) != 13).map(tuple),
    st.lists(st.floats(0, 100), max_size=30).filter(lambda xs: len(xs) != 13).map(np.array),
    st.text(max_size=20), st.none(), st.floats(), st.integers(),
))
@example(5)  # one number instead of a list
@example("0.1,0,2,0,0.5,6,60,4,1,300,15,390,5")  # the CSV line itself, not split
def test_wrong_number_of_features(info, values):
    with pytest.raises(InputError, match="13 feature values"):
        validate_features(values, info)


@PROPS
@given(st.lists(st.floats(0, 1), min_size=13, max_size=13), st.booleans())
def test_in_range_values_do_not_warn(info, fractions, as_text):
    values = []
    for name, f in zip(BOSTON_ORDER, fractions):
        lo, hi = info[name]["min"], info[name]["max"]
        v = float(round(f)) if name == "CHAS" else lo + f * (hi - lo)
        values.append(repr(v) if as_text else v)
    x, warns = validate_features(values, info)
    assert warns == [] and np.allclose(x, [float(v) for v in values])


# not CHAS; ZN and AGE reach 100 in the data, B its largest possible value 396.9
EXTRAPOLATABLE = ["CRIM", "INDUS", "NOX", "RM", "DIS", "RAD", "TAX", "PTRATIO", "LSTAT"]


@PROPS
@given(st.sampled_from(BOSTON_ORDER), st.floats(1.0001, 1e300), st.booleans())
def test_values_beyond_the_stated_range_are_refused_by_name(info, name, factor, as_text):
    v = max(_ceiling(name, info), 1e-3) * factor
    values = [info[n]["median"] for n in BOSTON_ORDER]
    values[BOSTON_ORDER.index(name)] = repr(v) if as_text else v
    with pytest.raises(InputError, match=f"^{name} "):
        validate_features(values, info)


@PROPS
@given(st.sampled_from(EXTRAPOLATABLE), st.floats(0.001, 1.0))
def test_values_beyond_the_data_warn_that_they_extrapolate(info, name, f):
    hi = info[name]["max"]
    top = min(2 * hi + 10, _ceiling(name, info))
    v = hi + f * (top - hi)
    values = [info[n]["median"] for n in BOSTON_ORDER]
    values[BOSTON_ORDER.index(name)] = v
    x, warns = validate_features(values, info)
    assert x[BOSTON_ORDER.index(name)] == v
    assert len(warns) == 1 and warns[0].startswith(f"{name} ") and "extrapolates" in warns[0]


# ---------------------------------------------------------------- RunConfig.validate

VALID = {
    "dataset": st.sampled_from(DATASETS),
    "classes": st.integers(2, 10),
    "points": st.integers(10, 20_000),
    "noise": st.floats(0, 2),
    "train_fraction": st.floats(0.05, 0.95),
    "drop_b": st.booleans(),
    "mnist_source": st.sampled_from(["auto", "download", "embedded"]),
    "model": st.sampled_from(sorted(models.ARCHITECTURES)),
    "hidden": st.lists(st.integers(1, 4096), max_size=16).map(tuple),
    "activation": st.sampled_from(sorted(models.ACTIVATIONS)),
    "dropout": st.floats(0, 0.9),
    "batch_norm": st.booleans(),
    "optimizer": st.sampled_from(sorted(optim.OPTIMIZERS)),
    "lr": st.floats(1e-6, 10),
    "momentum": st.floats(0, 0.999),
    "nesterov": st.booleans(),
    "weight_decay": st.floats(0, 1),
    "scheduler": st.sampled_from(sorted(optim.SCHEDULERS)),
    "loss": st.sampled_from(["", "cross_entropy", "nll", "mse", "l1", "huber"]),
    "l1": st.floats(0, 10),
    "l2": st.floats(0, 10),
    "epochs": st.integers(1, 20_000),
    "batch_size": st.integers(0, 1_000_000),
    "seed": st.integers(0, 2**31 - 1),
    "device": st.sampled_from(["auto", "cpu", "cuda", "mps"]),
    "time_budget": st.floats(0, 1e9),
}
JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=6), st.lists(st.integers(-5, 5), max_size=3),
                 st.tuples(st.sampled_from(["1", "12", "x"])), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))
overrides = st.lists(st.sampled_from(sorted(VALID)), max_size=5, unique=True).flatmap(
    lambda names: st.fixed_dictionaries({n: st.one_of(VALID[n], JUNK) for n in names}))


def _assert_usable(cfg: RunConfig, lim: Limits) -> None:
    """What validate() promises about a config it accepts."""
    assert cfg.dataset in DATASETS and cfg.model in models.ARCHITECTURES and cfg.activation in models.ACTIVATIONS
    assert cfg.optimizer in optim.OPTIMIZERS and cfg.scheduler in optim.SCHEDULERS
    assert cfg.loss_name in optim.LOSSES[cfg.task] and cfg.mnist_source in ("auto", "download", "embedded")
    assert cfg.device in ("auto", "cpu", "cuda", "mps")
    for name, lo, hi in (("classes", 2, lim.max_classes), ("points", 10, lim.max_points), ("epochs", 1, lim.max_epochs),
                         ("batch_size", 0, 1_000_000), ("seed", 0, 2**31 - 1)):
        v = getattr(cfg, name)
        assert type(v) is int and lo <= v <= hi, (name, v)
    for name in ("noise", "train_fraction", "lr", "momentum", "weight_decay", "dropout", "l1", "l2", "time_budget"):
        v = getattr(cfg, name)
        assert type(v) in (int, float) and math.isfinite(v), (name, v)
    assert cfg.lr > 0
    assert all(type(h) is int and 1 <= h <= lim.max_layer for h in cfg.hidden), cfg.hidden
    assert len(cfg.hidden) <= lim.max_layers and (cfg.model != "mlp" or cfg.hidden)


@settings(PROPS, max_examples=300)
@given(overrides)
@example({"lr": 10**400})  # an integer too large for a float (JSON allows it)
@example({"time_budget": -(10**400)})
@example({"model": ["mlp"]})  # unhashable: looked up in a dict registry
@example({"activation": ["relu"]})
@example({"loss": ["mse"]})
@example({"hidden": 5})  # not a sequence
@example({"hidden": ("1", "2")})  # strings, as from_dict({"hidden": "12"}) makes them
def test_validate_gives_a_usable_config_or_a_config_error(fields):
    cfg = RunConfig(**fields)
    try:
        out = cfg.validate(LIMITS)
    except ConfigError as e:
        assert str(e)
        return
    assert out is cfg
    _assert_usable(cfg, LIMITS)
    if all(type(getattr(cfg, b)) is bool for b in ("drop_b", "batch_norm", "nesterov")):
        back = RunConfig.from_json(cfg.to_json())
        assert back == cfg and back.validate(LIMITS) is back
