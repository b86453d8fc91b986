"""Many users at once against the launched app: a load test, a soak test, isolation, a bounded queue, time limits.

Numbers (p95 latency, memory growth) are printed and written to artifacts/; the assertions are about behaviour
(every answer right for its own input, none lost, memory bounded), never about speed.
"""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from dlcore.data import embedded_mnist
from dlcore.predict import predict_digit
from playground import settings, store
from playground.serve import ROOT, launch_here, start_app, stop_app
from playground.tabs import spiral

pytestmark = [pytest.mark.slow, pytest.mark.serial]  # latencies and RSS: alone on the machine (scripts/test)
ARTIFACTS = ROOT / "artifacts"
SPIRAL = spiral.SPEC.args(points=300, hidden="32,16", lr="1e-2", epochs=20000, device="cpu")


@pytest.fixture(scope="module")
def server():
    """`python app.py` in its own process, as deployed: the 32 client threads here do not share its GIL."""
    proc, url, _ = start_app()
    server_pid[0] = proc.pid
    yield url
    stop_app(proc)


server_pid = [0]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """Held-out digits the default model reads correctly, as Sketchpad PNG files with their labels."""
    folder = tmp_path_factory.mktemp("sketches")
    _, _, xte, yte = embedded_mnist()
    tm = store.default_model("digits")
    out = []
    for i in range(0, 1000, 7):
        big = np.asarray(Image.fromarray(255 - xte[i].numpy()).resize((280, 280)))
        rgba = np.dstack([big, big, big, np.full_like(big, 255)])
        probs, _ = predict_digit(tm, {"background": None, "layers": [], "composite": rgba})
        if max(probs, key=probs.get) == str(int(yte[i])):
            path = folder / f"{i}.png"
            Image.fromarray(rgba, "RGBA").save(path)
            out.append((str(path), str(int(yte[i]))))
        if len(out) == 64:
            break
    return out


def payload(path):
    return {"background": handle_file(path), "layers": [], "composite": handle_file(path)}


def predict_for(server: str, digits: list, callers: int, stride: int, seconds: float = 10.0):
    """`callers` gradio clients asking /predict_digit for `seconds`, each through the digits from its own offset:
    (answers per caller, latencies in ms, wrong answers, lost requests)."""
    clients = [Client(server, verbose=False) for _ in range(callers)]
    stop_at = time.time() + seconds
    latencies, wrong, errors = [], [], []
    lock = threading.Lock()

    def caller(k: int) -> int:
        n = 0
        while time.time() < stop_at:
            path, truth = digits[(k * stride + n) % len(digits)]
            t0 = time.perf_counter()
            try:
                label = clients[k].predict(payload(path), api_name="/predict_digit")[0]["label"]
            except Exception as e:  # a lost request
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)
                if label != truth:
                    wrong.append((path, truth, label))
            n += 1
        return n

    with ThreadPoolExecutor(callers) as pool:
        counts = list(pool.map(caller, range(callers)))
    return counts, latencies, wrong, errors


