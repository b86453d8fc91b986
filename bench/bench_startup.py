"""Start-up: `python app.py` to a ready HTTP 200, with warm caches (target <= 10 s).

    python bench/bench_startup.py [--runs 5]

One warm-up start is discarded (it fills the OS file cache and Python's bytecode cache); the median of the rest is
the figure.
"""

from __future__ import annotations

import argparse

import common

from playground.serve import start_app, stop_app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    info = common.banner("start-up: python app.py -> HTTP 200")
    proc, _, warm = start_app()
    stop_app(proc)
    print(f"   warm-up start: {warm:.2f} s (discarded)")
    times = []
    for i in range(a.runs):
        proc, _, t = start_app()
        stop_app(proc)
        times.append(t)
        print(f"   start {i + 1}: {t:.2f} s", flush=True)
    med = common.median(times)
    print(f"   median {med:.2f} s, max {max(times):.2f} s (target <= 10 s)")
    ray = ray_at_start()
    print(f"   ray imported by building the app: {ray} (sweeps import it when one starts)")
    common.emit({"benchmark": "startup", "median_seconds": med, "max_seconds": max(times), "runs": times,
                 "ray_imported_at_start": ray, "machine": info})


def ray_at_start() -> bool:
    """Whether building the app (what app.py does before it serves) imports Ray."""
    import subprocess
    import sys

    code = "import sys\nfrom playground.app import build_demo\nbuild_demo()\nprint('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=common.ROOT, capture_output=True, text=True, timeout=300)
    return out.stdout.strip().splitlines()[-1] == "True"


if __name__ == "__main__":
    main()
