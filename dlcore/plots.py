"""Pictures built from progress records and predictions. Models never plot; plots never train.

The live decision boundary is drawn straight into a numpy image (no matplotlib on the training path): class
probabilities on a coarse grid from one batched forward pass, coloured and upscaled, with the points on top. Figures
shown once after training (scatter, residuals, confusion matrix) use matplotlib's object API (`Figure`, never
`pyplot`), because handlers run on worker threads.
"""

from __future__ import annotations

import math

import numpy as np

from .predict import predict_values
from .records import Progress, TrainedModel

# A palette that stays readable for up to 10 classes (Tableau 10).
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
], dtype=np.float32)

BOUNDARY_LIM = 1.15  # the spiral lies in the unit disc; a small margin around it
BOUNDARY_PX = 420  # side of the rendered image
GRID = 140  # probability grid side; upscaled to BOUNDARY_PX


def curve_points(rec: Progress, task: str) -> list[tuple[str, str, float, float]]:
    """The live curves' new points from one progress record: (panel, series, epoch, value).

    Panels: "loss" (train and test) and "metric" (accuracy for classification, test RMSE for regression).
    """
    pts = [("loss", "train", rec.epoch, rec.train_loss)]
    if rec.test_loss is not None:
        pts.append(("loss", "test", rec.epoch, rec.test_loss))
    m = rec.metrics
    if task == "classification":
        if "train_accuracy" in m:
            pts.append(("metric", "train", rec.epoch, m["train_accuracy"]))
        if "test_accuracy" in m:
            pts.append(("metric", "test", rec.epoch, m["test_accuracy"]))
    elif "test_rmse" in m:
        pts.append(("metric", "test", rec.epoch, m["test_rmse"]))
    for layer in rec.layers or ():  # weights and gradients over time (dlcore.netstats), one series per layer
        name = layer["layer"]
        pts.append(("weights", name, rec.epoch, layer["weight_norm"]))
        pts.append(("grads", name, rec.epoch, math.log10(max(layer["grad_norm"], 1e-12))))
        for key in ("saturated", "dead"):
            if key in layer:
                pts.append(("units", f"{name} {key}", rec.epoch, layer[key]))
    return pts


CURVE_POINTS = 300  # points per series sent to the browser; the cost of an update stays flat however long the run


def thin(points: list, limit: int = CURVE_POINTS) -> list:
    """At most ~`limit` evenly strided items, always with the last one.

    A power-of-two stride keeps earlier picks in place as the list grows, so a streamed update stays a small diff.
    """
    stride = 1
    while len(points) > stride * limit:
        stride *= 2
    picked = points[::stride]
    if stride > 1 and (len(points) - 1) % stride:
        picked.append(points[-1])
    return picked


def curves_frame(curves: dict[tuple[str, str], list[tuple[float, float]]], panel: str, limit: int = CURVE_POINTS):
    """One panel's curves as the long-format DataFrame gr.LinePlot takes: columns epoch, value, series (at most
    ~`limit` points each)."""
    import pandas as pd

    epochs, values, series = [], [], []
    for name in ("train", "test"):
        # A test series with no points yet while train has some (mini-batches, before the first epoch ends) gets one
        # empty (NaN) row: Gradio's plot fixes its series from the first update it draws and would never show one
        # that joined later.
        picked = thin(curves.get((panel, name), []), limit) or ([(epochs[0], float("nan"))] if epochs else [])
        epochs += [e for e, _ in picked]
        values += [v for _, v in picked]
        series += [name] * len(picked)
    return pd.DataFrame({"epoch": epochs, "value": values, "series": series})


LAYER_PANELS = ("weights", "grads", "units")  # weight norm, log10 gradient norm, saturated/dead share


def layer_frame(curves: dict[tuple[str, str], list[tuple[float, float]]], panel: str):
    """One of the weights-and-gradients panels as a long-format DataFrame (epoch, value, series), a series per layer
    (and per kind of unit), each thinned like the loss curves."""
    import pandas as pd

    epochs, values, series = [], [], []
    for (p, name), pts in curves.items():
        if p == panel:
            picked = thin(pts)
            epochs += [e for e, _ in picked]
            values += [v for _, v in picked]
            series += [name] * len(picked)
    return pd.DataFrame({"epoch": epochs, "value": values, "series": series})


