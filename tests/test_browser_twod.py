"""The 2-D tab in a real browser (Debian's chromium through playwright): XOR needs the x1*x2 feature, the network
view's tiles change while the spiral trains, a shared link restores its settings with the hidden controls hidden,
points added by clicking are trained on, clicks reach every corner of the picture, Step and Reset; and the
weights-and-gradients view of the seed's sigmoid row. Screenshots go to artifacts/."""

import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_browser import ARTIFACTS, pick

from dlcore import netview

pytestmark = pytest.mark.browser
LONG = 180_000  # ms: a run's end, waited for (never slept for) on a machine other jobs share


@pytest.fixture
def page(browser, server):
    """A fresh page (a fresh session) per test, on the 2-D tab with its data drawn."""
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto(server)
    pg.get_by_role("tab", name="2-D").wait_for()
    pg.locator("#boundary img").wait_for(timeout=60_000)
    yield pg
    pg.close()


def status(page) -> str:
    return page.locator("#spiral-status").inner_text()


def train_to_the_end(page, epochs: int) -> str:
    """Press Train and wait for this run's final status (not an earlier run's)."""
    before = page.evaluate("() => document.querySelector('#spiral-status')?.innerText || ''")  # as compared below
    page.get_by_role("button", name="Train", exact=True).first.click()
    done = page.wait_for_function(
        """([old, epochs]) => {
             const s = document.querySelector('#spiral-status')?.innerText || '';
             // (while a job runs, a progress timer such as "0.1s" is shown above the text: not a new status)
             return s !== old && s.startsWith(`epoch ${epochs}/${epochs}`) && s.includes('now used for predictions') && s;
           }""", arg=[before, epochs], timeout=LONG)
    return done.json_value()  # the status that ended the wait


def accuracy(text: str) -> float:
    return float(re.search(r"test acc (\d\.\d+)", text).group(1))


def fill(page, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).filter(visible=True).first.fill(value)


def check(page, label: str) -> None:
    """Tick the visible checkbox or radio button with this label."""
    page.get_by_label(label, exact=True).filter(visible=True).first.check()


def img_src(page, selector: str) -> str:
    return page.locator(f"{selector} img").get_attribute("src") or ""


def click_picture(page, selector: str, fx: float, fy: float) -> None:
    """Click the image at a fraction (fx, fy) of the picture itself (not of its box, which may be wider)."""
    page.locator(f"{selector} img").scroll_into_view_if_needed()
    # (a live picture is swapped for the next one several times a second: until the new one has loaded its natural
    # size is 0, so wait for a loaded one)
    box = page.wait_for_function(
        """(sel) => { const i = document.querySelector(sel + ' img'); if (!i || !i.complete || !i.naturalWidth) return null;
                      const r = i.getBoundingClientRect();
                      const s = Math.min(r.width / i.naturalWidth, r.height / i.naturalHeight);
                      return [r.x + (r.width - i.naturalWidth * s) / 2, r.y + (r.height - i.naturalHeight * s) / 2,
                              i.naturalWidth * s, i.naturalHeight * s]; }""", arg=selector, timeout=30_000).json_value()
    page.mouse.click(box[0] + fx * box[2], box[1] + fy * box[3])


def test_xor_needs_the_product_feature(page):
    pick(page, "Data set", "xor")
    check(page, "linear")
    pick(page, "Learning rate", "1e-2")
    fill(page, "Epochs", "300")
    page.wait_for_function("() => document.querySelector('#spiral-params').innerText.includes('6 trainable')")
    without = accuracy(train_to_the_end(page, 300))
    assert without < 0.65, f"a linear model on x1, x2 should fail on XOR, got {without}"
    check(page, "x₁x₂")
    page.wait_for_function("() => document.querySelector('#spiral-params').innerText.includes('8 trainable')")
    with_product = accuracy(train_to_the_end(page, 300))
    assert with_product >= 0.95, f"adding x1*x2 should solve XOR, got {with_product}"
    page.screenshot(path=str(ARTIFACTS / "twod-xor.png"), full_page=True)


def _network_png(page) -> np.ndarray:
    """The network view as the server sent it (the image file behind the <img>)."""
    return np.asarray(Image.open(io.BytesIO(page.request.get(img_src(page, "#network")).body())).convert("RGB"))


