"""Where the stroke -> label time goes (a trace beside bench_live_digits.py, not a benchmark).

    python bench/trace_live_digits.py

Draws the first stroke of a "3" three times against `python app.py` in Debian's chromium and prints, in ms from the
pointer going up (the event's own timeStamp), every fetch the page starts and ends (the quick path's queue join at the
pointerup, the editor's component_server calls, uploads, queue joins and result streams), the main thread's long
tasks (over 50 ms: the editor's redraws and canvas read-backs under software WebGL) and the DOM mutations of the
label, the answer and the 28x28 view.
"""

import sys

import common
import numpy as np

sys.path.insert(0, str(common.ROOT / "tests"))
import handdigits as H  # noqa: E402
from bench_live_digits import _Pad  # noqa: E402

from playground.serve import chromium, start_app, stop_app  # noqa: E402

HOOK = """() => {
  const L = (k, d) => window.__log.push([performance.now(), k, d]);
  const of = window.fetch;
  window.fetch = async function(...a) {
    const u = (typeof a[0] === 'string' ? a[0] : a[0].url).replace(location.origin, '');
    L('fetch>', u);
    const r = await of.apply(this, a);
    L('fetch<', u + ' ' + r.status);
    return r;
  };
  for (const sel of ['#digit-label', '#digit-seen']) {
    new MutationObserver(ms => ms.forEach(m => L('mut', sel + ' ' + m.type + ' ' + (m.attributeName || '') + ' '
        + (m.target.className || m.target.nodeName || '').toString().slice(0, 40))))
      .observe(document.querySelector(sel), {subtree: true, childList: true, characterData: true, attributes: true});
  }
  new PerformanceObserver((list) => list.getEntries().forEach((e) => window.__log.push([e.startTime, 'longtask',
      Math.round(e.duration) + ' ms']))).observe({type: 'longtask', buffered: false});
  document.addEventListener('pointerdown', (e) => window.__log.push([e.timeStamp, 'DOWN', '']), true);
}"""

# before the page's scripts, so it hears the pointerup before the app's hold (assets.DIGIT_HOLD_JS) keeps it from the
# page; the replay the editor gets later is logged as REPLAY
UPS = """window.__log = [];
window.addEventListener('pointerup', (e) => {
  window.__log.push([e.isTrusted ? e.timeStamp : performance.now(), e.isTrusted ? 'UP' : 'REPLAY', '']);
  if (e.isTrusted) window.__log.push([performance.now(), 'UP handled', '']);
}, true);"""


def main() -> None:
    proc, url, _ = start_app()
    try:
        with chromium() as browser:
            page, pad = _Pad.open(browser, url, init_script=UPS)
            page.evaluate(HOOK)
            rng = np.random.default_rng(0)
            name = "3-round"
            strokes = list(H.mouse_path(H.TEMPLATES[name][1], H.random_pose(rng, lo=120), rng))
            for i in range(3):
                pad.clear()
                page.wait_for_timeout(1500)
                page.evaluate("() => window.__log.length = 0")
                pad.stroke(strokes[0], steps=3)
                page.wait_for_timeout(2500)
                log = page.evaluate("() => window.__log")
                up = next(t for t, k, d in log if k == 'UP')
                down = next(t for t, k, d in log if k == 'DOWN')
                print(f"--- stroke {i}: down at {down-up:.0f} ms rel to up")
                for t, k, d in sorted(log, key=lambda e: e[0]):
                    print(f"{t-up:8.0f} {k} {d}")
    finally:
        stop_app(proc)


if __name__ == "__main__":
    main()
