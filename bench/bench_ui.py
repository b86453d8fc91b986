"""Live-UI overhead: spiral training through the app's streaming handler vs the bare trainer, side by side.

    python bench/bench_ui.py [--epochs 1500] [--rounds 3] [--no-http]

Spiral with 3,000 points (1,000 per class; 2,400 train, 600 held out), the seed's 3-layer net 2-100-25-3 with ReLU,
Adam 1e-3, full batch. In each round the bare `Trainer.run()` and the Spiral tab's `SPEC.stream` (the very generator
the Train button streams) train the same config in turn. Targets: >= 5 UI updates per second, <= 20 % fewer steps per second
than the bare trainer. With HTTP on, the same run is also streamed from a launched `python app.py` through
gradio_client, counting the updates a client receives.
"""

from __future__ import annotations

import argparse
import time

import common

from dlcore.session import cached_data
from dlcore.train import Trainer
from playground.settings import TORCH_THREADS
from playground.tabs.spiral import SPEC


def args_for(epochs: int) -> dict:
    """The Spiral tab's preset (the seed's best row) on the CPU, by name."""
    return SPEC.args(epochs=epochs, device="cpu")


def bare(epochs: int) -> tuple[float, int]:
    cfg = SPEC.config(args_for(epochs))
    trainer = Trainer(cfg, cached_data(cfg))
    t0 = time.perf_counter()
    for rec in trainer.run():
        if rec.done:
            break
    return time.perf_counter() - t0, rec.step


def handler(epochs: int) -> tuple[float, int, list[float]]:
    t0 = time.perf_counter()
    stamps = []
    for _ in SPEC.stream(args_for(epochs), {}):
        stamps.append(time.perf_counter() - t0)
    return time.perf_counter() - t0, epochs, stamps


def over_http(epochs: int) -> tuple[float, int]:
    from gradio_client import Client

    from playground.serve import start_app, stop_app

    proc, url, _ = start_app()
    try:
        client = Client(url, verbose=False)
        client.predict(**args_for(50), api_name="/train_spiral")  # warm-up: the server's data cache, first imports
        t0 = time.perf_counter()
        job = client.submit(**args_for(epochs), api_name="/train_spiral")
        n = sum(1 for _ in job)
        return time.perf_counter() - t0, n
    finally:
        stop_app(proc)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-http", action="store_true")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(TORCH_THREADS)  # both sides run as they would inside the app's server process
    info = common.banner(f"live UI overhead: spiral 3,000 points, 2-100-25-3 ReLU, Adam, {a.epochs} full-batch epochs")
    bare(50), handler(50)  # warm-up: data cache, allocator, first-render imports
    rows = []
    for r in range(a.rounds):
        bt, steps = bare(a.epochs)
        ht, _, stamps = handler(a.epochs)
        ups = len(stamps) / ht
        gaps = [b - a_ for a_, b in zip(stamps, stamps[1:])]
        rows.append((steps / bt, a.epochs / ht, ups, max(gaps) if gaps else 0.0))
        print(f"   round {r + 1}: bare {steps / bt:7.1f} steps/s | handler {a.epochs / ht:7.1f} steps/s, "
              f"{len(stamps)} updates = {ups:.1f}/s, longest gap {rows[-1][3]:.2f} s", flush=True)
    bare_sps = common.median([x[0] for x in rows])
    ui_sps = common.median([x[1] for x in rows])
    ups = common.median([x[2] for x in rows])
    slowdown = 1 - ui_sps / bare_sps
    print(f"   median: {ups:.1f} UI updates/s (target >= 5); steps/s {ui_sps:.1f} vs bare {bare_sps:.1f}: "
          f"{100 * slowdown:.1f} % fewer (target <= 20 %)")
    result = {"benchmark": "ui_overhead", "epochs": a.epochs, "bare_steps_per_s": bare_sps,
              "handler_steps_per_s": ui_sps, "updates_per_s": ups, "fewer_steps_fraction": slowdown, "machine": info}
    if not a.no_http:
        t, n = over_http(a.epochs)
        print(f"   over HTTP (gradio_client stream): {a.epochs / t:.1f} steps/s, {n} updates received = {n / t:.1f}/s "
              "(after a 50-epoch warm-up run)")
        result.update({"http_steps_per_s": a.epochs / t, "http_updates_per_s": n / t})
    common.emit(result)


if __name__ == "__main__":
    main()
