"""Inference helpers: sketch preprocessing (the way MNIST digits were made), house prices, spiral points, grids."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import InputError
from .limits import Limits
from .models import forward_chunked
from .records import TrainedModel

__all__ = ["BOSTON_ORDER", "BlankCanvas", "InputError", "check_point", "decision_grid", "image_size", "is_url",
           "model_input", "predict_digit", "predict_image", "predict_images", "predict_points", "predict_price",
           "preprocess_sketch", "probe_point", "sketch_to_ink", "tta_views", "uses_tta", "verdict"]


# ---------------------------------------------------------------- images and sketches

def is_url(value: str) -> bool:
    """A string that names something on a network rather than a file here (never fetched)."""
    v = value.strip().lower()
    return "://" in v or v.startswith(("//", "data:", "www."))


def _refuse_url(value: str, what: str) -> None:
    if is_url(value):
        raise InputError(f"{what} is given as a URL ({value[:60]!r}); only uploaded files are read, nothing is "
                         "fetched: download the picture and upload it")


def _image_bytes(src, limits: Limits, what: str) -> bytes | None:
    """A path or bytes -> the file's bytes (size-checked, never a URL); None for anything else (arrays, PIL)."""
    if isinstance(src, str):
        _refuse_url(src, what)
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        if not p.is_file():
            raise InputError(f"image file {str(src)!r} does not exist; give the path of a PNG or JPEG")
        size = p.stat().st_size
        if size > limits.max_upload_bytes:
            raise InputError(f"{what} {p.name} is {size:,} bytes, over the limit of {limits.max_upload_bytes:,}; "
                             "upload a smaller image")
        with open(p, "rb") as f:  # bounded: a file that grows after the check is not read past the limit
            return f.read(limits.max_upload_bytes + 1)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) > limits.max_upload_bytes:
            raise InputError(f"{what} is {len(src):,} bytes, over the limit of {limits.max_upload_bytes:,}; "
                             "upload a smaller image")
        return bytes(src)
    return None


def _check_pixels(w: int, h: int, limits: Limits, what: str) -> None:
    if w * h > limits.max_image_pixels:
        raise InputError(f"{what} is {w}x{h} pixels, over the limit of {limits.max_image_pixels:,}; upload a smaller "
                         "image (or raise DLCORE_MAX_IMAGE_PIXELS)")


def image_size(src, limits: Limits, what: str = "the image") -> tuple[int, int] | None:
    """The (width, height) an encoded image declares in its header, checked against the pixel cap WITHOUT decoding
    it (a 20 KB PNG can declare 13000x13000); None for an already decoded array or PIL image."""
    from PIL import Image

    blob = _image_bytes(src, limits, what)
    if blob is None:
        if isinstance(src, Image.Image):
            _check_pixels(src.width, src.height, limits, what)
            return src.size
        return None
    with _open_header(blob, what) as im:  # reads the header only
        size = im.size
    _check_pixels(*size, limits, what)
    return size


