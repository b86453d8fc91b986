"""Optimizer, scheduler and loss registries, keyed by the names the user sees.

Every optimizer is stepped the same way, with a closure (L-BFGS needs it, the others accept it). Per-entry
defaults and facts (full-batch methods, which options apply) live in the registry entries, not in branches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError

if TYPE_CHECKING:
    from .config import RunConfig


class GradientDescent(torch.optim.Optimizer):
    """Plain gradient descent written out by hand as in seed 000: p -= lr * p.grad, then zero the grads.

    Weight decay, when set, adds weight_decay * p to the gradient (an L2 term's derivative).
    """

    def __init__(self, params, lr: float = 1e-2, weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad
                if group["weight_decay"]:
                    grad = grad + group["weight_decay"] * p
                p -= group["lr"] * grad
                p.grad.zero_()  # seed 000 zeroes the grads right after the update
        return loss


@dataclass(frozen=True)
class OptimizerSpec:
    build: Callable[..., torch.optim.Optimizer]  # (params, cfg) -> optimizer
    full_batch: bool = False  # a method that only makes sense on the whole training set
    about: str = ""
    weight_decay: bool = True  # takes the weight_decay setting (torch's Rprop and LBFGS have none)


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "gd": OptimizerSpec(lambda p, c: GradientDescent(p, lr=c.lr, weight_decay=c.weight_decay),
                        about="hand-written gradient descent (seed 000)"),
    "sgd": OptimizerSpec(lambda p, c: torch.optim.SGD(p, lr=c.lr, momentum=c.momentum, nesterov=c.nesterov and c.momentum > 0,
                                                      weight_decay=c.weight_decay),
                         about="stochastic gradient descent, optional (Nesterov) momentum"),
    "adam": OptimizerSpec(lambda p, c: torch.optim.Adam(p, lr=c.lr, weight_decay=c.weight_decay),
                          about="adaptive moments"),
    "adamw": OptimizerSpec(lambda p, c: torch.optim.AdamW(p, lr=c.lr, weight_decay=c.weight_decay),
                           about="Adam with decoupled weight decay"),
    "rmsprop": OptimizerSpec(lambda p, c: torch.optim.RMSprop(p, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay),
                             about="running mean of squared gradients"),
    "adagrad": OptimizerSpec(lambda p, c: torch.optim.Adagrad(p, lr=c.lr, weight_decay=c.weight_decay),
                             about="per-parameter rates from summed squared gradients"),
    "adadelta": OptimizerSpec(lambda p, c: torch.optim.Adadelta(p, lr=c.lr, weight_decay=c.weight_decay),
                              about="Adagrad without the decaying rate (lr 1.0 is its usual setting)"),
    "rprop": OptimizerSpec(lambda p, c: torch.optim.Rprop(p, lr=c.lr), full_batch=True, weight_decay=False,
                           about="sign-based steps; a full-batch method"),
    "lbfgs": OptimizerSpec(lambda p, c: torch.optim.LBFGS(p, lr=c.lr, max_iter=20, history_size=10,
                                                          line_search_fn="strong_wolfe"),
                           full_batch=True, weight_decay=False, about="quasi-Newton with line search; a full-batch method"),
}


def build_optimizer(name: str, params, cfg: RunConfig) -> torch.optim.Optimizer:
    """An optimizer by registry name over `params`, with the config's lr and options."""
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer {name!r} is unknown; choose from {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name].build(params, cfg)


SCHEDULERS: dict[str, Callable[[torch.optim.Optimizer, RunConfig], object | None]] = {
    "none": lambda opt, c: None,
    "step": lambda opt, c: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9),  # seed 001, per epoch
    "cosine": lambda opt, c: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=c.epochs),
}


def build_scheduler(name: str, opt: torch.optim.Optimizer, cfg: RunConfig):
    """A per-epoch learning-rate scheduler by name, or None."""
    if name not in SCHEDULERS:
        raise ConfigError(f"scheduler {name!r} is unknown; choose from {sorted(SCHEDULERS)}")
    return SCHEDULERS[name](opt, cfg)


def _mse_onehot(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(torch.softmax(logits, dim=1), F.one_hot(y, logits.shape[1]).to(logits.dtype))


# Losses take the model's raw output: logits (B, C) with int labels (B,), or values (B, 1) with targets (B, 1).
LOSSES: dict[str, dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = {
    "classification": {
        "cross_entropy": F.cross_entropy,
        "nll": lambda logits, y: F.nll_loss(F.log_softmax(logits, dim=1), y),  # seed 001: log-softmax + NLL
        "mse": _mse_onehot,  # softmax probabilities against one-hot labels
    },
    "regression": {
        "mse": F.mse_loss,
        "l1": F.l1_loss,
        "huber": F.huber_loss,
    },
}


def build_loss(task: str, name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss function for a task by registry name."""
    if name not in LOSSES.get(task, {}):
        raise ConfigError(f"loss {name!r} does not apply to {task}; choose from {sorted(LOSSES.get(task, {}))}")
    return LOSSES[task][name]


def penalty(model: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """l1 * sum|w| + l2 * sum w^2 over the weight matrices (biases and norms excluded)."""
    if not (l1 or l2):
        return 0.0
    total = 0.0
    for p in model.parameters():
        if p.ndim > 1:
            if l1:
                total = total + l1 * p.abs().sum()
            if l2:
                total = total + l2 * p.pow(2).sum()
    return total
