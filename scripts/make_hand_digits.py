"""Make the unseen-hand test set `tests/data/hand_digits.npz` (see tests/handdigits.py for what is in it).

    apt-get install fonts-dkg-handwriting fonts-breip fonts-rufscript fonts-sjfonts fonts-comic-neue fonts-humor-sans \
        fonts-bwht fonts-klee fonts-kristi fonts-dancingscript fonts-ecolier-court fonts-kaushanscript fonts-kiloji \
        fonts-seto fonts-leckerli-one fonts-dejavu-core fonts-liberation chromium
    python scripts/make_hand_digits.py            # fonts, strokes, and the browser part (starts python app.py)
    python scripts/make_hand_digits.py --no-browser
    python scripts/make_hand_digits.py --redo-browser   # keep the font and stroke parts, draw the browser part again

Seeded: the same fonts give the same set. It was made once, before any model or preprocessing was tuned on it, and
is never used for training.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import handdigits as H  # noqa: E402

SEED = 13
FONT_SAMPLES = 5  # renderings per font and digit
STROKE_SAMPLES = 25  # renderings per template
BROWSER_SAMPLES = 3  # mouse drawings per template


def font_part(rng) -> list[tuple[np.ndarray, int, str]]:
    fonts = H.font_paths()
    missing = sorted({Path(f).stem for files in H.FONTS.values() for f in files} - set(fonts))
    if missing:
        sys.exit(f"fonts missing: {missing}; install the packages listed in this script's docstring")
    out = []
    for name, path in fonts.items():
        for d in range(10):
            mask = H.glyph_mask(path, d)
            out += [(H.font_sample(mask, rng), d, name) for _ in range(FONT_SAMPLES)]
    return out


def stroke_part(rng) -> list[tuple[np.ndarray, int, str]]:
    return [(H.stroke_sample(strokes, rng), d, name)
            for name, (d, strokes) in H.TEMPLATES.items() for _ in range(STROKE_SAMPLES)]


def browser_part(rng) -> list[tuple[np.ndarray, int, str]]:
    from playground.serve import chromium, launch_here

    demo, url = launch_here()  # in this process, where the pad reads what the server receives
    out = []
    try:
        with chromium() as browser:
            page = H.digits_page(browser, url, settle_ms=1500)
            pad = H.BrowserPad(page)
            print(f"browser: {pad.calibrate():.3f} CSS px per canvas px", flush=True)
            for name, (d, strokes) in H.TEMPLATES.items():
                for _ in range(BROWSER_SAMPLES):
                    pose = H.random_pose(rng, lo=90)  # the app's brush is 22 px wide: smaller would be a blob
                    paths = H.mouse_path(strokes, pose, rng)
                    for _attempt in range(3):  # a loaded machine can drop a stroke: draw the same one again
                        pad.clear()
                        before = len(pad.composites)
                        for s in paths:
                            pad.stroke(s, steps=3)
                        drawn = pad.last_composite(before)
                        if (drawn < 128).sum() >= 50:
                            break
                    else:
                        raise RuntimeError(f"the browser drawing of {name} came back blank three times")
                    out.append((drawn, d, name))
    finally:
        demo.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-browser", action="store_true", help="leave out the part drawn in Chromium")
    ap.add_argument("--out", type=Path, default=H.SET_PATH)
    ap.add_argument("--seed", type=int, default=SEED, help="another seed makes another set (e.g. for validation)")
    ap.add_argument("--redo-browser", action="store_true",
                    help="keep the font and stroke parts of the set at --out, draw its browser part again (same seed)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    if a.redo_browser:
        old = H.load_set(a.out)
        parts = {p: [(img, int(y), str(s)) for img, y, q, s in zip(old.images, old.labels, old.parts, old.styles)
                     if q == p] for p in ("font", "stroke")}
    else:
        parts = {"font": font_part(rng), "stroke": stroke_part(rng)}
    if not a.no_browser:
        parts["browser"] = browser_part(np.random.default_rng(a.seed + 1))
    items = [(img, d, part, style) for part, rows in parts.items() for img, d, style in rows]
    png, offsets = H.encode([i[0] for i in items])
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, png=png, offsets=offsets, labels=np.array([i[1] for i in items], dtype=np.int8),
                        parts=np.array([i[2] for i in items]), styles=np.array([i[3] for i in items]))
    # the committed set once held 52 blank browser drawings: never write one again
    blank = [f"{s.parts[i]}:{s.styles[i]}" for s in [H.load_set(a.out)] for i, img in enumerate(s.images)
             if (img < 128).sum() < 50]
    if blank:
        sys.exit(f"{len(blank)} stored drawings are blank: {blank[:10]}; {a.out} is not usable")
    counts = {p: len(r) for p, r in parts.items()}
    print(f"wrote {a.out} ({a.out.stat().st_size / 1e6:.1f} MB): {len(items)} digits {counts}")


if __name__ == "__main__":
    main()
