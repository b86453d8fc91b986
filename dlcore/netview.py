"""The network view of a 2-D model: one small heatmap per input feature, hidden unit and output over the plane,
linked by the weights (thickness by |w|, colour by sign), drawn straight into a numpy image for the live UI.

Each tile shows what one unit computes at every point of the picture's square: the input features, each hidden
unit's output after its activation, and each output (a class's probability, or the value over the plane). A layer
wider than `max_units` shows its most important units (largest summed |outgoing weight|) and says how many are left
out. `unit_detail` gives one unit's large heatmap, incoming weights and bias, and how often it is zero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .features import RAW, TEXT, FeatureInput
from .plots import BOUNDARY_LIM, PALETTE, output_colours, plane_grid, value_colours

TILE = 40  # tile side, px
RES = 20  # grid side per tile (upscaled 2x): 400 points per forward pass
MAX_UNITS = 8  # tiles per column before a layer shows only its most important units
GAP_X, GAP_Y, TOP, SIDE = 74, 8, 34, 54  # spacing between columns and tiles, header height, left margin (labels)


@dataclass
class Tile:
    """One unit's tile: stage 0 = input features, 1..L = hidden layers, L + 1 = outputs."""

    stage: int
    unit: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image


@dataclass
class Layout:
    """Where each tile is, to find the unit under a click; and the stages' titles."""

    tiles: list[Tile] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # width, height
    titles: list[str] = field(default_factory=list)

    def tile_at(self, x: float, y: float) -> Tile | None:
        """The tile under the image pixel (x, y), with a few pixels' slack around it."""
        for t in self.tiles:
            x0, y0, x1, y1 = t.box
            if x0 - 3 <= x <= x1 + 3 and y0 - 3 <= y <= y1 + 3:
                return t
        return None


def _parts(model: nn.Module) -> tuple[tuple[str, ...], list[nn.Linear], list[str]]:
    """A 2-D model's features, its linear layers in order, and each hidden layer's activation name."""
    if not isinstance(model, nn.Sequential):
        raise ValueError("the network view draws sequential models (the 2-D tab's linear model and MLPs)")
    first = model[0]
    features = first.names if isinstance(first, FeatureInput) else RAW
    linears = [m for m in model if isinstance(m, nn.Linear)]
    acts, seen = [], False
    for m in model:
        if isinstance(m, nn.Linear):
            seen = True
        elif seen and not isinstance(m, (nn.Dropout, nn.BatchNorm1d)) and len(acts) < len(linears) - 1:
            acts.append(type(m).__name__)
            seen = False
    return features, linears, acts


@torch.no_grad()
def stage_outputs(model: nn.Module, points: torch.Tensor) -> list[torch.Tensor]:
    """Each stage's output on raw points (N, 2): the input features, every hidden layer after its activation, and
    the outputs (logits or the value); computed in eval mode, leaving the model's mode as it was."""
    was = model.training
    model.eval()
    try:
        h, outs, started = points, [], False
        for m in model:
            if isinstance(m, nn.Linear):
                outs.append(h)  # the features, or the previous layer's output after its activation
                started = True
            elif not started and not isinstance(m, FeatureInput):
                continue
            h = m(h)
        outs.append(h)
        return outs
    finally:
        model.train(was)


def importance(linears: list[nn.Linear], stage: int) -> np.ndarray:
    """Each unit's summed |outgoing weight| (how much the next layer listens to it); ones for the outputs."""
    if stage >= len(linears):
        return np.ones(linears[-1].out_features)
    return linears[stage].weight.detach().abs().sum(0).cpu().numpy()


def shown_units(linears: list[nn.Linear], stage: int, n: int, max_units: int = MAX_UNITS) -> np.ndarray:
    """The units a stage's column shows: all of them when they fit, else the most important ones, in unit order."""
    if n <= max_units or stage == 0:
        return np.arange(n)
    return np.sort(np.argsort(-importance(linears, stage))[:max_units])


