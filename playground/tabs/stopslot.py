"""Stop for the Seed lab's long jobs, without Gradio's `cancels=`.

A generator event cancelled by another button's `cancels=[event]` sometimes keeps Gradio's "Error" badge on its
outputs (issue 9; Gradio 6.31's own: `python -m playground.gradio_stop_badge` shows it with no dlcore code, in about one Stop
in six). The browser sets the cancelled event's status to "complete" when its /cancel request returns, while the
event's stream can still end with an error status afterwards; whichever lands last stays on screen. So the Seed lab
never cancels: Stop asks the session's running job to stop (before its next step), and the job's generator ends on
its own with its last update, as a finished run does.

A job still waiting in the queue when Stop is pressed has not registered yet; the Run click arms the slot (at once,
outside the queue) and the job, when it starts, sees that a Stop came after its click and ends at once.
"""

from __future__ import annotations

import math
import time

from ..training import PRIVATE, train_event


class StopSlot:
    """One session's slot for one kind of long job (a `gr.State` dict): what runs now, and when Stop was pressed."""

    def __init__(self, state: dict):
        self.state = state

    @classmethod
    def of(cls, state: dict | None) -> StopSlot:
        return cls(state if state is not None else {})

    def arm(self) -> None:
        """The Run click (before the job waits in the queue)."""
        self.state["armed"] = time.monotonic()

    def stopped_before_start(self) -> bool:
        """Stop was pressed after the Run click that this job answers, before the job started."""
        return self.state.get("stop_at", -math.inf) >= self.state.get("armed", math.inf)

    def hold(self, job) -> None:
        self.state["job"] = job
        if self.stopped_before_start():  # Stop landed between the check and now
            job.stop("user")

    def release(self, job) -> None:
        if self.state.get("job") is job:
            self.state.pop("job")

    def stop(self) -> None:
        """Stop: the running job stops before its next step; a job still queued ends as it starts."""
        self.state["stop_at"] = time.monotonic()
        job = self.state.get("job")
        if job is not None:
            job.stop("user")

    @staticmethod
    def wire(run, stop, handler, *, inputs: list, outputs: list, slot) -> None:
        """Run arms the slot, then streams `handler(*inputs, slot)` in a training slot; Stop stops it."""
        run.click(lambda state: StopSlot.of(state).arm(), [slot], None, queue=False, **PRIVATE).then(
            handler, [*inputs, slot], outputs, **PRIVATE, **train_event())
        stop.click(lambda state: StopSlot.of(state).stop(), [slot], None, queue=False, **PRIVATE)
