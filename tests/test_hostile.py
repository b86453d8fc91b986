"""A hostile client (issue 10): admission control, lean expiring sessions, capped memory and disk, clean exit.

The load tests drive one `python app.py` in its own process (playground.serve.start_app), on loopback only, each
bounded; the rest check the same pieces in process. Figures (RSS, disk, CPU) are printed; bench/bench_hostile.py takes
them side by side with the code before the change.
"""

import asyncio
import contextlib
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import gradio as gr
import numpy as np
import pytest
from conftest import HOUSE
from gradio_client import Client, handle_file
from gradio_client.utils import Status
from PIL import Image

from dlcore.data import embedded_mnist
from dlcore.defaults import load_default
from dlcore.errors import ConfigError, InputError
from dlcore.predict import BOSTON_ORDER, predict_digit, predict_price
from playground import admission, sessions, settings, store
from playground.serve import call, cpu_seconds, disk_mb, fn_index, raw_cancel, raw_join, read_stream, rss_mb, start_app, stop_app
from playground.tabs import compare, spiral

LONG = spiral.SPEC.args(points=2000, hidden="256,256", epochs=20000, device="cpu")
# The largest model the server allows: the test server's cap is this model's 295,383 parameters (bench/bench_hostile.py
# runs the default 5 M cap's 2048,2048), so twelve runs (each redraws the decision boundary) take seconds, not minutes.
BIG_CAP = BIG_PARAMS = 295_383
BIG = spiral.SPEC.args(points=500, hidden="540,540", epochs=20000, device="cpu")
# One `python app.py` for the load tests: short grace, expiry and job time limit, the small parameter cap.
ENV = {"DLCORE_LISTEN_GRACE": 6, "DLCORE_SESSION_TTL": 4, "DLCORE_MAX_SECONDS": 1, "DLCORE_MAX_PARAMS": BIG_CAP}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """`python app.py` (ENV), its temporary folders and log under one folder: (process, url, folder)."""
    folder = tmp_path_factory.mktemp("hostile")
    for sub in ("gradio", "tmp"):
        (folder / sub).mkdir()
    proc, url, _ = start_app(env={"GRADIO_TEMP_DIR": str(folder / "gradio"), "TMPDIR": str(folder / "tmp"),
                                  **{k: str(v) for k, v in ENV.items()}}, log=folder / "server.log")
    yield proc, url, folder
    stop_app(proc)


def digit_sketch(tmp_path):
    """A held-out digit the default model reads right, as the Sketchpad's files, with its label."""
    _, _, xte, yte = embedded_mnist()
    big = np.asarray(Image.fromarray(255 - xte[0].numpy()).resize((280, 280)))
    rgba = np.dstack([big, big, big, np.full_like(big, 255)])
    probs, _ = predict_digit(load_default("digits"), {"background": None, "layers": [], "composite": rgba})
    assert max(probs, key=probs.get) == str(int(yte[0]))
    path = tmp_path / "digit.png"
    Image.fromarray(rgba, "RGBA").save(path)
    return {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}, str(int(yte[0]))


def cores_used(pid: int, seconds: float = 3.0) -> float:
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)


# ---------------------------------------------------------------- load tests against python app.py