def test_the_network_view_changes_while_the_spiral_trains(page):
    fill(page, "Epochs", "20000")
    page.get_by_role("button", name="Train", exact=True).first.click()
    page.wait_for_function("() => /epoch \\d+\\/20000/.test(document.querySelector('#spiral-status')?.innerText)",
                           timeout=LONG)
    page.locator("#network img").wait_for(timeout=LONG)
    first = _network_png(page)
    for _ in range(3):  # a few updates later, so that the weights have moved visibly
        src = img_src(page, "#network")
        page.wait_for_function("(src) => document.querySelector('#network img')?.getAttribute('src') !== src",
                               arg=src, timeout=LONG)
    second = _network_png(page)
    changed = np.abs(first.astype(int) - second.astype(int)).sum(2) > 30
    assert first.shape == second.shape and changed.sum() > 100, f"only {changed.sum()} pixels changed"
    page.wait_for_function("() => document.querySelector('#spiral-status')?.innerText.includes('dead ReLUs: layer 1')",
                           timeout=30_000)
    # Stop, then a click on a tile opens that unit: layer 1's first shown tile (the tallest column starts at the top).
    # (Clicking while the picture is swapped for the next update several times a second is what a person does too,
    # but on a loaded machine the browser may show no loaded picture for long stretches; the click is what is tested)
    # (a page busy drawing live updates on a loaded machine can take over 30 s to take a click: wait as for a run)
    page.get_by_role("button", name="Stop", exact=True).first.click(timeout=LONG)
    page.get_by_text(re.compile(r"Stopped at epoch \d+/20000")).wait_for(timeout=LONG)
    for attempt in range(3):
        click_picture(page, "#network", (netview.SIDE + netview.TILE + netview.GAP_X + netview.TILE / 2) / 476,
                      (netview.TOP + netview.TILE / 2) / 436)
        try:
            page.wait_for_function(
                "() => /layer 1, unit \\d+ \\(relu\\)/.test(document.querySelector('#unit-detail').innerText)",
                timeout=20_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    assert "incoming weights" in page.locator("#unit-detail").inner_text()
    page.screenshot(path=str(ARTIFACTS / "twod-network.png"), full_page=True)
    top, bottom, left, right = page.evaluate(  # the decision picture and the network view, for the README (docs/)
        """() => { const a = document.querySelector('#boundary').getBoundingClientRect();
                   const b = document.querySelector('#network').getBoundingClientRect();
                   const p = document.querySelector('#probe').getBoundingClientRect();
                   return [a.top + scrollY - 30, b.bottom + scrollY, a.left + scrollX, p.right + scrollX]; }""")
    page.screenshot(path=str(ARTIFACTS / "twod-views.png"), full_page=True,
                    clip={"x": left, "y": top, "width": right - left, "height": bottom - top})
    Image.fromarray(_network_png(page)).save(ARTIFACTS / "network-view.png")


def test_a_shared_link_restores_the_settings_and_hides_controls(browser, server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        pg.goto(server + "?dataset=moons&features=x1,x2,x1sq&lr=1e-2&epochs=77&hidden=8,8&hide=optimizer,lr&bogus=1")
        pg.get_by_role("tab", name="2-D").wait_for()
        note = pg.locator("#spiral-link-note")
        pg.wait_for_function("() => document.querySelector('#spiral-link-note')?.innerText.includes('restored')",
                             timeout=60_000)
        assert "bogus=1: unknown setting" in note.inner_text() and "2 controls hidden" in note.inner_text()
        assert pg.get_by_label("Data set").filter(visible=True).input_value() == "moons"
        assert pg.get_by_label("Epochs", exact=True).filter(visible=True).input_value() == "77"
        assert pg.get_by_label("Hidden layers").filter(visible=True).input_value() == "8,8"
        assert pg.get_by_label("x₁²", exact=True).is_checked() and not pg.get_by_label("x₁x₂", exact=True).is_checked()
        assert not pg.locator("#spiral-optimizer-field").is_visible() and not pg.locator("#spiral-lr-field").is_visible()
        assert pg.locator("#spiral-epochs-field").is_visible() and not pg.locator("#spiral-classes-field").is_visible()
        pg.get_by_role("button", name="Copy link", exact=True).click()
        pg.wait_for_function("() => (document.querySelector('#spiral-link textarea, #spiral-link input')?.value || '')"
                             ".includes('dataset=moons')", timeout=30_000)
        link = pg.locator("#spiral-link textarea, #spiral-link input").first.input_value()
        assert link.startswith(server.rstrip("/")) and "hide=optimizer,lr" in link and "epochs=77" in link
        assert "dataset=moons" in pg.url  # the address bar holds the settings too
        pg.screenshot(path=str(ARTIFACTS / "twod-shared-link.png"), full_page=True)
    finally:
        pg.close()


def test_points_added_by_clicking_are_trained_on(page):
    pick(page, "Data set", "gaussians")
    check(page, "add class 1")
    added = ("(n) => (document.querySelector('#spiral-added_points-field textarea')?.value || '').split(';')"
             ".filter(Boolean).length >= n")
    for n, (fx, fy) in enumerate(((0.04, 0.05), (0.07, 0.04), (0.05, 0.08), (0.09, 0.07)), 1):  # top left: no data
        for attempt in range(3):  # a click while the picture is being swapped can be lost, as it would be for a
            click_picture(page, "#boundary", fx, fy)  # person, who clicks again
            try:
                page.wait_for_function(added, arg=n, timeout=15_000)
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
    pick(page, "Learning rate", "1e-2")
    fill(page, "Epochs", "150")
    train_to_the_end(page, 150)
    check(page, "probe the point")
    click_picture(page, "#boundary", 0.06, 0.06)
    page.wait_for_function("() => /class 1/.test(document.querySelector('#probe')?.innerText || '')", timeout=30_000)
    top = page.locator("#probe").get_by_test_id("label-output-value").inner_text().strip().splitlines()[0]
    assert top == "class 1", "the model did not learn the points added by clicking"
    page.screenshot(path=str(ARTIFACTS / "twod-added-points.png"), full_page=True)


def test_clicks_reach_every_corner_of_the_picture(page):
    fill(page, "Epochs", "5")
    train_to_the_end(page, 5)
    x, y = page.locator("#probe-x input"), page.locator("#probe-y input")
    for fx, fy in ((0.01, 0.01), (0.99, 0.01), (0.01, 0.99), (0.99, 0.99), (0.5, 0.5)):
        for attempt in range(3):  # a click while the picture is being swapped (the run's last redraw) can be lost,
            before = img_src(page, "#boundary")  # as it would be for a person, who clicks again
            click_picture(page, "#boundary", fx, fy)
            try:
                page.wait_for_function("(src) => document.querySelector('#boundary img')?.getAttribute('src') !== src",
                                       arg=before, timeout=20_000)  # redrawn with the probed point marked
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
        want = (-1.15 + 2.3 * fx, 1.15 - 2.3 * fy)
        assert abs(float(x.input_value()) - want[0]) < 0.05 and abs(float(y.input_value()) - want[1]) < 0.05
    page.screenshot(path=str(ARTIFACTS / "twod-probe.png"), full_page=True)


def test_step_and_reset(page):
    fill(page, "Epochs", "50")
    for n in (1, 2):
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function("(n) => document.querySelector('#spiral-status')?.innerText.includes(`epoch ${n}/50`)",
                               arg=n, timeout=60_000)
    page.locator("#network img").wait_for(timeout=30_000)
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text(re.compile("New initial weights \\(draw 1\\)")).wait_for(timeout=60_000)
    page.get_by_role("button", name="Step", exact=True).click()
    page.wait_for_function("() => document.querySelector('#spiral-status')?.innerText.includes('epoch 1/50')",
                           timeout=60_000)


def test_the_sigmoid_rows_weights_and_gradients(page):
    """The seed's sigmoid row (100 sigmoid units, Adam 1e-3, 1000 epochs): the view shows why it stops near 0.51."""
    page.get_by_label("Hidden layers").filter(visible=True).first.fill("100")
    pick(page, "Activation", "sigmoid")
    train_to_the_end(page, 1000)
    finding = page.locator("#spiral-finding").inner_text()
    assert "saturated units never above 0 %" in finding and "too small" in finding
    page.locator("#spiral-inside").get_by_text("Weights and gradients over time").click()
    for panel in ("weights", "grads", "units"):
        page.wait_for_function(f"() => document.querySelector('#spiral-{panel} .mark-line path')", timeout=30_000)
    top, bottom, left, width = page.evaluate(
        """() => { const f = document.querySelector('#spiral-finding').getBoundingClientRect();
                   const v = document.querySelector('#spiral-inside').getBoundingClientRect();
                   return [f.top + scrollY, v.bottom + scrollY, v.left + scrollX, v.width]; }""")
    page.screenshot(path=str(ARTIFACTS / "weights-and-gradients.png"), full_page=True,
                    clip={"x": left, "y": top - 8, "width": width, "height": bottom - top + 16})
