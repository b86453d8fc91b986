"""Inside-the-network overhead, side by side in one run: the 2-D tab's network view on vs off, and the trainer's
per-layer statistics on vs off.

    python bench/bench_netview.py [--rounds 3] [--seconds 4]

1. The network view: the 2-D tab's streaming handler (`SPEC.stream`, the generator the Train button streams) with
   `network_view` on and off, in turn, for a 2-8-8-1 net (the mix of Gaussians, a value over the plane, 1,000
   points) and the seed's 2-100-25-3 net (the spiral, 3,000 points), full batch. Targets: >= 4 network-view updates
   per second, and no more than 20 % fewer steps per second than with the view off.
2. The layer statistics (weight and gradient norms, saturated and dead units, recorded by the trainer for every
   tab): the bare `Trainer.run()` of the 2-100-25-3 spiral with `layer_stats` on and off, 1,000 full-batch epochs.
Each side runs about `--seconds` per round (the epochs are set from a warm-up's speed); medians over the rounds. Both
wall-clock steps per second and CPU seconds per step (the process's, all threads) are reported: on a machine that
other jobs share, wall-clock rounds scatter widely, while CPU time per step is what the view adds to each step.
"""

from __future__ import annotations

import argparse
import time

import common

from dlcore.session import cached_data
from dlcore.train import Trainer
from playground.settings import TORCH_THREADS
from playground.tabs.spiral import SPEC

NETS = {
    "2-8-8-1 (gaussian_mix)": {"dataset": "gaussian_mix", "hidden": "8,8", "lr": "1e-2", "loss": "mse"},
    "2-100-25-3 (spiral)": {"dataset": "spiral", "hidden": "100,25", "lr": "1e-3"},
}


def stream(net: dict, epochs: int, view: bool) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, network-view updates) of one run through the tab's handler."""
    values = SPEC.args(**net, epochs=epochs, device="cpu", network_view=view)
    t0, c0, views = time.perf_counter(), time.process_time(), 0
    for update in SPEC.stream(values, {}):
        views += update.get("network") is not None
    return time.perf_counter() - t0, time.process_time() - c0, views


def bare(epochs: int, stats: bool) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of the bare trainer."""
    cfg = SPEC.config(SPEC.args(epochs=epochs, device="cpu"))
    trainer = Trainer(cfg, cached_data(cfg), layer_stats=stats)
    t0, c0 = time.perf_counter(), time.process_time()
    for rec in trainer.run():
        if rec.done:
            break
    return time.perf_counter() - t0, time.process_time() - c0


def network_rounds(rounds: int, seconds: float) -> dict:
    out = {}
    for name, net in NETS.items():
        stream(net, 100, True)  # warm-up: data, imports, the first pictures
        t, _, _ = stream(net, 300, False)  # the speed that sets the epochs
        epochs = max(300, int(300 * seconds / t))
        rows = []
        for r in range(rounds):
            off, off_cpu, _ = stream(net, epochs, False)
            on, on_cpu, views = stream(net, epochs, True)
            rows.append((epochs / off, epochs / on, views / on, 1e3 * off_cpu / epochs, 1e3 * on_cpu / epochs))
            print(f"   {name} round {r + 1}: view off {epochs / off:7.1f} steps/s ({rows[-1][3]:.2f} ms CPU/step) | "
                  f"on {epochs / on:7.1f} steps/s ({rows[-1][4]:.2f} ms CPU/step), {views} views = {views / on:.1f}/s",
                  flush=True)
        off_sps, on_sps, ups, off_ms, on_ms = (common.median([x[k] for x in rows]) for k in range(5))
        print(f"   {name} median: {ups:.1f} network views/s (target >= 4); steps/s {on_sps:.1f} vs {off_sps:.1f} off: "
              f"{100 * (1 - on_sps / off_sps):.1f} % fewer; CPU per step {on_ms:.2f} vs {off_ms:.2f} ms: "
              f"{100 * (1 - off_ms / on_ms):.1f} % fewer steps for the same CPU (target <= 20 %)", flush=True)
        out[name] = {"epochs": epochs, "steps_per_s_view_off": off_sps, "steps_per_s_view_on": on_sps,
                     "network_views_per_s": ups, "fewer_steps_fraction_wall": 1 - on_sps / off_sps,
                     "cpu_ms_per_step_view_off": off_ms, "cpu_ms_per_step_view_on": on_ms,
                     "fewer_steps_fraction_cpu": 1 - off_ms / on_ms}
    return out


def stats_rounds(rounds: int) -> dict:
    bare(50, True)  # warm-up
    rows = []
    for r in range(rounds):
        (off, off_cpu), (on, on_cpu) = bare(1000, False), bare(1000, True)
        rows.append((1000 / off, 1000 / on, off_cpu, on_cpu))
        print(f"   layer statistics round {r + 1}: off {1000 / off:7.1f} steps/s ({off_cpu:.2f} s CPU) | "
              f"on {1000 / on:7.1f} steps/s ({on_cpu:.2f} s CPU)", flush=True)
    off_sps, on_sps, off_cpu, on_cpu = (common.median([x[k] for x in rows]) for k in range(4))
    print(f"   layer statistics median: {on_sps:.1f} vs {off_sps:.1f} steps/s: {100 * (1 - on_sps / off_sps):.1f} % fewer; "
          f"CPU {on_cpu:.2f} vs {off_cpu:.2f} s: {100 * (on_cpu / off_cpu - 1):.1f} % more", flush=True)
    return {"steps_per_s_stats_off": off_sps, "steps_per_s_stats_on": on_sps,
            "fewer_steps_fraction_wall": 1 - on_sps / off_sps, "cpu_s_stats_off": off_cpu, "cpu_s_stats_on": on_cpu}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0, help="about how long each side trains per round")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(TORCH_THREADS)  # as inside the app's server process
    info = common.banner("inside the network: the network view and the layer statistics, on vs off")
    result = {"benchmark": "netview", "network_view": network_rounds(a.rounds, a.seconds),
              "layer_stats": stats_rounds(a.rounds), "machine": info}
    common.emit(result)


if __name__ == "__main__":
    main()
