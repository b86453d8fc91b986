"""Input features of the 2-D sets: what the network sees of a point (x1, x2), chosen by name.

A model for a 2-D set starts with a `FeatureInput` layer (no weights) that turns each raw point into the chosen
features, so everything that feeds a model points (probes, the decision picture, the network view, checkpoints,
the CLI) keeps passing raw (x1, x2), and the first linear layer has one input per chosen feature.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .errors import ConfigError

RAW = ("x1", "x2")  # what a 2-D model sees with no features chosen (and what older checkpoints saw)

FEATURES: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = {  # name -> (label, (N, 2) -> (N,))
    "x1": ("x₁", lambda p: p[:, 0]),
    "x2": ("x₂", lambda p: p[:, 1]),
    "x1sq": ("x₁²", lambda p: p[:, 0] * p[:, 0]),
    "x2sq": ("x₂²", lambda p: p[:, 1] * p[:, 1]),
    "x1x2": ("x₁x₂", lambda p: p[:, 0] * p[:, 1]),
    "sinx1": ("sin x₁", lambda p: torch.sin(p[:, 0])),
    "sinx2": ("sin x₂", lambda p: torch.sin(p[:, 1])),
}
CODE = {"x1": "p[:, 0]", "x2": "p[:, 1]", "x1sq": "p[:, 0] * p[:, 0]", "x2sq": "p[:, 1] * p[:, 1]",
        "x1x2": "p[:, 0] * p[:, 1]", "sinx1": "torch.sin(p[:, 0])", "sinx2": "torch.sin(p[:, 1])"}  # for codegen
TEXT = {"x1": "x1", "x2": "x2", "x1sq": "x1^2", "x2sq": "x2^2", "x1x2": "x1*x2", "sinx1": "sin x1",
        "sinx2": "sin x2"}  # plain-text labels, for pictures drawn with a font that has no sub- or superscripts
# other spellings people type, e.g. on the command line or in a link
ALIASES = {"x1^2": "x1sq", "x1²": "x1sq", "x2^2": "x2sq", "x2²": "x2sq", "x1*x2": "x1x2", "sin(x1)": "sinx1",
           "sin(x2)": "sinx2", "sin x1": "sinx1", "sin x2": "sinx2", **{label: name for name, (label, _) in FEATURES.items()}}
EXAMPLE = "x1,x2,x1x2"


def parse_features(value: str | list | tuple | None) -> tuple[str, ...]:
    """"x1,x2,x1x2" (or a list of names) as a tuple of feature names in the registry's order; a ConfigError for an
    unknown name or for none at all."""
    if value is None:
        parts = []
    elif isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
    elif isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value):
        parts = [p.strip() for p in value]
    else:
        raise ConfigError(f"input features {value!r} must be names such as {EXAMPLE!r}; choose from {list(FEATURES)}")
    names = set()
    for part in parts:
        name = ALIASES.get(part, part.lower())
        if name not in FEATURES:
            raise ConfigError(f"input feature {part!r} is unknown; choose from {list(FEATURES)} (e.g. {EXAMPLE!r})")
        names.add(name)
    if not names:
        raise ConfigError(f"every input feature is off; turn on at least one, e.g. x1 and x2 ({EXAMPLE!r})")
    return tuple(n for n in FEATURES if n in names)


def feature_map(points: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
    """Raw points (N, 2) -> the chosen features (N, F), in `names` order."""
    return torch.stack([FEATURES[n][1](points) for n in names], dim=1)


class FeatureInput(nn.Module):
    """The first layer of a 2-D model: raw points (N, 2) -> the chosen features (N, F). It has no weights."""

    def __init__(self, names: tuple[str, ...]):
        super().__init__()
        self.names = tuple(names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return feature_map(x, self.names)

    def extra_repr(self) -> str:
        return ", ".join(self.names)
