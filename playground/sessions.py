"""Sessions that cost little and expire: gradio's per-session record, lean, and forgotten after an idle time.

Gradio 6.31 (`state_holder.py`) keeps one `SessionState` per session hash, up to 10,000 of them, each with a copy of
every component's config made when the session starts (0.43 MB for this app), whether the session is a browser tab
or one API call; and it keeps them until that capacity pushes them out. Here:
- `LeanSessionState` skips that copy (its only reader is gradio's deep-link route, which this app does not offer and
  the admission middleware answers with 404): ~12 kB a session;
- `LeanStateHolder.expire()` forgets a session idle for `SESSION_TTL` seconds (no event of it has run since) that has
  no job waiting or running: its gr.State values go to their `delete_callback` (a tab frees its model, its live run
  and its download file) and the session's record is dropped. The same happens to a session pushed out by capacity.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from copy import copy

from gradio.components import State
from gradio.state_holder import SessionState, StateHolder

from dlcore.session import release_memory

log = logging.getLogger("playground.sessions")


class LeanSessionState(SessionState):
    """A session's state and its component updates, without gradio's eager copy of every component's config."""

    def __init__(self, blocks):  # not super().__init__(): that builds the copy this class exists to avoid
        self.blocks_config = copy(blocks.default_config)
        self.config_values = {}  # read only by deep links, which this app does not offer
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 3600

    def __setitem__(self, key: int, value) -> None:
        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value

    def _update_config(self, key: int) -> None:
        """Gradio would copy the component's updated config into the session's config copy, which lean sessions do
        not keep (`config_values`); the updated component itself is in `blocks_config` (`__setitem__`)."""

    def _update_value_in_config(self, key: int, value) -> None:
        """As `_update_config`: nothing to copy the value into."""


class LeanStateHolder(StateHolder):
    """Gradio's session store with lean sessions, idle expiry, and clean-up of sessions pushed out by capacity."""

    def __getitem__(self, session_id: str) -> SessionState:
        with self.lock:  # handlers list the sessions from worker threads (store.check_room)
            if session_id not in self.session_data:
                self.session_data[session_id] = LeanSessionState(self.blocks)
        self.update(session_id)
        self.time_last_used[session_id] = datetime.datetime.now()
        return self.session_data[session_id]

    def update(self, session_id: str) -> None:
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
            evicted = []
            while len(self.session_data) > self.capacity:
                evicted.append(self.session_data.popitem(last=False))
        for sid, session in evicted:
            self.time_last_used.pop(sid, None)
            release(session)

    def expire(self, ttl: float, busy: set[str] = frozenset()) -> int:
        """Forget the sessions idle for more than `ttl` seconds, except `busy` ones; returns how many."""
        cutoff = datetime.datetime.now() - datetime.timedelta(seconds=ttl)
        idle = [sid for sid, last in list(self.time_last_used.items()) if last < cutoff and sid not in busy]
        for sid in idle:
            with self.lock:
                session = self.session_data.pop(sid, None)
                self.time_last_used.pop(sid, None)
            if session is not None:
                release(session)
        return len(idle)


def release(session: SessionState) -> None:
    """Hand each gr.State value of a forgotten session to its delete_callback (the tabs free their models there)."""
    for key, value in list(session.state_data.items()):
        block = session.blocks_config.blocks.get(key)
        try:
            if isinstance(block, State):
                block.delete_callback(value)
        except Exception:  # one bad callback must not keep the rest
            log.exception("a state's delete_callback failed")
    session.state_data.clear()


def install(app) -> LeanStateHolder:
    """Replace the running app's session store (empty at start-up) with a LeanStateHolder."""
    holder = LeanStateHolder()
    holder.set_blocks(app.get_blocks())
    app.state_holder = holder
    return holder


async def expirer(holder: LeanStateHolder, ttl: float, busy: Callable[[], set[str]], every: float = 5.0) -> None:
    """Expire idle sessions every `every` seconds, for the server's lifetime."""
    while True:
        await asyncio.sleep(every)
        try:
            if holder.expire(ttl, busy()):
                await asyncio.to_thread(release_memory)
        except Exception:  # a bug here must not stop the expiry
            log.exception("session expiry failed")
