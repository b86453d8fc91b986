"""The Seed lab in a real browser (Debian's chromium through playwright, the shared in-process `server`): a grid of
six settings trained as one sweep with several curves moving at once, then stopped; the overlaid plot's legend holding
every run and only those, also after the queue is cleared; Stop without Gradio's stray "Error" badge; the gd-1d
learning rate only where it applies; no placeholder tables. Screenshots go to artifacts/."""

import re

import pytest
from test_browser import ARTIFACTS

from dlcore import sweep
from playground import settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]
BADGE = ("() => [...document.querySelectorAll('.error')].filter(e => e.offsetParent && /Error/.test(e.innerText))"
         ".length")
LINES = "() => [...document.querySelectorAll('#compare-plot .mark-line path')].map(p => p.getAttribute('d') || '')"
LEGEND = "() => [...document.querySelectorAll('#compare-plot .role-legend-label text')].map(t => t.textContent)"


@pytest.fixture(scope="module")
def page(browser, server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1100})
    pg.goto(server)
    pg.get_by_role("tab", name="2-D").wait_for()
    yield pg
    pg.close()
    sweep.shutdown()  # the Ray the sweeps started in this process


def tab(page, name: str):
    """The tab button shown: with a wide tab open Gradio also lists the tabs in an overflow menu (a second button)."""
    return page.get_by_role("tab", name=name).locator("visible=true").first


def seed_lab(page, epochs: int) -> None:
    tab(page, "2-D").click()
    page.get_by_label("Epochs").first.fill(str(epochs))
    tab(page, "Seed lab").click()


def queue_grid(page, grid: str, last: str) -> None:
    page.get_by_role("button", name="Clear the queue").click()
    page.locator("#compare-grid textarea").fill(grid)
    page.get_by_role("button", name="Add the grid").click()
    page.locator("#compare-queue").get_by_text(last).wait_for(timeout=30_000)


def test_nothing_empty_shows_a_placeholder_and_the_lr_box_follows_the_reproduction(page):
    seed_lab(page, 1000)
    assert not page.locator("#seed-table").is_visible() and not page.locator("#compare-table").is_visible()
    assert not page.locator("#compare-plot").is_visible()
    lr = page.get_by_label("gd-1d learning rate")
    assert lr.is_visible()
    page.get_by_label("Reproduction").click()
    page.get_by_role("option", name="d2l-linear", exact=True).click()
    lr.wait_for(state="hidden", timeout=10_000)
    page.get_by_label("Reproduction").click()
    page.get_by_role("option", name="gd-1d", exact=True).click()
    lr.wait_for(state="visible", timeout=10_000)
    lr.fill("0.02")
    lr.press("Enter")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("has no numbers for lr 0.02").wait_for(timeout=30_000)
    page.locator("#seed-table").wait_for(state="visible", timeout=10_000)  # shown once it has rows


def test_a_six_setting_grid_trains_several_trials_at_once_and_stops(page, monkeypatch):
    monkeypatch.setattr(settings, "SWEEP_TRIALS_PER_USER", 2)  # this 2-core machine's default share is 1
    seed_lab(page, 20_000)  # far too long to finish during the test
    queue_grid(page, "lr=1e-3,3e-3\nactivation=relu,tanh,sigmoid", "lr=0.003 activation=sigmoid")
    page.get_by_role("button", name="Train the queue").click()
    page.get_by_text(re.compile("2 running")).wait_for(timeout=180_000)
    page.wait_for_function(f"() => ({LINES})().filter(d => d.length > 40).length >= 2", timeout=120_000)
    before = page.evaluate(LINES)
    # several curves move between two looks: two trials train at the same time
    page.wait_for_function(
        f"""(before) => {{ const now = ({LINES})();
              return now.filter((d, i) => d.length > 40 && d !== before[i]).length >= 2; }}""",
        arg=before, timeout=120_000)
    assert len(page.evaluate(LEGEND)) == 6, "every queued trial is in the legend from the start"
    page.screenshot(path=str(ARTIFACTS / "seed-lab-sweep.png"), full_page=True)
    page.get_by_role("button", name="Stop", exact=True).last.click()
    page.locator("#compare-status").get_by_text(re.compile("Stopped:")).wait_for(timeout=60_000)
    statuses = page.locator("#compare-table").inner_text()
    assert "stopped" in statuses and "finished" not in statuses
    assert page.evaluate(BADGE) == 0, "Gradio's Error badge after Stop"


def test_the_overlaid_plot_shows_every_run_and_only_those(page):
    """Issue 15: three runs, three curves and three legend entries; a cleared queue leaves no plot under a stale
    legend; the next comparison's legend is its own."""
    seed_lab(page, 60)
    queue_grid(page, "lr=1e-3,1e-2,3e-2", "lr=0.03")
    page.get_by_role("button", name="Train the queue").click()
    page.locator("#compare-status").get_by_text(re.compile("Done: 3 of 3")).wait_for(timeout=300_000)
    page.wait_for_function(f"() => ({LINES})().filter(d => d.length > 40).length === 3", timeout=30_000)
    assert page.evaluate(LEGEND)[-3:] == ["lr=0.001", "lr=0.01", "lr=0.03"]
    page.get_by_role("button", name="Clear the queue").click()
    page.locator("#compare-plot").wait_for(state="hidden", timeout=10_000)
    assert page.evaluate(LEGEND) == [] and not page.locator("#compare-table").is_visible()
    queue_grid(page, "hidden=8;16", "hidden=16")
    page.get_by_role("button", name="Train the queue").click()
    page.locator("#compare-status").get_by_text(re.compile("Done: 2 of 2")).wait_for(timeout=300_000)
    page.wait_for_function(f"() => ({LINES})().filter(d => d.length > 40).length === 2", timeout=30_000)
    assert page.evaluate(LEGEND)[-2:] == ["hidden=8", "hidden=16"] and "lr=0.01" not in page.evaluate(LEGEND)
    page.screenshot(path=str(ARTIFACTS / "seed-lab-compare.png"), full_page=True)


def test_stop_leaves_no_error_badge(page):
    """Issue 9: after Stop, the reproduction's outputs carry its last update, never Gradio's "Error" badge."""
    seed_lab(page, 1000)
    page.get_by_label("Reproduction").click()
    page.get_by_role("option", name="spiral-table", exact=True).click()
    page.get_by_label("Seeds").click()
    page.get_by_role("option", name="1", exact=True).click()
    for i in range(4):
        page.get_by_role("button", name="Run", exact=True).click()
        page.locator("#seed-notes").get_by_text(re.compile("running…")).wait_for(timeout=60_000)
        page.wait_for_timeout(300 + 400 * i)  # Stop at different points of the clock's tick
        page.get_by_role("button", name="Stop", exact=True).first.click()
        page.locator("#seed-notes").get_by_text(re.compile(r"Stopped after \d+ s")).wait_for(timeout=30_000)
        page.wait_for_timeout(1500)  # a late error status would land here
        assert page.evaluate(BADGE) == 0, f"Gradio's Error badge after Stop {i + 1}"
