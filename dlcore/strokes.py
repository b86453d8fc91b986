"""Strokes drawn on the Digits tab's Sketchpad -> the picture the Sketchpad makes of them, and how a picture the editor
sent relates to them.

The page follows the pointer on the Sketchpad and, at each stroke's end, sends the strokes drawn so far (points in
canvas px, each stroke's brush radius and colour, the canvas size). Waiting for the editor's own image costs about
half a second (it reads its canvas back three times and uploads three PNGs), so the answer is computed from the strokes
at once; the editor's image still follows and stays the authority (see `relation`).

`rasterise` draws them as Gradio 6.31's ImageEditor does (its brush tool, read from the installed frontend): on the
pointer going down, a disc of the brush's radius at that point; for every pointer move from a to b, discs at n evenly
spaced points from a to b inclusive, n = max(ceil(|ab| / max(r / 3, 2)), 2) (a single disc when |ab| < 0.1); opaque
discs of the brush's colour over white paper, clipped to the canvas. A pixel is ink when its centre lies inside a disc
(the GPU's rule for the discs' triangles). Nothing here imports gradio.

Everything a client sends is checked before any drawing: the numbers finite, the canvas the app's, at most
MAX_STROKES strokes and MAX_POINTS points, a radius within the editor's own slider (1 to MAX_RADIUS), and the drawing's
work (rows of discs filled, `work`) under MAX_WORK, so one request costs at most a few tens of milliseconds.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import numpy as np

from .errors import InputError

MAX_STROKES = 64  # strokes in one drawing (a digit takes 1 to 4)
MAX_POINTS = 6000  # pointer positions in one drawing, all strokes together (a slow stroke has a few hundred)
MAX_RADIUS = 100  # px: the editor's brush-size slider goes from 1 to 100
MAX_WORK = 1_000_000  # rows of discs one drawing fills (a digit takes a few thousand)
MAX_JSON = 1_000_000  # characters of a drawing sent as a JSON string
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Stroke:
    """One stroke: the pointer's positions (N, 2) in canvas px (x right, y down), the brush's radius and colour."""

    points: np.ndarray
    radius: float
    color: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class Drawing:
    """The strokes drawn so far on a canvas of `size` (width, height) px."""

    strokes: tuple[Stroke, ...]
    size: tuple[int, int]


# ---------------------------------------------------------------- reading what a client sent

def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"{what} must be a number, not {type(v).__name__}")
    f = float(v)
    if not math.isfinite(f):
        raise InputError(f"{what} must be a finite number, not {v!r}")
    return f


def _color(v, what: str) -> tuple[int, int, int]:
    if not isinstance(v, str) or not _HEX.match(v):
        raise InputError(f"{what} must be a colour written #rrggbb, not {str(v)[:20]!r}")
    return int(v[1:3], 16), int(v[3:5], 16), int(v[5:7], 16)


def _points(raw, what: str, budget: int) -> np.ndarray:
    if not isinstance(raw, (list, tuple)) or not raw:
        raise InputError(f"{what}: points must be a non-empty list of [x, y] pairs")
    if len(raw) > budget:
        raise InputError(f"the drawing has more than {MAX_POINTS} points, over the limit; send the picture instead")
    pts = np.empty((len(raw), 2), dtype=np.float64)
    for i, p in enumerate(raw):
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise InputError(f"{what}, point {i + 1}: a point is a pair [x, y], not {str(p)[:30]!r}")
        pts[i] = (_number(p[0], f"{what}, point {i + 1}'s x"), _number(p[1], f"{what}, point {i + 1}'s y"))
    if np.abs(pts).max() > 1e5:
        raise InputError(f"{what}: a point lies {np.abs(pts).max():.3g} px away, far off the canvas")
    return pts


def _object(payload) -> dict:
    if isinstance(payload, str):
        if len(payload) > MAX_JSON:
            raise InputError(f"the drawing's text is {len(payload):,} characters, over the limit of {MAX_JSON:,}")
        try:
            payload = json.loads(payload)
        except ValueError as e:
            raise InputError(f"the drawing is not valid JSON ({e.msg})") from None
    if not isinstance(payload, dict):
        raise InputError("a drawing is an object with \"canvas\" and \"strokes\"")
    return payload


def _stroke(s, what: str, budget: int) -> Stroke:
    if not isinstance(s, dict):
        raise InputError(f"{what} must be an object with points, size and color")
    pts = _points(s.get("points"), what, budget)
    radius = _number(s.get("size"), f"{what}'s brush size")
    if not 1 <= radius <= MAX_RADIUS:
        raise InputError(f"{what}'s brush size is {radius:g} px; the brush goes from 1 to {MAX_RADIUS}")
    return Stroke(pts, radius, _color(s.get("color", "#000000"), f"{what}'s colour"))


def parse(payload, size: tuple[int, int]) -> Drawing | None:
    """A client's drawing -> Drawing on the app's canvas of `size`; None when the page says it stopped following the
    pointer (`"strokes": null`: an eraser stroke, an undo, two fingers; the editor's own image answers then).

    The payload: {"canvas": [w, h], "strokes": [{"points": [[x, y], ...], "size": radius, "color": "#rrggbb"}, ...]}
    (a JSON object or its text). Anything else is refused with an InputError that names the part."""
    payload = _object(payload)
    canvas = payload.get("canvas")
    if not isinstance(canvas, (list, tuple)) or len(canvas) != 2 or \
            [_number(c, "the canvas size") for c in canvas] != [float(s) for s in size]:
        raise InputError(f"the drawing's canvas must be {size[0]}x{size[1]} px (this app's Sketchpad), not "
                         f"{str(canvas)[:40]}")
    raw = payload.get("strokes")
    if raw is None:
        return None
    if not isinstance(raw, (list, tuple)):
        raise InputError("the drawing's strokes must be a list (or null)")
    if len(raw) > MAX_STROKES:
        raise InputError(f"the drawing has {len(raw)} strokes, over the limit of {MAX_STROKES}; send the picture "
                         "instead")
    strokes, budget = [], MAX_POINTS
    for k, s in enumerate(raw):
        strokes.append(_stroke(s, f"stroke {k + 1}", budget))
        budget -= len(strokes[-1].points)
    drawing = Drawing(tuple(strokes), (int(size[0]), int(size[1])))
    cost = work(drawing)
    if cost > MAX_WORK:
        raise InputError(f"the drawing would take {cost:,} rows of brush discs to draw, over the limit of {MAX_WORK:,} "
                         "(too many long or fat strokes); send the picture instead")
    return drawing


# ---------------------------------------------------------------- drawing them as the editor does

def _per_segment(points: np.ndarray, radius: float) -> np.ndarray:
    """How many discs the brush stamps on each move: 1 for a move under 0.1 px, else max(ceil(length / step), 2)."""
    seg = np.sqrt((np.diff(points, axis=0) ** 2).sum(1))
    return np.where(seg < 0.1, 1, np.maximum(np.ceil(seg / max(radius / 3, 2.0)), 2)).astype(np.int64)


def discs(points: np.ndarray, radius: float) -> np.ndarray:
    """The centres (M, 2) of the discs the editor's brush stamps along one stroke's pointer positions: one where the
    pointer goes down, then for each move from a to b, n evenly spaced from a to b inclusive (`_per_segment`)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = _per_segment(pts, radius)
    seg = np.repeat(np.arange(len(n)), n)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n)
    t = (k / np.repeat(np.maximum(n - 1, 1), n))[:, None]
    moved = pts[:-1][seg] + (pts[1:] - pts[:-1])[seg] * t
    return np.concatenate([pts[:1], moved])


