"""The Seed lab's compare panel: queue settings (the seed's spiral table, the 2-D tab's settings, a grid over
them) and train them at once as the trials of one sweep on Ray Tune (`dlcore.sweep`, the engine the CLI uses):
curves overlaid live, a table that fills as trials end, ASHA as an option, Stop ending every trial of the sweep.

One user's sweep runs at most `settings.SWEEP_TRIALS_PER_USER` trials at once, and is one job of the shared training
slots, so a class cannot take every core from the people predicting. `/sweep_spiral` is the same engine over the API.
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pandas as pd

from dlcore import plots, seeds, sweep
from dlcore.errors import ConfigError
from dlcore.grid import expand, parse_grid, spec_from_runs
from dlcore.presets import preset
from dlcore.session import Job, parse_number

from .. import settings
from ..handlers import named, user_errors
from ..settings import DOWNLOAD_DIR
from ..training import PRIVATE, TrainingTab, train_event
from .stopslot import StopSlot

SCHEDULERS = {"train every trial to the end (FIFO)": "fifo", "stop weak trials early (ASHA)": "asha"}
COLUMNS = ("name", "status", "epochs", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "seconds")
CLOCK = 0.5  # seconds between status updates while no trial reports
SWEEP_DIR = Path(tempfile.mkdtemp(prefix="dlcore-sweeps-"))  # this server's sweeps; not served, gone at exit
atexit.register(shutil.rmtree, SWEEP_DIR, True)


def queue_text(queue: list) -> str:
    if not queue:
        return "The queue is empty: load the seed's spiral table, add the 2-D tab's settings, or add a grid."
    return "\n".join(f"{i + 1}. **{name}** — {cfg.epochs} epochs" for i, (name, cfg) in enumerate(queue))


def _added(queue: list | None, runs: list) -> dict:
    queue = list(queue or []) + list(runs)
    if len(queue) > settings.LIMITS.max_trials:
        raise ConfigError(f"{len(queue)} runs would be queued; compare at most {settings.LIMITS.max_trials} at a time "
                          "(clear the queue, or use a smaller grid)")
    return {"queue": queue, "list": queue_text(queue)}


def queue_spiral_table(values: dict, queue: list | None) -> dict:
    """Load seed 002's six rows into the queue (the 10,000-epoch row included)."""
    return _added(queue, seeds.spiral_table_configs())


def _short(cfg) -> str:
    arch = ",".join(map(str, cfg.hidden)) if cfg.model == "mlp" else "linear"
    return f"{arch} {cfg.activation} {cfg.optimizer} {cfg.lr:g}"


def queue_settings(spec):
    """A handler adding the 2-D tab's current settings to the queue."""
    def add(values: dict, queue: list | None) -> dict:
        cfg = spec.config(values)
        return _added(queue, [(_short(cfg), cfg)])
    return add


def queue_grid(spec):
    """A handler adding a grid (one field per line) over the 2-D tab's current settings to the queue."""
    def add(values: dict, queue: list | None) -> dict:
        axes = parse_grid(values["grid"])
        if not axes:
            raise ConfigError('the grid is empty; write one field per line, e.g. "lr=1e-3,1e-2" and '
                              '"activation=relu,tanh"')
        cfg = spec.config(values)
        runs = expand(cfg, axes)
        for _, run in runs:
            run.validate(settings.LIMITS)
        return _added(queue, runs)  # named by what the grid changes over the 2-D tab's settings
    return add


def cleared(values: dict) -> dict:
    """Clear the queue and what the last comparison showed: no plot under a stale legend, no old table."""
    return {"queue": [], "list": queue_text([]), "status": "", "plot": gr.update(value=None, visible=False),
            "table": gr.update(value=None, visible=False), "csv": gr.update(value=None, interactive=False)}


