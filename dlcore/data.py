"""Dataset registry: the 2-D sets (spiral, circle, xor, ...), boston, mnist, fashion -> tensors plus metadata.

Data becomes tensors once; training takes batches as index slices, never a per-sample Python pipeline.
Images are kept as normalised float32 (N, 1, 28, 28); tabular data as float32 (N, F).
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import gzip
import math
import os
import shutil
import socket
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import ConfigError, DataError
from .planar import PLANAR, planar_classes, planar_points, spiral_points  # noqa: F401  spiral_points: re-exported

if TYPE_CHECKING:
    from .config import RunConfig

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the seed's Normalize((0.1307,), (0.3081,))
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
EMBEDDED_TEST_PER_CLASS = 100  # the embedded subset's fixed held-out part: the last 100 of each digit

# Boston housing: name -> (description, unit). Ranges come from the data itself.
BOSTON_FEATURES = {
    "CRIM": ("per-capita crime rate by town", "crimes per capita"),
    "ZN": ("residential land zoned for lots over 25,000 sq ft", "%"),
    "INDUS": ("non-retail business acres per town", "%"),
    "CHAS": ("bounds the Charles River", "1 = yes, 0 = no"),
    "NOX": ("nitric oxides concentration", "parts per 10 million"),
    "RM": ("average rooms per dwelling", "rooms"),
    "AGE": ("owner-occupied units built before 1940", "%"),
    "DIS": ("weighted distance to five Boston employment centres", "distance index"),
    "RAD": ("accessibility to radial highways", "index"),
    "TAX": ("property-tax rate", "$ per $10,000"),
    "PTRATIO": ("pupil-teacher ratio by town", "pupils per teacher"),
    "B": ("1000(Bk - 0.63)^2, Bk the share of Black residents (see the note)", "index"),
    "LSTAT": ("lower-status share of the population", "%"),
}
B_NOTE = (
    "The B column encodes the share of Black residents by town (Harrison & Rubinfeld, 1978). It is why "
    "scikit-learn removed this dataset; it is kept here for reproducing the seeds and can be dropped."
)


@dataclass
class Data:
    """One dataset as tensors on a device, with what the UI and checkpoints need to know about it."""

    name: str
    task: str  # "classification" | "regression"
    x_train: torch.Tensor  # (N, F) or (N, 1, 28, 28), float32, already normalised
    y_train: torch.Tensor  # (N,) int64 labels or (N, 1) float32 targets
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    source: str = ""  # where the data came from, said to the user, e.g. "embedded subset"
    source_reason: str = ""  # why that source, e.g. the download error
    norm: dict = field(default_factory=dict)  # {"mean": [...], "std": [...]} applied to raw inputs
    info: dict = field(default_factory=dict)  # feature units, ranges, notes for the UI

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_outputs(self) -> int:
        return len(self.class_names) if self.task == "classification" else 1

    def to(self, device: torch.device | str) -> Data:
        for name in ("x_train", "y_train", "x_test", "y_test"):
            setattr(self, name, getattr(self, name).to(device))
        return self


def data_dir() -> Path:
    """Where downloaded datasets live: $DLCORE_DATA, else ~/.cache/dlcore."""
    return Path(os.environ.get("DLCORE_DATA") or Path.home() / ".cache" / "dlcore")


def _split(n: int, train_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_train = int(round(n * train_fraction))
    return perm[:n_train], perm[n_train:]


def load_planar(cfg: RunConfig) -> Data:
    """A 2-D set (dlcore.planar): its points split by the seed, and the points a user added put into training."""
    x, y = planar_points(cfg.dataset, cfg.classes, cfg.points, cfg.noise, cfg.seed)
    tr, te = _split(len(x), cfg.train_fraction, cfg.seed + 1)
    x_train, y_train = x[tr], y[tr]
    if cfg.added_points:
        added = torch.tensor(cfg.added_points, dtype=torch.float32).reshape(-1, 3)
        x_train = torch.cat([x_train, added[:, :2]])
        y_train = torch.cat([y_train, added[:, 2].long() if y.dtype == torch.long else added[:, 2:]])
    classes = planar_classes(cfg.dataset, cfg.classes)
    task = PLANAR[cfg.dataset].task
    source = "generated (seed 002's formula)" if cfg.dataset == "spiral" else f"generated ({PLANAR[cfg.dataset].about})"
    if cfg.added_points:
        source += f", with {len(cfg.added_points)} added points"
    lo, hi = x_train.min(0).values.tolist(), x_train.max(0).values.tolist()
    return Data(
        cfg.dataset, task, x_train, y_train, x[te], y[te], class_names=[str(c) for c in range(classes)],
        feature_names=["x", "y"], source=source, norm={"mean": [0.0, 0.0], "std": [1.0, 1.0]},
        info={"range": [[lo[0], hi[0]], [lo[1], hi[1]]]},  # the training points' extent, for far-point warnings
    )


load_spiral = load_planar  # the spiral is one of the 2-D sets


def boston_table() -> tuple[list[str], np.ndarray]:
    """The shipped 506-row CSV as (header, float64 array (506, 14))."""
    text = resources.files("dlcore").joinpath("data/boston_housing.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    return rows[0], np.array(rows[1:], dtype=np.float64)


def boston_info(names: list[str], x: np.ndarray) -> dict:
    """Per-feature unit, description, min/max, 5th-95th percentile and median, for forms and warnings."""
    info = {}
    for j, name in enumerate(names):
        col = x[:, j]
        desc, unit = BOSTON_FEATURES[name]
        info[name] = {
            "description": desc, "unit": unit,
            "min": float(col.min()), "max": float(col.max()),
            "p05": float(np.percentile(col, 5)), "p95": float(np.percentile(col, 95)),
            "median": float(np.median(col)),
        }
    return info


def boston_split(n: int, test_fraction: float = 0.15, random_state: int = 73) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) exactly as scikit-learn's train_test_split(test_size=0.15, random_state=...) picks them.

    sklearn shuffles with RandomState(random_state).permutation(n) and takes the first ceil(n * test) rows as the test
    set. Seed 000 used random_state=73, so `--seed 73` gives its very 430/76 rows and its numbers compare like for like.
    """
    perm = np.random.RandomState(random_state).permutation(n)
    n_test = math.ceil(n * test_fraction)
    return perm[n_test:], perm[:n_test]


