"""What an image model sees: its first layer's weights, the feature maps of one input layer by layer, and a saliency
map of which pixels pushed its answer up or down. Arrays only; `dlcore.plots` draws them.

Saliency is gradient x input: the gradient of the top class's logit with respect to each input pixel, times that
pixel's ink (its distance from a blank canvas, in the model's normalised units). Positive: this ink made the answer
more likely; negative: it argued against it. One backward pass, so it can follow every stroke.

An ensemble (dlcore.models.Ensemble, the shipped digits model) answers together, so its saliency is the whole
ensemble's (its "logit" is the log of the members' mean probability); its filters and feature maps are its first
net's, one of nets that each see the drawing alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .models import first_member
from .records import TrainedModel


@dataclass
class LayerMaps:
    """One convolutional layer's feature maps for one input, the strongest (largest mean activation) first."""

    name: str  # e.g. "conv 1 (16 maps, 28x28)"
    maps: np.ndarray  # (C, H, W), float32, in the order of `strength`
    strength: np.ndarray  # (C,) mean activation of each map
    index: np.ndarray  # (C,) each map's channel number in the layer


def _normalised(tm: TrainedModel, img28: np.ndarray) -> torch.Tensor:
    mean, std = tm.meta["norm"]["mean"][0], tm.meta["norm"]["std"][0]
    x = (np.asarray(img28, dtype=np.float32) - mean) / std
    return torch.from_numpy(x).reshape(1, 1, 28, 28).to(tm.device)


def _first_linear_or_conv(model: nn.Module) -> nn.Module | None:
    return next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)


def has_conv(tm: TrainedModel) -> bool:
    """The model starts with a convolution (filters and feature maps apply)."""
    return isinstance(_first_linear_or_conv(tm.model), nn.Conv2d)


def first_layer_filters(tm: TrainedModel) -> np.ndarray:
    """A convnet's first-layer kernels (K, kh, kw), input channel 0."""
    conv = _first_linear_or_conv(tm.model)
    if not isinstance(conv, nn.Conv2d):
        raise ValueError("the model has no convolution to show filters of")
    return conv.weight.detach()[:, 0].cpu().numpy()


def first_layer_templates(tm: TrainedModel, limit: int = 32) -> tuple[np.ndarray, list[str]]:
    """A dense model's first-layer weights as 28x28 images, with a caption each.

    Logistic regression has one template per class (its ten classic "average digits"); a deeper net's first layer
    has many units: the `limit` with the largest weights are shown."""
    layer = _first_linear_or_conv(tm.model)
    if not isinstance(layer, nn.Linear) or layer.in_features != 28 * 28:
        raise ValueError("the model's first layer does not read the 28x28 pixels directly")
    w = layer.weight.detach().cpu().numpy().reshape(-1, 28, 28)
    if layer.out_features == len(tm.meta.get("class_names", [])):
        return w, [f"class {c}" for c in tm.meta["class_names"]]
    order = np.argsort(-np.abs(w).reshape(len(w), -1).sum(1))[:limit]
    return w[order], [f"unit {i}" for i in order]


@torch.no_grad()
def feature_maps(tm: TrainedModel, img28: np.ndarray) -> list[LayerMaps]:
    """The activations after each convolution (and its norm and non-linearity) for one (28, 28) input (an ensemble's:
    its first net's, as the filters are)."""
    model = first_member(tm.model)
    if not isinstance(model, nn.Sequential):
        return []
    out: list[LayerMaps] = []
    was = model.training
    model.eval()
    try:
        x = _normalised(tm, img28)
        seen_conv = 0
        pending = False
        for layer in model:
            x = layer(x)
            if isinstance(layer, nn.Conv2d):
                seen_conv += 1
                pending = True
            elif pending and not isinstance(layer, (nn.BatchNorm2d,)):
                maps = x[0].cpu().numpy()
                strength = maps.reshape(len(maps), -1).mean(1)
                order = np.argsort(-strength)
                c, h, w = maps.shape
                out.append(LayerMaps(f"conv {seen_conv} ({c} maps, {h}x{w})", maps[order], strength[order], order))
                pending = False
    finally:
        model.train(was)
    return out


def saliency(tm: TrainedModel, img28: np.ndarray) -> tuple[np.ndarray, str]:
    """Gradient x input (28, 28) for the top class, and that class's name; see the module's docstring."""
    model = tm.model
    was = model.training
    model.eval()
    try:
        x = _normalised(tm, img28).requires_grad_(True)
        with torch.enable_grad():
            logits = model(x)
            top = int(logits.argmax(1))
            (grad,) = torch.autograd.grad(logits[0, top], x)  # the input's gradient only: the weights are untouched
        std = tm.meta["norm"]["std"][0]
        ink = torch.from_numpy(np.asarray(img28, dtype=np.float32)).to(x.device) / std  # x minus a blank canvas
        sal = (grad[0, 0] * ink).detach().cpu().numpy()
    finally:
        model.train(was)
    return sal, tm.meta["class_names"][top]