@pytest.mark.slow
@pytest.mark.serial  # timed and measured against python app.py: alone on the machine (scripts/test)
def test_a_training_flood_cannot_lock_out_predictions(app, tmp_path):
    proc, url, folder = app
    train = fn_index(url, "train_spiral")
    client, (sketch, truth) = Client(url, verbose=False), digit_sketch(tmp_path)
    flood = [uuid.uuid4().hex for _ in range(66)]
    codes = [raw_join(url, train, [*LONG.values(), None], s)[0] for s in flood]  # never opening a stream
    assert codes == [200] * 66  # accepted as events; each one's result says what became of it
    t0 = time.perf_counter()
    price = client.predict(*HOUSE, api_name="/predict_price")[0]
    label = client.predict(sketch, api_name="/predict_digit")[0]["label"]
    answered = time.perf_counter() - t0
    assert price == pytest.approx(predict_price(load_default("boston"), HOUSE)[0], abs=0.01) and label == truth
    with pytest.raises(Exception, match="Training is full, try again in a minute"):  # said plainly, to a client
        client.predict(**{**LONG, "epochs": 3}, api_name="/train_spiral")
    assert time.perf_counter() - t0 < ENV["DLCORE_LISTEN_GRACE"], "too slow to see the flood's jobs waiting"
    time.sleep(ENV["DLCORE_LISTEN_GRACE"] + 2)  # past the grace period: the flood's waiting jobs are dropped, not run
    cores = cores_used(proc.pid)
    ends = [next(m for m in read_stream(url, s, timeout=10) if m["msg"] == "process_completed") for s in flood]
    refused = sum("Training is full" in e["output"]["error"] for e in ends)
    dropped = sum("was not run: no client listened" in e["output"]["error"] for e in ends)
    print(f"\nflood: predictions answered in {answered:.1f} s; {refused} joins refused, {dropped} dropped unrun; "
          f"server CPU afterwards {cores:.2f} cores")
    assert not any(e["success"] for e in ends) and refused + dropped == 66 and dropped <= settings.TRAIN_QUEUE + 2
    assert cores < 0.3, "the server is still busy after the flood"
    out = client.predict(**{**LONG, "points": 100, "epochs": 3}, api_name="/train_spiral")  # training is open again
    # it ran and its model is in use: all 3 epochs, or as many as this app's 1 s job limit (ENV) allowed a busy machine
    assert "now used for predictions" in out[0] or "The model trained so far is now in use" in out[0], out[0]
    with pytest.raises(Exception, match="activation 'nope' is unknown; choose from"):  # a refused dropdown value
        client.predict(**{**LONG, "activation": "nope"}, api_name="/train_spiral")
    log = (folder / "server.log").read_text()
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.serial  # timed and measured against python app.py: alone on the machine (scripts/test)
def test_a_training_cancelled_before_its_client_listens_gives_its_place_back(app):
    """A job that has a training place but waits for its listener, then is cancelled (Stop, /cancel): before the fix
    each such cancel kept one of the TRAIN_CONCURRENCY places for good, and two locked training for everyone."""
    _, url, _ = app
    train = fn_index(url, "train_spiral")
    for _ in range(settings.TRAIN_CONCURRENCY + 1):
        session = uuid.uuid4().hex
        code, body = raw_join(url, train, [*LONG.values(), None], session)
        assert code == 200, body
        time.sleep(0.5)  # it takes a place, and waits there for a client to listen
        assert raw_cancel(url, train, session, body["event_id"]) == 200
    job = Client(url, verbose=False).submit(**{**LONG, "points": 100, "epochs": 3}, api_name="/train_spiral")
    assert "now used for predictions" in job.result(timeout=60)[0]  # a place is free: it ran


@pytest.mark.slow
@pytest.mark.serial  # timed and measured against python app.py: alone on the machine (scripts/test)
def test_a_thousand_fresh_sessions_stay_small_and_expire(app):
    proc, url, _ = app

    def one(_):
        out = call(url, "predict_price", HOUSE)  # each call is a session of its own, as curl makes it
        assert out["event"] == "complete" and out["data"][0] > 0, out

    def burst(n):
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(n)))

    burst(200)  # first-use imports, caches and the server's worker threads (RSS rises ~180 MB over the first 200 calls)
    rss0 = rss_mb(proc.pid)
    burst(1000)
    rss1 = rss_mb(proc.pid)
    time.sleep(ENV["DLCORE_SESSION_TTL"] + 5 + 2)  # the expiry, the expirer's period, a margin
    rss2 = rss_mb(proc.pid)
    burst(500)
    rss3 = rss_mb(proc.pid)
    print(f"\nsessions: RSS {rss0:.0f} MB; +{rss1 - rss0:.0f} MB after 1,000 sessions, {rss2 - rss0:+.0f} MB after "
          f"their expiry, {rss3 - rss0:+.0f} MB after 500 more")
    assert rss1 - rss0 <= 100  # was +465 MB
    # expired sessions' memory is returned and reused: their expiry frees, and 500 more sessions grow RSS by far less
    # than 500 kept sessions cost before the change (~215 MB): at most 50 MB or half of what 1,000 cost now; the rest
    # is allocator noise (seen: -8 to +14 MB). test_idle_sessions_expire_and_free_their_models checks the expiry
    # itself, exactly.
    assert rss2 <= rss1 + 5 and rss3 - rss1 <= max(50.0, 0.5 * (rss1 - rss0))


