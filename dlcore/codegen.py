"""Copy as code: a short standalone PyTorch script (no dlcore import) that rebuilds a run's data, model, optimizer
and loop with the same settings. Run it with `python script.py [EPOCHS]`; it prints about ten progress lines (every
~10 % of the epochs) and a last line with the final train and test metrics.

The script follows dlcore's trainer step for step (same data formula and split, `torch.manual_seed(SEED)` before
the model, the same minibatch order, the pre-step loss averaged over the epoch), so on the CPU it prints the
training losses the playground recorded for the same run.
"""

from __future__ import annotations

import inspect
from importlib import resources

from . import planar
from .config import RunConfig
from .features import CODE, RAW
from .models import FFN_HIDDEN
from .optim import OPTIMIZERS
from .planar import PLANAR, planar_classes

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
    "gd": "",  # no torch optimizer: the update is written out by hand (see _step_code)
}

LOSS = {  # {o}: the model's output, {t}: the targets
    ("classification", "cross_entropy"): "F.cross_entropy({o}, {t})",
    ("classification", "nll"): "F.nll_loss(F.log_softmax({o}, dim=1), {t})",
    ("classification", "mse"): "F.mse_loss(torch.softmax({o}, 1), F.one_hot({t}, {o}.shape[1]).float())",
    ("regression", "mse"): "F.mse_loss({o}, {t})",
    ("regression", "l1"): "F.l1_loss({o}, {t})",
    ("regression", "huber"): "F.huber_loss({o}, {t})",
}

SCHED = {  # a torch scheduler, and the same schedule written out for the hand-written update
    "none": ("", "lr = LR\n"),
    "step": ("torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)",
             "lr = LR * 0.9 ** (epoch - 1)  # StepLR(step_size=1, gamma=0.9)\n"),
    "cosine": ("torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)",
               "lr = LR * (1 + math.cos(math.pi * (epoch - 1) / EPOCHS)) / 2  # cosine annealing\n"),
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
    n = int(round(len(x) * {train_fraction}))  # the rest is held out
    return x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]
''',
    "boston": '''CSV = sys.argv[2] if len(sys.argv) > 2 else {csv!r}


def load_data():
    """Boston housing, 85/15 split as sklearn's train_test_split(test_size=0.15, random_state=SEED) picks it."""
    with open(CSV) as f:
        rows = list(csv.reader(f))
    names, table = rows[0][:13], np.array(rows[1:], dtype=np.float64)
    keep = {keep}
    x, y = table[:, keep], table[:, 13:14]  # features; MEDV in $1000s
    perm = np.random.RandomState(SEED).permutation(len(x))
    n_test = math.ceil(len(x) * 0.15)
    te, tr = perm[:n_test], perm[n_test:]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)  # the training split's statistics only
    x = (x - mean) / std
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    return t(x[tr]), t(y[tr]), t(x[te]), t(y[te])
''',
    "csv": '''CSV = sys.argv[2] if len(sys.argv) > 2 else {csv!r}
TARGET = {target!r}
FEATURES = {features!r}  # () = every column but the target
TASK = {task!r}
MISSING = {missing!r}  # "drop": a row with a gap is left out; "fill": gaps get the training median / most frequent


def keys(col):
    """Category values as text (whole numbers read as floats because of gaps keep no ".0"); gaps stay gaps."""
    values = col.dropna()
    if col.dtype.kind == "f" and (values == values.round()).all():
        col = col.astype("Int64")
    return col.astype(str).str.strip().where(col.notna())


