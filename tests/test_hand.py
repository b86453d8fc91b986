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
    assert eval_hand.mnist_accuracy(shipped) >= 0.98  # 0.981 measured; the LeNet-style model it replaced had 0.982


def test_the_shipped_model_reads_the_unseen_hand_set(shipped):
    # 0.942 measured (127 of 2,200 wrong, most of them serif and flagged 1s): short of the 0.985, so this
    # guards what is reached, with a margin of about 20 of the 2,200 drawings
    r = H.accuracy(shipped, H.subset(H.load_set()))
    assert r["n"] == 2200 and r["all"] >= 0.93, r["wrong"]