def _tile_rgb(values: np.ndarray, output: bool, task: str, *, discretize: bool = False, vmax: float = 1.0,
              res: int = RES) -> np.ndarray:
    """(res*res, k) unit outputs -> (k, res, res, 3) colours. Inputs and hidden units: the diverging map scaled to
    each tile's own largest |value|; outputs: each class's probability in its colour, or the value over the plane."""
    k = values.shape[1]
    if not output:
        peak = np.abs(values).max(0, keepdims=True)
        rgb = value_colours(values / (peak + 1e-12))  # (N, k, 3)
        rgb[:, peak[0] == 0] = 225  # zero over the whole square (a dead ReLU): grey, not white
    elif task == "regression":
        rgb = output_colours(values, task, discretize=discretize, vmax=vmax)[:, None, :]
    else:
        z = values - values.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        if discretize:
            p = (p.argmax(1)[:, None] == np.arange(k)[None, :]).astype(np.float32)
        colours = PALETTE[np.arange(k) % len(PALETTE)]
        rgb = 255 + (colours[None] - 255) * p[..., None] * 0.9
    return rgb.transpose(1, 0, 2).reshape(-1, res, res, 3)


@dataclass(frozen=True)
class _Frame:
    """What stays the same between two pictures of one architecture: tile places and the text and frames layer."""

    xs: tuple[int, ...]  # each column's left edge
    ys: tuple[tuple[int, ...], ...]  # each column's tiles' top edges
    size: tuple[int, int]
    where: tuple[np.ndarray, np.ndarray]  # the pixels (rows, columns) the text and frames cover
    alpha: np.ndarray  # (n, 1) their opacity
    rgb: np.ndarray  # (n, 3) their colour