@pytest.mark.slow
@pytest.mark.serial  # timed and measured against python app.py: alone on the machine (scripts/test)
def test_big_runs_in_one_session_stay_within_the_caps_and_sigterm_cleans_up(app):
    proc, url, folder = app
    temporary = (folder / "gradio", folder / "tmp")
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="over the limit"):  # BIG is the largest: one unit more is refused
        client.predict(**{**BIG, "hidden": "541,540"}, api_name="/train_spiral")
    client.predict(**{**BIG, "hidden": "8", "epochs": 2}, api_name="/train_spiral")  # first-use imports
    rss0, disk0 = rss_mb(proc.pid), disk_mb(*temporary)
    growth, checkpoints = [], []
    for _ in range(12):
        status = client.predict(**BIG, api_name="/train_spiral")[0]
        assert "time budget of 1 s ran out" in status
        growth.append((rss_mb(proc.pid) - rss0, disk_mb(*temporary) - disk0))
        checkpoints.append(_megabytes(p for p in _files(*temporary) if p.endswith(".safetensors")))
    print("\nbig runs (RSS MB, disk MB, checkpoint MB):", [(round(r), round(d, 1), round(c, 1))
                                                        for (r, d), c in zip(growth, checkpoints)])
    one_model = 4 * BIG_PARAMS / 1e6  # the kept model; its checkpoint is the same size
    assert max(r for r, _ in growth) <= 10 * one_model + 50  # a kept model and a run's working set, not 12 of them
    assert max(checkpoints) <= 2 * one_model  # one download file (and the warm-up's tiny one), not one per run
    # besides it, only the pictures each run streamed (~0.1 MB a run here), which gradio's delete_cache removes after
    # DLCORE_CACHE_AGE; before the change the disk grew by one 1.2 MB checkpoint a run, twice (was +387 MB)
    assert max(d for _, d in growth) <= 2 * one_model + 12 * 0.25
    proc.terminate()  # SIGTERM: the server closes and deletes its files on the way out
    deadline = time.monotonic() + 30
    while (left := _files(*temporary)) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"the stopped server left its files behind: {left}"
    stop_app(proc)  # the interpreter's own exit (torch's teardown) can take seconds more on a busy machine


def _files(*folders) -> list[str]:
    return [os.path.join(r, n) for f in folders for r, _, names in os.walk(f) for n in names]


def _megabytes(paths) -> float:
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):  # deleted meanwhile
            total += os.lstat(path).st_size
    return total / 1e6


# ---------------------------------------------------------------- the same pieces, in process

@pytest.fixture(scope="module")
def demo():
    from playground.app import build_demo

    return build_demo()


def test_every_long_job_is_under_the_training_rules(demo):
    fns = list(demo.fns.values())
    regen = demo.tabs["spiral"].parts["regen"]._id
    long = [fn for fn in fns if fn.api_name in ("train_spiral", "train_boston", "train_digits")
            or fn.name in ("run_reproduction", "run_comparison") or any(t[0] == regen for t in fn.targets)]
    assert len(long) == 6  # three Train buttons, the Seed lab's two jobs, Regenerate
    assert all(fn.concurrency_id == admission.TRAIN for fn in long), [fn.name for fn in long]
    load = [fn for fn in demo.fns.values() if any(t[1] == "load" for t in fn.targets) and fn.outputs]
    assert load and not any(fn.concurrency_id == admission.TRAIN for fn in load)
    assert all(len(fn.inputs) <= 1 for fn in load)  # page loads draw the preset's data: no client-sized spiral
    assert demo._queue.max_size is None and demo.api_open is False  # the gate caps the queue; nothing skips it