def _to_px(xy: np.ndarray, lim: float, size: int) -> np.ndarray:
    """Data coordinates (N, 2) -> pixel coordinates (N, 2); y grows upwards in data, downwards in pixels."""
    px = (xy[:, 0] + lim) / (2 * lim) * (size - 1)
    py = (lim - xy[:, 1]) / (2 * lim) * (size - 1)
    return np.stack([px, py], axis=1)


def px_to_xy(col: float, row: float, lim: float = BOUNDARY_LIM, size: int = BOUNDARY_PX) -> tuple[float, float]:
    """A pixel of the boundary image -> the data point (x, y) it shows."""
    return -lim + col / (size - 1) * 2 * lim, lim - row / (size - 1) * 2 * lim


NEGATIVE, POSITIVE = np.array((245, 147, 34), np.float32), np.array((8, 119, 189), np.float32)  # orange, blue


_LUT_SIZE = 511
_LUT_T = np.linspace(-1.0, 1.0, _LUT_SIZE, dtype=np.float32)[:, None]
_LUT = np.where(_LUT_T >= 0, 255 + (POSITIVE - 255) * _LUT_T, 255 + (NEGATIVE - 255) * -_LUT_T).astype(np.float32)


def value_colours(v: np.ndarray, vmax: float = 1.0) -> np.ndarray:
    """Values -> RGB float32 (..., 3) on a diverging map: orange below zero, white at zero, blue above, saturating at
    ±vmax (a value over the plane, a unit's output, a weight's sign). A 511-entry table: it runs on every live view."""
    t = np.clip(np.asarray(v, np.float32) * (1.0 / max(vmax, 1e-12)), -1.0, 1.0)
    return _LUT[np.rint((t + 1.0) * ((_LUT_SIZE - 1) / 2)).astype(np.intp)]


def class_colour(c: int) -> tuple[int, int, int]:
    """The colour of class c in every picture (the legend's swatches use it too)."""
    return tuple(int(v) for v in PALETTE[int(c) % len(PALETTE)])


def points_overlay(x_train, y_train, x_test=None, y_test=None, *, lim: float = BOUNDARY_LIM,
                   size: int = BOUNDARY_PX, added=None, vmax: float = 1.0):
    """A transparent RGBA layer with training dots and held-out rings; drawn once per run, reused every update.

    Class labels (int) colour a point by its class; values over the plane ((N, 1) floats) by the value. `added`,
    the points a user clicked in as (x, y, label) rows, are drawn larger with a black edge."""
    from PIL import Image, ImageDraw

    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    rows = [(x_train, y_train, "train"), (x_test, y_test, "test")]
    if added is not None and len(added):
        added = np.asarray(added, dtype=np.float32).reshape(-1, 3)
        rows.append((added[:, :2], added[:, 2:] if np.asarray(y_train).ndim == 2 else added[:, 2], "added"))
    for xy, y, kind in rows:
        if xy is None or not len(xy):
            continue
        pts = _to_px(np.asarray(xy, dtype=np.float32), lim, size)
        y = np.asarray(y)
        cols = value_colours(y.reshape(-1), vmax) * 0.85 if y.ndim == 2 else PALETTE[y.astype(int) % len(PALETTE)] * 0.75
        for (px, py), c in zip(pts, cols.astype(int)):
            col = (*map(int, c), 255)
            if kind == "test":  # held-out points: white-filled rings, so they stand out from the training dots
                draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=(255, 255, 255, 255), outline=col, width=2)
            elif kind == "added":
                draw.ellipse([px - 4.5, py - 4.5, px + 4.5, py + 4.5], fill=col, outline=(0, 0, 0, 255), width=2)
            else:
                draw.ellipse([px - 1.6, py - 1.6, px + 1.6, py + 1.6], fill=col)
    return layer


def plane_grid(lim: float = BOUNDARY_LIM, res: int = GRID) -> np.ndarray:
    """(res * res, 2) points on a res x res grid over [-lim, lim]², row by row from the top (y = +lim) down."""
    xs = np.linspace(-lim, lim, res, dtype=np.float32)
    gx, gy = np.meshgrid(xs, xs[::-1])
    return np.stack([gx.ravel(), gy.ravel()], axis=1)