def fold_rows(n: int, folds: int, fold: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) of k-fold cross-validation: a seeded permutation cut into `folds` near-equal parts,
    part `fold` held out. Over the folds every row is tested exactly once."""
    parts = np.array_split(np.random.RandomState(seed).permutation(n), folds)
    return np.concatenate(parts[:fold] + parts[fold + 1:]), parts[fold]


def split_rows(n: int, cfg: RunConfig, test_fraction: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """A table's (train rows, test rows): fold `cfg.fold` of `cfg.folds`, else the seeded split (sklearn's, as Boston)."""
    if cfg.folds:
        return fold_rows(n, cfg.folds, cfg.fold, cfg.seed)
    return boston_split(n, test_fraction, random_state=cfg.seed)


def refold(data: Data, cfg: RunConfig) -> Data:
    """The data's train and test parts pooled and cut into cfg's fold (loaders whose inputs do not depend on the
    split: the spiral, images)."""
    x, y = torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test])
    tr, te = (torch.from_numpy(i) for i in fold_rows(len(x), cfg.folds, cfg.fold, cfg.seed))
    return dataclasses.replace(data, x_train=x[tr], y_train=y[tr], x_test=x[te], y_test=y[te])


def load_boston(cfg: RunConfig) -> Data:
    header, table = boston_table()
    names = header[:13]
    x, y = table[:, :13], table[:, 13:14]
    tr, te = split_rows(len(x), cfg)
    features = boston_info(names, x[tr])  # all 13, so a form can still show B when the model does not use it
    if cfg.drop_b:
        keep = [j for j, n in enumerate(names) if n != "B"]
        x, names = x[:, keep], [names[j] for j in keep]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)  # the training split's statistics only
    xs = (x - mean) / std
    t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return Data(
        "boston", "regression", t(xs[tr]), t(y[tr]), t(xs[te]), t(y[te]),
        feature_names=names, source="embedded CSV (StatLib, 506 rows)",
        norm={"mean": mean.tolist(), "std": std.tolist()},
        info={"features": features, "b_note": B_NOTE, "target": "MEDV, median value in $1000s"},
    )


def _images(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28), white ink on black -> normalised float32 (N, 1, 28, 28)."""
    return ((x_uint8.float() / 255.0 - MNIST_MEAN) / MNIST_STD).unsqueeze(1)


