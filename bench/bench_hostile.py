"""A hostile client against `python app.py` on loopback: a training flood, a stroke flood, many sessions, big runs.

    python bench/bench_hostile.py [--only flood,strokes,sessions,runs] [--sessions 1000] [--runs 12]

- flood: 66 raw POSTs to /gradio_api/queue/join for /train_spiral (a long run), each from its own session, never
  opening the result stream; then one /predict_price and one /predict_digit through gradio_client (latency, or the
  error), a gradio_client training join (admitted or refused, and the message), how long after the flood such a
  join is admitted (retrying every 0.5 s) and how long its 5-epoch run takes, then the server's CPU use in windows.
- strokes: 16 clients POST the heaviest drawing the stroke limits allow to the Digits tab's stroke read (which skips
  the queue, bounded by DLCORE_QUICK_CONCURRENCY) as fast as they can for 20 s, each POST from a new session; how
  the POSTs were answered (read, or left unread for the editor's picture), the server's CPU use, a page-like
  client's 7 every half second (read or unread), and /predict_digit's latency before and during.
- sessions: N fresh sessions asking one price each (POST /gradio_api/call/predict_price, as curl would); the server's
  RSS before, after, after the sessions' expiry (DLCORE_SESSION_TTL, short here), and after a second round of N.
- runs: 12 runs of the largest spiral MLP the limits allow (2048,2048: 4.2 M parameters) in one gradio_client session,
  each ended by a 1 s job time limit (so each becomes the tab's model and its download); RSS and disk (the server's
  temporary folders) after each.

Each scenario starts its own server with its temporary folders in a fresh directory. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common
import numpy as np
from gradio_client import Client, handle_file
from PIL import Image

from dlcore import strokes
from dlcore.data import embedded_mnist
from dlcore.errors import InputError
from playground.serve import call, cpu_seconds, disk_mb, event_index, fn_index, raw_join, raw_run, rss_mb, start_app, stop_app
from playground.tabs import spiral

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]
LONG = spiral.SPEC.args(points=2000, hidden="256,256", epochs=20000, device="cpu")
BIG = spiral.SPEC.args(hidden="2048,2048", epochs=20000, device="cpu")


def server(tmp: Path, **env):
    """`python app.py` with its temporary files (gradio's cache, the download folder) under `tmp`."""
    for sub in ("gradio", "tmp"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    proc, url, _ = start_app(env={"GRADIO_TEMP_DIR": str(tmp / "gradio"), "TMPDIR": str(tmp / "tmp"),
                                  **{k: str(v) for k, v in env.items()}}, log=tmp / "server.log")
    return proc, url


def digit_png(folder: Path) -> str:
    _, _, xte, _ = embedded_mnist()
    big = np.asarray(Image.fromarray(255 - xte[0].numpy()).resize((280, 280)))
    path = folder / "digit.png"
    Image.fromarray(np.dstack([big, big, big, np.full_like(big, 255)]), "RGBA").save(path)
    return str(path)


def timed_call(fn) -> tuple[float, str]:
    """(seconds, "ok" or the error's first line)."""
    t0 = time.perf_counter()
    try:
        fn()
        return time.perf_counter() - t0, "ok"
    except Exception as e:  # reported, not raised: the figure is what happened
        return time.perf_counter() - t0, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


def cpu_share(pid: int, seconds: float) -> float:
    """The server's CPU use over the next `seconds`, in cores (1.0 = one core busy)."""
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


def flood(tmp: Path) -> dict:
    proc, url = server(tmp)
    try:
        train = fn_index(url, "train_spiral")
        data = [*LONG.values(), None]  # the tab's values, then the session's state (sent as null)
        codes = [raw_join(url, train, data, uuid.uuid4().hex)[0] for _ in range(66)]
        t_flood = time.perf_counter()
        digit = digit_png(tmp)
        client = Client(url, verbose=False)
        price = timed_call(lambda: client.predict(*HOUSE, api_name="/predict_price"))
        label = timed_call(lambda: client.predict({"background": handle_file(digit), "layers": [],
                                                   "composite": handle_file(digit)}, api_name="/predict_digit"))
        trained = timed_call(lambda: client.predict(**{**LONG, "epochs": 5}, api_name="/train_spiral"))
        retried, reopened = trained, 0.0
        while retried[1] != "ok" and time.perf_counter() - t_flood < 120:  # until the flood's jobs are gone
            time.sleep(0.5)
            reopened = time.perf_counter() - t_flood
            retried = timed_call(lambda: client.predict(**{**LONG, "epochs": 5}, api_name="/train_spiral"))
        cpu = {f"{round(time.perf_counter() - t_flood)}s": round(cpu_share(proc.pid, 3.0), 2) for _ in range(4)}
        return {"joins": len(codes), "join_status": {str(c): codes.count(c) for c in sorted(set(codes))},
                "predict_price_s": round(price[0], 2), "predict_price": price[1],
                "predict_digit_s": round(label[0], 2), "predict_digit": label[1],
                "client_training_s": round(trained[0], 2), "client_training": trained[1],
                "client_training_admitted_after_s": round(reopened, 1) if retried[1] == "ok" else None,
                "client_training_run_s": round(retried[0], 1),
                "cpu_cores_after_flood": cpu}
    finally:
        stop_app(proc)


def heavy_strokes() -> dict:
    """The costliest drawing the stroke limits let through (dlcore.strokes): the widest brush zig-zagging corner to
    corner, as many moves as stay under MAX_WORK."""
    corners = [[10.0, 10.0], [270.0, 270.0]]
    points = [corners[0]]
    while True:
        more = [*points, corners[len(points) % 2]]
        drawing = {"canvas": [280, 280], "strokes": [{"points": more, "size": strokes.MAX_RADIUS, "color": "#000000"}]}
        try:
            strokes.parse(drawing, (280, 280))  # refuses a drawing over MAX_WORK
        except InputError:
            return {"canvas": [280, 280], "strokes": [{"points": points, "size": strokes.MAX_RADIUS, "color": "#000000"}]}
        points = more


def stroke_flood(tmp: Path, threads: int, seconds: float) -> dict:
    """The Digits tab's stroke reads skip the queue (a direct POST each, as the page sends them): `threads` clients
    send the heaviest drawing allowed as fast as they can, each POST from a new session; meanwhile a page-like client
    sends a 7 every half second from one session (read, or left to the editor's picture when the reads are busy), and
    a gradio_client asks /predict_digit (the queue's lane)."""
    proc, url = server(tmp)
    try:
        fn = event_index(url, "digit-strokes", "change")  # the quick read: the hidden component's change
        heavy = heavy_strokes()
        seven = {"canvas": [280, 280], "strokes": [{"points": [[60, 50], [210, 52], [120, 230]], "size": 11,
                                                    "color": "#000000"}]}
        digit = digit_png(tmp)
        client = Client(url, verbose=False)

        def predict_digit() -> float:
            t, status = timed_call(lambda: client.predict({"background": handle_file(digit), "layers": [],
                                                           "composite": handle_file(digit)}, api_name="/predict_digit"))
            if status != "ok":
                raise RuntimeError(status)
            return t

        def read(drawing: dict, session: str) -> tuple[float, str]:
            t0 = time.perf_counter()
            code, body = raw_run(url, fn, [drawing, None], session, timeout=60)
            kind = "error" if code != 200 else "read" if "label" in json.dumps(body.get("data")) else "unread"
            return time.perf_counter() - t0, kind

        for _ in range(3):  # warm: first-use imports and caches
            predict_digit(), read(seven, "warm"), read(heavy, "warm")
        calm = {"predict_digit_ms": round(1000 * common.median([predict_digit() for _ in range(5)])),
                "stroke_read_ms": round(1000 * common.median([read(seven, "calm")[0] for _ in range(10)])),
                "heavy_read_ms": round(1000 * common.median([read(heavy, "calm")[0] for _ in range(5)]))}
        stop = time.perf_counter() + seconds
        kinds, lock = Counter(), threading.Lock()

        def flooder(_):
            while time.perf_counter() < stop:
                kind = read(heavy, uuid.uuid4().hex)[1]
                with lock:
                    kinds[kind] += 1

        with ThreadPoolExecutor(threads + 1) as pool:
            floods = [pool.submit(flooder, k) for k in range(threads)]
            time.sleep(1.0)
            cpu = pool.submit(cpu_share, proc.pid, seconds - 3)
            page, digits_s = Counter(), []
            while time.perf_counter() < stop - 1:
                page[read(seven, "page")[1]] += 1
                digits_s.append(predict_digit())
                time.sleep(0.5)
            for f in floods:
                f.result()
            cores = cpu.result()
        return {"threads": threads, "seconds": seconds, "calm": calm, "flood_posts": dict(kinds),
                "flood_posts_per_s": round(sum(kinds.values()) / seconds), "server_cpu_cores": round(cores, 2),
                "page_sevens": dict(page), "predict_digit_ms_during": round(1000 * common.median(digits_s)),
                "predict_digit_ms_max_during": round(1000 * max(digits_s))}
    finally:
        stop_app(proc)


def sessions(tmp: Path, n: int, ttl: float) -> dict:
    proc, url = server(tmp, DLCORE_SESSION_TTL=ttl)
    try:
        def one(_):
            out = call(url, "predict_price", HOUSE)
            if out["event"] != "complete":
                raise RuntimeError(f"a price call failed: {out}")

        def burst(count: int) -> float:
            t0 = time.perf_counter()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(one, range(count)))
            return time.perf_counter() - t0

        burst(20)  # warm: first-use imports and caches
        time.sleep(1)
        rss0 = rss_mb(proc.pid)
        seconds = burst(n)
        rss1 = rss_mb(proc.pid)
        time.sleep(ttl * 2 + 5)  # the sessions are idle now: past their expiry and the sweeper's next pass
        rss2 = rss_mb(proc.pid)
        burst(n)
        rss3 = rss_mb(proc.pid)
        return {"sessions": n, "ttl_s": ttl, "seconds": round(seconds, 1), "rss_before_mb": round(rss0),
                "growth_mb": round(rss1 - rss0, 1), "growth_after_expiry_mb": round(rss2 - rss0, 1),
                "growth_after_second_round_mb": round(rss3 - rss0, 1)}
    finally:
        stop_app(proc)


def runs(tmp: Path, count: int) -> dict:
    proc, url = server(tmp, DLCORE_MAX_SECONDS=1)
    try:
        client = Client(url, verbose=False)
        client.predict(**{**BIG, "hidden": "8", "epochs": 2}, api_name="/train_spiral")  # warm
        rss0, disk0 = rss_mb(proc.pid), disk_mb(tmp)
        rows = []
        for i in range(count):
            status = timed_call(lambda: client.predict(**BIG, api_name="/train_spiral"))
            rows.append({"run": i + 1, "rss_mb": round(rss_mb(proc.pid) - rss0), "disk_mb": round(disk_mb(tmp) - disk0),
                         "result": status[1]})
            print(f"   run {i + 1}: RSS {rows[-1]['rss_mb']:+d} MB, disk {rows[-1]['disk_mb']:+d} MB", flush=True)
        return {"runs": count, "rss_growth_mb": rows[-1]["rss_mb"], "disk_growth_mb": rows[-1]["disk_mb"],
                "max_rss_growth_mb": max(r["rss_mb"] for r in rows), "max_disk_growth_mb": max(r["disk_mb"] for r in rows),
                "results": sorted({r["result"] for r in rows})}
    finally:
        stop_app(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="flood,strokes,sessions,runs")
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--ttl", type=float, default=10.0, help="DLCORE_SESSION_TTL for the sessions scenario")
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--stroke-threads", type=int, default=16, help="clients flooding the Digits tab's stroke reads")
    a = ap.parse_args()
    info = common.banner("hostile client: flood, sessions, big runs")
    out = {"benchmark": "hostile", "machine": info}
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        for name in a.only.split(","):
            folder = Path(tmp) / name
            t0 = time.perf_counter()
            if name == "flood":
                out[name] = flood(folder)
            elif name == "strokes":
                out[name] = stroke_flood(folder, a.stroke_threads, 20.0)
            elif name == "sessions":
                out[name] = sessions(folder, a.sessions, a.ttl)
            elif name == "runs":
                out[name] = runs(folder, a.runs)
            print(f"   {name} ({time.perf_counter() - t0:.0f} s): {out[name]}", flush=True)
            # what the stopped server (SIGTERM) left in its temporary folders
            out[name]["leftover_mb"] = round(disk_mb(folder / "tmp", folder / "gradio"), 1)
    common.emit(out)


if __name__ == "__main__":
    os.environ.setdefault("DLCORE_OFFLINE", "1")
    main()
