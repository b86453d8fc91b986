"""The Seed lab: each seed text's experiment rerun beside its published numbers, and runs compared side by side.

Long jobs here (the spiral table, the MNIST net, the comparison queue) run as `dlcore.session.Job`s, the mechanism
training uses: a worker thread at training priority, under the job time limit, stopped before its next step by Stop.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import gradio as gr
import pandas as pd

from dlcore import plots, seeds
from dlcore.errors import ConfigError
from dlcore.session import Job, parse_number

from .. import settings
from ..handlers import named
from ..settings import DOWNLOAD_DIR
from ..training import PRIVATE, TrainingTab, train_event

MAX_COMPARE = 12  # runs in one comparison
CLOCK = 1.0  # seconds between the running clock's updates while a reproduction step is silent
SUMMARY_KEYS = ("max_abs_diff", "behaviour", "w", "b", "w_error", "b_error")


def _deadline_stop(job: Job):
    """should_stop for a job: Stop, or the job's time limit."""
    deadline = time.monotonic() + settings.LIMITS.max_seconds
    return lambda: job.stopping() or time.monotonic() > deadline


def reproduce(values: dict) -> dict:
    """Run one seed reproduction: {table, notes, figure}; the long ones stream their rows (see `_stream`)."""
    name = values["name"]
    if name not in seeds.REPRODUCTIONS:
        raise ConfigError(f"reproduction {name!r} is unknown; choose from {sorted(seeds.REPRODUCTIONS)}")
    if name == "gd-1d":
        rate = seeds.check_gd_lr(parse_number("learning rate", values["lr"], example="0.001"))
        return _shown(seeds.gd_1d(lr=rate), seeds.gd_1d_figure(rate))
    return _shown(seeds.REPRODUCTIONS[name][0]())


def _shown(result: dict, figure=None) -> dict:
    extra = [f"- **{k}**: {result[k]}" for k in SUMMARY_KEYS if k in result]
    notes = "\n".join(extra + [f"- {n}" for n in result.get("notes", [])])
    return {"table": pd.DataFrame(result["rows"]), "notes": notes, "figure": figure}


def run_reproduction(values: dict):
    """Stream a reproduction: the long ones (spiral table, MNIST FFN) list each row as it finishes, can be stopped
    (what finished stays listed) and end at the job's time limit (then the table shows the rows done by then)."""
    name = values["name"]
    if name not in ("spiral-table", "mnist-ffn"):  # short, but on a worker thread at training priority all the same
        job = Job(lambda job: reproduce(values), name="reproduction")
        for _ in job.stream():
            pass
        yield job.result
        return
    fn = seeds.spiral_table if name == "spiral-table" else seeds.mnist_ffn
    lines: list[str] = []
    t0 = time.monotonic()

    def work(job: Job) -> dict:
        should_stop = _deadline_stop(job)
        result = fn(progress=lambda line: (lines.append(line), job.put(None)), should_stop=should_stop)
        if should_stop() and not job.stopping():
            result.setdefault("notes", []).append(f"The job's time limit of {settings.LIMITS.max_seconds:g} s ended the run.")
        return result

    yield {"table": pd.DataFrame(), "notes": "⏳ running… 0 s", "figure": None}  # no stale table under a Stop
    job = Job(work, name="reproduction", tick=CLOCK)
    for _ in job.stream():  # a row finished, or a second passed
        done = "".join(f"\n- {line}" for line in lines)
        yield {"notes": f"⏳ running… {time.monotonic() - t0:.0f} s{done}"}
    yield _shown(job.result)


def reproduction_stopped(values: dict) -> dict:
    """After Stop: the progress notes marked as stopped (what finished stays listed)."""
    notes = values["notes"] or ""
    return {"notes": notes.replace("⏳ running…", "⏹️ Stopped after", 1) if "⏳" in notes else "⏹️ Stopped."}


def queue_text(queue: list) -> str:
    if not queue:
        return "The queue is empty: load the seed's spiral table or add the 2-D tab's settings."
    return "\n".join(f"{i + 1}. **{name}** — {cfg.epochs} epochs" for i, (name, cfg) in enumerate(queue))


def queue_spiral_table(values: dict, queue: list | None) -> dict:
    """Load seed 002's six rows into the comparison queue (the 10,000-epoch row included)."""
    queue = list(queue or []) + list(seeds.spiral_table_configs())
    return {"queue": queue, "list": queue_text(queue)}


def queue_settings(spiral):
    """A handler adding the 2-D tab's current settings to the queue."""
    def add(values: dict, queue: list | None) -> dict:
        cfg = spiral.config(values)
        arch = ",".join(map(str, cfg.hidden)) if cfg.model == "mlp" else "linear"
        queue = list(queue or []) + [(f"{arch} {cfg.activation} {cfg.optimizer} {cfg.lr:g}", cfg)]
        return {"queue": queue, "list": queue_text(queue)}
    return add


COMPARE_COLUMNS = ("name", "epochs", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "test_rmse",
                   "test_r2", "seconds", "status")


def compare_table(rows: list[dict]) -> pd.DataFrame:
    """The comparison table as shown: the name, results and time, rounded (the CSV keeps every setting in full)."""
    shown = [{k: (float(f"{r[k]:.4g}") if isinstance(r[k], float) else r[k]) for k in COMPARE_COLUMNS if k in r}
             for r in rows]
    return pd.DataFrame(shown)


