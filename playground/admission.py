"""Admission control: which jobs may join Gradio's queue, and which queued training jobs still have a listener.

Gradio 6 has one queue (`demo.queue(max_size=...)`) for every event, so a script that fills it with training joins
locks everyone out of predictions, and a joined job runs whether or not anyone reads its result. This module hooks
the app's queue (`Queue.push` and `Queue.process_events`, read from gradio 6.31's `queueing.py`) and watches the
result streams with an ASGI middleware:

- a training job (every event with `concurrency_id="train"`: the Train buttons, the Seed lab's jobs, Regenerate) is
  refused when its session already has `SESSION_TRAININGS` waiting or running, or when `TRAIN_QUEUE` training jobs
  wait server-wide; the refusal is delivered as the job's result (a gr.Error), so the page and gradio_client show
  the message itself, and the refused job never enters the queue;
- every other event (predictions, uploads, the small private events) has its own `QUEUE_SIZE` places, which
  training never takes;
- a training job starts only once a client listens to its session's result stream (`/gradio_api/queue/data`, or
  `/gradio_api/call/<name>/<event id>`); one whose client has not listened for `LISTEN_GRACE` seconds is dropped
  (waiting or running), without using a core;
- Gradio's per-session bookkeeping of clients that never listen is cleared after `FORGET_AFTER` seconds, and a new
  session never pushes out one that is listening (gradio keeps 2,000 sessions' message queues and drops the oldest);
- image blobs parked by an ImageEditor through the component server are bounded (layer index, total bytes) and
  dropped after `BLOB_TTL` seconds.

The hooks are installed by `install(demo)` (in `build_demo`); the middleware and the sweeper come with `launch()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
import weakref
from collections import Counter
from dataclasses import dataclass, field

import gradio as gr
from gradio.server_messages import ProcessCompletedMessage
from gradio.utils import error_payload

from . import settings, store

log = logging.getLogger("playground.admission")
TRAIN = "train"  # the concurrency id of every long job (training.train_event)
FORGET_AFTER = 60.0  # seconds before the message queue of a session that never listened is cleared
FULL = "Training is full"


@dataclass
class Tally:
    """What the gate did since the server started (`demo.gate.tally`, for a look at a running server)."""

    admitted: int = 0
    refused_session: int = 0
    refused_server: int = 0
    refused_other: int = 0
    dropped_waiting: int = 0
    dropped_running: int = 0
    not_started: int = 0
    cancelled_waiting: int = 0  # cancelled while waiting for their client to listen


@dataclass
class Gate:
    """The admission rules for one app's queue, and which sessions are listening to their results."""

    queue: object  # gradio.queueing.Queue
    train_queue: int = field(default_factory=lambda: settings.TRAIN_QUEUE)  # read when the demo is built
    session_trainings: int = field(default_factory=lambda: settings.SESSION_TRAININGS)
    queue_size: int = field(default_factory=lambda: settings.QUEUE_SIZE)
    grace: float = field(default_factory=lambda: settings.LISTEN_GRACE)
    listeners: Counter = field(default_factory=Counter)  # session hash -> open result streams
    quiet_since: dict = field(default_factory=dict)  # session hash -> when it last joined or stopped listening
    tally: Tally = field(default_factory=Tally)

    def __post_init__(self):
        self._push, self._process = self.queue.push, self.queue.process_events
        self._lock = asyncio.Lock()
        self._held: set[str] = set()  # ids of training events in process_events, waiting for their listener

    # ---------------------------------------------------------------- the queue's state
    def _waiting(self) -> list:
        return [e for q in self.queue.event_queue_per_concurrency_id.values() for e in q.queue]

    def _running(self) -> list:
        return [e for job in self.queue.active_jobs if job for e in job if e.alive]

    def trainings(self, session: str | None = None) -> tuple[int, int]:
        """(waiting, running) training jobs, of one session or of all."""
        def count(events):
            return sum(1 for e in events if e.concurrency_id == TRAIN and session in (None, e.session_hash))
        return count(self._waiting()), count(self._running())

    def busy_sessions(self) -> set[str]:
        """Sessions with a job waiting or running: never expired."""
        return {e.session_hash for e in self._waiting() + self._running()}

    def listening(self, session: str) -> bool:
        return self.listeners[session] > 0

    def unheard(self, session: str, since: float, now: float) -> bool:
        """No client has listened to this session's results for `grace` seconds (counted from `since` at the
        earliest, the job's arrival)."""
        if self.listening(session):
            return False
        return now - max(since, self.quiet_since.get(session, since)) > self.grace

    # ---------------------------------------------------------------- the hooks
    async def push(self, body, request, username):
        """Queue.push with the admission rules in front (Gradio calls it for /queue/join and /call/<name>)."""
        fn = self.queue.blocks.fns.get(body.fn_index) if body.fn_index is not None else None
        if fn is None:  # gradio answers that itself
            return await self._push(body, request, username)
        if fn.concurrency_id == TRAIN:
            return await self._push_training(body, request, username)
        waiting = sum(1 for e in self._waiting() if e.concurrency_id != TRAIN)
        full = (f"Queue is full: {waiting} requests are waiting; try again in a few seconds."
                if waiting >= self.queue_size else self._no_room(body.session_hash))
        if full:
            self.tally.refused_other += 1
            return False, full, "queue_full"
        return await self._push(body, request, username)

    async def _push_training(self, body, request, username):
        async with self._lock:  # the count and the push together, so two joins at once cannot both take the last place
            full = self._no_room(body.session_hash)  # not even room to say so in the session's message queue
            if full:
                self.tally.refused_other += 1
                return False, full, "queue_full"
            refusal = self._refusal(body.session_hash)
            if refusal is not None:
                return self._refuse(body, refusal)
            ok, event_id, status = await self._push(body, request, username)
        if ok:
            self.tally.admitted += 1
            self.quiet_since[body.session_hash] = time.monotonic()
        return ok, event_id, status

    def _no_room(self, session: str | None) -> str:
        """'' when the session's messages have a place in gradio's message queues, else why not."""
        return "" if self._make_room(session) else \
            "The server is serving as many sessions as it can; try again in a minute."

    def _refusal(self, session: str | None) -> str | None:
        if session is not None:
            waiting, running = self.trainings(session)
            if waiting + running >= self.session_trainings:
                self.tally.refused_session += 1
                return (f"this session already has {waiting + running} training job"
                        f"{'s' if waiting + running != 1 else ''} waiting or running (at most "
                        f"{self.session_trainings}, DLCORE_SESSION_TRAININGS); wait for one to end or press Stop, then "
                        "try again")
        waiting, _ = self.trainings()
        if waiting >= self.train_queue:
            self.tally.refused_server += 1
            return (f"training is full, try again in a minute ({waiting} training jobs are waiting for "
                    f"{settings.TRAIN_CONCURRENCY} places; predictions are not affected)")
        return None

    def _refuse(self, body, reason: str):
        """The join is accepted as an event that has already ended with the refusal, so the page shows it and
        gradio_client raises it with the message; nothing is queued."""
        session = body.session_hash or uuid.uuid4().hex
        event_id = uuid.uuid4().hex
        message = reason[0].upper() + reason[1:] + "."
        self._deliver(session, event_id, gr.Error(message, title=FULL, print_exception=False))
        self.quiet_since.setdefault(session, time.monotonic())
        return True, event_id, "success"

    def _deliver(self, session: str, event_id: str, error: gr.Error) -> None:
        q = self.queue
        if session not in q.pending_messages_per_session:
            q.pending_messages_per_session[session] = asyncio.Queue()
        q.pending_event_ids_session.setdefault(session, set()).add(event_id)
        q.pending_messages_per_session[session].put_nowait(ProcessCompletedMessage(
            event_id=event_id, output=error_payload(error, True), success=False, title=error.title))

    def _make_room(self, session: str | None) -> bool:
        """Gradio keeps the message queues of at most 2,000 sessions and drops the oldest: before a new session
        would push out one that is listening or has a job, drop the oldest session that has neither."""
        pending = self.queue.pending_messages_per_session
        if session is None or session in pending or len(pending) < pending.max_size:
            return True
        busy = self.busy_sessions()
        for old in list(pending):
            if old not in busy and not self.listening(old):
                self._forget(old)
                return True
        return False

    def _forget(self, session: str) -> None:
        self.queue.pending_messages_per_session.pop(session, None)
        self.queue.pending_event_ids_session.pop(session, None)
        self.quiet_since.pop(session, None)

    async def process_events(self, events, batch, begin_time, fn):
        """Queue.process_events, but a training job starts only once its client listens (waiting up to the grace
        period, without using a core); one nobody listens to ends with a note instead."""
        if fn.concurrency_id == TRAIN:
            held = {e._id for e in events}
            self._held |= held
            try:
                while True:
                    now = time.monotonic()
                    unheard = [e for e in events if e.alive and self.unheard(e.session_hash, e.enqueue_time, now)]
                    pending = [e for e in events if e.alive and not self.listening(e.session_hash) and e not in unheard]
                    for e in unheard:
                        self._drop(e)
                        self.tally.not_started += 1
                    if not pending:
                        break
                    await asyncio.sleep(0.1)
            except asyncio.CancelledError:
                # Cancelled (/cancel, Stop) while waiting for its listener: Gradio gives the place back in
                # Queue.process_events' `finally`, which has not been entered yet, so run it with nothing alive
                # (it returns at once, releasing the place); else every such cancel would keep a training place.
                for e in events:
                    e.alive = False
                self.tally.cancelled_waiting += 1
                await self._process(events, batch, begin_time, fn)
                raise
            finally:
                self._held -= held
        return await self._process(events, batch, begin_time, fn)

    def _drop(self, event, started: bool = False) -> None:
        """A training job whose client is not listening: ended, with the reason, should the client come back (gradio
        sends nothing for an event once it is no longer alive, so the note goes first)."""
        if started:
            title, note = "Stopped", (f"This training job was stopped: no client listened to its result for "
                                      f"{self.grace:g} s (DLCORE_LISTEN_GRACE).")
        else:
            title, note = "Not run", (f"This training job was not run: no client listened for its result within "
                                      f"{self.grace:g} s (DLCORE_LISTEN_GRACE). Open the result stream right after "
                                      "joining the queue.")
        self.queue.send_message(event, ProcessCompletedMessage(
            output=error_payload(gr.Error(note, title=title, print_exception=False), True), success=False,
            title=title))
        event.alive = False

    # ---------------------------------------------------------------- the sweeper
    def sweep(self) -> None:
        """Drop training jobs nobody listens to (waiting or running), and forget sessions that never listened."""
        now = time.monotonic()
        for q in self.queue.event_queue_per_concurrency_id.values():
            for e in [e for e in q.queue if e.concurrency_id == TRAIN and self.unheard(e.session_hash, e.enqueue_time, now)]:
                q.queue.remove(e)
                self.queue.event_ids_to_events.pop(e._id, None)
                self._drop(e)
                self.tally.dropped_waiting += 1
        for e in self._running():
            # one still waiting for its listener is process_events' to end (with its "not run" note); ending it here
            # first, without a note, left its client's stream open for good if it came to listen after all
            if e.concurrency_id == TRAIN and e._id not in self._held \
                    and self.unheard(e.session_hash, e.enqueue_time, now):
                self._drop(e, started=True)  # gradio stops the job at its next update and closes the generator
                self.tally.dropped_running += 1
        busy = self.busy_sessions()
        for session, since in list(self.quiet_since.items()):
            if now - since > FORGET_AFTER and session not in busy and not self.listening(session):
                self._forget(session)

    # ---------------------------------------------------------------- the listeners
    def stream_session(self, path: str, query: str) -> str | None:
        """The session whose results a GET request streams, or None for any other request."""
        if path.endswith("/queue/data"):
            for part in query.split("&"):
                if part.startswith("session_hash="):
                    return part.removeprefix("session_hash=")
            return None
        parts = path.rstrip("/").split("/")
        if len(parts) >= 3 and "call" in parts[:-2]:
            event_id = parts[-1]
            event = self.queue.event_ids_to_events.get(event_id)
            return event.session_hash if event is not None else event_id
        return None

    def opened(self, session: str) -> None:
        self.listeners[session] += 1

    def closed(self, session: str) -> None:
        self.listeners[session] -= 1
        if self.listeners[session] <= 0:
            del self.listeners[session]
            self.quiet_since[session] = time.monotonic()