def load_data():
    """Your table as the playground prepared it: rows without a target (with MISSING="drop": with any gap) left out,
    the split as sklearn's train_test_split(test_size={test}, random_state=SEED), numbers standardised and gaps filled
    with the training rows' statistics, categories one-hot encoded over the values the training rows have."""
    df = pd.read_csv(CSV, sep=None, engine="python", skipinitialspace=True, na_values=["?"])  # delimiter detected
    features = list(FEATURES) or [c for c in df.columns if c != TARGET]
    df = df[df[TARGET].notna()]
    if MISSING == "drop":
        df = df.dropna(subset=features)
    perm = np.random.RandomState(SEED).permutation(len(df))
    n_test = math.ceil(len(df) * {test})
    te, tr = perm[:n_test], perm[n_test:]
    blocks = []
    for name in features:
        col = df[name]
        if col.dtype.kind in "iuf":  # a number: standardised with the training rows' mean and std
            train = col.iloc[tr].dropna().to_numpy(float)
            v = col.fillna(np.median(train)).to_numpy(float)
            blocks.append(((v - train.mean()) / (train.std() or 1.0))[:, None])
        else:  # a category: one column per value the training rows have
            k = keys(col)
            counts = k.iloc[tr].value_counts()
            k = k.fillna(counts.index[0])
            blocks.append(np.stack([(k == c).to_numpy(float) for c in sorted(counts.index)], axis=1))
    x = torch.tensor(np.concatenate(blocks, axis=1), dtype=torch.float32)
    if TASK == "classification":
        k = keys(df[TARGET])
        numeric = df[TARGET].dtype.kind in "iuf"
        classes = sorted(k.unique(), key=float if numeric else str)
        y = torch.tensor(pd.Index(classes).get_indexer(k), dtype=torch.long)
    else:
        classes = [TARGET]
        y = torch.tensor(df[TARGET].to_numpy(float), dtype=torch.float32)[:, None]
    return x[tr], y[tr], x[te], y[te], len(classes)
