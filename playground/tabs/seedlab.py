"""The Seed lab: each seed text's experiment rerun beside its published numbers, with the spread over seeds, and runs
compared side by side (`compare.py`).

The fast reproductions rerun in process on each seed. The trainer-based ones run as `dlcore.session.Job`s: seed 002's
table and seed 001's net on one seed in process, listing each row as it finishes; over several seeds (and seed 001's
eight solvers always) as a sweep on Ray Tune, every row on every seed at once. Stop asks the job to stop before its
next step and the job ends with its own last update (see `stopslot.py` for why nothing here uses `cancels=`).
"""

from __future__ import annotations

import time

import gradio as gr
import pandas as pd

from dlcore import seeds, seedsweep
from dlcore.errors import ConfigError
from dlcore.session import Job, parse_number

from .. import settings
from ..handlers import named
from ..training import TrainingTab
from . import compare
from .stopslot import StopSlot

CLOCK = 1.0  # seconds between the running clock's updates while a reproduction step is silent
SUMMARY_KEYS = ("max_abs_diff", "behaviour", "w", "b", "w_error", "b_error", "sweep")
LONG = ("spiral-table", "mnist-ffn", "optimizers")  # trainer-based: a job; over seeds, a sweep
SEED_CHOICES = ("1", "3", "5", "10")
SEEDS_DEFAULT = "3"
LR_CHOICES = ("0.001", "0.01", "0.02", "0.025", "0.03", "0.05")
SHOWN = ["table", "notes", "figure"]


def _deadline_stop(job: Job):
    """should_stop for a job: Stop, or the job's time limit."""
    deadline = time.monotonic() + settings.LIMITS.max_seconds
    return lambda: job.stopping() or time.monotonic() > deadline


def _seeds(values: dict) -> int:
    """How many seeds the spread is over (1: the seed's own run only); an API caller may leave it out."""
    n = parse_number("seeds", values.get("seeds") or 1, whole=True, example="3")
    if not 1 <= n <= int(SEED_CHOICES[-1]):
        raise ConfigError(f"seeds {n} is out of range; use 1 to {SEED_CHOICES[-1]}")
    return n


def _gd_lr(values: dict) -> float:
    return seeds.check_gd_lr(parse_number("learning rate", values.get("lr"), example="0.001"))


FAST = {  # name -> (run(values, seed), the figure under the table or None)
    "gd-1d": (lambda v, s: seeds.gd_1d(lr=_gd_lr(v), seed=s), lambda v: seeds.gd_1d_figure(_gd_lr(v))),
    "boston-linear": (lambda v, s: seeds.boston_linear(seed=s), None),
    "d2l-linear": (lambda v, s: seeds.d2l_linear(seed=s), None),
}


def reproduce(values: dict) -> dict:
    """Run one fast reproduction on seed 0 and, for the spread, on seeds 1..N-1: {table, notes, figure}."""
    name = values["name"]
    if name not in seeds.REPRODUCTIONS:
        raise ConfigError(f"reproduction {name!r} is unknown; choose from {sorted(seeds.REPRODUCTIONS)}")
    run, figure = FAST[name]
    n = _seeds(values)
    result = run(values, 0)
    if n > 1:
        result = seedsweep.spread_over_seeds(name, result, lambda s: run(values, s), list(range(n)))
    return _shown(result, figure(values) if figure else None)