def test_the_comparison_queue_ends_at_the_job_time_limit(monkeypatch):
    monkeypatch.setattr(settings, "LIMITS", settings.LIMITS.__class__(max_seconds=2.0))
    cfg = spiral.SPEC.config(spiral.SPEC.args(points=500, hidden="64,64", epochs=20000, device="cpu"))
    queue = [(f"run {i}", cfg) for i in range(12)]
    t0 = time.perf_counter()
    out = list(compare.run_comparison({}, queue))  # a sweep on Ray: its start is inside the limit's reach too
    took = time.perf_counter() - t0
    assert took < 60 and "time limit" in out[-1]["status"]  # twelve 20,000-epoch runs would take many minutes
    print(f"\n12 queued runs under a 2 s job limit ended after {took:.1f} s")


def test_the_gate_never_pushes_out_a_listening_session(demo):
    gate = admission.Gate(demo._queue)
    pending = demo._queue.pending_messages_per_session
    pending.clear()
    for i in range(pending.max_size):
        pending[f"s{i}"] = object()
    gate.opened("s0")  # the oldest is listening: the next oldest goes
    assert gate._make_room("new") and "s0" in pending and "s1" not in pending
    pending["s1"] = object()  # full again, and now everyone listens: a new session is refused instead
    for sid in list(pending):
        gate.opened(sid)
    assert not gate._make_room("another") and len(pending) == pending.max_size
    pending.clear()


def test_the_sweep_leaves_a_job_waiting_for_its_listener_and_tells_a_stopped_ones_client(demo):
    """Two training jobs whose clients stopped listening past the grace period: one still held in process_events,
    waiting for its listener, and one already running. The sweep leaves the held one to process_events (which ends it
    with its "not run" note); before, the sweep could end it first, silently, and a client that came to listen after
    all waited for good (the flood test's rare socket timeout). The running one is stopped with a note saying so."""
    from gradio.queueing import Event

    gate = admission.Gate(demo._queue)
    fn = next(f for f in demo.fns.values() if f.api_name == "train_spiral")
    held, running = (Event(uuid.uuid4().hex, fn, None, None) for _ in range(2))
    pending = demo._queue.pending_messages_per_session
    for e in (held, running):
        e.enqueue_time -= gate.grace + 1
        pending[e.session_hash] = asyncio.Queue()
    gate._held.add(held._id)
    demo._queue.active_jobs.append([held, running])
    try:
        gate.sweep()
        assert held.alive and pending[held.session_hash].empty()
        assert not running.alive and gate.tally.dropped_running == 1
        note = pending[running.session_hash].get_nowait()
        assert note.msg == "process_completed" and not note.success and note.event_id == running._id
        assert "stopped: no client listened" in str(note.output)
    finally:
        demo._queue.active_jobs.remove([held, running])
        for e in (held, running):
            pending.pop(e.session_hash, None)


def test_parked_image_blobs_are_bounded_and_dropped(monkeypatch):
    admission.guard_image_blobs()
    editor = gr.Sketchpad(render=False)

    class Blob:  # what the component server hands accept_blobs: form fields as text, the file as bytes
        def __init__(self, blob_id, index, size):
            self.data = {"type": "layer", "index": str(index), "id": blob_id}
            self.files = [("blob", b"\0" * size)]

    with pytest.raises(gr.Error, match="layer index '1000000000' is out of range"):
        editor.accept_blobs(Blob("a", 10**9, 10))
    editor.accept_blobs(Blob("a", 1, 1000))
    assert admission.parked_bytes() == 1000
    monkeypatch.setattr(settings, "BLOB_MB", 0.0015)
    with pytest.raises(gr.Error, match="too many drawings are waiting"):
        editor.accept_blobs(Blob("b", 1, 1000))
    assert admission.sweep_blobs() == 0 and "a" in editor.blob_storage
    assert admission.sweep_blobs(time.monotonic() + admission.BLOB_TTL + 1) == 1 and editor.blob_storage == {}