def compare_curves(curves: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Each run's training loss, thinned to a few hundred points per run so the browser stays light."""
    rows = [(e, v, name) for name, points in curves.items() for e, v in plots.thin(points)]
    return pd.DataFrame(rows, columns=["epoch", "value", "series"])


def run_comparison(values: dict, queue: list | None):
    """Train the queued runs in turn: {status, plot, table, csv} updates while they train, the CSV at the end."""
    if not queue:
        raise ConfigError("the comparison queue is empty; load the spiral table or add the current settings first")
    if len(queue) > MAX_COMPARE:
        raise ConfigError(f"{len(queue)} runs are queued; compare at most {MAX_COMPARE} at a time (clear the queue)")
    names = [name for name, _ in queue]
    names = [f"{n} (#{i + 1})" if names.count(n) > 1 else n for i, n in enumerate(names)]  # one legend entry each
    runs = [(name, cfg.replace(time_budget=settings.LIMITS.max_seconds)) for name, (_, cfg) in zip(names, queue)]
    curves: dict[str, list[tuple[float, float]]] = {}

    def work(job: Job) -> list[dict]:
        table: list[dict] = []
        rows_shown, last_ui = 0, 0.0
        for i, rec, table in seeds.compare(runs, should_stop=_deadline_stop(job)):
            if rec.test_loss is not None and not rec.done:
                curves.setdefault(runs[i][0], []).append((rec.epoch, rec.train_loss))
            now = time.perf_counter()
            if job.ready and (rec.done or now - last_ui > 1.0 / settings.UPDATES_PER_SECOND):
                last_ui, new_rows, rows_shown = now, len(table) != rows_shown, len(table)
                update = {"status": f"run {i + 1}/{len(runs)}: {runs[i][0]} — epoch {rec.epoch:g}/{rec.epochs}",
                          "plot": compare_curves(curves)}
                job.put({**update, "table": compare_table(table)} if new_rows else update)
        return table

    job = Job(work, name="compare")
    yield from job.stream()
    table = job.result
    path = Path(tempfile.mkdtemp(dir=DOWNLOAD_DIR)) / "comparison.csv"
    path.write_text(seeds.table_to_csv(table))
    yield {"status": f"✅ {len(table)} runs compared.", "plot": compare_curves(curves), "table": compare_table(table),
           "csv": gr.update(value=str(path), interactive=True)}


def build(demo: gr.Blocks, spiral: TrainingTab) -> None:
    with gr.Tab("Seed lab", id="seeds"):
        _reproductions()
        _comparisons(spiral)


def _reproductions() -> None:
    gr.Markdown("### Reproduce the seed texts\nEach experiment of the five tutorial texts, rerun here, with the seed's "
                "own numbers beside ours.")
    with gr.Row():
        name = gr.Dropdown(list(seeds.REPRODUCTIONS), value="gd-1d", label="Reproduction",
                           info="the five seed texts' experiments; see the notes under the table")
        lr = gr.Dropdown(["0.001", "0.01", "0.02", "0.025", "0.03", "0.05"], value="0.001", allow_custom_value=True,
                         label="gd-1d learning rate", info="converges / oscillates around the minimum / diverges")
        run = gr.Button("Run", variant="primary")
        stop = gr.Button("Stop", variant="stop")
    table = gr.Dataframe(label="Ours beside the seed's", wrap=True)
    notes = gr.Markdown("")
    figure = gr.Plot(label="J(w) and the path of w (gd-1d)", show_label=False)
    shown = ["table", "notes", "figure"]
    ev = run.click(named(run_reproduction, ["name", "lr"], extra=(), outputs=shown), [name, lr],
                   [table, notes, figure], **PRIVATE, **train_event())
    # the report covers the run's three outputs, as the run's own last update would
    stop.click(None, None, None, cancels=[ev], **PRIVATE).then(
        named(reproduction_stopped, ["notes"], extra=(), outputs=shown), notes, [table, notes, figure], **PRIVATE)


def _comparisons(spiral: TrainingTab) -> None:
    gr.Markdown("### Compare runs\nQueue several configurations, train them in turn on the same data and seed, and "
                "compare them in one table — as seed 002's table does by hand.")
    queue = gr.State([])
    with gr.Row():
        load = gr.Button("Load the seed's spiral table (6 runs)")
        add = gr.Button("Add the 2-D tab's settings")
        clear = gr.Button("Clear the queue")
        run = gr.Button("Train the queue", variant="primary")
        stop = gr.Button("Stop", variant="stop")
    listing = gr.Markdown(queue_text([]))
    status = gr.Markdown("")
    plot = gr.LinePlot(x="epoch", y="value", color="series", title="Training loss, overlaid", y_title="loss",
                       height=320, show_label=False)
    table = gr.Dataframe(label="Results", wrap=True)
    csv = gr.DownloadButton("Download the table as CSV", interactive=False, size="sm")

    load.click(named(queue_spiral_table, [], extra=("queue",), outputs=["queue", "list"]), [queue], [queue, listing],
               **PRIVATE)
    names = [f.name for f in spiral.spec.fields]
    add.click(named(queue_settings(spiral.spec), names, extra=("queue",), outputs=["queue", "list"]),
              [*(spiral.inputs[n] for n in names), queue], [queue, listing], **PRIVATE)
    clear.click(lambda: ([], queue_text([])), None, [queue, listing], **PRIVATE)
    ev = run.click(named(run_comparison, [], extra=("queue",), outputs=["status", "plot", "table", "csv"]), [queue],
                   [status, plot, table, csv], **PRIVATE, **train_event())
    stop.click(lambda: "⏹️ Stopped.", None, status, cancels=[ev], queue=False, **PRIVATE)