''',
    "images": '''def load_data():
    """{title} from torchvision as resident tensors (N, 1, 28, 28), normalised as in seed 001."""
    import torchvision
    root = os.environ.get("DATA", "data")
    sets = [torchvision.datasets.{tv}(root, train=train, download=True) for train in (True, False)]
    prep = lambda d: ((d.data.float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
    return prep(sets[0]), sets[0].targets, prep(sets[1]), sets[1].targets
''',
}


PLANAR_LOAD = '''def load_data():
    """{about}: {points} points{per}, noise {noise}, split by the seed as the playground does."""
    g = torch.Generator().manual_seed(SEED)
    x, y = {name}({points}, g)
    if y.dtype == torch.long:  # classes: the points move, their labels stay
        x = x + {noise} * NOISE_SCALE * torch.randn(x.shape, generator=g)
    else:  # a value over the plane: the measured value is noisy
        y = y + {noise} * NOISE_SCALE * torch.randn(y.shape, generator=g)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(SEED + 1))
    n = int(round(len(x) * {train_fraction}))  # the rest is held out
    return x[perm[:n]], y[perm[:n]], x[perm[n:]], y[perm[n:]]
'''


def _planar_data(cfg: RunConfig) -> str:
    """The data part of a 2-D set's script: its generator (dlcore's own source), the split, added points, features."""
    if cfg.dataset == "spiral":
        code = DATA["spiral"].format(classes=cfg.classes, points=cfg.points, noise=cfg.noise,
                                     train_fraction=cfg.train_fraction)
    else:
        helpers = [planar._u, planar._labels, PLANAR[cfg.dataset].make]
        consts = f"NOISE_SCALE = {planar.NOISE_SCALE!r}\n"
        if cfg.dataset == "gaussian_mix":
            consts += f"BUMPS = {planar.BUMPS!r}\n"
        classes = PLANAR[cfg.dataset].task == "classification"
        code = consts + "\n\n" + "\n\n".join(inspect.getsource(f) for f in helpers) + "\n\n" + PLANAR_LOAD.format(
            about=PLANAR[cfg.dataset].about, points=cfg.points, per=" per class" if classes else "",
            noise=cfg.noise, name=PLANAR[cfg.dataset].make.__name__, train_fraction=cfg.train_fraction)
    if cfg.added_points:
        code = code.replace("def load_data():", "def load_generated():", 1) + (
            f"\n\nADDED = {[list(p) for p in cfg.added_points]!r}  # (x1, x2, label) added by clicking\n\n\n"
            "def load_data():\n"
            "    x, y, x_test, y_test = load_generated()\n"
            "    added = torch.tensor(ADDED, dtype=torch.float32)\n"
            "    label = added[:, 2].long() if y.dtype == torch.long else added[:, 2:]\n"
            "    return torch.cat([x, added[:, :2]]), torch.cat([y, label]), x_test, y_test\n")
    features = tuple(cfg.features or RAW)
    if features != RAW:
        code += ("\n\ndef features(p):\n"
                 f'    """The input features {", ".join(features)} of raw points p (N, 2)."""\n'
                 f"    return torch.stack([{', '.join(CODE[f] for f in features)}], dim=1)\n")
    return code


def _indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line if line.strip() else line for line in text.splitlines(keepends=True))


def _model_code(cfg: RunConfig, n_in: int, n_out: int) -> str:
    """The model as one nn.Sequential expression, layer for layer as dlcore.models builds it."""
    act = ACT[cfg.activation]
    if cfg.model == "cnn":
        return (f"nn.Sequential(\n    nn.Conv2d(1, 16, 5, padding=2), {act}, nn.MaxPool2d(2),  # (B, 16, 14, 14)\n"
                f"    nn.Conv2d(16, 32, 5, padding=2), {act}, nn.MaxPool2d(2), nn.Flatten(),  # (B, 32 * 7 * 7)\n"
                f"    nn.Linear(32 * 7 * 7, 128), {act}, nn.Dropout(0.25), nn.Linear(128, {n_out}))")
    if cfg.model == "cnn_bn":
        return (f"nn.Sequential(\n"
                f"    nn.Conv2d(1, 16, 5, stride=2, padding=2, bias=False), nn.BatchNorm2d(16), {act},  # (B, 16, 14, 14)\n"
                f"    nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), {act}, nn.MaxPool2d(2),  # (B, 32, 7, 7)\n"
                f"    nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), {act},  # (B, 64, 7, 7)\n"
                f"    nn.Flatten(), nn.Dropout(0.2), nn.Linear(64 * 7 * 7, {n_out}))")
    if cfg.model == "cnn_patch":
        return (f"nn.Sequential(\n"
                f"    nn.Conv2d(1, 32, 4, stride=4, bias=False), nn.BatchNorm2d(32), {act},  # 4x4 patches: (B, 32, 7, 7)\n"
                f"    nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), {act},  # (B, 64, 7, 7)\n"
                f"    nn.Flatten(), nn.Linear(64 * 7 * 7, {n_out}))")
    hidden = {"linear": (), "mlp": cfg.hidden, "ffn": FFN_HIDDEN}[cfg.model]
    dropout = 0.2 if cfg.model == "ffn" else cfg.dropout
    sizes = [n_in, *hidden, n_out]
    parts = ["nn.Flatten()"] if cfg.dataset in ("mnist", "fashion") else []
    for i in range(len(sizes) - 1):
        parts.append(f"nn.Linear({sizes[i]}, {sizes[i + 1]})")
        if i < len(sizes) - 2:  # the non-linearity only between layers; the output stays linear (logits)
            if cfg.batch_norm and cfg.model == "mlp":
                parts.append(f"nn.BatchNorm1d({sizes[i + 1]})")
            parts.append(act)
            if dropout > 0:
                parts.append(f"nn.Dropout({dropout})")
    return "nn.Sequential(\n    " + ",\n    ".join(parts) + ")"


def _step_code(cfg: RunConfig) -> str:
    """One training step on (xb, yb) that leaves the pre-step loss in `loss`, as dlcore's trainer records it."""
    zero = "model.zero_grad()" if cfg.optimizer == "gd" else "opt.zero_grad()"
    penalty = ""
    if cfg.l1:
        penalty += f"    loss = loss + {cfg.l1!r} * sum(p.abs().sum() for p in weights)  # L1 penalty\n"
    if cfg.l2:
        penalty += f"    loss = loss + {cfg.l2!r} * sum(p.pow(2).sum() for p in weights)  # L2 penalty\n"
    loss = LOSS[(cfg.task, cfg.loss_name)].format(o="model(xb)", t="yb")
    closure = f"\ndef closure():\n    {zero}\n    loss = {loss}\n{penalty}    loss.backward()\n    return loss\n\n"
    if cfg.optimizer != "gd":
        return closure + "loss = opt.step(closure)  # the loss before the step (L-BFGS: its first evaluation)\n"
    grad = f"(p.grad + {cfg.weight_decay!r} * p)" if cfg.weight_decay else "p.grad"
    return closure + ("loss = closure()\n"
                      "with torch.no_grad():  # seed 000's update: w <- w - lr * dL/dw, then zero the grads\n"
                      "    for p in model.parameters():\n"
                      f"        p -= lr * {grad}\n"
                      "        p.grad.zero_()\n")


def _load_line(cfg: RunConfig) -> str:
    """The script's first line of work, and what of the playground's run the plain loop leaves out."""
    first = "x, y, x_test, y_test, n_out = load_data()\n" if cfg.dataset == "csv" else "x, y, x_test, y_test = load_data()\n"
    if cfg.patience:
        first += f"# early stopping (patience {cfg.patience}) is left out: this loop trains every epoch\n"
    if cfg.augment != "none":
        first += f"# the {cfg.augment!r} augmentation is left out: this loop trains on the images as they are\n"
    return first


def to_pytorch_code(cfg: RunConfig) -> str:
    """A standalone script reproducing `cfg`'s run in plain PyTorch: same data, split, init, loop and losses."""
    task, images, flat = cfg.task, cfg.dataset in ("mnist", "fashion"), cfg.dataset in PLANAR
    n_in = {"boston": 12 if cfg.drop_b else 13, "csv": "x.shape[1]"}.get(
        cfg.dataset, len(cfg.features or RAW) if flat else 784)
    n_out = {"boston": 1, "csv": "n_out"}.get(cfg.dataset, (planar_classes(cfg.dataset, cfg.classes) or 1) if flat else 10)
    if cfg.dataset == "csv":  # sizes known once the table is read: the script takes them from its data
        data = DATA["csv"].format(csv=cfg.csv, target=cfg.target, features=tuple(cfg.features), task=task,
                                  missing=cfg.missing, test=round(1.0 - cfg.train_fraction, 9))
    elif flat:
        data = _planar_data(cfg)
    elif cfg.dataset == "boston":
        csv_path = str(resources.files("dlcore").joinpath("data/boston_housing.csv"))
        keep = '[j for j, n in enumerate(names) if n != "B"]  # without the B column' if cfg.drop_b else "list(range(13))"
        data = DATA["boston"].format(csv=csv_path, keep=keep)
    else:
        tv, title = ("MNIST", "MNIST") if cfg.dataset == "mnist" else ("FashionMNIST", "Fashion-MNIST")
        data = DATA["images"].format(tv=tv, title=title)

    setup = [f"model = {_model_code(cfg, n_in, n_out)}"]
    if cfg.l1 or cfg.l2:
        setup.append("weights = [p for p in model.parameters() if p.ndim > 1]  # penalties skip biases and norms")
    torch_sched, hand_sched = SCHED[cfg.scheduler]
    if cfg.optimizer == "gd":
        schedule = hand_sched
    else:
        schedule = ""
        setup.append("opt = " + OPT[cfg.optimizer].format(momentum=cfg.momentum, wd=cfg.weight_decay,
                                                          nesterov=cfg.nesterov and cfg.momentum > 0))
        if torch_sched:
            setup.append(f"sched = {torch_sched}")
    full_batch = cfg.batch_size == 0 or OPTIMIZERS[cfg.optimizer].full_batch
    step = _step_code(cfg)
    if full_batch:
        body = "xb, yb = x, y  # full batch: one step per epoch\n" + step + "total = loss.item() * len(x)\n"
    else:
        setup.append("g = torch.Generator().manual_seed(SEED)  # the order of the minibatches")
        body = ("perm = torch.randperm(len(x), generator=g)\ntotal = 0.0\nfor i in range(0, len(x), BATCH):\n"
                + _indent("xb, yb = x[perm[i:i + BATCH]], y[perm[i:i + BATCH]]\n" + step
                          + "total += loss.item() * len(xb)\n", 4))
    if torch_sched and cfg.optimizer != "gd":
        body += "sched.step()\n"
    forward = ("torch.cat([model(x[i:i + 4096]) for i in range(0, len(x), 4096)])" if images else "model(x)")
    loss_of = LOSS[(task, cfg.loss_name)].format(o="out", t="y")
    metric, metric_name = (("(out.argmax(1) == y).float().mean().item()", "accuracy") if task == "classification"
                           else ("F.mse_loss(out, y).sqrt().item()", "rmse"))
    evaluate = (f"def evaluate(model, x, y):\n"
                f'    """Loss and {metric_name} over a whole split, in eval mode."""\n'
                "    model.eval()\n"
                "    with torch.no_grad():\n"
                f"        out = {forward}\n"
                f"        return {loss_of}.item(), {metric}\n")
    kind = "spiral" if flat else cfg.dataset  # every 2-D set's script needs what the spiral's does
    imports = "\n".join(f"import {m}" for m in sorted(["math", "sys", *{"boston": ["csv"], "spiral": [], "csv": []}.get(kind,
                                                                                                          ["os"])]))
    if cfg.dataset == "boston":
        imports += "\n\nimport numpy as np"
    if cfg.dataset == "csv":
        imports += "\n\nimport numpy as np\nimport pandas as pd"
    needs = {"spiral": "torch", "boston": "torch and numpy", "csv": "torch, numpy and pandas"}.get(
        kind, "torch and torchvision")
    usage = {"boston": " [CSV]", "spiral": "", "csv": " [CSV]"}.get(
        kind, "  (images are downloaded into $DATA, default ./data)")
    batch = "None  # full batch" if full_batch else str(cfg.batch_size)
    first = _load_line(cfg)
    main = ("torch.set_flush_denormal(True)  # long runs stay fast: tiny weights become 0, not slow denormals\n"
            + first
            + ("x, x_test = features(x), features(x_test)  # the model's input: the chosen features\n"
               if flat and tuple(cfg.features or RAW) != RAW else "")
            + "torch.manual_seed(SEED)  # the same initial weights (and dropout masks) as the playground's run\n"
            + "\n".join(setup) + "\n"
            "every = max(1, EPOCHS // 10)  # about ten progress lines, however long the run\n"
            "for epoch in range(1, EPOCHS + 1):\n"
            "    model.train()\n"
            + _indent(schedule + body, 4)
            + "    if epoch % every == 0 or epoch == EPOCHS:\n"
            "        test_loss, metric = evaluate(model, x_test, y_test)\n"
            '        print(f"epoch {epoch}: train loss {total / len(x):.6f}, test loss {test_loss:.6f}, "\n'
            f'              f"test {metric_name} {{metric:.4f}}", flush=True)\n'
            "train_loss, train_metric = evaluate(model, x, y)\n"
            "test_loss, test_metric = evaluate(model, x_test, y_test)\n"
            f'print(f"final: train loss {{train_loss:.6f}}, train {metric_name} {{train_metric:.4f}}, "\n'
            f'      f"test loss {{test_loss:.6f}}, test {metric_name} {{test_metric:.4f}}")\n')
    return f'''"""Standalone PyTorch version of a playground run: {cfg.dataset}, {cfg.model}, {cfg.optimizer} lr {cfg.lr:g}.

Generated by the neural-network playground; needs only {needs}.
Usage: python this_script.py [EPOCHS]{usage}
"""
{imports}
import torch
import torch.nn.functional as F
from torch import nn

SEED = {cfg.seed}
LR = {cfg.lr!r}
EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else {cfg.epochs}
BATCH = {batch}


{data}

{evaluate}

def main():
{_indent(main, 4)}

if __name__ == "__main__":
    main()
'''