def output_colours(out: np.ndarray, task: str, *, discretize: bool = False, vmax: float = 1.0) -> np.ndarray:
    """A model's outputs (N, outputs) -> RGB float32 (N, 3): class regions paler where unsure (or flat when
    discretised), or a value over the plane on the diverging map (in 8 bands when discretised)."""
    if task == "regression":
        v = out[:, 0]
        if discretize:
            step = vmax / 4
            v = (np.floor(v / step) + 0.5) * step
        return value_colours(v, vmax)
    z = out - out.max(1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    k = probs.shape[1]
    colours = PALETTE[np.arange(k) % len(PALETTE)]
    top = probs.argmax(1)
    if discretize:
        strength = np.full((len(top), 1), 0.6, np.float32)
    else:
        strength = 0.25 + 0.55 * (probs.max(1, keepdims=True) - 1 / k) / (1 - 1 / k)
    return 255 * (1 - strength) + colours[top] * strength


def draw_marker(img, xy, lim: float = BOUNDARY_LIM) -> None:
    """A probed point on a PIL image: a black-and-white cross in a ring, visible on any colour."""
    from PIL import ImageDraw

    size = img.size[0]
    (px, py), = _to_px(np.asarray([xy], dtype=np.float32), lim, size)
    draw = ImageDraw.Draw(img)
    for colour, width in (((255, 255, 255), 5), ((0, 0, 0), 2)):
        draw.ellipse([px - 8, py - 8, px + 8, py + 8], outline=colour, width=width)
        draw.line([px - 13, py, px + 13, py], fill=colour, width=width - 2 if width > 2 else 1)
        draw.line([px, py - 13, px, py + 13], fill=colour, width=width - 2 if width > 2 else 1)


def boundary_image(tm: TrainedModel | None, overlay=None, lim: float = BOUNDARY_LIM, size: int = BOUNDARY_PX, *,
                   discretize: bool = False, marker=None, vmax: float = 1.0) -> np.ndarray:
    """uint8 (size, size, 3): filled class regions, paler where the model is unsure (or a value over the plane as a
    colour map), with the points layer on top and the probed point `marker` (x, y) marked."""
    from PIL import Image

    if tm is not None:
        out = predict_values(tm, plane_grid(lim, GRID))
        rgb = output_colours(out, tm.meta.get("task", "classification"), discretize=discretize, vmax=vmax)
        img = Image.fromarray(rgb.reshape(GRID, GRID, 3).astype(np.uint8)).resize(
            (size, size), Image.Resampling.NEAREST if discretize else Image.Resampling.BILINEAR)
    else:
        img = Image.new("RGB", (size, size), (250, 250, 250))
    if overlay is not None:
        img.paste(overlay, (0, 0), overlay)
    if marker is not None:
        draw_marker(img, marker, lim)
    return np.asarray(img)


def regression_figure(y_true: np.ndarray, y_pred: np.ndarray, metrics: dict | None = None):
    """Predicted vs actual and residuals for a regression model's test split, as a matplotlib Figure."""
    from matplotlib.figure import Figure

    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    fig = Figure(figsize=(9, 3.8), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax1.plot([lo, hi], [lo, hi], color="0.6", lw=1, ls="--", label="perfect")
    ax1.scatter(y_true, y_pred, s=18, alpha=0.8, color="#1f77b4")
    ax1.set(xlabel="actual price ($1000s)", ylabel="predicted ($1000s)", title="Predicted vs actual (test split)")
    ax1.legend(loc="lower right", frameon=False)
    m = metrics or {}
    shown = [f"{label} {m[key]:.3f}" if key == "test_r2" else f"{label} {m[key]:.2f}"
             for key, label in (("test_rmse", "RMSE"), ("test_mae", "MAE"), ("test_r2", "R²")) if key in m]
    if shown:
        ax1.text(0.03, 0.97, "\n".join(shown), transform=ax1.transAxes, va="top", fontsize=9,
                 bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.8"})
    resid = y_pred - y_true
    ax2.axhline(0, color="0.6", lw=1, ls="--")
    ax2.scatter(y_pred, resid, s=18, alpha=0.8, color="#d62728")
    ax2.set(xlabel="predicted ($1000s)", ylabel="residual (pred - actual)", title="Residuals (test split)")
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """(n, n) counts, rows = true class, columns = predicted class."""
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def confusion_figure(cm: np.ndarray, class_names: list[str]):
    """A confusion-matrix heat map with counts, as a matplotlib Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4.4), layout="constrained")
    ax = fig.subplots()
    ax.imshow(cm, cmap="Blues")
    n = len(class_names)
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true",
           title=f"Confusion matrix (accuracy {np.trace(cm) / max(cm.sum(), 1):.3f})")
    ax.set_xticklabels(class_names, rotation=45 if max(map(len, class_names)) > 2 else 0, ha="right")
    ax.set_yticklabels(class_names)
    thresh = cm.max() / 2 if cm.max() else 1
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > thresh else "black")
    return fig


def digit_preview(img28: np.ndarray, scale: int = 6) -> np.ndarray:
    """A (28, 28) image in [0, 1] as the model sees it, enlarged for display (uint8, white ink on black)."""
    return np.kron((np.clip(img28, 0, 1) * 255).astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))


# ---------------------------------------------------------------- what an image model sees (numpy, no matplotlib)

def _diverging(a: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Signed values -> RGB uint8: blue for negative, white for zero, red for positive (symmetric scale)."""
    m = limit if limit is not None else float(np.abs(a).max()) or 1.0
    t = np.clip(a / m, -1, 1)[..., None]
    red, blue, white = np.array([178, 24, 43]), np.array([33, 102, 172]), np.array([247, 247, 247])
    rgb = np.where(t >= 0, white + t * (red - white), white + (-t) * (blue - white))
    return rgb.astype(np.uint8)


def _grey(a: np.ndarray, limit: float | None = None) -> np.ndarray:
    """Non-negative values -> RGB uint8, black to white (scaled to `limit` or the maximum)."""
    m = limit if limit is not None else float(a.max()) or 1.0
    g = (np.clip(a / m, 0, 1) * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def image_grid(images: np.ndarray, *, cols: int = 8, cell: int = 56, signed: bool = False, gap: int = 4,
               shared_scale: bool = False) -> np.ndarray:
    """Images (N, h, w) as one RGB picture: `cols` to a row, each enlarged to about `cell` px (nearest neighbour).

    signed: blue-white-red around zero (weights, saliency); else black-to-white. shared_scale: one colour scale for
    all (so strengths compare across cells); else each cell is scaled on its own (so each one's pattern shows)."""
    n, h, w = images.shape
    k = max(1, cell // max(h, w))
    rows = int(np.ceil(n / cols))
    out = np.full((rows * (h * k + gap) + gap, min(n, cols) * (w * k + gap) + gap, 3), 255, np.uint8)
    limit = (float(np.abs(images).max()) or 1.0) if shared_scale else None
    for i, im in enumerate(images):
        rgb = _diverging(im, limit) if signed else _grey(np.maximum(im, 0), limit)
        big = np.kron(rgb, np.ones((k, k, 1), np.uint8))
        r, c = divmod(i, cols)
        y, x = gap + r * (h * k + gap), gap + c * (w * k + gap)
        out[y:y + h * k, x:x + w * k] = big
    return out


def saliency_image(img28: np.ndarray, sal: np.ndarray, scale: int = 8) -> np.ndarray:
    """Saliency (28, 28) over the model's input: red where the ink pushed the answer up, blue where it pushed it down,
    the drawing in light grey underneath. RGB uint8, `scale` times larger."""
    colour = _diverging(sal).astype(np.float32)
    weight = np.clip(np.abs(sal) / (float(np.abs(sal).max()) or 1.0), 0, 1)[..., None] ** 0.5
    paper = 255 - 90 * np.clip(img28, 0, 1)[..., None]  # the drawing, light grey on white
    rgb = (weight * colour + (1 - weight) * paper).astype(np.uint8)
    return np.kron(rgb, np.ones((scale, scale, 1), np.uint8))
