"""The 2-D data sets: points in the plane, for classes (spiral, circle, XOR, ...) or a value over the plane.

Every set lies in [-1, 1]² (the 2-D tab's picture shows [-1.15, 1.15]²), so one picture, one grid and one set of
input features serve them all. The spiral keeps seed 002's formula exactly; the others follow the TensorFlow
playground's sets, scaled to the unit square. Generators take a seeded `torch.Generator` and return float32 points
(N, 2) with int64 labels (N,) or float32 targets (N, 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

NOISE_SCALE = 0.25  # every set but the spiral: noise 1 adds N(0, 0.25²) to each coordinate (or to the target)


def spiral_points(classes: int = 3, points: int = 1000, noise: float = 0.2, seed: int = 0):
    """Seed 002's spiral: t in [0,1], theta = linspace(2*pi*c/C, 2*pi*(2+c)/C) + noise*randn; x = t*(sin, cos)."""
    g = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for c in range(classes):
        t = torch.linspace(0, 1, points)
        theta = torch.linspace(2 * math.pi * c / classes, 2 * math.pi * (2 + c) / classes, points)
        theta = theta + noise * torch.randn(points, generator=g)
        xs.append(torch.stack([t * torch.sin(theta), t * torch.cos(theta)], dim=1))
        ys.append(torch.full((points,), c, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def _u(n: int, g: torch.Generator, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _labels(n: int) -> torch.Tensor:
    return torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])


def circle(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0 in the disc of radius 0.5, class 1 in the ring from 0.7 to 1 (n points each)."""
    r = torch.cat([_u(n, g, 0.0, 0.5), _u(n, g, 0.7, 1.0)])
    a = _u(2 * n, g, 0.0, 2 * math.pi)
    return torch.stack([r * torch.cos(a), r * torch.sin(a)], 1), _labels(n)


def xor(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0 where x1 and x2 have the same sign, class 1 where they differ; kept 0.05 off the axes."""
    a, b = 0.05 + 0.95 * torch.rand(2 * n, generator=g), 0.05 + 0.95 * torch.rand(2 * n, generator=g)
    s = torch.where(torch.rand(2 * n, generator=g) < 0.5, -1.0, 1.0)  # which of the class's two quadrants
    y = _labels(n)
    return torch.stack([s * a, s * b * (1 - 2 * y.float())], 1), y


def gaussians(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two round clusters of std 0.15, centred at (0.4, 0.4) (class 0) and (-0.4, -0.4) (class 1)."""
    centre = torch.tensor([[0.4, 0.4]]).repeat(2 * n, 1)
    centre[n:] *= -1
    return centre + 0.15 * torch.randn(2 * n, 2, generator=g), _labels(n)


def moons(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved half circles (scikit-learn's make_moons), centred and scaled into [-1, 1]²."""
    t = _u(2 * n, g, 0.0, math.pi)
    upper = torch.stack([torch.cos(t[:n]), torch.sin(t[:n])], 1)
    lower = torch.stack([1 - torch.cos(t[n:]), 0.5 - torch.sin(t[n:])], 1)
    return (torch.cat([upper, lower]) - torch.tensor([0.5, 0.25])) * 0.65, _labels(n)


def checkerboard(n: int, g: torch.Generator, cells: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A 4x4 board over [-1, 1]²: class 0 on the cells where row + column is even, class 1 on the others."""
    y = _labels(n)
    row = torch.randint(0, cells, (2 * n,), generator=g)
    half = torch.randint(0, cells // 2, (2 * n,), generator=g)
    col = 2 * half + (row + y) % 2  # a column of the right colour in that row
    side = 2.0 / cells
    x = torch.stack([-1 + side * (col + torch.rand(2 * n, generator=g)),
                     -1 + side * (row + torch.rand(2 * n, generator=g))], 1)
    return x, y


def plane(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A tilted plane: target (x1 + x2) / 2 over uniform points (a linear model fits it exactly)."""
    x = torch.stack([_u(n, g), _u(n, g)], 1)
    return x, x.sum(1, keepdim=True) / 2


BUMPS = ((-0.6, 0.4, 1.0), (0.0, 0.4, -1.0), (0.6, 0.4, 1.0), (-0.6, -0.4, -1.0), (0.0, -0.4, 1.0), (0.6, -0.4, -1.0))


def gaussian_mix(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Six Gaussian bumps of alternating sign (std 0.2) on a 3x2 grid: the target is their sum, in [-1, 1]."""
    x = torch.stack([_u(n, g), _u(n, g)], 1)
    c = torch.tensor(BUMPS)
    d2 = ((x[:, None, :] - c[None, :, :2]) ** 2).sum(2)  # (N, 6) squared distances to the bumps' centres
    return x, (c[:, 2] * torch.exp(-d2 / (2 * 0.2**2))).sum(1, keepdim=True)


@dataclass(frozen=True)
class PlanarSet:
    """One 2-D set: its task, its generator (None for the spiral, which has its own signature) and a description."""

    task: str  # "classification" | "regression"
    make: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None
    about: str


PLANAR: dict[str, PlanarSet] = {
    "spiral": PlanarSet("classification", None, "seed 002's spiral arms (Classes sets how many)"),
    "circle": PlanarSet("classification", circle, "a disc inside a ring"),
    "xor": PlanarSet("classification", xor, "opposite quadrants share a class"),
    "gaussians": PlanarSet("classification", gaussians, "two round clusters"),
    "moons": PlanarSet("classification", moons, "two interleaved half circles"),
    "checkerboard": PlanarSet("classification", checkerboard, "a 4x4 board of two colours"),
    "plane": PlanarSet("regression", plane, "a value over the plane: a tilted plane"),
    "gaussian_mix": PlanarSet("regression", gaussian_mix, "a value over the plane: six bumps, up and down"),
}


def planar_classes(name: str, classes: int) -> int:
    """Number of classes of a 2-D set (the spiral's is a setting; the others have two); 0 for a regression set."""
    if PLANAR[name].task == "regression":
        return 0
    return classes if name == "spiral" else 2


def planar_points(name: str, classes: int, points: int, noise: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All the points of a 2-D set before the split: `points` per class (per set, for a value over the plane)."""
    if name == "spiral":
        return spiral_points(classes, points, noise, seed)
    g = torch.Generator().manual_seed(seed)
    x, y = PLANAR[name].make(points, g)
    jitter = noise * NOISE_SCALE * torch.randn(x.shape if y.dtype == torch.long else y.shape, generator=g)
    if y.dtype == torch.long:  # classes: the points move, their labels stay (noise makes the classes overlap)
        return x + jitter, y
    return x, y + jitter  # a value over the plane: the measured value is noisy


def parse_points(text: str | list | None) -> tuple[tuple[float, float, float], ...]:
    """Added points written as "x1, x2, label; x1, x2, label" (the 2-D tab's box) -> (x1, x2, label) triples; a
    ConfigError naming the point that is not three numbers. Their range is checked with the rest of the config."""
    from .errors import ConfigError

    if isinstance(text, (list, tuple)):  # an API caller's list of triples, checked with the config
        return tuple(tuple(p) if isinstance(p, (list, tuple)) else p for p in text)
    out = []
    for i, part in enumerate((p.strip() for p in (text or "").replace("\n", ";").split(";")), start=1):
        if not part:
            continue
        try:
            values = tuple(float(v) for v in part.replace("(", "").replace(")", "").split(","))
        except ValueError:
            values = ()
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise ConfigError(f"added point {i} {part!r} is not three numbers x1, x2, label; write e.g. "
                              "\"0.3, -0.2, 1; -0.5, 0.4, 0\"")
        out.append((values[0], values[1], int(values[2]) if values[2].is_integer() else values[2]))
    return tuple(out)


def points_text(points) -> str:
    """Added points as the 2-D tab's box shows them: "0.31, -0.2, 1; ..." (the inverse of parse_points)."""
    return "; ".join(f"{x:g}, {y:g}, {label:g}" for x, y, label in points)
