"""Activation and architecture registries, and the one builder that turns a RunConfig into a model.

As in micrograd, the non-linearity goes only *between* layers: the output layer is always linear (logits or a
regression value), and losses apply their own softmax/log-softmax.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch import nn

from .errors import ConfigError
from .features import RAW, FeatureInput
from .limits import Limits
from .planar import PLANAR

if TYPE_CHECKING:
    from .config import RunConfig

EVAL_CHUNK = 4096  # rows per forward pass when evaluating, to bound activation memory

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "identity": nn.Identity,  # linear: stacking layers then adds no expressive power (seed 002's point)
}


FFN_HIDDEN = (256, 128, 64)  # seed 001's feed-forward net: 784-256-128-64-10

def build_activation(name: str) -> nn.Module:
    """A fresh activation module by registry name."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"activation {name!r} is unknown; choose from {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _mlp(sizes: list[int], activation: str, dropout: float = 0.0, batch_norm: bool = False) -> list[nn.Module]:
    """Linear layers through `sizes`, with (batch norm,) activation (and dropout) between them, none at the end."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(build_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return layers


def planar_features(cfg: RunConfig) -> tuple[str, ...]:
    """A 2-D set's input features (x1, x2, x1x2, ...); a table's `features` are its columns, read by dlcore.tabular."""
    return tuple(cfg.features) if cfg.dataset in PLANAR else ()


def _flat_in(in_shape: tuple[int, ...], features: tuple[str, ...] = ()) -> tuple[list[nn.Module], int]:
    """The layers before the first linear one (a flatten for images, the input features of a 2-D set) and its
    number of inputs."""
    if features and tuple(features) != RAW:  # the raw x1, x2 need no layer (and keep older checkpoints' names)
        return [FeatureInput(features)], len(features)
    n = 1
    for s in in_shape:
        n *= s
    return ([nn.Flatten()] if len(in_shape) > 1 else []), n


def build_linear(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    flat, n_in = _flat_in(in_shape, planar_features(cfg))
    return nn.Sequential(*flat, nn.Linear(n_in, n_out))


def build_mlp(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    flat, n_in = _flat_in(in_shape, planar_features(cfg))
    return nn.Sequential(*flat, *_mlp([n_in, *cfg.hidden, n_out], cfg.activation, cfg.dropout, cfg.batch_norm))


def build_ffn(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    """Seed 001's feed-forward net: 784-256-128-64-10, dropout 0.2 after each hidden activation."""
    flat, n_in = _flat_in(in_shape)
    return nn.Sequential(*flat, *_mlp([n_in, *FFN_HIDDEN, n_out], cfg.activation, dropout=0.2))


def build_cnn(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    """A small LeNet-style convnet for (1, 28, 28) images."""
    if len(in_shape) != 3:
        raise ConfigError(f"model 'cnn' needs image input, got input shape {in_shape}; use 'mlp' or 'linear'")
    c, h, w = in_shape
    act = cfg.activation
    return nn.Sequential(
        nn.Conv2d(c, 16, 5, padding=2), build_activation(act), nn.MaxPool2d(2),  # (B, 16, 14, 14)
        nn.Conv2d(16, 32, 5, padding=2), build_activation(act), nn.MaxPool2d(2),  # (B, 32, 7, 7)
        nn.Flatten(),
        nn.Linear(32 * (h // 4) * (w // 4), 128), build_activation(act), nn.Dropout(0.25),
        nn.Linear(128, n_out),
    )


def build_cnn_bn(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    """A small, fast convnet with batch norm for (1, 28, 28) images: a strided 5x5 convolution, two 3x3 ones, and one
    linear layer (55k parameters; cheaper per image than the LeNet-style `cnn`, and it learns in fewer epochs)."""
    if len(in_shape) != 3:
        raise ConfigError(f"model 'cnn_bn' needs image input, got input shape {in_shape}; use 'mlp' or 'linear'")
    c, h, w = in_shape
    act = cfg.activation

    def block(n_in: int, n_out: int, k: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(n_in, n_out, k, stride=stride, padding=k // 2, bias=False), nn.BatchNorm2d(n_out),
                build_activation(act)]

    return nn.Sequential(
        *block(c, 16, 5, stride=2),  # (B, 16, 14, 14)
        *block(16, 32, 3), nn.MaxPool2d(2),  # (B, 32, 7, 7)
        *block(32, 64, 3),  # (B, 64, 7, 7)
        nn.Flatten(), nn.Dropout(0.2),
        nn.Linear(64 * ((h + 1) // 4) * ((w + 1) // 4), n_out),
    )


PATCH = 4  # cnn_patch: the side of the non-overlapping patches its first convolution embeds


def build_cnn_patch(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> nn.Module:
    """A convnet built for speed to accuracy on (1, 28, 28) images: one convolution with a 4x4 kernel and stride 4
    embeds each 4x4 patch (7x7 of them), one 3x3 convolution mixes neighbouring patches, batch norm after both, and
    one linear layer (50k parameters). Everything after the first layer runs on 7x7 maps, so a training step costs
    about a quarter of the LeNet-style `cnn`'s (Fashion-MNIST figures: bench/bench_fashion.py)."""
    if len(in_shape) != 3:
        raise ConfigError(f"model 'cnn_patch' needs image input, got input shape {in_shape}; use 'mlp' or 'linear'")
    c, h, w = in_shape
    if h < PATCH or w < PATCH:
        raise ConfigError(f"model 'cnn_patch' needs images of at least {PATCH}x{PATCH} pixels, got {h}x{w}")
    act = cfg.activation
    return nn.Sequential(
        nn.Conv2d(c, 32, PATCH, stride=PATCH, bias=False), nn.BatchNorm2d(32), build_activation(act),  # (B, 32, 7, 7)
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), build_activation(act),  # (B, 64, 7, 7)
        nn.Flatten(),
        nn.Linear(64 * (h // PATCH) * (w // PATCH), n_out),
    )


ARCHITECTURES: dict[str, Callable[[RunConfig, tuple[int, ...], int], nn.Module]] = {
    "linear": build_linear,  # no hidden layer: logistic / linear regression
    "mlp": build_mlp,
    "ffn": build_ffn,
    "cnn": build_cnn,  # LeNet-style, 215k parameters: the Digits tab's CNN until 2026-11 (its checkpoints still load)
    "cnn_bn": build_cnn_bn,
    "cnn_patch": build_cnn_patch,  # the Digits tab's defaults for Fashion-MNIST (dlcore/presets.py)
}
IMAGE_MODELS = ("ffn", "cnn", "cnn_bn", "cnn_patch")  # need 28x28 image input


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def estimate_params(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int) -> int:
    """Parameter count without allocating the weights (meta device), for the UI and the size cap."""
    with torch.device("meta"):
        return count_params(ARCHITECTURES[cfg.model](cfg, tuple(in_shape), n_out))


MAX_MEMBERS = 5  # nets in an ensemble at most (the shipped digits model has 3)


class Ensemble(nn.Module):
    """Several nets of one architecture, trained apart (other seeds), answering together: the log of their mean class
    probabilities, so softmax, argmax and the cross-entropy loss treat it as one classifier's logits (the loss is then
    the mixture's negative log-likelihood, which is what fine-tuning it together minimises).

    A classifier's ensemble only: averaging probabilities is what removes one seed's luck (a drawing that one net
    misreads is outvoted by two that read it), at the cost of one forward pass per member."""

    def __init__(self, members: list[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logp = torch.stack([torch.log_softmax(m(x), 1) for m in self.members])
        return torch.logsumexp(logp, 0) - math.log(len(self.members))


def build_model(cfg: RunConfig, in_shape: tuple[int, ...], n_out: int, limits: Limits | None = None,
                members: int = 1) -> nn.Module:
    """Build the architecture named by cfg.model (an `Ensemble` of `members` of them when more than one, for a
    classifier), checking the parameter cap first (over all members)."""
    if cfg.model not in ARCHITECTURES:
        raise ConfigError(f"model {cfg.model!r} is unknown; choose from {sorted(ARCHITECTURES)}")
    if not isinstance(members, int) or not 1 <= members <= MAX_MEMBERS:
        raise ConfigError(f"an ensemble has 1 to {MAX_MEMBERS} members, not {members!r}")
    if members > 1 and cfg.task != "classification":
        raise ConfigError(f"an ensemble averages class probabilities: it is for classifiers, not {cfg.task}")
    limits = limits or Limits.from_env()
    n = estimate_params(cfg, in_shape, n_out) * members
    if n > limits.max_params:
        raise ConfigError(
            f"the model would have {n:,} parameters, over the limit of {limits.max_params:,}; "
            "use fewer or smaller hidden layers (or raise DLCORE_MAX_PARAMS)"
        )
    if members > 1:
        return Ensemble([ARCHITECTURES[cfg.model](cfg, tuple(in_shape), n_out) for _ in range(members)])
    return ARCHITECTURES[cfg.model](cfg, tuple(in_shape), n_out)


def first_member(model: nn.Module) -> nn.Module:
    """The model itself, or an ensemble's first net (for views of one net's layers)."""
    return model.members[0] if isinstance(model, Ensemble) else model


@torch.no_grad()
def forward_chunked(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's output over x in chunks, in eval mode (restoring the previous mode)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i:i + EVAL_CHUNK]) for i in range(0, len(x), EVAL_CHUNK)])
    finally:
        model.train(was_training)