def unique_names(queue: list) -> list[str]:
    """One legend entry per run: a name queued twice gets its place in the queue."""
    names = [name for name, _ in queue]
    return [f"{n} (#{i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]


def compare_curves(curves: dict[str, list[tuple[float, float]]], names: list[str]) -> pd.DataFrame:
    """Each run's training loss, thinned to a few hundred points per run; a run with no point yet gets one empty row,
    so every run is in the plot (and its legend) from the first update on: Gradio's plot keeps the series it first
    drew and would never show one that joined later."""
    rows = []
    for name in names:
        points = plots.thin(curves.get(name, [])) or [(0.0, math.nan)]
        rows += [(e, v, name) for e, v in points]
    return pd.DataFrame(rows, columns=["epoch", "value", "series"])


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The results as shown: name, status, epochs, losses, accuracies and time, rounded (the CSV keeps all)."""
    shown = [{k: (float(f"{r[k]:.4g}") if isinstance(r.get(k), float) else r.get(k)) for k in COLUMNS} for r in rows]
    return pd.DataFrame(shown, columns=list(COLUMNS))


class Live:
    """What a running sweep has reported so far: fed by the sweep's driver thread, read by the UI generator."""

    def __init__(self, names: list[str]):
        self.lock = threading.Lock()
        self.names = names
        self.curves: dict[str, list[tuple[float, float]]] = {}
        self.rows: dict[str, dict] = {}  # trial name -> its row, once it has ended
        self.running: set[str] = set()
        self.version = 0  # bumped on every report, so the generator redraws only when something changed

    def update(self, event: dict) -> None:
        name, result, status = event["name"], event["result"], event["status"]
        with self.lock:
            self.version += 1
            points = self.curves.setdefault(name, [])
            for rec in result.get("records", []):
                points.append((rec["epoch"], rec["train_loss"]))
            if status == "retrying":  # a lost worker's trial starts over elsewhere: so does its curve
                self.curves[name] = []
            if status in ("running", "retrying"):
                self.running.add(name)
                return
            self.running.discard(name)
            self.rows[name] = {"name": name, "status": status, "epochs": result.get("epoch"),
                               **{k: result.get(k) for k in COLUMNS[3:]}}

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        with self.lock:
            curves = {k: list(v) for k, v in self.curves.items()}
            rows = [self.rows[n] for n in self.names if n in self.rows]
        return compare_curves(curves, self.names), compare_table(rows)


def _spec(queue: list, names: list[str], values: dict):
    """The queue as a sweep: each run within the server's limits and the user's share of the cores."""
    asked_for = values.get("scheduler") or "fifo"  # left out (an API caller, a test): every trial to the end
    scheduler = SCHEDULERS.get(asked_for, asked_for)
    if scheduler not in SCHEDULERS.values():
        raise ConfigError(f"scheduler {values.get('scheduler')!r} is unknown; choose from {list(SCHEDULERS)}")
    asked = parse_number("trials at once", values.get("trials_at_once") or 0, whole=True, example="2")
    if asked < 0:
        raise ConfigError(f"trials at once {asked} is negative; use 0 (your share) or a count such as 2")
    at_once = min(asked or settings.SWEEP_TRIALS_PER_USER, settings.SWEEP_TRIALS_PER_USER)  # never over the share
    runs = [(name, cfg.replace(time_budget=settings.LIMITS.max_seconds)) for name, (_, cfg) in zip(names, queue)]
    return spec_from_runs(runs, scheduler=scheduler, max_concurrent=at_once), at_once


def run_comparison(values: dict, queue: list | None, slot: dict | None = None) -> Iterator[dict]:
    """Train the queue as one sweep: {status, plot, table, csv} updates while trials run, the CSV at the end."""
    slot = StopSlot.of(slot)
    if not queue:
        raise ConfigError("the comparison queue is empty; load the spiral table, add the current settings or a grid")
    names = unique_names(queue)
    spec, at_once = _spec(queue, names, values)
    live, t0 = Live(names), time.monotonic()
    deadline = t0 + settings.LIMITS.max_seconds

    def work(job: Job) -> sweep.SweepResult:
        return sweep.run(spec, storage=SWEEP_DIR, name=f"compare-{time.strftime('%Y%m%d-%H%M%S')}-{id(job):x}",
                         on_update=live.update, limits=settings.LIMITS,
                         should_stop=lambda: job.stopping() or time.monotonic() > deadline,
                         warm_next=True)  # the app sweeps again: warm trial processes for the next

    if slot.stopped_before_start():
        yield {"status": "⏹️ Stopped before it started."}
        return
    job = Job(work, name="sweep", tick=CLOCK)
    slot.hold(job)
    head = f"{len(names)} trials on Ray Tune, at most {at_once} at once ({spec.scheduler.upper()})"
    yield {"status": f"⏳ {head}: starting…", "plot": gr.update(value=compare_curves({}, names), visible=True),
           "table": gr.update(value=compare_table([]), visible=True), "csv": gr.update(value=None, interactive=False)}
    shown = -1
    try:
        for _ in job.stream():  # a tick: redraw if a trial reported since the last one
            if live.version != shown:
                shown = live.version
                plot, table = live.frames()
                yield {"status": f"⏳ {head}: {_counts(live)} — {time.monotonic() - t0:.0f} s", "plot": plot,
                       "table": table}
            else:
                yield {"status": f"⏳ {head}: {_counts(live)} — {time.monotonic() - t0:.0f} s"}
    finally:
        slot.release(job)
    end = "⏹️ Stopped" if job.stop_reason == "user" else \
        f"⏱️ The job's time limit of {settings.LIMITS.max_seconds:g} s ended it" if job.result.stopped else "✅ Done"
    yield _final(job.result, live, time.monotonic() - t0, end)


def _counts(live: Live) -> str:
    with live.lock:
        ended = [r["status"] for r in live.rows.values()]
        running = len(live.running)
    parts = [f"{running} running", f"{ended.count(sweep.STATUS_FINISHED)} finished"]
    parts += [f"{ended.count(s)} {s}" for s in (sweep.STATUS_EARLY, sweep.STATUS_STOPPED, sweep.STATUS_ERROR)
              if ended.count(s)]
    return ", ".join(parts)


def _final(result: sweep.SweepResult, live: Live, seconds: float, head: str) -> dict:
    by_name = {r["name"]: r for r in result.trials}
    rows = [{**by_name[n], "name": n} for n in live.names if n in by_name]
    with live.lock:
        curves = {k: list(v) for k, v in live.curves.items()}
    for name, recs in ((r["name"], result.curves.get(r["trial"], [])) for r in rows):
        curves[name] = [(rec["epoch"], rec["train_loss"]) for rec in recs]  # the records as stored: nothing lost
    path = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR)) / "comparison.csv"
    shutil.copyfile(result.path / "results.csv", path)
    best = result.best
    metric = result.spec.rank_by
    early = sum(r["status"] == sweep.STATUS_EARLY for r in rows)
    text = (f"{head}: {sum(r['status'] == sweep.STATUS_FINISHED for r in rows)} of {len(live.names)} trials finished"
            + (f", ASHA stopped {early} early" if early else "")
            + f"; {result.epochs_trained:,} of {result.epochs_possible:,} epochs trained in {seconds:.0f} s.")
    if best:
        acc = f", test accuracy {best['test_accuracy']:.3f}" if "test_accuracy" in best else ""
        text += f"\n\nBest by held-out {metric.removeprefix('test_').replace('_', ' ')}: **{best['name']}** " \
                f"({metric.replace('_', ' ')} {best[metric]:.4g}{acc})."
    return {"status": text, "plot": compare_curves(curves, live.names), "table": compare_table(rows),
            "csv": gr.update(value=str(path), interactive=True)}