def _table(rows: list[dict]):
    """A table with rows, or hidden: an empty Dataframe would show Gradio's "1 2 3" placeholder header."""
    if not rows:
        return gr.update(value=None, visible=False)
    shown = [{k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
    return gr.update(value=pd.DataFrame(shown), visible=True)


def _shown(result: dict, figure=None, head: str = "") -> dict:
    extra = [f"- **{k}**: {result[k]}" for k in SUMMARY_KEYS if k in result]
    notes = "\n".join(([head] if head else []) + extra + [f"- {n}" for n in result.get("notes", [])])
    return {"table": _table(result["rows"]), "notes": notes, "figure": figure}


def run_reproduction(values: dict, slot: dict | None = None):
    """Stream a reproduction. The long ones list each row (or each finished trial) as it ends, stop on Stop (what
    finished stays listed) and end at the job's time limit (then the table shows the rows done by then)."""
    name = values["name"]
    if name not in LONG:  # short, but on a worker thread at training priority all the same
        yield Job(lambda job: reproduce(values), name="reproduction").run()
        return
    n = _seeds(values)
    slot = StopSlot.of(slot)
    if slot.stopped_before_start():
        yield {"notes": "⏹️ Stopped before it started."}
        return
    lines: list[str] = []
    t0 = time.monotonic()
    job = Job(_work(name, n, values, lines), name="reproduction", tick=CLOCK)
    slot.hold(job)
    yield {"table": _table([]), "notes": "⏳ running… 0 s", "figure": None}  # no stale table under a Stop
    try:
        for _ in job.stream():  # a row finished, or a second passed
            yield {"notes": running_notes(t0, lines)}
    finally:
        slot.release(job)
    stopped = job.stop_reason == "user"
    head = reproduction_stopped({"notes": running_notes(t0, lines)})["notes"] if stopped else ""
    yield _shown(job.result, head=head)


def running_notes(t0: float, lines: list[str]) -> str:
    return f"⏳ running… {time.monotonic() - t0:.0f} s" + "".join(f"\n- {line}" for line in lines)


def _work(name: str, n: int, values: dict, lines: list[str]):
    """The job's work: the seed's run in process (one seed), or a sweep over seeds on Ray Tune."""
    def say(line: str, job: Job) -> None:
        lines.append(line)
        job.put(None)

    def trial_ended(job: Job):
        def show(event: dict) -> None:
            if event["status"] not in ("running", "retrying"):
                r = event["result"]
                got = ", ".join(f"{k.replace('_', ' ')} {r[k]:.3f}" for k in ("train_accuracy", "test_accuracy")
                                if k in r)
                say(f"{event['name']}: {event['status']}" + (f" ({got})" if got else ""), job)
        return show

    def work(job: Job) -> dict:
        should_stop = _deadline_stop(job)
        if n > 1 or name == "optimizers":
            sweep_run = {"spiral-table": seedsweep.spiral_table, "mnist-ffn": seedsweep.mnist_ffn,
                         "optimizers": seedsweep.optimizers}[name]
            result = sweep_run(n, progress=trial_ended(job), should_stop=should_stop,
                               max_concurrent=settings.SWEEP_TRIALS_PER_USER)
        else:
            fn = seeds.spiral_table if name == "spiral-table" else seeds.mnist_ffn
            result = fn(progress=lambda line: say(line, job), should_stop=should_stop)
        if should_stop() and not job.stopping():
            result.setdefault("notes", []).append(f"The job's time limit of {settings.LIMITS.max_seconds:g} s ended "
                                                  "the run.")
        return result
    return work


def reproduction_stopped(values: dict) -> dict:
    """After Stop: the progress notes marked as stopped (what finished stays listed)."""
    notes = values["notes"] or ""
    return {"notes": notes.replace("⏳ running…", "⏹️ Stopped after", 1) if "⏳" in notes else "⏹️ Stopped."}


def build(demo: gr.Blocks, spiral: TrainingTab) -> None:
    with gr.Tab("Seed lab", id="seeds"):
        _reproductions()
        compare.build(spiral)


def _reproductions() -> None:
    gr.Markdown("### Reproduce the seed texts\nEach experiment of the five tutorial texts, rerun here, with the seed's "
                "own numbers beside ours and the spread over seeds (mean ± std) beside both.")
    slot = gr.State({})
    with gr.Row():
        name = gr.Dropdown(list(seeds.REPRODUCTIONS), value="gd-1d", label="Reproduction",
                           info="the seed texts' experiments; see the notes under the table")
        lr = gr.Dropdown(list(LR_CHOICES), value=LR_CHOICES[0], allow_custom_value=True, label="gd-1d learning rate",
                         info="converges / oscillates around the minimum / diverges; the seed ran 0.001 only")
        count = gr.Dropdown(list(SEED_CHOICES), value=SEEDS_DEFAULT, label="Seeds",
                            info="1: the seed's own run; more: the spread over seeds (trainer rows run as a sweep)")
        run = gr.Button("Run", variant="primary")
        stop = gr.Button("Stop", variant="stop")
    table = gr.Dataframe(label="Ours beside the seed's", wrap=True, visible=False, elem_id="seed-table")
    notes = gr.Markdown("", elem_id="seed-notes")
    figure = gr.Plot(label="J(w) and the path of w (gd-1d)", show_label=False)
    # the learning rate applies to gd-1d only
    name.change(lambda n: gr.update(visible=n == "gd-1d"), name, lr, queue=False, api_visibility="private")
    StopSlot.wire(run, stop, named(run_reproduction, ["name", "lr", "seeds"], extra=("slot",), outputs=SHOWN),
                  inputs=[name, lr, count], outputs=[table, notes, figure], slot=slot)