def _image_data(name, xtr, ytr, xte, yte, *, classes, source, reason) -> Data:
    return Data(
        name, "classification", _images(xtr), ytr.long(), _images(xte), yte.long(),
        class_names=classes, source=source, source_reason=reason,
        norm={"mean": [MNIST_MEAN], "std": [MNIST_STD]},
    )


def embedded_mnist() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The shipped 5,000-digit subset as uint8 tensors: 4,000 train, a fixed 1,000 (100 per digit) held out."""
    with resources.files("dlcore").joinpath("data/mnist_5k.npz").open("rb") as f:
        npz = np.load(f)
        images, labels = npz["images"], npz["labels"]
    test = np.zeros(len(labels), dtype=bool)
    for d in range(10):
        test[np.flatnonzero(labels == d)[-EMBEDDED_TEST_PER_CLASS:]] = True
    t = torch.from_numpy
    return t(images[~test]), t(labels[~test]), t(images[test]), t(labels[test])


HAND_FILE = "data/hand_train.npz"  # made by scripts/make_hand_train.py; provenance and licences: dlcore/data/README.md


@functools.cache
def _hand_file() -> dict[str, np.ndarray]:
    """The shipped file's arrays, read once per process; callers copy what they keep (torch.cat, .float())."""
    with resources.files("dlcore").joinpath(HAND_FILE).open("rb") as f, np.load(f) as npz:
        return {k: npz[k] for k in npz.files}


def hand_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped drawn digits (uint8 (N, 28, 28), white ink on black, framed as the app frames a drawing; labels
    int64): digits of handwriting and book fonts and of stroke templates, none from the unseen-hand test set."""
    z = _hand_file()
    return torch.from_numpy(z["images"]), torch.from_numpy(z["labels"].astype(np.int64))


def hand_scribbles() -> np.ndarray:
    """The shipped scribbles that are no digit: uint8 (N, 28, 28), white ink on black (dlcore.augment uses them)."""
    return _hand_file()["scribbles"]


def adds_drawn_digits(cfg: RunConfig) -> bool:
    """Whether the run's training split has the shipped drawn digits added (the "digits" augmentation on MNIST): the
    split depends on it, so whatever caches or compares splits keys on it too (`dlcore.session.data_key`)."""
    return cfg.dataset == "mnist" and cfg.augment == "digits"


DRAWN_MARK = " + "  # a source's note on what was added to training only ("... + 3,120 drawn digits")


def held_out_source(source: str) -> str:
    """The part of a `Data.source` that names its test split: what `_with_hand` adds after it (drawn digits, to the
    training split only) leaves the held-out images as they were, so a model trained with another number of drawn
    digits is still scored on the same test points."""
    return source.split(DRAWN_MARK, 1)[0]


def _with_hand(xtr: torch.Tensor, ytr: torch.Tensor, cfg: RunConfig) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The "digits" augmentation trains on MNIST's digits and the shipped drawn ones (`hand_digits`)."""
    if not adds_drawn_digits(cfg):
        return xtr, ytr, ""
    hx, hy = hand_digits()
    return torch.cat([xtr, hx]), torch.cat([ytr.long(), hy]), f"{DRAWN_MARK}{len(hx):,} drawn digits"


def _download_mnist(root: Path):
    import torchvision

    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(float(os.environ.get("DLCORE_DOWNLOAD_TIMEOUT", "20")))
    try:
        train = torchvision.datasets.MNIST(str(root), train=True, download=True)
        test = torchvision.datasets.MNIST(str(root), train=False, download=True)
    finally:
        socket.setdefaulttimeout(old)
    return train.data, train.targets, test.data, test.targets


