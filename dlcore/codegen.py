"""Copy as code: a short standalone PyTorch script (no dlcore import) that rebuilds a run's data, model, optimizer
and loop with the same settings. Run it with `python script.py [EPOCHS]`.
"""

from __future__ import annotations

from importlib import resources

from .config import RunConfig

ACT = {"relu": "nn.ReLU()", "leaky_relu": "nn.LeakyReLU(0.01)", "elu": "nn.ELU()", "gelu": "nn.GELU()",
       "silu": "nn.SiLU()", "mish": "nn.Mish()", "tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()",
       "softplus": "nn.Softplus()", "identity": "nn.Identity()"}

OPT = {
    "sgd": "torch.optim.SGD(model.parameters(), lr=LR, momentum={momentum}, nesterov={nesterov}, weight_decay={wd})",
    "adam": "torch.optim.Adam(model.parameters(), lr=LR, weight_decay={wd})",
    "adamw": "torch.optim.AdamW(model.parameters(), lr=LR, weight_decay={wd})",
    "rmsprop": "torch.optim.RMSprop(model.parameters(), lr=LR, momentum={momentum}, weight_decay={wd})",
    "adagrad": "torch.optim.Adagrad(model.parameters(), lr=LR, weight_decay={wd})",
    "adadelta": "torch.optim.Adadelta(model.parameters(), lr=LR, weight_decay={wd})",
    "rprop": "torch.optim.Rprop(model.parameters(), lr=LR)",
    "lbfgs": "torch.optim.LBFGS(model.parameters(), lr=LR, max_iter=20, history_size=10, line_search_fn='strong_wolfe')",
    "gd": None,  # written out by hand below
}

LOSS = {  # {o}: the model's output, {t}: the targets
    ("classification", "cross_entropy"): "F.cross_entropy({o}, {t})",
    ("classification", "nll"): "F.nll_loss(F.log_softmax({o}, dim=1), {t})",
    ("classification", "mse"): "F.mse_loss(torch.softmax({o}, 1), F.one_hot({t}, {o}.shape[1]).float())",
    ("regression", "mse"): "F.mse_loss({o}, {t})",
    ("regression", "l1"): "F.l1_loss({o}, {t})",
    ("regression", "huber"): "F.huber_loss({o}, {t})",
}

DATA = {
    "spiral": '''def load_data():
    """Seed 002's spiral: t in [0,1], theta = linspace(2*pi*c/C, 2*pi*(2+c)/C) + noise*randn; x = t*(sin, cos)."""
    g = torch.Generator().manual_seed(SEED)
    xs, ys = [], []
    for c in range({classes}):
        t = torch.linspace(0, 1, {points})
        theta = torch.linspace(2 * math.pi * c / {classes}, 2 * math.pi * (2 + c) / {classes}, {points})
        theta = theta + {noise} * torch.randn({points}, generator=g)
        xs.append(torch.stack([t * torch.sin(theta), t * torch.cos(theta)], dim=1))
        ys.append(torch.full(({points},), c, dtype=torch.long))
    x, y = torch.cat(xs), torch.cat(ys)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED + 1))
    n = int(round(len(x) * {train_fraction}))
    return x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]
''',
    "boston": '''CSV = sys.argv[2] if len(sys.argv) > 2 else {csv!r}


def load_data():
    """Boston housing, 85/15 split as sklearn's train_test_split(test_size=0.15, random_state=SEED) picks it."""
    with open(CSV) as f:
        rows = list(csv.reader(f))
    names, table = rows[0][:13], np.array(rows[1:], dtype=np.float64)
    keep = [j for j, n in enumerate(names) if not ({drop_b} and n == "B")]
    x, y = table[:, keep], table[:, 13:14]
    perm = np.random.RandomState(SEED).permutation(len(x))
    n_test = math.ceil(len(x) * 0.15)
    te, tr = perm[:n_test], perm[n_test:]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)  # the training split's statistics only
    x = (x - mean) / std
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    return t(x[tr]), t(y[tr]), t(x[te]), t(y[te])
''',
    "images": '''def load_data():
    """{title} from torchvision, as one resident tensor, normalised as in seed 001."""
    import torchvision
    root = os.environ.get("DATA", "data")
    sets = [torchvision.datasets.{tv}(root, train=train, download=True) for train in (True, False)]
    prep = lambda d: ((d.data.float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
    return prep(sets[0]), sets[0].targets, prep(sets[1]), sets[1].targets
''',
}


