"""Training-time augmentation of image batches, chosen by name (`RunConfig.augment`), applied in the trainer's batch
step on the training device: every epoch sees new variants, and the held-out images are never touched.

"digits" makes MNIST's tidy digits look like people's drawings: a random affine map per image (tilt, slant, size,
aspect, place), a smooth elastic wobble, and strokes made thicker or thinner. Vectorised over the batch (one
`grid_sample`), so it costs a small part of a CNN step. It also teaches "none of these": a share of each batch
(SCRIBBLE_SHARE) is replaced by scribbles that are no digit (`dlcore/data/hand_train.npz`, made by
`scripts/make_hand_train.py`). A replaced image keeps the label of the digit it replaced, and that label is unrelated
to the scribble, so over the epochs a scribble is paired with every digit about equally often: the loss is least when
the model spreads its probability evenly over the ten digits, and the app then says "not sure" (outlier exposure,
Hendrycks et al. 2019, with random labels standing in for the uniform target).

An augmentation returns the batch and which of its rows are still real samples of their labels (a bool (B,) tensor,
or None when all are; on the CPU): the trainer learns from every row but counts only the real ones in the training loss and
accuracy it reports, so a scribble's arbitrary label is not counted as a miss.
With the "digits" augmentation the data loader also adds the shipped drawn digits to MNIST's training split
(`dlcore.data.hand_digits`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import torch
import torch.nn.functional as F

from .errors import ConfigError


def _ink(x: torch.Tensor, norm: dict) -> tuple[torch.Tensor, float, float]:
    mean, std = float(norm["mean"][0]), float(norm["std"][0])
    return x * std + mean, mean, std


SCRIBBLE_SHARE = 0.05  # of each training batch; chosen on the development set (notes/hand-digits.md)


@cache
def scribble_bank() -> torch.Tensor:
    """The shipped scribbles as ink (N, 1, 28, 28) in [0, 1], framed as the app frames a drawing."""
    from .data import hand_scribbles

    return torch.from_numpy(hand_scribbles()).float().div_(255).unsqueeze(1)


def with_scribbles(ink: torch.Tensor, gen: torch.Generator, share: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ink (B, 1, 28, 28) with about `share` of its images replaced by scribbles (mirrored at random), and which rows
    were replaced (bool (B,), on the CPU)."""
    b = ink.shape[0]
    pick = torch.rand(b, generator=gen) < share
    bank = scribble_bank()
    idx = torch.randint(len(bank), (b,), generator=gen)
    flip_x, flip_y = (torch.rand(b, generator=gen) < 0.5 for _ in range(2))
    if not pick.any() or ink.shape[-2:] != bank.shape[-2:]:
        return ink, torch.zeros(b, dtype=torch.bool)
    s = bank[idx[pick]]
    s = torch.where(flip_x[pick].view(-1, 1, 1, 1), s.flip(-1), s)
    s = torch.where(flip_y[pick].view(-1, 1, 1, 1), s.flip(-2), s)
    out = ink.clone()
    out[pick.to(ink.device)] = s.to(ink.device, ink.dtype)
    return out, pick


def digits(x: torch.Tensor, norm: dict, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised images (B, 1, H, W) -> (randomly tilted, slanted, scaled, shifted, wobbled, thickened/thinned
    copies, about SCRIBBLE_SHARE of them scribbles in place of the digit; which rows are still digits, on the CPU)."""
    b, _, h, w = x.shape
    dev = x.device
    ink, mean, std = _ink(x, norm)
    ink, scribbled = with_scribbles(ink, gen, SCRIBBLE_SHARE)

    def u(lo: float, hi: float, n: int = b) -> torch.Tensor:
        return (torch.rand(n, generator=gen) * (hi - lo) + lo).to(dev)

    angle = u(-15, 15) * math.pi / 180
    shear = u(-0.3, 0.3)
    scale = u(0.9, 1.1)  # the framing always fits the longer side to 20 px: size varies little
    aspect = u(0.8, 1.2)
    sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
    tx, ty = u(-2.5, 2.5) * 2 / w, u(-2.5, 2.5) * 2 / h  # px -> grid units ([-1, 1] spans the image)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # the output pixel p samples the input at A^-1 (p - t): build A = R @ Shear @ Scale, then invert
    a = torch.stack([torch.stack([cos * sx, (cos * shear - sin) * sy], -1),
                     torch.stack([sin * sx, (sin * shear + cos) * sy], -1)], 1)  # (B, 2, 2)
    inv = torch.linalg.inv(a)
    theta = torch.cat([inv, -(inv @ torch.stack([tx, ty], -1).unsqueeze(-1))], -1)
    grid = F.affine_grid(theta, (b, 1, h, w), align_corners=False)
    # elastic: a smooth random displacement of up to ~1.5 px, from a coarse 4x4 field
    coarse = (torch.rand((b, 2, 4, 4), generator=gen) * 2 - 1).to(dev) * (1.5 * 2 / h)
    grid = grid + F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False).permute(0, 2, 3, 1)
    out = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # stroke width: 15 % thicker (3x3 dilation), 15 % thinner (a light erosion), the rest as drawn
    pick = torch.rand(b, generator=gen).to(dev).view(b, 1, 1, 1)
    thick = F.max_pool2d(out, 3, stride=1, padding=1)
    thin = 0.5 * (out - F.max_pool2d(-out, 3, stride=1, padding=1))  # half way to a 3x3 erosion
    out = torch.where(pick < 0.15, thick, torch.where(pick < 0.3, thin, out))
    return (out.clamp(0, 1) - mean) / std, ~scribbled


# (normalised batch, the data's norm, a generator) -> (augmented batch, which rows are real samples or None for all)
Augment = Callable[[torch.Tensor, dict, torch.Generator], tuple[torch.Tensor, torch.Tensor | None]]

AUGMENTATIONS: dict[str, Augment | None] = {
    "none": None,
    "digits": digits,  # for MNIST-like digits: tilt, slant, size, place, wobble, stroke width; scribbles; drawn digits
}


def build_augment(name: str) -> Augment | None:
    """The augmentation registered under `name` (None for "none")."""
    if name not in AUGMENTATIONS:
        raise ConfigError(f"augment {name!r} is unknown; choose from {sorted(AUGMENTATIONS)}")
    return AUGMENTATIONS[name]