@functools.lru_cache(maxsize=16)
def _frame(features: tuple[str, ...], widths: tuple[int, ...], counts: tuple[int, ...], acts: tuple[str, ...],
           task: str) -> _Frame:
    """Column and tile positions and the text layer for a net whose stages have `widths` units, `counts` shown."""
    from PIL import Image, ImageDraw

    rows, last = max(counts), len(widths) - 1
    width = SIDE + len(widths) * TILE + last * GAP_X + 40
    height = TOP + rows * (TILE + GAP_Y) + 18
    xs = tuple(SIDE + s * (TILE + GAP_X) for s in range(len(widths)))
    ys = tuple(tuple(TOP + (rows - n) * (TILE + GAP_Y) // 2 + i * (TILE + GAP_Y) for i in range(n)) for n in counts)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for s, n in enumerate(widths):
        x = xs[s] + TILE // 2
        draw.text((x, 6), "inputs" if s == 0 else "outputs" if s == last else f"layer {s} ({n})",
                  fill=(60, 60, 60, 255), anchor="mt")
        if 0 < s < last:
            draw.text((x, 20), acts[s - 1].lower(), fill=(120, 120, 120, 255), anchor="mt")
        if n > counts[s]:
            draw.text((x, ys[s][-1] + TILE + 4), f"+{n - counts[s]} more", fill=(120, 120, 120, 255), anchor="mt")
        for i, y in enumerate(ys[s]):
            draw.rectangle((xs[s], y, xs[s] + TILE, y + TILE), outline=(150, 150, 150, 255))
            if s == 0:
                draw.text((xs[s] - 5, y + TILE // 2), TEXT[features[i]], fill=(40, 40, 40, 255), anchor="rm")
            elif s == last and task == "classification":
                draw.text((xs[s] + TILE + 5, y + TILE // 2), f"class {i}", fill=(40, 40, 40, 255), anchor="lm")
    layer = np.asarray(overlay)
    where = np.nonzero(layer[:, :, 3])  # a few thousand pixels, blended into every picture with numpy
    return _Frame(xs, ys, (width, height), where, layer[where][:, 3:].astype(np.float32) / 255,
                  layer[where][:, :3].astype(np.float32))


def _links(canvas: np.ndarray, linears: list[nn.Linear], shown: list[np.ndarray], frame: _Frame) -> np.ndarray:
    """One line per shown pair of units: thickness by |w| (relative to the layer's largest shown), colour by sign;
    the strongest drawn last, on top. Returns the canvas with the lines."""
    from PIL import Image, ImageDraw

    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    for s, lin in enumerate(linears):
        w = lin.weight.detach().cpu().numpy()[np.ix_(shown[s + 1], shown[s])]  # (shown out, shown in)
        a = np.abs(w) / (np.abs(w).max() + 1e-12)
        colours = value_colours(np.sign(w) * (0.35 + 0.65 * a)).astype(int).tolist()
        x0, x1 = frame.xs[s] + TILE, frame.xs[s + 1]
        i, j = np.nonzero(a >= 0.05)  # the faintest links would only blur the picture
        order = np.argsort(a[i, j])
        for i_, j_ in zip(i[order].tolist(), j[order].tolist()):
            draw.line([x0, frame.ys[s][j_] + TILE // 2, x1, frame.ys[s + 1][i_] + TILE // 2],
                      fill=tuple(colours[i_][j_]), width=max(1, round(4 * float(a[i_, j_]))))
    return np.array(img)


def network_view(model: nn.Module, task: str, *, discretize: bool = False, vmax: float = 1.0,
                 lim: float = BOUNDARY_LIM, max_units: int = MAX_UNITS) -> tuple[np.ndarray, Layout]:
    """The whole network as one uint8 image (H, W, 3), and the layout that maps a click back to its unit."""
    features, linears, acts = _parts(model)
    points = torch.from_numpy(plane_grid(lim, RES)).to(linears[0].weight.device)
    outs = [o.float().cpu().numpy() for o in stage_outputs(model, points)]
    last = len(outs) - 1
    shown = [shown_units(linears, s, o.shape[1], max_units) for s, o in enumerate(outs)]
    frame = _frame(features, tuple(o.shape[1] for o in outs), tuple(len(u) for u in shown), tuple(acts), task)
    canvas = _links(np.full((frame.size[1], frame.size[0], 3), 255, np.uint8), linears, shown, frame)  # under the tiles
    layout = Layout(size=frame.size, titles=["inputs"] + [f"layer {s}" for s in range(1, last)] + ["outputs"])
    for s, units in enumerate(shown):
        rgb = _tile_rgb(outs[s][:, units], s == last, task, discretize=discretize, vmax=vmax)
        big = rgb.repeat(TILE // RES, axis=1).repeat(TILE // RES, axis=2).astype(np.uint8)
        x = frame.xs[s]
        for k, y in enumerate(frame.ys[s]):
            canvas[y:y + TILE, x:x + TILE] = big[k]
            layout.tiles.append(Tile(s, int(units[k]), (x, y, x + TILE, y + TILE)))
    under = canvas[frame.where].astype(np.float32)
    canvas[frame.where] = (under + (frame.rgb - under) * frame.alpha).astype(np.uint8)  # the text and frames
    return canvas, layout


def unit_detail(model: nn.Module, task: str, stage: int, unit: int, probe: torch.Tensor, *, vmax: float = 1.0,
                res: int = 120, lim: float = BOUNDARY_LIM) -> tuple[np.ndarray, dict]:
    """One unit, large: its heatmap (uint8 (res*2, res*2, 3)) and what feeds it: {title, weights [(name, w)], bias,
    zero_share (of the probe points where it outputs 0), dead_inputs (always-zero units feeding it), inputs}."""
    features, linears, acts = _parts(model)
    last = len(linears)
    grid = torch.from_numpy(plane_grid(lim, res)).to(linears[0].weight.device)
    values = stage_outputs(model, grid)[stage][:, unit:unit + 1].float().cpu().numpy()
    if stage == last:  # an output's colours depend on the other outputs (class probabilities)
        values = stage_outputs(model, grid)[stage].float().cpu().numpy()
    rgb = _tile_rgb(values, stage == last, task, vmax=vmax, res=res)
    pick = unit if stage == last and task == "classification" else 0
    image = rgb[pick].repeat(2, axis=0).repeat(2, axis=1).astype(np.uint8)
    if stage == 0:
        return image, {"title": f"input feature {TEXT[features[unit]]}", "weights": [], "bias": None,
                       "zero_share": None, "dead_inputs": None, "inputs": 0}
    on_probe = stage_outputs(model, probe)
    lin = linears[stage - 1]
    w = lin.weight.detach()[unit].cpu().numpy()
    names = ([TEXT[f] for f in features] if stage == 1 else [f"unit {i}" for i in range(len(w))])
    order = np.argsort(-np.abs(w))
    act = acts[stage - 1].lower() if stage < last else "output"
    kind = f"class {unit}" if stage == last and task == "classification" else ("value" if stage == last else act)
    info = {"title": (f"layer {stage}, unit {unit} ({kind})" if stage < last else f"output: {kind}"),
            "weights": [(names[i], float(w[i])) for i in order],
            "bias": float(lin.bias.detach()[unit]) if lin.bias is not None else None,
            "zero_share": float((on_probe[stage][:, unit] <= 0).float().mean()) if act == "relu" else None,
            "dead_inputs": None, "inputs": len(w)}
    if stage > 1 and acts[stage - 2].lower() == "relu":
        info["dead_inputs"] = int((on_probe[stage - 1].amax(0) <= 0).sum())
    return image, info
