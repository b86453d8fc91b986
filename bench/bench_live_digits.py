"""Answer as you draw: stroke end -> label shown, in Chromium, against `python app.py` on a local port.

    python bench/bench_live_digits.py [--strokes 40]

Draws digits stroke by stroke on the Digits tab's Sketchpad with the mouse (the templates of tests/handdigits.py) and
times, in the page's own clock, from the mouse button going up to the last update of the label and the 28x28 view
that follows it (the editor may send the drawing several times during a stroke; a newer one replaces a pending one,
so the last update after the button goes up is the answer for the whole stroke). Target: median <= 150 ms. Needs
Debian's chromium.
"""

from __future__ import annotations

import argparse
import sys

import common
import numpy as np

sys.path.insert(0, str(common.ROOT / "tests"))
import handdigits as H  # noqa: E402

WATCH = """() => {
  window.__updates = [];
  const seen = new MutationObserver(() => window.__updates.push(performance.now()));
  for (const sel of ['#digit-label', '#digit-seen']) {
    seen.observe(document.querySelector(sel), {subtree: true, childList: true, characterData: true, attributes: true});
  }
  window.__ups = [];
  document.addEventListener('pointerup', () => window.__ups.push(performance.now()), true);
}"""


def one_stroke(page, pad, points, quiet_ms: int = 800, timeout_ms: int = 15_000) -> float | None:
    """Draw one stroke; ms from its pointerup to the last label/view update after it (None: no update came)."""
    n_up = page.evaluate("() => window.__ups.length")
    pad.stroke(points)
    page.wait_for_function("(n) => window.__ups.length > n", arg=n_up, timeout=5_000)
    up = page.evaluate("() => window.__ups[window.__ups.length - 1]")
    waited, last = 0, None
    while waited < timeout_ms:  # until the updates after the stroke have been quiet for quiet_ms
        page.wait_for_timeout(100)
        waited += 100
        after = page.evaluate("(t) => window.__updates.filter(u => u > t)", up)
        if after and page.evaluate("() => performance.now()") - after[-1] > quiet_ms:
            last = after[-1]
            break
    return None if last is None else last - up


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, default=40, help="strokes to time (whole digits, stroke by stroke)")
    a = ap.parse_args()
    from playground.serve import chromium, start_app, stop_app

    info = common.banner("answer as you draw: stroke end -> label shown (Chromium, python app.py)")
    proc, url, _ = start_app()
    times, missed = [], 0
    try:
        with chromium() as browser:
            page, pad = _Pad.open(browser, url)
            page.evaluate(WATCH)
            rng = np.random.default_rng(0)
            names = list(H.TEMPLATES)
            while len(times) + missed < a.strokes:
                pad.clear()
                name = names[int(rng.integers(len(names)))]
                for s in H.mouse_path(H.TEMPLATES[name][1], H.random_pose(rng, lo=120), rng):
                    ms = one_stroke(page, pad, s)
                    if ms is None:
                        missed += 1
                    else:
                        times.append(ms)
                    print(f"   {name:12s} stroke -> label {'-' if ms is None else f'{ms:.0f} ms'}", flush=True)
    finally:
        stop_app(proc)
    result = {"benchmark": "live_digits", "strokes": len(times), "missed": missed,
              "ms": {"median": common.median(times), "p90": float(np.percentile(times, 90)), "max": max(times)},
              "machine": info}
    print(f"   stroke end -> label shown: median {result['ms']['median']:.0f} ms, p90 {result['ms']['p90']:.0f} ms over "
          f"{len(times)} strokes ({missed} with no update) (target median <= 150 ms)")
    common.emit(result)


class _Pad(H.BrowserPad):
    """The pad without the in-process composite recorder: the app runs in its own process here."""

    def __init__(self, page):  # noqa: D107
        self.page, self.composites, self.scale, self.zoom = page, [], 1.0, ""
        page.on("response", self._uploaded)

    @classmethod
    def open(cls, browser, url: str) -> tuple:
        """The Digits tab in a new page, and its pad calibrated: (page, pad)."""
        page = H.digits_page(browser, url, settle_ms=1500)
        pad = cls(page)
        pad.calibrate()
        return page, pad

    def calibrate(self) -> float:
        """CSS px per canvas px from the editor's zoom label (the canvas is 280 px at 100 %)."""
        self.ready()
        self.zoom = self.page.locator("#sketchpad .zoom-number").inner_text().strip()
        self.scale = int(self.zoom.rstrip("%")) / 100
        return self.scale


if __name__ == "__main__":
    main()
