"""Prediction latency: sketch -> top-3 label and house -> price, in process and over HTTP via gradio_client.

    python bench/bench_predict.py [--n 200] [--http-n 100] [--no-http]

In process (targets: sketch median <= 15 ms, price <= 5 ms): the full path a request takes inside the server's handler
code — a 280x280 RGBA Sketchpad value through preprocessing (crop, 20 px fit, centre of mass) and the default CNN
(with its test-time augmentation, dlcore.predict.predict_images; also timed without it, side by side); 13
raw feature values through validation, standardisation and the default MLP. Over HTTP (target: sketch median <= 150 ms):
`python app.py` on a local port, `Client.predict(..., api_name="/predict_digit")` with the sketch's composite as a PNG
file (one upload per call).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import common
import numpy as np
from PIL import Image

from dlcore.data import embedded_mnist
from dlcore.defaults import load_default
from dlcore.predict import model_input, predict_digit, predict_image, predict_price, uses_tta

HOUSE = [0.00632, 18, 2.31, 0, 0.538, 6.575, 65.2, 4.09, 1, 296, 15.3, 396.9, 4.98]


def sketches(n: int) -> list[tuple[np.ndarray, int]]:
    """Held-out digits drawn as a Sketchpad would send them: black ink on white, 280x280 RGBA."""
    _, _, xte, yte = embedded_mnist()
    out = []
    for i in range(n):
        img = xte[(i * 37) % len(xte)].numpy()
        big = np.asarray(Image.fromarray(255 - img).resize((280, 280), Image.Resampling.BILINEAR))
        out.append((np.dstack([big, big, big, np.full_like(big, 255)]), int(yte[(i * 37) % len(yte)])))
    return out


def timed(fn, items) -> list[float]:
    ts = []
    for it in items:
        t0 = time.perf_counter()
        fn(it)
        ts.append((time.perf_counter() - t0) * 1000)
    return ts


def pct(ts, q) -> float:
    return float(np.percentile(ts, q))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--http-n", type=int, default=100)
    ap.add_argument("--no-http", action="store_true")
    a = ap.parse_args()
    import torch

    from playground.settings import TORCH_THREADS

    torch.set_num_threads(TORCH_THREADS)  # as the app's process runs, so "in process" means inside the server
    info = common.banner("prediction latency")
    digits, boston = load_default("digits"), load_default("boston")
    items = sketches(a.n)
    for arr, _ in items[:5]:  # warm-up
        predict_digit(digits, {"background": None, "layers": [], "composite": arr})
    sk = timed(lambda it: predict_digit(digits, {"background": None, "layers": [], "composite": it[0]}), items)
    # the same path answering from the framed drawing alone, without test-time augmentation: what TTA costs
    plain = timed(lambda it: predict_image(digits, model_input(digits, {"background": None, "layers": [],
                                                                         "composite": it[0]}), tta=False), items)
    correct = sum(max(p, key=p.get) == str(y) for p, y in
                  ((predict_digit(digits, {"background": None, "layers": [], "composite": arr})[0], y) for arr, y in items))
    pr = timed(lambda it: predict_price(boston, it), [HOUSE] * a.n)
    result = {"benchmark": "predict_latency", "machine": info,
              "sketch_in_process_ms": {"median": common.median(sk), "p95": pct(sk, 95)}, "tta": uses_tta(digits),
              "sketch_in_process_no_tta_ms": {"median": common.median(plain), "p95": pct(plain, 95)},
              "price_in_process_ms": {"median": common.median(pr), "p95": pct(pr, 95)},
              "sketch_accuracy": correct / len(items)}
    print(f"   sketch -> top-3, in process: median {common.median(sk):.2f} ms, p95 {pct(sk, 95):.2f} ms "
          f"(target median <= 15 ms); {correct}/{len(items)} correct; test-time augmentation: {uses_tta(digits)}")
    print(f"   the same without test-time augmentation: median {common.median(plain):.2f} ms, p95 {pct(plain, 95):.2f} ms")
    print(f"   house -> price, in process:  median {common.median(pr):.3f} ms, p95 {pct(pr, 95):.3f} ms "
          f"(target median <= 5 ms)")
    if not a.no_http:
        from gradio_client import Client, handle_file

        from playground.serve import start_app, stop_app

        proc, url, _ = start_app()
        try:
            client = Client(url, verbose=False)
            with tempfile.TemporaryDirectory() as tmp:
                files = []
                for i, (arr, y) in enumerate(items[:20]):
                    p = Path(tmp) / f"s{i}.png"
                    Image.fromarray(arr, "RGBA").save(p)
                    files.append((str(p), y))
                # The composite is what the handler reads; a client need not upload the same picture twice.
                payloads = [({"background": None, "layers": [], "composite": handle_file(p)}, y) for p, y in files]
                for pl, _ in payloads[:3]:
                    client.predict(pl, api_name="/predict_digit")
                ht, ok = [], 0
                for i in range(a.http_n):
                    pl, y = payloads[i % len(payloads)]
                    t0 = time.perf_counter()
                    out = client.predict(pl, api_name="/predict_digit")
                    ht.append((time.perf_counter() - t0) * 1000)
                    label = out[0] if isinstance(out, (list, tuple)) else out
                    ok += str(label.get("label")) == str(y)
                hp = []
                for _ in range(a.http_n):
                    t0 = time.perf_counter()
                    client.predict(*HOUSE, api_name="/predict_price")
                    hp.append((time.perf_counter() - t0) * 1000)
        finally:
            stop_app(proc)
        result["sketch_http_ms"] = {"median": common.median(ht), "p95": pct(ht, 95)}
        result["price_http_ms"] = {"median": common.median(hp), "p95": pct(hp, 95)}
        print(f"   sketch -> top-3 over HTTP (gradio_client): median {common.median(ht):.1f} ms, p95 {pct(ht, 95):.1f} ms "
              f"(target median <= 150 ms); {ok}/{a.http_n} correct")
        print(f"   house -> price over HTTP: median {common.median(hp):.1f} ms, p95 {pct(hp, 95):.1f} ms")
    common.emit(result)


if __name__ == "__main__":
    main()