def _model_code(cfg: RunConfig, n_in: int, n_out: int) -> str:
    act = ACT[cfg.activation]
    if cfg.model == "cnn":
        return (f"nn.Sequential(\n        nn.Conv2d(1, 16, 5, padding=2), {act}, nn.MaxPool2d(2),\n"
                f"        nn.Conv2d(16, 32, 5, padding=2), {act}, nn.MaxPool2d(2), nn.Flatten(),\n"
                f"        nn.Linear(32 * 7 * 7, 128), {act}, nn.Dropout(0.25), nn.Linear(128, {n_out}))")
    hidden = {"linear": (), "mlp": cfg.hidden, "ffn": (256, 128, 64)}[cfg.model]
    dropout = 0.2 if cfg.model == "ffn" else cfg.dropout
    sizes = [n_in, *hidden, n_out]
    parts = ["nn.Flatten()"] if cfg.dataset in ("mnist", "fashion") else []
    for i in range(len(sizes) - 1):
        parts.append(f"nn.Linear({sizes[i]}, {sizes[i + 1]})")
        if i < len(sizes) - 2:
            if cfg.batch_norm and cfg.model == "mlp":
                parts.append(f"nn.BatchNorm1d({sizes[i + 1]})")
            parts.append(act)
            if dropout > 0:
                parts.append(f"nn.Dropout({dropout})")
    return "nn.Sequential(\n        " + ",\n        ".join(parts) + ")"


def to_pytorch_code(cfg: RunConfig) -> str:
    """A standalone script reproducing `cfg`'s run in plain PyTorch."""
    task = cfg.task
    n_in = {"spiral": 2, "boston": 12 if cfg.drop_b else 13}.get(cfg.dataset, 784)
    n_out = {"spiral": cfg.classes, "boston": 1}.get(cfg.dataset, 10)
    if cfg.dataset == "spiral":
        data = DATA["spiral"].format(classes=cfg.classes, points=cfg.points, noise=cfg.noise,
                                     train_fraction=cfg.train_fraction)
    elif cfg.dataset == "boston":
        csv_path = str(resources.files("dlcore").joinpath("data/boston_housing.csv"))
        data = DATA["boston"].format(csv=csv_path, drop_b=cfg.drop_b)
    else:
        tv, title = ("MNIST", "MNIST") if cfg.dataset == "mnist" else ("FashionMNIST", "Fashion-MNIST")
        data = DATA["images"].format(tv=tv, title=title)
    if cfg.optimizer == "gd":
        opt = "None  # plain gradient descent, written by hand in step() below"
        step = ("            closure()\n"
                "            with torch.no_grad():  # w <- w - lr * dL/dw, then zero the grads (seed 000)\n"
                "                for p in model.parameters():\n"
                f"                    p -= LR * (p.grad + {cfg.weight_decay!r} * p)\n"
                "                    p.grad.zero_()\n")
    else:
        opt = OPT[cfg.optimizer].format(momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0,
                                        wd=cfg.weight_decay)
        step = "            opt.step(closure)\n"
    sched = {"none": "None", "step": "torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)",
             "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)"}[cfg.scheduler]
    if cfg.optimizer == "gd" and cfg.scheduler != "none":
        sched = "None  # schedulers need a torch optimizer; the hand-written update keeps lr fixed"
    full_batch = cfg.batch_size == 0 or cfg.optimizer in ("lbfgs", "rprop")
    penalty = ""
    if cfg.l1 or cfg.l2:
        penalty = (f" + sum({cfg.l1!r} * p.abs().sum() + {cfg.l2!r} * p.pow(2).sum() "
                   "for p in model.parameters() if p.ndim > 1)")
    metric = ("(out.argmax(1) == y_test).float().mean().item()" if task == "classification"
              else "F.mse_loss(out, y_test).sqrt().item()")
    loss = LOSS[(task, cfg.loss_name)]
    metric_name = "accuracy" if task == "classification" else "rmse"
    return f'''"""Standalone PyTorch version of a playground run: {cfg.dataset}, {cfg.model}, {cfg.optimizer} lr {cfg.lr:g}.

Generated by the neural-network playground; needs only torch (and numpy{", torchvision" if n_in == 784 else ""}).
Usage: python this_script.py [EPOCHS]
"""
import csv
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEED = {cfg.seed}
LR = {cfg.lr!r}
EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else {cfg.epochs}
BATCH = {"None  # full batch" if full_batch else cfg.batch_size}


{data}

def main():
    x, y, x_test, y_test = load_data()
    torch.manual_seed(SEED)
    model = {_model_code(cfg, n_in, n_out)}
    opt = {opt}
    sched = {sched}
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(1, EPOCHS + 1):
        model.train()
        perm = torch.arange(len(x)) if BATCH is None else torch.randperm(len(x), generator=g)
        size = len(x) if BATCH is None else BATCH
        total = 0.0
        for i in range(0, len(x), size):
            xb, yb = x[perm[i:i + size]], y[perm[i:i + size]]
            losses = []

            def closure():
                model.zero_grad()
                out = model(xb)
                loss = {loss.format(o="out", t="yb")}{penalty}
                loss.backward()
                losses.append(loss.item())
                return loss

{step}            total += losses[0] * len(xb)
        if sched is not None:
            sched.step()
        model.eval()
        with torch.no_grad():
            out = model(x_test)
            test_loss = {loss.format(o="out", t="y_test")}.item()
            metric = {metric}
        print(f"epoch {{epoch}}: train loss {{total / len(x):.6f}}, test loss {{test_loss:.6f}}, "
              f"test {metric_name} {{metric:.4f}}", flush=True)


if __name__ == "__main__":
    main()
'''