def test_a_drawing_feeds_every_event_that_names_it_then_goes(monkeypatch):
    """A stroke's answer and a Predict clicked at once name the same parked drawing: both read it (the second used
    to find it gone); it goes BLOB_TTL after it arrived. The app's own Sketchpad (built before the guard is installed,
    as the app builds its tabs first) is under the guard too: its drawings count against the byte cap."""
    from playground.images import Sketchpad, editor_value

    editor = Sketchpad(render=False)
    admission.guard_image_blobs()

    class Blob:
        data = {"type": "composite", "index": "", "id": "d1"}
        files = [("blob", b"\x89PNG-not-decoded-here")]

    editor.accept_blobs(Blob())
    assert admission.parked_bytes() == len(Blob.files[0][1])
    first, second = (editor_value({"id": "d1"}, editor) for _ in range(2))
    assert first["composite"] == second["composite"] == b"\x89PNG-not-decoded-here"
    assert admission.sweep_blobs() == 0 and "d1" in editor.blob_storage
    assert admission.sweep_blobs(time.monotonic() + admission.BLOB_TTL + 1) == 1
    assert editor.blob_storage == {} and admission.parked_bytes() == 0
    with pytest.raises(InputError, match="has not sent this drawing"):
        editor_value({"id": "d1"}, editor)


def test_idle_sessions_expire_and_free_their_models(demo):
    holder = sessions.LeanStateHolder()
    holder.set_blocks(demo)
    tab = demo.tabs["spiral"]
    state = holder["mine"][tab.state._id]  # a fresh copy of the tab's {}
    out = list(spiral.SPEC.stream(spiral.SPEC.args(points=100, hidden="8", epochs=3, device="cpu"), state))[-1]
    holder["mine"][tab.state._id] = out["state"]
    path = out["state"]["download_file"]
    assert out["state"]["model"] is not None and store.Path(path).exists()
    holder["other"]  # noqa: B018  a second session, used just now
    assert holder.expire(3600) == 0 and len(holder.session_data) == 2
    assert holder.expire(0, busy={"other"}) == 1 and list(holder.session_data) == ["other"]
    assert state == {} and not store.Path(path).exists()  # the model and its download file are freed
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(100):
        holder[f"s{i}"]
    per_session = (tracemalloc.get_traced_memory()[0] - before) / 100
    tracemalloc.stop()
    assert per_session < 50_000, per_session  # gradio's own session keeps ~430 kB


def test_a_newer_model_replaces_the_download_file():
    state = {}
    args = spiral.SPEC.args(points=100, hidden="8", epochs=3, device="cpu")
    first = list(spiral.SPEC.stream(args, state))[-1]["download"]["value"]
    # another split, trained long enough to be no worse than the trivial model: it replaces the first
    second = list(spiral.SPEC.stream({**args, "seed": 1, "epochs": 300}, state))[-1]["download"]["value"]
    assert first != second and not store.Path(first).exists() and store.Path(second).exists()
    store.forget(state)
    assert not store.Path(second).exists()


def test_kept_models_are_capped_per_session_and_in_total(monkeypatch):
    from gradio.context import LocalContext

    args = spiral.SPEC.args(points=100, hidden="8", epochs=2, device="cpu")
    small = {"model": list(spiral.SPEC.stream(args, {}))[-1]["state"]["model"]}
    size = store.model_bytes(small["model"])

    class Session:
        def __init__(self, *values):
            self.state_data = dict(enumerate(values))

    class Holder:
        lock = __import__("threading").Lock()
        session_data = {"me": Session(small), "you": Session({"model": small["model"]}, {})}

    class Blocks:
        state_holder = Holder()

    class Request:
        session_hash = "me"

    blocks_token, request_token = LocalContext.blocks.set(Blocks()), LocalContext.request.set(Request())
    try:
        monkeypatch.setattr(settings, "SESSION_MODEL_MB", 3 * size / 1e6)
        monkeypatch.setattr(settings, "TOTAL_MODEL_MB", 4 * size / 1e6)
        store.check_room(2 * size, {}, "the spiral MLP 8")  # mine: 3 models' worth, all: 4
        store.check_room(3 * size, small, "the spiral MLP 8")  # it replaces this tab's model
        with pytest.raises(ConfigError, match=r"^the spiral MLP 8 \(.* MB\) would bring this session's kept models"):
            store.check_room(3 * size, {}, "the spiral MLP 8")
        monkeypatch.setattr(settings, "SESSION_MODEL_MB", 100.0)
        with pytest.raises(ConfigError, match=r"models kept for all users .*\(DLCORE_TOTAL_MODEL_MB\)"):
            store.check_room(3 * size, {}, "the spiral MLP 8")
    finally:
        LocalContext.blocks.reset(blocks_token)
        LocalContext.request.reset(request_token)
    store.check_room(10**12, {}, "anything")  # outside a server (tests, benchmarks) there is nothing to share


