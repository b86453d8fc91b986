"""Answer as you draw: stroke end -> label shown, in Chromium, against `python app.py` on a local port.

    python bench/bench_live_digits.py [--strokes 40]

Whole digits alternate between two arms in one run: "quick" (the page's strokes answer at once, as the app ships) and
"editor only" (the page's script told to stand aside, so only the editor's own event answers, as before): each arm gets
at least --strokes strokes, and both see the same machine load.

Draws whole digits stroke by stroke on the Digits tab's Sketchpad with the mouse (the templates of tests/handdigits.py,
a seeded random pose each) and times each stroke in the page's own clock:

- from: the pointerup event's own timeStamp (when the browser received the button going up, so a busy page counts
  against the answer, not for it);
- to: the first frame (requestAnimationFrame after the DOM changed), at or after the first answer to this stroke (the
  first frame with a new 28x28 image: every answer brings its own), from which the label the user sees (the Top-3's
  top class and the answer's first line, "7" or "Not sure: 4 or 9?") equals the one the page settles on for that
  stroke, and stays so; the page has settled when the editor's own event has answered too (no request in flight, no
  change for a second, at least 1.5 s after the stroke). A stroke whose quick answer differs from the editor's is
  timed to the editor's; one with no answer after the pointer went up counts as missed.

Also reported: when the 28x28 view first changed after the stroke, and when the last update came (the editor's own
event), and how often the first label shown after a stroke differed from the one the page settled on. Target: median <= 150 ms.
Needs Debian's chromium. The load average is printed before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import sys

import common
import numpy as np

sys.path.insert(0, str(common.ROOT / "tests"))
import handdigits as H  # noqa: E402

# before the page's own scripts (an init script), so that its capture listener on the window hears every pointerup
# first, before the app's hold (assets.DIGIT_HOLD_JS) keeps it from the rest of the page; the replayed one is not timed
UPS = """window.__bench = {frames: [], ups: [], inflight: 0, requests: []};
window.addEventListener('pointerup', (e) => { if (e.isTrusted) window.__bench.ups.push(e.timeStamp); }, true);"""

WATCH = """() => {
  const W = window.__bench;
  const label = () => {
    const top = document.querySelector('#digit-label [data-testid="label-output-value"] h2, '
                                        + '#digit-label [data-testid="label-output-value"]');
    const answer = (document.querySelector('#digit-answer')?.innerText || '').trim().split('\\n')[0];
    const img = document.querySelector('#digit-seen img');
    return {top: (top?.innerText || '').trim().split('\\n')[0], answer, seen: img ? img.getAttribute('src') : null};
  };
  let pending = false;
  const seen = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; W.frames.push({t: performance.now(), ...label()}); });
  });
  for (const sel of ['#digit-label', '#digit-answer', '#digit-seen']) {
    seen.observe(document.querySelector(sel), {subtree: true, childList: true, characterData: true, attributes: true});
  }
  const of = window.fetch;
  window.fetch = async function(...a) {
    const u = (typeof a[0] === 'string' ? a[0] : a[0].url) || '';
    const long = /queue\\/data|heartbeat/.test(u);  // the result stream stays open
    if (!long) { W.inflight++; W.requests.push([performance.now(), u.replace(location.origin, '')]); }
    try { return await of.apply(this, a); } finally { if (!long) W.inflight--; }
  };
}"""


ARM = """(on) => {  // "quick": the page's script sends its strokes; "editor only": it tells the server it stands aside
  const L = window.__digitStrokes;  // (and does not hold the editor back)
  L.realProps = L.realProps || L.props;
  L.hold = on;
  if (on) { L.props = L.realProps; return; }
  L.realProps.value = {seq: ++L.seq, canvas: [280, 280], strokes: null};
  L.props = {};
}"""


def one_stroke(page, pad, points, *, quiet_ms: int = 1000, min_ms: int = 1500, timeout_ms: int = 20_000) -> dict:
    """Draw one stroke and wait until the page settles; the stroke's timings (ms from its pointerup) and labels."""
    n_up, n_frames, before = page.evaluate("() => [window.__bench.ups.length, window.__bench.frames.length,"
                                           " document.querySelector('#digit-seen img')?.getAttribute('src') || null]")
    pad.stroke(points, steps=3)
    page.wait_for_function("(n) => window.__bench.ups.length > n", arg=n_up, timeout=5_000)
    waited = 0
    while waited < timeout_ms:
        page.wait_for_timeout(100)
        waited += 100
        s = page.evaluate("""([n]) => { const W = window.__bench, up = W.ups[W.ups.length - 1], now = performance.now();
            const last = W.frames.length > n ? W.frames[W.frames.length - 1].t : up;
            return {now, up, last, inflight: W.inflight}; }""", [n_frames])
        if s["now"] - s["up"] >= min_ms and s["now"] - s["last"] >= quiet_ms and s["inflight"] == 0:
            break
    up, frames = page.evaluate("([n]) => [window.__bench.ups[window.__bench.ups.length - 1],"
                               " window.__bench.frames.slice(n)]", [n_frames])
    return timings(up, [f for f in frames if f["t"] >= up], before)