def _rows(radius: float) -> int:
    return 2 * math.ceil(radius) + 2


def work(drawing: Drawing) -> int:
    """The rows of discs `rasterise` fills (each disc is filled row by row), counted before any is drawn."""
    return sum((1 + int(_per_segment(s.points, s.radius).sum())) * _rows(s.radius) for s in drawing.strokes)


def stroke_mask(stroke: Stroke, size: tuple[int, int]) -> np.ndarray:
    """bool (H, W): the pixels whose centres lie inside one of the stroke's discs (filled as spans, one per disc and
    row: a pixel (i, j) is inside when (i + 0.5 - x)^2 + (j + 0.5 - y)^2 <= r^2)."""
    w, h = size
    r = stroke.radius
    c = discs(stroke.points, r)
    c = c[(c[:, 0] > -r) & (c[:, 0] < w + r) & (c[:, 1] > -r) & (c[:, 1] < h + r)]  # discs that reach the canvas
    edges = np.zeros(h * (w + 1), dtype=np.int64)  # per row: +1 where a span starts, -1 just past its end
    rows = np.arange(-math.ceil(r) - 1, math.ceil(r) + 1)
    chunk = max(1, 500_000 // len(rows))  # bounded memory whatever the radius
    for i in range(0, len(c), chunk):
        cx, cy = c[i:i + chunk, :1], c[i:i + chunk, 1:]
        j = np.floor(cy).astype(np.int64) + rows[None]  # (discs, rows)
        dy = j + 0.5 - cy
        half = np.sqrt(np.maximum(r * r - dy * dy, 0.0))
        lo = np.ceil(cx - half - 0.5).astype(np.int64).clip(0, w)
        hi = (np.floor(cx + half - 0.5).astype(np.int64) + 1).clip(0, w)
        keep = (np.abs(dy) <= r) & (j >= 0) & (j < h) & (hi > lo)
        jj = j[keep] * (w + 1)
        edges += np.bincount(jj + lo[keep], minlength=len(edges))
        edges -= np.bincount(jj + hi[keep], minlength=len(edges))
    return np.cumsum(edges.reshape(h, w + 1), axis=1)[:, :w] > 0


def rasterise(drawing: Drawing) -> np.ndarray:
    """The drawing as the editor's composite shows it: uint8 (H, W, 3), white paper, each stroke in its colour over
    the ones before."""
    w, h = drawing.size
    img = np.full((h, w, 3), 255, dtype=np.uint8)
    for s in drawing.strokes:
        img[stroke_mask(s, drawing.size)] = s.color
    return img


# ---------------------------------------------------------------- the editor's picture against the strokes

CURRENT, OLDER, NEWER, DIFFERENT = "current", "older", "newer", "different"
TOLERANCE = 0.03  # share of a picture's ink that may lie over a pixel away from the other's (edges, anti-aliasing)


def _dilate(m: np.ndarray) -> np.ndarray:
    p = np.pad(m, 1)
    out = m.copy()
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            out |= p[dy:dy + m.shape[0], dx:dx + m.shape[1]]
    return out


def _within(a: np.ndarray, b_grown: np.ndarray) -> bool:
    """Nearly all of a's ink lies on b's (grown by a pixel)."""
    n = int(a.sum())
    return n == 0 or int((a & ~b_grown).sum()) <= TOLERANCE * n


def relation(ink: np.ndarray, drawing: Drawing) -> str:
    """How the editor's picture (ink (H, W) in [0, 1], as `dlcore.predict.sketch_to_ink` reads it) relates to the
    strokes last sent: CURRENT (the same drawing), OLDER (the drawing as it was a stroke or more ago: the editor's
    image lags behind the strokes), NEWER (those strokes and more), or DIFFERENT (an eraser, an undo, another size:
    the strokes no longer describe the canvas)."""
    seen = np.asarray(ink) > 0.5
    if seen.shape != (drawing.size[1], drawing.size[0]):
        return DIFFERENT
    seen_grown = _dilate(seen)
    drawn = np.zeros_like(seen)
    prefixes = [drawn.copy()]
    for s in drawing.strokes:
        drawn |= stroke_mask(s, drawing.size)
        prefixes.append(drawn.copy())
    full = prefixes[-1]
    full_in_seen = _within(full, seen_grown)
    if full_in_seen and _within(seen, _dilate(full)):
        return CURRENT
    for p in prefixes[-2::-1]:
        if _within(seen, _dilate(p)) and _within(p, seen_grown):
            return OLDER
    return NEWER if full_in_seen else DIFFERENT