@contextlib.contextmanager
def _open_header(blob: bytes, what: str):
    """PIL's lazy open (the header only), with its own bomb warning silenced (the cap here is stricter) and its
    errors said as ours."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(blob))
    except Image.DecompressionBombError as e:  # more than twice PIL's own cap, refused by PIL before ours
        raise InputError(f"{what} declares far more pixels than the limit ({e}); upload a smaller image") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise InputError(f"{what} is not a readable image ({type(e).__name__}); upload a PNG or JPEG") from e
    with im:
        yield im


MAX_SIDE = 1024  # px: a large picture is reduced to this before its ink is read (a digit needs far less)


def _decode(blob: bytes, limits: Limits, what: str) -> np.ndarray:
    """Encoded bytes -> uint8 array, the pixel cap checked on the header before anything is decoded."""
    from PIL import UnidentifiedImageError

    try:
        with _open_header(blob, what) as im:
            _check_pixels(im.width, im.height, limits, what)
            im.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at reduced size when it is large
            rgba = im.mode in ("RGBA", "LA", "P", "PA")
            im = im.convert("RGBA" if rgba else "RGB")
            if max(im.size) > MAX_SIDE:
                im.thumbnail((MAX_SIDE, MAX_SIDE))
            return np.asarray(im)
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        # Pillow reports a damaged PNG as SyntaxError and a cut PNG/PPM header as ValueError
        raise InputError(f"{what} is not a readable image ({type(e).__name__}); upload a PNG or JPEG") from e


def _open_image(src, limits: Limits, what: str = "the image") -> np.ndarray:
    """A path, bytes, PIL image or array -> uint8/float array (H, W) or (H, W, C); refuses non-images and huge ones
    (an encoded image by its header, before decoding), and URLs."""
    from PIL import Image

    blob = _image_bytes(src, limits, what)
    if blob is not None:
        arr = _decode(blob, limits, what)
    elif isinstance(src, Image.Image):
        _check_pixels(src.width, src.height, limits, what)
        if src.mode not in ("L", "RGB", "RGBA"):  # palette indices are not brightness; LA/PA carry alpha
            src = src.convert("RGBA" if src.mode in ("LA", "P", "PA") else "RGB")
        arr = np.asarray(src)
    elif isinstance(src, np.ndarray):
        arr = src
    else:
        raise InputError(f"cannot read an image from a {type(src).__name__}; upload a PNG or JPEG")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 1:
        raise InputError(f"an image of shape {arr.shape} is not a grey, RGB or RGBA picture; upload a PNG or JPEG")
    _check_pixels(arr.shape[1], arr.shape[0], limits, what)
    return arr


class BlankCanvas(InputError):
    """Nothing is drawn yet: the live view stays quiet, Predict says to draw first."""

    def __init__(self, message: str = "the canvas is blank: draw a digit first (or upload an image of one)"):
        super().__init__(message)


def ink_map(img: np.ndarray) -> np.ndarray:
    """Any grey/RGB/RGBA image -> float32 (H, W) ink in [0, 1], 1 = stroke.

    Transparent pixels count as white paper (a Sketchpad layer is transparent except the strokes). Dark ink on
    light paper is inverted; a picture that is already light-on-dark (an MNIST digit) is kept as it is, judged
    by its border.
    """
    a = img.astype(np.float32)
    if np.issubdtype(img.dtype, np.integer) or a.max() > 1.0:
        a = a / 255.0
    a = np.nan_to_num(a, nan=1.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)
    if a.ndim == 3:
        rgb, alpha = a[:, :, :3], (a[:, :, 3:4] if a.shape[2] == 4 else 1.0)
        rgb = rgb * alpha + (1.0 - alpha)  # over white paper
        gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    else:
        gray = a
    if gray.max() - gray.min() < 0.05:  # one flat colour: nothing drawn, or ink over everything
        if gray.mean() < 0.5:
            raise InputError("the drawing covers the whole canvas, so there is no digit shape to read; "
                             "clear it and draw a digit in black on white")
        raise BlankCanvas()
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return gray if np.median(border) < 0.5 else 1.0 - gray


def _ink_box(ink: np.ndarray, canvas: bool = True) -> np.ndarray:
    """The ink's bounding box; InputError for a blank or (a `canvas`, not a crop) fully inked canvas."""
    mask = ink > 0.1
    if mask.sum() == 0:
        raise BlankCanvas()
    if canvas and mask.mean() > 0.9:
        raise InputError("the drawing covers the whole canvas, so there is no digit shape to read; "
                         "clear it and draw a digit in black on white")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _resize_longer(crop: np.ndarray, side: int) -> np.ndarray:
    """Resize so the longer side is `side` px (aspect kept), LANCZOS; float32 in [0, 1]."""
    from PIL import Image

    h, w = crop.shape
    scale = side / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = Image.fromarray((crop.clip(0, 1) * 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255.0


def _crop_scaled(ink: np.ndarray, side: int, canvas: bool = True) -> np.ndarray:
    """The ink's bounding box, its longer side resized to `side` px; InputError for a blank or (a `canvas`) fully
    inked canvas."""
    return _resize_longer(_ink_box(ink, canvas), side)


# Stroke width, in px, of a digit whose longer side is FRAME px: the range MNIST's own digits span (10th to 90th
# percentile, and the median) through this same framing, measured on the embedded training digits (checked by
# tests/test_predict.py::test_mnist_stroke_range_is_measured). Outside the range, a drawing's strokes are thinned or
# thickened towards it before it is scaled to 20 px (see stroke_target): a small digit drawn with a fat brush stops
# being a blob, and a hairline from a fine pen stops fading away.
FRAME = 80
MNIST_STROKE = {"p10": 8.6, "median": 12.0, "p90": 17.2}


def stroke_width(ink: np.ndarray) -> float:
    """Mean stroke width in px of ink (H, W) in [0, 1]: twice the area over the outline's length."""
    m = ink > 0.5
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    edge = int(m[1:-1, 1:-1].sum() - inner.sum())
    return 2.0 * float(m.sum()) / max(edge, 1)


def _morph(a: np.ndarray, steps: int, grow: bool) -> np.ndarray:
    """Grey dilation (grow) or erosion by `steps` px, alternating 3x3 square and cross (a near-round brush)."""
    pick = np.maximum if grow else np.minimum
    for k in range(steps):
        p = np.pad(a, 1, constant_values=0.0)
        out = pick(pick(p[:-2, 1:-1], p[2:, 1:-1]), pick(p[1:-1, :-2], p[1:-1, 2:]))
        if k % 2 == 0:  # the square's corners on every other step
            out = pick(out, pick(pick(p[:-2, :-2], p[:-2, 2:]), pick(p[2:, :-2], p[2:, 2:])))
        a = pick(a, out)
    return a


def _morph_by(a: np.ndarray, steps: float, grow: bool) -> np.ndarray:
    """`_morph` by a fractional number of steps: a blend of the two nearest whole ones, so the result changes
    smoothly with the measured width (a JPEG's ringing must not flip it by a whole pixel)."""
    lo = int(np.floor(steps))
    frac = steps - lo
    a_lo = _morph(a, lo, grow)
    return a_lo if frac < 1e-3 else (1 - frac) * a_lo + frac * _morph(a, lo + 1, grow)


def stroke_target(w: float) -> float:
    """The stroke width a drawing of width `w` (at FRAME px) is brought to: as it is inside MNIST's 10th-90th
    percentile range, and beyond it a third of the way out (a soft knee: continuous, so a JPEG's ringing cannot flip
    the result, and a fat blob still ends up among MNIST's thickest strokes)."""
    lo, hi = MNIST_STROKE["p10"], MNIST_STROKE["p90"]
    return hi + (w - hi) / 3 if w > hi else lo - (lo - w) / 3 if w < lo else w


def normalise_stroke(ink: np.ndarray) -> np.ndarray:
    """Ink whose longer side is FRAME px -> the same shape with its stroke width brought to `stroke_target`."""
    w = stroke_width(ink)
    target = stroke_target(w)
    if target < w:
        steps = (w - target) / 2
        while steps >= 0.25:  # never erase a stroke: a shape that loses most of its ink was thinner than it measured
            thinner = _morph_by(ink, steps, grow=False)
            if thinner.sum() >= 0.4 * ink.sum():
                return thinner
            steps /= 2
    elif target > w:
        return _morph_by(np.pad(ink, FRAME // 4), (target - w) / 2, grow=True)
    return ink


def fashion_style(ink: np.ndarray) -> np.ndarray:
    """Ink (H, W) in [0, 1] -> (28, 28) as Fashion-MNIST was made: crop to the item, longer side to 28 px, centred."""
    small = _crop_scaled(ink, 28)
    nh, nw = small.shape
    out = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - nh) // 2, (28 - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out.clip(0.0, 1.0)


def mnist_style(ink: np.ndarray, normalise: bool = True) -> np.ndarray:
    """Ink (H, W) in [0, 1] -> (28, 28) as MNIST was made: crop, longer side to 20 px, centre of mass at the centre.

    With `normalise`, the stroke width is first brought into MNIST's range at FRAME px (see normalise_stroke)."""
    framed = _crop_scaled(ink, FRAME) if normalise else None
    if framed is not None and abs(stroke_target(stroke_width(framed)) - stroke_width(framed)) > 1e-6:
        # already a crop: a straight 1 fills its own box, which is no ink over the whole canvas
        small = _crop_scaled(normalise_stroke(framed), 20, canvas=False)
    else:  # a width MNIST has: straight to 20 px, so an MNIST digit comes out as it went in
        small = _crop_scaled(ink, 20)
    nh, nw = small.shape
    out = np.zeros((28, 28), dtype=np.float32)
    total = small.sum()
    cy, cx = (np.indices(small.shape) * small).reshape(2, -1).sum(1) / max(total, 1e-6)
    top = int(np.clip(round(14 - cy), 0, 28 - nh))
    left = int(np.clip(round(14 - cx), 0, 28 - nw))
    out[top:top + nh, left:left + nw] = small
    return out.clip(0.0, 1.0)


MAX_LAYERS = 16  # a Sketchpad value with more layers is refused before any is read


def _sketch_parts(value: dict) -> list[tuple[str, object]]:
    """(name, image) of a Sketchpad value's non-empty parts: the composite, each layer, the background."""
    layers = value.get("layers")
    layers = list(layers) if isinstance(layers, (list, tuple)) else ([] if layers is None else [layers])
    if len(layers) > MAX_LAYERS:
        raise InputError(f"the drawing has {len(layers)} layers, over the limit of {MAX_LAYERS}; send the composite "
                         "image alone")
    parts = [("the composite", value.get("composite"))]
    parts += [(f"layer {i + 1}", la) for i, la in enumerate(layers)]
    parts.append(("the background", value.get("background")))
    return [(name, im) for name, im in parts if im is not None]


def sketch_to_ink(value, limits: Limits | None = None) -> np.ndarray:
    """A Sketchpad value ({"background", "layers", "composite"}) or an image -> ink (H, W) in [0, 1].

    Every encoded part's size is read from its header and checked before any part is decoded."""
    limits = limits or Limits.from_env()
    if value is None:
        raise BlankCanvas("no drawing was received; draw a digit on the canvas (or upload an image), then Predict")
    if not isinstance(value, dict):
        return ink_map(_open_image(value, limits))
    parts = _sketch_parts(value)
    for name, im in parts:
        image_size(im, limits, name)
    by_name = dict(parts)
    if "the composite" in by_name:
        return ink_map(_open_image(by_name["the composite"], limits, "the composite"))
    layers = [(n, im) for n, im in parts if n.startswith("layer")]
    if layers:
        inks = []
        for n, im in layers:
            try:
                inks.append(ink_map(_open_image(im, limits, n)))
            except BlankCanvas:  # an empty layer beside a drawn one
                continue
        if not inks:
            raise BlankCanvas()
        if len({i.shape for i in inks}) == 1:
            return np.max(np.stack(inks), axis=0)
        return inks[0]
    if "the background" in by_name:
        return ink_map(_open_image(by_name["the background"], limits, "the background"))
    raise BlankCanvas("the drawing is empty (no background, layers or composite); draw a digit, then Predict")


def preprocess_sketch(value, limits: Limits | None = None) -> np.ndarray:
    """A Sketchpad value or image -> float32 (28, 28) in [0, 1], white ink on black, as the model's input."""
    return mnist_style(sketch_to_ink(value, limits))


# Test-time augmentation for digit models: the answer is the mean of the probabilities over the drawing as framed and
# four variants of it inside the training augmentation's range (dlcore/augment.py: tilted by -10 and +10 degrees,
# scaled by 0.9 and 1.1), one batch of five through the model. Chosen on the development set over shifts, stroke
# width and their mix (notes/hand-digits.md, second round); Fashion models answer from the image as framed.
TTA_ANGLES = (-10.0, 10.0)
TTA_SCALES = (0.9, 1.1)


@functools.cache
def _tta_thetas() -> torch.Tensor:
    """The views' affine maps (V, 2, 3), the identity first, as `affine_grid` takes them (output -> input); built
    once (callers move a copy to their device and dtype)."""
    maps = [torch.eye(2)]
    for deg in TTA_ANGLES:
        a = math.radians(deg)
        maps.append(torch.tensor([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]))
    maps += [torch.eye(2) / s for s in TTA_SCALES]
    return torch.cat([torch.stack(maps), torch.zeros(len(maps), 2, 1)], 2)


def tta_views(ink: torch.Tensor) -> torch.Tensor:
    """Images (N, 1, H, W) of ink in [0, 1] -> (V, N, 1, H, W): each as it is, tilted and scaled (TTA_ANGLES,
    TTA_SCALES) about its centre."""
    import torch.nn.functional as F

    thetas = _tta_thetas().to(ink.device, ink.dtype)
    n, v = len(ink), len(thetas)
    grid = F.affine_grid(thetas.repeat_interleave(n, 0), [v * n, *ink.shape[1:]], align_corners=False)
    views = F.grid_sample(ink.repeat(v, 1, 1, 1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return views.view(v, *ink.shape)


def uses_tta(tm: TrainedModel) -> bool:
    """Whether `predict_images` averages over TTA views for this model: digit models (MNIST-trained)."""
    return tm.cfg.dataset == "mnist"


def predict_images(tm: TrainedModel, images: np.ndarray, tta: bool | None = None) -> np.ndarray:
    """Class probabilities (N, classes) for images (N, 28, 28) in [0, 1] (ink = 1), normalised as in training; with
    `tta` (by default for digit models, `uses_tta`) the mean over the test-time views (`tta_views`)."""
    mean, std = tm.meta["norm"]["mean"][0], tm.meta["norm"]["std"][0]
    ink = torch.from_numpy(np.asarray(images, dtype=np.float32)).reshape(-1, 1, 28, 28).to(tm.device)
    views = tta_views(ink) if (uses_tta(tm) if tta is None else tta) else ink.unsqueeze(0)
    v, n = views.shape[:2]
    probs = torch.softmax(forward_chunked(tm.model, ((views - mean) / std).reshape(v * n, 1, 28, 28)), dim=1)
    return probs.view(v, n, -1).mean(0).cpu().numpy()


def predict_image(tm: TrainedModel, img28: np.ndarray, tta: bool | None = None) -> dict[str, float]:
    """Class probabilities for one (28, 28) image in [0, 1] (ink = 1), normalised as in training (`predict_images`)."""
    probs = predict_images(tm, img28[None], tta)[0].tolist()
    return dict(zip(tm.meta["class_names"], probs))


# The answer is "not sure" (with the two candidates) when the top probability is below this. The digit models are
# trained to spread their probability over the ten digits for a scribble (dlcore/augment.py), so a drawing that is no
# digit mostly falls below it. Chosen on the development set (notes/hand-digits.md: its 1,500 drawn digits, MNIST's
# 1,000 held-out ones and its 500 scribbles, the tab's default CNN of seeds 0-2): the largest of 0.4-0.8 that doubts
# about one right answer in a hundred (1.1 %; 0.6 doubted 0.5 %, 0.8 1.9 %), catching 61 % of the wrong answers and
# 78 % of the scribbles. Measured on the unseen-hand set and the bench's scribbles: bench/bench_not_sure.py.
NOT_SURE_BELOW = 0.7


def verdict(probs: dict[str, float], threshold: float = NOT_SURE_BELOW) -> tuple[bool, list[tuple[str, float]]]:
    """(sure, the two most likely (class, probability)): sure when the top probability reaches `threshold`."""
    top = sorted(probs.items(), key=lambda kv: -kv[1])[:2]
    return top[0][1] >= threshold, top


def frame(tm: TrainedModel, ink: np.ndarray) -> np.ndarray:
    """Ink (H, W) in [0, 1], as `sketch_to_ink` reads it -> the (28, 28) image the model sees, framed as the model's
    dataset was made."""
    # Fashion items fill their frame; MNIST's 20 px box and centre of mass would shrink and shift them (measured on
    # Fashion's own test images: 0.81 accuracy framed as Fashion-MNIST was made, 0.35 framed as MNIST)
    style = fashion_style if tm.cfg.dataset == "fashion" else mnist_style
    return style(ink)


def model_input(tm: TrainedModel, value, limits: Limits | None = None) -> np.ndarray:
    """Sketch or image -> the (28, 28) image the model sees, framed as the model's dataset was made."""
    return frame(tm, sketch_to_ink(value, limits))


def predict_digit(tm: TrainedModel, value, limits: Limits | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Sketch or image -> (class probabilities, the 28x28 image the model saw), prepared as the model's dataset was."""
    img = model_input(tm, value, limits)
    return predict_image(tm, img), img


# ---------------------------------------------------------------- house prices

BOSTON_ORDER = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX", "PTRATIO", "B", "LSTAT"]
PERCENT_FEATURES = {"ZN", "INDUS", "AGE", "LSTAT"}
B_MAX = 396.9  # B = 1000 (Bk - 0.63)^2 with Bk a share in [0, 1]: at most 1000 * 0.63^2
FAR = 10.0  # a value over FAR times the data's largest is refused: no house is that far out, and the model's answer
# there is noise (1e30 priced at 1e29, 1e308 overflowed to a null price)


def feature_ceiling(name: str, info: dict) -> float:
    """The largest value a house's feature may take: 100 for a percentage, 1 for CHAS, 396.9 for B, else FAR times
    the data's largest."""
    if name in PERCENT_FEATURES:
        return 100.0
    return {"CHAS": 1.0, "B": B_MAX}.get(name, FAR * info[name]["max"])


def validate_features(values, info: dict) -> tuple[np.ndarray, list[str]]:
    """13 raw feature values in CSV order -> float64 array, plus warnings for values outside the data's range.

    Raises InputError for a missing, non-numeric, non-finite or impossible (negative, CHAS not 0/1, a share over
    100 %) value, naming the feature and the fix.
    """
    sized = values is not None and not isinstance(values, (str, bytes)) and hasattr(values, "__len__")
    if not sized or len(values) != len(BOSTON_ORDER):
        n = len(values) if sized else ("a string of" if isinstance(values, (str, bytes)) else "no")
        raise InputError(f"a house needs {len(BOSTON_ORDER)} feature values in the order {','.join(BOSTON_ORDER)}; "
                         f"got {n} values")
    out, warnings = np.zeros(len(BOSTON_ORDER)), []
    for j, (name, raw) in enumerate(zip(BOSTON_ORDER, values)):
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            raise InputError(f"{name} is empty; enter a number (typical: {info[name]['median']:g} {info[name]['unit']})")
        try:
            if isinstance(raw, bool):  # True would read as 1
                raise TypeError
            v = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
            raise InputError(f"{name} {raw!r} is not a number; enter e.g. {info[name]['median']:g}") from None
        if not math.isfinite(v):
            raise InputError(f"{name} {raw!r} is not a finite number; enter e.g. {info[name]['median']:g}")
        if v < 0:
            raise InputError(f"{name} {v:g} cannot be negative; enter a value from {info[name]['min']:g} "
                             f"to {info[name]['max']:g}")
        if name == "CHAS" and v not in (0.0, 1.0):
            raise InputError(f"CHAS {v:g} must be 1 (bounds the Charles River) or 0 (does not)")
        if name in PERCENT_FEATURES and v > 100:
            raise InputError(f"{name} {v:g} is a percentage and cannot exceed 100; enter 0 to 100")
        if v > feature_ceiling(name, info):
            raise InputError(f"{name} {v:g} is out of range; enter a value from 0 to {feature_ceiling(name, info):g} "
                             f"(the data's values run from {info[name]['min']:g} to {info[name]['max']:g})")
        lo, hi = info[name]["min"], info[name]["max"]
        if v < lo or v > hi:
            warnings.append(f"{name} {v:g} is outside the training data's range {lo:g} to {hi:g}: "
                            "the prediction extrapolates and may be unreliable")
        out[j] = v
    return out, warnings


def predict_price(tm: TrainedModel, values) -> tuple[float, list[str]]:
    """House features in CSV order (raw units) -> (predicted MEDV in $1000s, extrapolation warnings)."""
    x, warnings = validate_features(values, tm.meta["info"]["features"])
    keep = [BOSTON_ORDER.index(n) for n in tm.meta["feature_names"]]
    mean, std = np.array(tm.meta["norm"]["mean"]), np.array(tm.meta["norm"]["std"])
    z = torch.tensor((x[keep] - mean) / std, dtype=torch.float32).reshape(1, -1).to(tm.device)
    price = float(forward_chunked(tm.model, z)[0, 0])
    if not math.isfinite(price):
        raise InputError(f"the model's answer for this house is not a finite number ({price}); the model is broken: "
                         "train it again or use the built-in one")
    return price, warnings


# ---------------------------------------------------------------- 2-D points and grids

def predict_values(tm: TrainedModel, xy) -> np.ndarray:
    """The model's raw outputs (N, outputs) for 2-D points (N, 2): logits, or the value over the plane."""
    x = torch.as_tensor(np.asarray(xy, dtype=np.float32).reshape(-1, 2)).to(tm.device)
    return forward_chunked(tm.model, x).cpu().numpy()


POINT_LIMIT = 100.0  # a probe point's coordinates lie in [-POINT_LIMIT, POINT_LIMIT] (the spiral fills [-1, 1])


def check_point(values) -> tuple[float, float]:
    """A probe point (x, y) from numbers or text: two finite numbers within +-POINT_LIMIT, or an InputError."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != 2:
        raise InputError(f"a point is two numbers x,y; got {str(values)[:80]!r}; use e.g. 0.3,-0.2")
    out = []
    for axis, raw in zip("xy", values):
        try:
            if isinstance(raw, bool) or raw is None:
                raise TypeError
            v = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{axis} {raw!r} is not a number; use e.g. 0.3") from None
        if not math.isfinite(v) or abs(v) > POINT_LIMIT:
            what = "is out of range" if math.isfinite(v) else "is not a finite number"
            raise InputError(f"{axis} {raw!r} {what}; use a number from {-POINT_LIMIT:g} to {POINT_LIMIT:g} (the "
                             "spiral lies within -1 to 1)")
        out.append(v)
    return out[0], out[1]


def probe_point(tm: TrainedModel, values) -> np.ndarray:
    """Class probabilities (C,) at one user-given point: checked on the way in (`check_point`) and on the way out."""
    probs = predict_points(tm, [check_point(values)])[0]
    if not np.isfinite(probs).all():
        raise InputError("the model's answer here is not a finite number; the model is broken: train it again")
    return probs


def predict_points(tm: TrainedModel, xy) -> np.ndarray:
    """Class probabilities (N, C) for 2-D points (N, 2)."""
    x = torch.as_tensor(np.asarray(xy, dtype=np.float32).reshape(-1, 2)).to(tm.device)
    return torch.softmax(forward_chunked(tm.model, x), dim=1).cpu().numpy()


FAR_MARGIN = 0.1  # a share of the data's extent: a point this far past the training points' range is "far"


def far_point_warnings(tm: TrainedModel, xy) -> list[str]:
    """Warnings for a 2-D point outside the training points' range (per coordinate, as for a house's features):
    the model extrapolates there. None when the checkpoint does not record the range."""
    extent = tm.meta.get("info", {}).get("range")
    if not extent:
        return []
    out = []
    for name, v, (lo, hi) in zip(("x", "y"), np.asarray(xy, dtype=np.float64).reshape(-1)[:2], extent):
        pad = FAR_MARGIN * (hi - lo)
        if v < lo - pad or v > hi + pad:
            out.append(f"{name} {v:.3g} is outside the training points' range {lo:.2f} to {hi:.2f}: "
                       "the model extrapolates there and may be unreliable")
    return out


def decision_grid(tm: TrainedModel, lim: float = 1.1, res: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities on a res x res grid over [-lim, lim]^2, in one batched forward pass.

    Returns (xs (res,), ys (res,), probs (res, res, C)).
    """
    xs = np.linspace(-lim, lim, res, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs)
    probs = predict_points(tm, np.stack([gx.ravel(), gy.ravel()], axis=1))
    return xs, xs, probs.reshape(res, res, -1)