def timings(up: float, frames: list[dict], seen_before: str | None) -> dict:
    """From the frames after a stroke: when the settled label was first shown for good, when the 28x28 view first
    changed (the first answer to this stroke), when the last update came; and whether the first answer's label
    differed from the settled one."""
    # the first answer to this stroke: the first frame with a new 28x28 image (every answer brings its own file); an
    # unchanged label shown before it (the previous stroke's, still right) does not count as answered
    start = next((i for i, f in enumerate(frames) if f["seen"] != seen_before), None)
    if start is None:
        return {"label": None}
    shown = [(f["top"], f["answer"]) for f in frames]
    final = shown[-1]
    k = len(shown) - 1
    while k > start and shown[k - 1] == final:
        k -= 1
    differed = shown[start] != final
    return {"label": frames[k]["t"] - up, "view": frames[start]["t"] - up, "last": frames[-1]["t"] - up,
            "differed": differed, "answer": final}


def summary(rows: list[dict], missed: int) -> dict:
    label = [r["label"] for r in rows]
    view = [r["view"] for r in rows if r["view"] is not None]
    last = [r["last"] for r in rows]
    return {"strokes": len(rows), "missed": missed,
            "label_ms": {"median": common.median(label), "p90": float(np.percentile(label, 90)), "max": max(label)},
            "view_ms": {"median": common.median(view), "p90": float(np.percentile(view, 90))} if view else None,
            "last_update_ms": {"median": common.median(last), "p90": float(np.percentile(last, 90))},
            "first_label_differed": sum(r["differed"] for r in rows)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--strokes", type=int, default=40, help="strokes to time in each arm (whole digits)")
    a = ap.parse_args()
    from playground.serve import chromium, start_app, stop_app

    info = common.banner("answer as you draw: stroke end -> label shown (Chromium, python app.py)")
    load_before = os.getloadavg()
    print(f"   load average before: {load_before[0]:.1f} {load_before[1]:.1f} {load_before[2]:.1f}")
    proc, url, _ = start_app()
    rows, missed = {"quick": [], "editor only": []}, {"quick": 0, "editor only": 0}
    try:
        with chromium() as browser:
            page, pad = _Pad.open(browser, url)
            page.wait_for_function("() => window.__digitStrokes && window.__digitStrokes.props", timeout=30_000)
            page.evaluate(WATCH)
            rng = np.random.default_rng(0)
            names = list(H.TEMPLATES)
            digit = 0
            while min(len(v) + missed[k] for k, v in rows.items()) < a.strokes:
                arm = "quick" if digit % 2 == 0 else "editor only"
                digit += 1
                page.evaluate(ARM, arm == "quick")
                pad.clear()
                page.wait_for_timeout(1500)  # the Clear's own updates are not a stroke's
                name = names[int(rng.integers(len(names)))]
                for s in H.mouse_path(H.TEMPLATES[name][1], H.random_pose(rng, lo=120), rng):
                    r = one_stroke(page, pad, s)
                    if r["label"] is None:
                        missed[arm] += 1
                        print(f"   {arm:11s} {name:12s} stroke -> no update", flush=True)
                        continue
                    rows[arm].append(r)
                    print(f"   {arm:11s} {name:12s} stroke -> label {r['label']:5.0f} ms, 28x28 "
                          f"{r['view'] or float('nan'):5.0f} ms, last update {r['last']:5.0f} ms  "
                          f"{r['answer'][1] or '(none)'}{'  (first label differed)' if r['differed'] else ''}",
                          flush=True)
    finally:
        stop_app(proc)
    load_after = os.getloadavg()
    result = {"benchmark": "live_digits", **{arm: summary(v, missed[arm]) for arm, v in rows.items()},
              "load_before": load_before, "load_after": load_after, "machine": info}
    for arm in rows:
        r = result[arm]
        print(f"   {arm}: stroke end -> label shown: median {r['label_ms']['median']:.0f} ms, p90 "
              f"{r['label_ms']['p90']:.0f} ms, max {r['label_ms']['max']:.0f} ms over {r['strokes']} strokes "
              f"({r['missed']} with no update); 28x28 view first updated: median "
              f"{r['view_ms']['median'] if r['view_ms'] else float('nan'):.0f} ms; first label differed from the "
              f"settled one on {r['first_label_differed']}")
    print(f"   target: median <= 150 ms (quick arm); load average before {load_before[0]:.1f}, after "
          f"{load_after[0]:.1f}")
    common.emit(result)


class _Pad(H.BrowserPad):
    """The pad without the in-process composite recorder: the app runs in its own process here."""

    def __init__(self, page):  # noqa: D107
        self.page, self.composites, self.scale, self.zoom = page, [], 1.0, ""
        page.on("response", self._uploaded)

    @classmethod
    def open(cls, browser, url: str, init_script: str = UPS) -> tuple:
        """The Digits tab in a new page (`init_script` run before the page's own), and its pad calibrated."""
        page = H.digits_page(browser, url, settle_ms=1500, init_script=init_script)
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