def rss_mb(pid: int) -> float:
    """Resident memory of the server process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def test_32_concurrent_predictors_while_two_sessions_train(server, digits):
    trainers = [Client(server, verbose=False) for _ in range(2)]
    jobs = [c.submit(**SPIRAL, api_name="/train_spiral") for c in trainers]
    deadline = time.time() + 60
    while not all(j.outputs() for j in jobs) and time.time() < deadline:
        time.sleep(0.1)
    assert all(j.outputs() for j in jobs), "both sessions should be training"
    counts, latencies, wrong, errors = predict_for(server, digits, callers=32, stride=5)
    still_training = [not j.done() for j in jobs]
    for j in jobs:
        j.cancel()
    result = {"callers": 32, "requests": len(latencies), "errors": len(errors), "wrong": len(wrong),
              "p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
              "trainings_running_throughout": all(still_training)}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(result, indent=1))
    print("\nload test:", result)
    assert errors == [] and wrong == []
    assert all(n >= 1 for n in counts) and all(still_training)


def test_sessions_are_isolated(server, digits):
    a, b = Client(server, verbose=False), Client(server, verbose=False)
    short = {**SPIRAL, "epochs": 15}
    job_a = a.submit(**{**short, "hidden": "8"}, api_name="/train_spiral")
    job_b = b.submit(**{**short, "hidden": "48,24"}, api_name="/train_spiral")
    out_a, out_b = list(job_a)[-1], list(job_b)[-1]
    assert "now used for predictions" in out_a[0] and "now used for predictions" in out_b[0]
    # each session predicts with its own model: the digit endpoint of a fresh session still uses the default
    fresh = Client(server, verbose=False)
    path, truth = digits[0]
    assert "built-in default" in fresh.predict(payload(path), api_name="/predict_digit")[1]


def test_soak_train_cancel_predict(server, digits):
    client = Client(server, verbose=False)
    samples = []
    for cycle in range(50):
        job = client.submit(**SPIRAL, api_name="/train_spiral")
        t0 = time.time()
        while not job.outputs() and time.time() - t0 < 30:
            time.sleep(0.05)
        job.cancel()
        while not job.done() and time.time() - t0 < 60:
            time.sleep(0.05)
        path, truth = digits[cycle % len(digits)]
        assert client.predict(payload(path), api_name="/predict_digit")[0]["label"] == truth
        if cycle in (9, 49):
            samples.append(rss_mb(server_pid[0]))
    growth = samples[1] - samples[0]
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps({"cycles": 50, "rss_after_10_mb": samples[0],
                                                     "rss_after_50_mb": samples[1], "growth_mb": growth}))
    print(f"\nsoak: RSS {samples[0]:.0f} MB after 10 cycles, {samples[1]:.0f} MB after 50 (growth {growth:+.0f} MB)")
    assert growth < 150


def test_a_full_queue_says_so(monkeypatch):
    monkeypatch.setattr(settings, "TRAIN_QUEUE", 1)  # training's own waiting places (predictions have theirs)
    monkeypatch.setattr(settings, "TRAIN_CONCURRENCY", 1)
    demo, url = launch_here()
    try:
        jobs = [Client(url, verbose=False).submit(**SPIRAL, api_name="/train_spiral") for _ in range(4)]
        messages = []
        for j in reversed(jobs[1:]):  # the last ones are refused at once; the second waits in the queue
            try:
                j.result(timeout=20)
            except Exception as e:
                messages.append(str(e))
                if "training is full, try again in a minute" in str(e).lower():
                    break
        assert any("training is full, try again in a minute" in m.lower() for m in messages), messages
        for j in jobs:
            j.cancel()
    finally:
        demo.close()


def test_time_limit_ends_a_job(monkeypatch):
    monkeypatch.setattr(settings, "LIMITS", settings.LIMITS.__class__(max_seconds=1.0))
    out = list(spiral.SPEC.stream(SPIRAL, {}))[-1]
    assert "time budget of 1 s ran out" in out["status"] and out["state"]["model"] is not None


def test_predictions_stay_responsive_while_a_sweep_runs(server, digits):
    """A sweep (`/sweep_spiral`, the Seed lab's engine: Ray trials in their own processes, at the user's share of the
    cores) keeps training while 16 clients predict digits: every answer right, none lost, latencies recorded."""
    sweeper = Client(server, verbose=False)
    job = sweeper.submit(grid="lr=1e-3,3e-3,1e-2\nepochs=20000", scheduler="fifo", trials_at_once=0,
                         api_name="/sweep_spiral")
    deadline = time.time() + 240  # the first sweep starts Ray in the server
    while time.time() < deadline and not any("1 running" in (o or {}).get("status", "") for o in job.outputs()):
        time.sleep(0.2)
    assert any("1 running" in (o or {}).get("status", "") for o in job.outputs()), job.outputs()[-1:]
    counts, latencies, wrong, errors = predict_for(server, digits, callers=16, stride=7)
    sweeping = not job.done() and "running" in job.outputs()[-1]["status"]
    job.cancel()  # a client's cancel ends the sweep's trials too
    result = {"callers": 16, "requests": len(latencies), "errors": len(errors), "wrong": len(wrong),
              "p50_ms": float(np.percentile(latencies, 50)), "p95_ms": float(np.percentile(latencies, 95)),
              "sweep_running_throughout": sweeping}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load-sweep.json").write_text(json.dumps(result, indent=1))
    print("\nload test with a sweep:", result)
    assert errors == [] and wrong == [] and all(n >= 1 for n in counts) and sweeping