class ListenerMiddleware:
    """ASGI middleware: counts the open result streams per session; answers the deep-link route (which would save a
    session's component values to disk on request; the app offers no deep links) with 404, and uploads with 507
    while this process's files exceed DLCORE_CACHE_MB."""

    def __init__(self, app, gate: Gate):
        self.app, self.gate = app, gate

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/upload") \
                and store.CACHE_BYTES[0] > settings.CACHE_MB * 1e6:
            return await _answer(send, 507, "The server's space for uploaded files is full; try again in a few minutes.")
        if scope["type"] != "http" or scope["method"] != "GET":
            return await self.app(scope, receive, send)
        if scope["path"].rstrip("/").endswith("/deep_link"):
            return await _answer(send, 404, "Not Found")
        session = self.gate.stream_session(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        if session is None:
            return await self.app(scope, receive, send)
        self.gate.opened(session)
        try:
            return await self.app(scope, receive, send)
        finally:
            self.gate.closed(session)


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def install(demo: gr.Blocks) -> Gate:
    """Put the gate in front of the demo's queue (after `demo.queue(...)`); returns it (also as `demo.gate`)."""
    gate = Gate(demo._queue)
    demo._queue.push = gate.push
    demo._queue.process_events = gate.process_events
    demo.gate = gate
    guard_image_blobs()
    return gate


# ---------------------------------------------------------------- image blobs parked by the component server
# An ImageEditor (the Sketchpad) accepts its layers as blobs through /gradio_api/component_server and keeps them in
# memory, per component, until an event reads that drawing; gradio 6.31 keeps them forever otherwise, takes a layer
# index from the client (index 10**9 builds a list of a billion entries), and takes any number of blobs.
BLOB_TTL = 60.0  # seconds a parked drawing is kept for the events that read it (a stroke's answer, Predict, preview)
BLOB_LAYERS = 16  # layer indexes accepted: 0 .. BLOB_LAYERS - 1
_parked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # editor -> {drawing id: arrival time}


def _blob_size(blobs) -> int:
    parts = [blobs.background, blobs.composite, *blobs.layers]
    return sum(len(p) for p in parts if p is not None)


def parked_bytes() -> int:
    """Bytes of image blobs all editors hold."""
    return sum(_blob_size(b) for editor in list(_parked) for b in list(editor.blob_storage.values()))


def guard_image_blobs() -> None:
    """Wrap gr.ImageEditor.accept_blobs (once, for every editor): a bounded layer index, a cap on the bytes parked
    (DLCORE_BLOB_MB), and an arrival time for `sweep_blobs`."""
    original = gr.ImageEditor.accept_blobs
    if getattr(original, "_guarded", False):
        return

    def accept_blobs(self, data):
        index = data.data.get("index")
        if index not in (None, "", "null"):
            try:
                layer = int(index)
            except (TypeError, ValueError):
                layer = -1
            if not 0 <= layer < BLOB_LAYERS:
                raise gr.Error(f"layer index {index!r} is out of range; a drawing has layers 0 to {BLOB_LAYERS - 1}",
                               print_exception=False)
        incoming = sum(len(f[1]) for f in data.files)
        if parked_bytes() + incoming > settings.BLOB_MB * 1e6:
            raise gr.Error(f"too many drawings are waiting to be read (over {settings.BLOB_MB:g} MB, DLCORE_BLOB_MB); "
                           "try again in a minute", print_exception=False)
        _parked.setdefault(self, {}).setdefault(data.data["id"], time.monotonic())
        return original(self, data)

    accept_blobs._is_server_fn = True
    accept_blobs._guarded = True
    accept_blobs.__doc__ = original.__doc__
    gr.ImageEditor.accept_blobs = accept_blobs


def sweep_blobs(now: float | None = None) -> int:
    """Drop drawings parked longer than BLOB_TTL; returns how many."""
    now = time.monotonic() if now is None else now
    dropped = 0
    for editor, arrived in list(_parked.items()):
        for blob_id, t in list(arrived.items()):
            if blob_id not in editor.blob_storage:  # pushed out by newer drawings (images.MAX_PENDING_DRAWINGS)
                arrived.pop(blob_id, None)
            elif now - t > BLOB_TTL:
                editor.blob_storage.pop(blob_id, None)
                arrived.pop(blob_id, None)
                dropped += 1
    return dropped


async def sweeper(gate: Gate, every: float = 1.0) -> None:
    """The gate's sweep, every `every` seconds, for the server's lifetime."""
    while True:
        try:
            gate.sweep()
            sweep_blobs()
        except Exception:  # a bug here must not stop the sweeping
            log.exception("admission sweep failed")
        await asyncio.sleep(every)
