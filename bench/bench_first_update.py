"""The first run's first update: `python app.py`, a browser opens the page, Train is clicked; how long until the first
live status and the first drawn curve, with the start-up warm-up on (as shipped) and off, side by side.

    python bench/bench_first_update.py [--rounds 2]

Each round starts a fresh `python app.py` per arm (warm-up off: DLCORE_WARM_UP=0), opens the page in chromium, waits
until the page has drawn the data, then clicks Train on the Spiral tab's preset (1,000 epochs) and times, in the
browser (performance.now), the first status with an epoch and the first drawn loss curve, then the same for a second
run in the same page. Target: the first run's first update within 1 s.
"""

from __future__ import annotations

import argparse

import common

from playground.serve import chromium, start_app, stop_app

# Clicks Train and resolves with the seconds until the status shows an epoch and until the loss curve has a line.
CLICK_AND_TIME = """
async () => {
  const status = () => document.querySelector('#spiral-status')?.innerText || '';
  const before = status();
  const t0 = performance.now();
  [...document.querySelectorAll('button')].find(b => b.innerText.trim() === 'Train').click();
  let first = null;
  while (performance.now() - t0 < 60000) {
    const s = status();
    if (first === null && s !== before && /epoch [\\d.]+\\/1000 /.test(s)) first = performance.now() - t0;
    if (first !== null && document.querySelector('#spiral-loss .mark-line path[d*="L"]'))
      return [first / 1000, (performance.now() - t0) / 1000];
    await new Promise(r => setTimeout(r, 10));
  }
  return [first, null];
}
"""


def measure(warm: bool) -> dict:
    proc, url, startup = start_app(env={"DLCORE_WARM_UP": "1" if warm else "0"})
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_function("() => document.querySelector('#boundary img')", timeout=60_000)
            out = {"startup_s": startup}
            for run in ("first", "second"):
                status, curve = page.evaluate(CLICK_AND_TIME)
                out[f"{run}_status_s"], out[f"{run}_curve_s"] = status, curve
                page.wait_for_function("() => /Finished|worse than/.test("
                                       "document.querySelector('#spiral-status')?.innerText || '')", timeout=300_000)
        return out
    finally:
        stop_app(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    info = common.banner("first run's first update in the browser, warm-up on vs off")
    rows = []
    for r in range(a.rounds):
        for warm in (True, False):
            m = measure(warm)
            rows.append({"round": r + 1, "warm_up": warm, **m})
            print(f"   round {r + 1}, warm-up {'on ' if warm else 'off'}: start-up {m['startup_s']:.1f} s; first run: "
                  f"status {m['first_status_s']:.2f} s, curve {m['first_curve_s']:.2f} s; second run: status "
                  f"{m['second_status_s']:.2f} s, curve {m['second_curve_s']:.2f} s", flush=True)
    on = [r["first_status_s"] for r in rows if r["warm_up"]]
    off = [r["first_status_s"] for r in rows if not r["warm_up"]]
    print(f"   first run's first update: median {common.median(on):.2f} s with the warm-up, "
          f"{common.median(off):.2f} s without (target <= 1 s)")
    common.emit({"benchmark": "first_update", "rows": rows, "median_first_status_warm": common.median(on),
                 "median_first_status_cold": common.median(off), "machine": info})


if __name__ == "__main__":
    main()
