"""The shipped digit model on the unseen-hand test set and on MNIST's fixed held-out digits (inference only).

The figures and how they were measured: dlcore/weights/README.md and `python scripts/eval_hand.py`. The set's
"browser" part is left out here as there: as committed it is blank or partial drawings (handdigits.SOUND_PARTS).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import eval_hand  # noqa: E402
import handdigits as H  # noqa: E402

from dlcore.defaults import load_default  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    return load_default("digits")


def test_the_shipped_model_keeps_mnist_held_out_accuracy(shipped):
    # 0.984 measured; the bar is the LeNet-style model of before, 0.982 (inference only: the figure is exact)
    assert eval_hand.mnist_accuracy(shipped) >= 0.982


def test_the_shipped_model_reads_the_unseen_hand_set(shipped):
    # 0.981 measured (41 of 2,200 wrong, most of them 8s and 9s of two script fonts): short of the 0.985, so
    # this guards what is reached, with a margin of about 14 of the 2,200 drawings (before: 0.942)
    r = H.accuracy(shipped, H.subset(H.load_set()))
    assert r["n"] == 2200 and r["all"] >= 0.975, r["wrong"]


def test_the_shipped_model_is_not_sure_of_most_scribbles(shipped):
    """Drawings that are no digit (the training script's own scribble generator, a seed it never used) mostly get
    "not sure" rather than a confident digit; the bench's scribbles, another generator: bench/bench_not_sure.py."""
    import numpy as np
    from make_hand_train import scribble_canvas

    from dlcore.predict import predict_digit, verdict

    rng = np.random.default_rng(2024)
    unsure = [not verdict(predict_digit(shipped, scribble_canvas(rng))[0])[0] for _ in range(60)]
    assert np.mean(unsure) >= 0.55, np.mean(unsure)  # about 0.78 on the development set's 500 scribbles