def sweep_spiral(grid: str, scheduler: str = "fifo", trials_at_once: int = 0) -> Iterator[dict]:
    """A sweep over the Spiral preset through the API: `grid` has one field per line ("lr=1e-3,1e-2"; one value fixes a
    setting, e.g. "epochs=300"); streams {status, trials} as trials end, then the best trial too."""
    axes = parse_grid(grid)
    if not axes:
        raise ConfigError('the grid is empty; give one field per line, e.g. "lr=1e-3,1e-2"')
    queue = expand(preset("spiral", device="cpu"), axes)
    for update in run_comparison({"scheduler": scheduler, "trials_at_once": trials_at_once}, queue, {}):
        table = update.get("table")
        rows = table.to_dict("records") if isinstance(table, pd.DataFrame) else None
        yield {"status": update.get("status", ""), **({"trials": rows} if rows is not None else {})}


def build(spiral: TrainingTab) -> None:
    """The panel, inside the Seed lab tab; wired beside its components."""
    gr.Markdown("### Compare runs\nQueue settings — the seed's spiral table, the 2-D tab's settings, or a grid "
                "over them — and train them **at once**, as the trials of one sweep on Ray Tune, on the same data "
                f"and seed. Up to {settings.SWEEP_TRIALS_PER_USER} of your trials run at a time; ASHA stops the "
                "weak ones early.")
    queue, slot = gr.State([]), gr.State({})
    with gr.Row():
        load = gr.Button("Load the seed's spiral table (6 runs)")
        add = gr.Button("Add the 2-D tab's settings")
        clear = gr.Button("Clear the queue")
    with gr.Row():
        grid = gr.Textbox(label="Grid over the 2-D tab's settings", lines=3, scale=3, elem_id="compare-grid",
                          placeholder="one field per line, e.g.\nlr=1e-3,1e-2\nactivation=relu,tanh,sigmoid\n"
                                      "hidden=100;100,25")
        add_grid = gr.Button("Add the grid", scale=1)
    with gr.Row():
        scheduler = gr.Radio(list(SCHEDULERS), value=next(iter(SCHEDULERS)), label="Trials", scale=3)
        at_once = gr.Number(0, precision=0, minimum=0, label="Trials at once", scale=1,
                            info=f"0 = your share: {settings.SWEEP_TRIALS_PER_USER}")
        run = gr.Button("Train the queue", variant="primary", scale=1)
        stop = gr.Button("Stop", variant="stop", scale=1)
    listing = gr.Markdown(queue_text([]), elem_id="compare-queue")
    status = gr.Markdown("", elem_id="compare-status")
    plot = gr.LinePlot(x="epoch", y="value", color="series", title="Training loss, overlaid", y_title="loss",
                       height=320, show_label=False, visible=False, elem_id="compare-plot")
    table = gr.Dataframe(label="Results", wrap=True, visible=False, elem_id="compare-table")
    csv = gr.DownloadButton("Download the table as CSV", interactive=False, size="sm")

    listed = dict(extra=("queue",), outputs=["queue", "list"])
    load.click(named(queue_spiral_table, [], **listed), [queue], [queue, listing], **PRIVATE)
    names = [f.name for f in spiral.spec.fields]
    spiral_inputs = [spiral.inputs[n] for n in names]
    add.click(named(queue_settings(spiral.spec), names, **listed), [*spiral_inputs, queue], [queue, listing], **PRIVATE)
    add_grid.click(named(queue_grid(spiral.spec), ["grid", *names], **listed), [grid, *spiral_inputs, queue],
                   [queue, listing], **PRIVATE)
    shown = ["queue", "list", "status", "plot", "table", "csv"]
    clear.click(named(cleared, [], extra=(), outputs=shown), None, [queue, listing, status, plot, table, csv],
                **PRIVATE)
    outputs = ["status", "plot", "table", "csv"]
    StopSlot.wire(run, stop, named(run_comparison, ["scheduler", "trials_at_once"], extra=("queue", "slot"),
                                   outputs=outputs),
                  inputs=[scheduler, at_once, queue], outputs=[status, plot, table, csv], slot=slot)
    event = train_event()
    gr.api(user_errors(sweep_spiral), api_name="sweep_spiral", concurrency_id=event["concurrency_id"],
           concurrency_limit=event["concurrency_limit"])


__all__ = ["build", "compare_curves", "compare_table", "queue_grid", "queue_settings", "queue_spiral_table",
           "queue_text", "run_comparison", "sweep_spiral"]
