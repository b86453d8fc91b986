"""A decompression bomb against `python app.py`: a ~40 KB PNG declaring 13000x13000 pixels sent to /predict_digit as the
Sketchpad's composite and as six layers; peak RSS growth, seconds to the answer, RSS kept afterwards.

    python bench/bench_bomb.py                    # this checkout
    python bench/bench_bomb.py --root /work/main  # another checkout (e.g. the code before the fix), for "before"

The server's peak RSS is its VmHWM after a reset (5 > /proc/PID/clear_refs) or, where that is not allowed, its VmRSS
sampled every 5 ms. Loopback only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import common

sys.path.insert(0, str(common.ROOT / "tests"))
from handdigits import bomb_png  # noqa: E402
from rawclient import PeakRSS, RawClient, rss_status  # noqa: E402

from playground.serve import QUIET_ENV, free_port  # noqa: E402

MB = 1024 * 1024


def start(root: Path) -> tuple[subprocess.Popen, str]:
    """`python app.py` from `root` (its own dlcore and playground first on the path) on a free local port."""
    port = free_port()
    env = {**os.environ, **QUIET_ENV, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "PYTHONPATH": str(root)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise TimeoutError(f"{root}/app.py did not answer on {url}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", type=Path, default=common.ROOT)
    a = ap.parse_args()
    info = common.banner(f"decompression bomb against {a.root}/app.py")
    bomb = bomb_png(13000, 13000)
    proc, url = start(a.root.resolve())
    rows = {}
    try:
        client = RawClient(url)
        blank = {"background": None, "layers": [], "composite": None}
        cases = {"composite": lambda f: {**blank, "composite": f}, "six layers": lambda f: {**blank, "layers": [f] * 6}}
        for name, value in cases.items():
            file = client.upload(bomb, "bomb.png")
            before = rss_status(proc.pid)["VmRSS"]
            with PeakRSS(proc.pid) as peak:
                t0 = time.perf_counter()
                answer = client.call("predict_digit", [value(file)])
                seconds = time.perf_counter() - t0
            time.sleep(2)
            kept = rss_status(proc.pid)["VmRSS"] - before
            refused = "over the limit" in answer or "error" in answer
            rows[name] = {"peak_growth_mb": peak.growth / MB, "seconds": seconds, "kept_mb": kept / MB,
                          "refused": refused, "answer": answer.strip().splitlines()[-1][:160]}
            print(f"   {name:10s} peak RSS +{peak.growth / MB:7.0f} MB, {seconds:5.1f} s, kept +{kept / MB:6.0f} MB, "
                  f"{'refused' if refused else 'ANSWERED'}: {rows[name]['answer'][:100]}", flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    common.emit({"benchmark": "bomb", "root": str(a.root), "bytes": len(bomb), "cases": rows, "machine": info})


if __name__ == "__main__":
    main()