# ---------------------------------------------------------------- the API, against the shared in-process server

def test_the_api_refuses_a_wrong_number_of_prices(client):
    positional = client.predict(*HOUSE, api_name="/predict_price")[0]
    assert client.predict(**dict(zip(BOSTON_ORDER, HOUSE)), api_name="/predict_price")[0] == positional
    for values in (HOUSE[:12], []):  # no value falls back to a median
        with pytest.raises(Exception, match="LSTAT|CRIM"):
            client.predict(*values, api_name="/predict_price")
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/predict_price"]
    assert not any(p["parameter_has_default"] for p in api["parameters"])


def test_queued_events_cannot_skip_the_queue_and_deep_links_are_off(server):
    import json
    import urllib.error
    import urllib.request

    for route, body in (("gradio_api/run/train_spiral", {"data": [*LONG.values(), None]}), ("gradio_api/deep_link", None)):
        req = urllib.request.Request(server + route + ("?session_hash=x" if body is None else ""),
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == 404, route


def test_a_session_may_run_two_trainings_at_most(server):
    client = Client(server, verbose=False)
    jobs = [client.submit(**{**LONG, "points": 100}, api_name="/train_spiral") for _ in range(2)]
    # submit() joins from a thread of its own: wait until both have joined, or the third could join before them
    deadline = time.monotonic() + 60
    while any(Status.ordering(j.status().code) < Status.ordering(Status.IN_QUEUE) for j in jobs):
        assert time.monotonic() < deadline, [j.status().code for j in jobs]
        time.sleep(0.05)
    try:
        with pytest.raises(Exception, match="(?i)this session already has 2 training jobs waiting or running"):
            client.predict(**{**LONG, "points": 100}, api_name="/train_spiral")
    finally:
        for job in jobs:
            job.cancel()


def test_uploads_are_refused_while_the_cache_is_full(server):
    import urllib.error
    import urllib.request

    before = store.CACHE_BYTES[0]
    store.CACHE_BYTES[0] = int(settings.CACHE_MB * 1e6) + 1  # as the sweep would count it
    try:
        req = urllib.request.Request(server + "gradio_api/upload", data=b"--x--\r\n", method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=x"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == 507 and b"space for uploaded files is full" in e.value.read()
    finally:
        store.CACHE_BYTES[0] = before


def test_the_cache_sweep_deletes_old_files_but_not_offered_downloads():
    old, offered, fresh = (settings.CACHE_DIR / "sweep-test" / name for name in ("old.png", "offered.bin", "new.png"))
    old.parent.mkdir(exist_ok=True)
    for path in (old, offered, fresh):
        path.write_bytes(b"x" * 1000)
    # ten minutes old: past this test's 60 s, yet within the server's own CACHE_AGE, so the pruner of the shared test
    # server (every 10 s, in this process) cannot take the old file first
    past = time.time() - 600
    assert settings.CACHE_AGE > 600
    os.utime(old, (past, past))
    os.utime(offered, (past, past))
    store.KEEP.add(str(offered))
    try:
        assert store.sweep_cache(age=60) >= 1
        assert not old.exists() and offered.exists() and fresh.exists() and store.CACHE_BYTES[0] >= 2000
    finally:
        store.KEEP.discard(str(offered))
        store.sweep_cache(age=0)
    assert not any(old.parent.iterdir())  # everything of this test went (the folder goes a minute later)
    old.parent.rmdir()
