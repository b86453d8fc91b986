"""Gradio 6's stray "Error" badge after Stop, with no dlcore code (issue 9): a generator event stopped by another
button's `cancels=[event]` sometimes leaves the "Error" badge on its outputs.

    python -m playground.gradio_stop_badge [STOPS] [TICK]

Runs a two-output generator that yields every TICK seconds (silent work between updates, as a worker-thread
hand-off is), clicks Run then Stop STOPS times in headless chromium, and counts the Stops after which the badge
stays. Measured here with gradio 6.31.0: 2 of 12 Stops (the Seed lab itself showed 3-4 of 12 before its Stop was
changed, see playground/tabs/stopslot.py). Why: the browser marks the cancelled event "complete" when its /cancel
request returns, while the event's stream can still end with an error status after that; whichever arrives last is
what the outputs show.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

BADGE = "() => [...document.querySelectorAll('.error')].filter(e => e.offsetParent && /Error/.test(e.innerText)).length"


def demo(tick: float) -> gr.Blocks:
    def run():
        t0 = time.monotonic()
        while True:
            time.sleep(tick)  # silent work between two updates
            yield f"running {time.monotonic() - t0:.0f} s", f"{time.monotonic() - t0:.1f}"

    with gr.Blocks() as blocks:
        go, stop = gr.Button("Run"), gr.Button("Stop")
        a, b = gr.Markdown(), gr.Textbox(label="b")
        ev = go.click(run, None, [a, b])
        stop.click(None, None, None, cancels=[ev])
    return blocks


def main() -> None:
    from playground.serve import chromium

    stops = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    tick = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    blocks = demo(tick)
    _, url, _ = blocks.launch(prevent_thread_lock=True, quiet=True, ssr_mode=False, server_name="127.0.0.1")
    hits = 0
    with chromium() as browser:
        page = browser.new_page()
        page.goto(url)
        for i in range(stops):
            page.get_by_role("button", name="Run").click()
            page.get_by_text("running").first.wait_for(timeout=30_000)
            time.sleep(0.3 + 0.37 * (i % 5))  # Stop at different points of the tick
            page.get_by_role("button", name="Stop").click()
            time.sleep(tick + 2)
            hits += page.evaluate(BADGE) > 0
    blocks.close()
    print(f"gradio {gr.__version__}: {hits} of {stops} Stops left the Error badge on the outputs")


if __name__ == "__main__":
    main()