def load_mnist(cfg: RunConfig) -> Data:
    classes = [str(d) for d in range(10)]
    reason = ""
    offline = os.environ.get("DLCORE_OFFLINE", "") in ("1", "true", "True")
    if cfg.mnist_source == "download" and offline:  # "download" means the full set or an error, never the subset
        raise DataError("mnist_source='download' asks for the full MNIST, but DLCORE_OFFLINE is set; "
                        "unset DLCORE_OFFLINE or use mnist_source='embedded'")
    if cfg.mnist_source in ("auto", "download") and not offline:
        try:
            xtr, ytr, xte, yte = _download_mnist(data_dir())
            xtr, ytr, extra = _with_hand(xtr, ytr, cfg)
            return _image_data("mnist", xtr, ytr, xte, yte, classes=classes,
                               source=f"full MNIST (torchvision){extra}", reason=f"found in {data_dir()}")
        except Exception as e:  # no network, a mirror down, a corrupt partial file: all end in the embedded set
            if cfg.mnist_source == "download":
                raise DataError(f"MNIST download into {data_dir()} failed ({type(e).__name__}: {e}); "
                                "check the network or use mnist_source='embedded'") from e
            reason = f"the full MNIST could not be downloaded ({type(e).__name__}: {str(e)[:160]})"
    elif cfg.mnist_source == "embedded":
        reason = "the embedded subset was asked for"
    else:
        reason = "DLCORE_OFFLINE is set"
    xtr, ytr, xte, yte = embedded_mnist()
    xtr, ytr, extra = _with_hand(xtr, ytr, cfg)
    return _image_data("mnist", xtr, ytr, xte, yte, classes=classes,
                       source=f"embedded subset (5,000 MNIST digits){extra}", reason=reason)


def _fashion_root() -> Path:
    """Put Debian's gzipped IDX files, un-gzipped, where torchvision's FashionMNIST looks for them."""
    root = data_dir()
    raw = root / "FashionMNIST" / "raw"
    if FASHION_DIR.is_dir():
        raw.mkdir(parents=True, exist_ok=True)
        for gz in FASHION_DIR.glob("*-ubyte.gz"):
            target = raw / gz.name.removesuffix(".gz")
            if not target.exists() or target.stat().st_size == 0:
                tmp = target.with_suffix(".part")
                with gzip.open(gz, "rb") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                tmp.replace(target)
    return root


def load_fashion(cfg: RunConfig) -> Data:
    import torchvision

    root = _fashion_root()
    try:
        download = not FASHION_DIR.is_dir()
        train = torchvision.datasets.FashionMNIST(str(root), train=True, download=download)
        test = torchvision.datasets.FashionMNIST(str(root), train=False, download=download)
    except Exception as e:
        raise DataError(
            f"Fashion-MNIST is not available ({type(e).__name__}: {str(e)[:160]}); on Debian run "
            "'apt-get install dataset-fashion-mnist', or connect to the internet so torchvision can download it"
        ) from e
    where = "Debian's dataset-fashion-mnist" if FASHION_DIR.is_dir() else "torchvision download"
    return _image_data("fashion", train.data, train.targets, test.data, test.targets, classes=FASHION_CLASSES,
                       source=f"full Fashion-MNIST ({where})", reason=f"read from {root}")


def io_shape(cfg: RunConfig) -> tuple[tuple[int, ...], int]:
    """The model's input shape and number of outputs for cfg's data, without loading it (for parameter counts)."""
    if cfg.dataset in PLANAR:
        return (2,), planar_classes(cfg.dataset, cfg.classes) or 1
    if cfg.dataset == "boston":
        return (12 if cfg.drop_b else 13,), 1
    if cfg.dataset == "csv":
        from .tabular import table_shape  # tabular builds on this module

        return table_shape(cfg)
    return (1, 28, 28), 10


def load_csv(cfg: RunConfig) -> Data:
    """The user's table at cfg.csv, prepared on cfg's split (dlcore/tabular.py)."""
    from .tabular import load_csv as load  # tabular builds on this module

    return load(cfg)


LOADERS = {"spiral": load_spiral, "boston": load_boston, "mnist": load_mnist, "fashion": load_fashion, "csv": load_csv,
           **{name: load_planar for name in PLANAR}}
SPLIT_AWARE = {"boston", "csv"}  # loaders that cut folds themselves: their standardisation follows the training part


def load_data(cfg: RunConfig, device: torch.device | str = "cpu") -> Data:
    """Load the dataset named by cfg.dataset onto `device` (cfg's fold of it with cfg.folds)."""
    if cfg.dataset not in LOADERS:
        raise ConfigError(f"dataset {cfg.dataset!r} is unknown; choose from {sorted(LOADERS)}")
    data = LOADERS[cfg.dataset](cfg)
    if cfg.folds and cfg.dataset not in SPLIT_AWARE:
        data = refold(data, cfg)
    return data.to(device)
