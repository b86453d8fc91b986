"""Inference helpers: sketch preprocessing (the way MNIST digits were made), house prices, spiral points, grids."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from .errors import InputError
from .limits import Limits
from .models import forward_chunked
from .records import TrainedModel

__all__ = ["BOSTON_ORDER", "InputError", "check_point", "decision_grid", "model_input", "predict_digit",
           "predict_points", "predict_price", "preprocess_sketch", "probe_point", "sketch_to_ink"]


# ---------------------------------------------------------------- images and sketches

def _open_image(src, limits: Limits) -> np.ndarray:  # noqa: C901, PLR0912  one branch per kind of input, each with its own size check
    """A path, bytes, PIL image or array -> uint8/float array (H, W) or (H, W, C); refuses non-images and huge ones."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(src, np.ndarray):
        arr = src
    else:
        if isinstance(src, (str, os.PathLike)):
            p = Path(src)
            if not p.is_file():
                raise InputError(f"image file {str(src)!r} does not exist; give the path of a PNG or JPEG")
            if p.stat().st_size > limits.max_upload_bytes:
                raise InputError(f"image {p.name} is {p.stat().st_size:,} bytes, over the limit of "
                                 f"{limits.max_upload_bytes:,}; upload a smaller image")
            src = p.read_bytes()
        if isinstance(src, (bytes, bytearray)):
            try:
                with Image.open(io.BytesIO(src)) as im:
                    if im.width * im.height > limits.max_image_pixels:
                        raise InputError(f"the image is {im.width}x{im.height} pixels, over the limit of "
                                         f"{limits.max_image_pixels:,}; upload a smaller image")
                    im.draft("L", (512, 512))  # JPEG: decode at reduced size when it is large
                    src = im.convert("RGBA") if im.mode in ("RGBA", "LA", "P", "PA") else im.convert("RGB")
            except InputError:
                raise
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as e:
                # Pillow reports a damaged PNG as SyntaxError and a cut PNG/PPM header as ValueError
                raise InputError(f"the upload is not a readable image ({type(e).__name__}); upload a PNG or JPEG") from e
        if isinstance(src, Image.Image):
            if src.width * src.height > limits.max_image_pixels:
                raise InputError(f"the image is {src.width}x{src.height} pixels, over the limit of "
                                 f"{limits.max_image_pixels:,}; upload a smaller image")
            if src.mode not in ("L", "RGB", "RGBA"):  # palette indices are not brightness; LA/PA carry alpha
                src = src.convert("RGBA" if src.mode in ("LA", "P", "PA") else "RGB")
            arr = np.asarray(src)
        elif not isinstance(src, np.ndarray):
            raise InputError(f"cannot read an image from a {type(src).__name__}; upload a PNG or JPEG")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)) or min(arr.shape[:2]) < 1:
        raise InputError(f"an image of shape {arr.shape} is not a grey, RGB or RGBA picture; upload a PNG or JPEG")
    if arr.shape[0] * arr.shape[1] > limits.max_image_pixels:
        raise InputError(f"the image is {arr.shape[1]}x{arr.shape[0]} pixels, over the limit of "
                         f"{limits.max_image_pixels:,}; upload a smaller image")
    return arr


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
        raise InputError("the canvas is blank: there is no ink to read; draw a digit (or upload an image of one)")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return gray if np.median(border) < 0.5 else 1.0 - gray


def _crop_scaled(ink: np.ndarray, side: int) -> np.ndarray:
    """The ink's bounding box, its longer side resized to `side` px; InputError for a blank or fully inked canvas."""
    from PIL import Image

    mask = ink > 0.1
    if mask.sum() == 0:
        raise InputError("the canvas is blank: there is no ink to read; draw a digit (or upload an image of one)")
    if mask.mean() > 0.9:
        raise InputError("the drawing covers the whole canvas, so there is no digit shape to read; "
                         "clear it and draw a digit in black on white")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = crop.shape
    scale = side / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize((nw, nh), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.float32) / 255.0


def fashion_style(ink: np.ndarray) -> np.ndarray:
    """Ink (H, W) in [0, 1] -> (28, 28) as Fashion-MNIST was made: crop to the item, longer side to 28 px, centred."""
    small = _crop_scaled(ink, 28)
    nh, nw = small.shape
    out = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - nh) // 2, (28 - nw) // 2
    out[top:top + nh, left:left + nw] = small
    return out.clip(0.0, 1.0)


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """Ink (H, W) in [0, 1] -> (28, 28) as MNIST was made: crop, longer side to 20 px, centre of mass at the centre."""
    small = _crop_scaled(ink, 20)
    nh, nw = small.shape
    out = np.zeros((28, 28), dtype=np.float32)
    total = small.sum()
    cy, cx = (np.indices(small.shape) * small).reshape(2, -1).sum(1) / max(total, 1e-6)
    top = int(np.clip(round(14 - cy), 0, 28 - nh))
    left = int(np.clip(round(14 - cx), 0, 28 - nw))
    out[top:top + nh, left:left + nw] = small
    return out.clip(0.0, 1.0)


def sketch_to_ink(value, limits: Limits | None = None) -> np.ndarray:
    """A Sketchpad value ({"background", "layers", "composite"}) or an image -> ink (H, W) in [0, 1]."""
    limits = limits or Limits.from_env()
    if value is None:
        raise InputError("no drawing was received; draw a digit on the canvas (or upload an image), then Predict")
    if isinstance(value, dict):
        layers = value.get("layers")
        layers = list(layers) if isinstance(layers, (list, tuple)) else ([] if layers is None else [layers])
        composite, layers = value.get("composite"), [la for la in layers if la is not None]
        if composite is not None:
            return ink_map(_open_image(composite, limits))
        if layers:
            inks = [ink_map(_open_image(la, limits)) for la in layers]
            if len({i.shape for i in inks}) == 1:
                return np.max(np.stack(inks), axis=0)
            return inks[0]
        if value.get("background") is not None:
            return ink_map(_open_image(value["background"], limits))
        raise InputError("the drawing is empty (no background, layers or composite); draw a digit, then Predict")
    return ink_map(_open_image(value, limits))


def preprocess_sketch(value, limits: Limits | None = None) -> np.ndarray:
    """A Sketchpad value or image -> float32 (28, 28) in [0, 1], white ink on black, as the model's input."""
    return mnist_style(sketch_to_ink(value, limits))


def predict_image(tm: TrainedModel, img28: np.ndarray) -> dict[str, float]:
    """Class probabilities for one (28, 28) image in [0, 1] (ink = 1), normalised as in training."""
    mean, std = tm.meta["norm"]["mean"][0], tm.meta["norm"]["std"][0]
    x = torch.from_numpy((img28.astype(np.float32) - mean) / std).reshape(1, 1, 28, 28).to(tm.device)
    probs = torch.softmax(forward_chunked(tm.model, x), dim=1)[0].tolist()
    return dict(zip(tm.meta["class_names"], probs))


def model_input(tm: TrainedModel, value, limits: Limits | None = None) -> np.ndarray:
    """Sketch or image -> the (28, 28) image the model sees, framed as the model's dataset was made."""
    # Fashion items fill their frame; MNIST's 20 px box and centre of mass would shrink and shift them (measured on
    # Fashion's own test images: 0.81 accuracy framed as Fashion-MNIST was made, 0.35 framed as MNIST)
    style = fashion_style if tm.cfg.dataset == "fashion" else mnist_style
    return style(sketch_to_ink(value, limits))


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
