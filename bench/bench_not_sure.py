"""Where "not sure" should start: the top probability of the shipped digit model on right answers, wrong answers and
random scribbles, and what each threshold costs and catches.

    python bench/bench_not_sure.py [--scribbles 500]

Data: MNIST's 1,000 held-out digits drawn as Sketchpad canvases, the unseen-hand test set (tests/data; its font and
stroke parts, handdigits.SOUND_PARTS), and seeded random scribbles (1-3 smooth strokes through random points,
tests/handdigits.py), all through the app's own framing.
For each threshold t: the share of right answers that would say "not sure" (the cost), the share of wrong answers it
catches, and the share of scribbles it flags. The app's threshold is dlcore.predict.NOT_SURE_BELOW.
"""

from __future__ import annotations

import argparse
import sys

import common
import numpy as np
from PIL import Image

sys.path.insert(0, str(common.ROOT / "tests"))
import handdigits as H  # noqa: E402

from dlcore.data import embedded_mnist  # noqa: E402
from dlcore.defaults import load_default  # noqa: E402
from dlcore.predict import NOT_SURE_BELOW, predict_digit  # noqa: E402

THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def tops(tm, images, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Top probability of each image, and whether it was right (all False without labels)."""
    p, ok = [], []
    for i, img in enumerate(images):
        probs, _ = predict_digit(tm, img)
        best = max(probs, key=probs.get)
        p.append(probs[best])
        ok.append(labels is not None and int(best) == int(labels[i]))
    return np.array(p), np.array(ok)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scribbles", type=int, default=500)
    a = ap.parse_args()
    info = common.banner("not sure: top probability on right answers, wrong answers and scribbles")
    tm = load_default("digits")
    _, _, xte, yte = embedded_mnist()
    mnist = [np.asarray(Image.fromarray(255 - x.numpy()).resize((280, 280), Image.Resampling.BILINEAR)) for x in xte]
    hand = H.subset(H.load_set())  # the sound parts: the committed browser part is blank or partial drawings
    rng = np.random.default_rng(7)
    scribbles = [H.scribble(rng) for _ in range(a.scribbles)]
    p_m, ok_m = tops(tm, mnist, yte.numpy())
    p_h, ok_h = tops(tm, hand.images, hand.labels)
    p_s, _ = tops(tm, scribbles)
    p_all, ok_all = np.concatenate([p_m, p_h]), np.concatenate([ok_m, ok_h])
    rows = []
    print(f"   {len(p_all):,} digits ({(~ok_all).sum()} read wrong), {len(p_s)} scribbles")
    print("   threshold | right answers said 'not sure' | wrong answers caught | scribbles 'not sure'")
    for t in sorted({*THRESHOLDS, NOT_SURE_BELOW}):
        row = {"threshold": t, "right_flagged": float((p_all[ok_all] < t).mean()),
               "wrong_caught": float((p_all[~ok_all] < t).mean()) if (~ok_all).any() else None,
               "scribbles_flagged": float((p_s < t).mean())}
        rows.append(row)
        mark = "  <- the app's" if t == NOT_SURE_BELOW else ""
        caught = "-" if row["wrong_caught"] is None else f"{row['wrong_caught']:.0%}"
        print(f"   {t:9.2f} | {row['right_flagged']:29.1%} | {caught:>20s} | {row['scribbles_flagged']:19.0%}{mark}")
    common.emit({"benchmark": "not_sure", "threshold": NOT_SURE_BELOW, "rows": rows, "digits": len(p_all),
                 "wrong": int((~ok_all).sum()), "scribbles": len(p_s), "machine": info})


if __name__ == "__main__":
    main()
