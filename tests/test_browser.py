"""A real browser (Debian's chromium through playwright): train the spiral and watch it update, stop a run, price a
house, then draw digits on the Sketchpad without touching its toolbar. Screenshots go to artifacts/."""

import re

import pytest
from conftest import ARTIFACTS

pytestmark = pytest.mark.browser

ERROR_BADGES = ("() => [...document.querySelectorAll('.error, .toast-body.error')].filter(e => e.offsetParent && "
                "/Error/.test(e.innerText)).length")


@pytest.fixture(scope="module")
def url(browser, server):
    return server


@pytest.fixture(scope="module")
def page(browser, url):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto(url)
    pg.get_by_role("tab", name="2-D").wait_for()
    yield pg
    pg.close()


def test_every_tab_has_its_own_name(page):
    names = [t.inner_text().strip() for t in page.get_by_role("tab").all()]
    assert names == ["2-D", "Tables", "Digits", "Seed lab", "About"]


def boundary_src(page) -> str:
    img = page.locator("#boundary img")
    img.wait_for(timeout=30_000)
    return img.get_attribute("src") or ""


def loss_curve(page) -> str:
    """The drawn train-loss line (vega renders each series as an SVG path); empty before the first update."""
    return page.evaluate("() => [...document.querySelectorAll('#spiral-loss .mark-line path')]"
                         ".map(p => p.getAttribute('d')).join('|')")


def spiral_status(page) -> str:
    return page.locator("#spiral-status").inner_text()


def test_spiral_trains_live_and_stops(page):
    # A run far too long to finish during the test: the curve and the boundary must move while it trains (waited
    # for, not timed, so a fast machine cannot finish the run between two looks), then Stop keeps its weights.
    page.get_by_label("Epochs").first.fill("20000")
    before = boundary_src(page)  # the data preview drawn at load
    page.get_by_role("button", name="Train", exact=True).first.click()
    page.get_by_text(re.compile(r"epoch \d+/20000")).first.wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelector('#spiral-loss .mark-line path')", timeout=30_000)
    first_curve, first_boundary, first_status = loss_curve(page), boundary_src(page), spiral_status(page)
    assert "epoch" in first_status and "✅" not in first_status
    page.wait_for_function(
        """([curve, src]) => {
             const d = [...document.querySelectorAll('#spiral-loss .mark-line path')].map(p => p.getAttribute('d'));
             return d.join('|') !== curve && document.querySelector('#boundary img')?.getAttribute('src') !== src;
           }""", arg=[first_curve, first_boundary], timeout=30_000)
    assert re.search(r"epoch \d+/20000", spiral_status(page)) and "Stopped" not in spiral_status(page)
    assert before != first_boundary, "the boundary was not drawn while training"
    page.get_by_role("button", name="Stop", exact=True).first.click()
    page.get_by_text(re.compile(r"Stopped at epoch \d+/20000")).wait_for(timeout=30_000)
    assert "now this tab's model" in spiral_status(page)
    page.screenshot(path=str(ARTIFACTS / "spiral-stopped.png"), full_page=True)

    # a run to the end: the final boundary is drawn and the model answers a click on the picture
    stopped_boundary = boundary_src(page)
    page.get_by_label("Epochs").first.fill("300")
    page.get_by_role("button", name="Train", exact=True).first.click()
    # adopted, or (when the stopped run had trained longer) held back as worse than the tab's model
    page.get_by_text(re.compile("This model is now used for predictions|worse than the one the tab already has")
                     ).wait_for(timeout=120_000)
    assert boundary_src(page) != stopped_boundary, "the final boundary was not drawn"
    img = page.locator("#boundary img")
    box = img.bounding_box()
    img.click(position={"x": box["width"] * 0.8, "y": box["height"] * 0.5})
    page.wait_for_function("() => /class \\d/.test(document.querySelector('#probe')?.innerText || '')", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "spiral.png"), full_page=True)


def test_price_a_house(page):
    page.get_by_role("tab", name="Tables").click()
    # the form has no values of its own (they would be API defaults); the page fills in the medians when it loads
    page.wait_for_function("() => document.querySelector('#house-CRIM input')?.value === '0.2604'", timeout=30_000)
    page.get_by_role("button", name="Predict price", exact=True).click()
    page.get_by_text("Predicted with the built-in default model").wait_for(timeout=30_000)
    price = float(page.get_by_label("Predicted price ($1000s)").input_value())
    assert 5 < price < 50
    page.screenshot(path=str(ARTIFACTS / "boston.png"), full_page=True)


def draw(page, strokes) -> None:
    """Mouse strokes on the Sketchpad; points are (dx, dy) from the canvas centre in CSS pixels."""
    canvas = page.locator("#sketchpad canvas").first
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in strokes:
        page.mouse.move(cx + stroke[0][0], cy + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(cx + x, cy + y, steps=2)
        page.mouse.up()


def top_label(page) -> str:
    label = page.locator("#digit-label").get_by_test_id("label-output-value")
    page.wait_for_function(
        "() => { const e = document.querySelector('#digit-label [data-testid=\"label-output-value\"]');"
        " return e && /\\d/.test(e.innerText); }", timeout=30_000)
    return label.inner_text().strip().splitlines()[0].strip()


def test_draw_digits_without_picking_the_brush(page):
    page.get_by_role("tab", name="Digits").click()
    page.locator("#sketchpad canvas").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # no click on the editor's toolbar: the app selects the brush itself
    draw(page, [[(0, -80), (2, -40), (4, 0), (6, 40), (8, 80)]])  # a tall vertical stroke: a "1"
    page.get_by_role("button", name="Predict", exact=True).click()
    assert top_label(page) == "1"
    assert "built-in default CNN" in page.locator("#digit-which").inner_text()
    page.locator("#digit-seen img").wait_for(timeout=30_000)  # the 28x28 the model saw follows the label
    page.screenshot(path=str(ARTIFACTS / "digits.png"), full_page=True)
    # the stroke's own answer and Predict read the same drawing: neither says it "did not arrive"
    assert page.evaluate(ERROR_BADGES) == 0, "an Error badge after drawing and pressing Predict"

    # Clear empties the canvas and the outputs, and the brush is still ready for the next digit
    page.locator("#digit-clear").click()
    page.wait_for_function("() => !document.querySelector('#digit-label [data-testid=\"label-output-value\"]')",
                           timeout=30_000)
    page.wait_for_timeout(800)
    draw(page, [[(-60, -70), (60, -70), (10, 0), (-20, 80)]])  # a "7": the top bar, then the long diagonal
    page.get_by_role("button", name="Predict", exact=True).click()
    assert top_label(page) == "7"

    # train a small model: the confusion matrix and the misclassified gallery appear, and predictions switch to it
    pick(page, "Dataset", "MNIST, built-in 5,000 digits")
    pick(page, "Architecture", "logistic regression")
    page.get_by_label("Epochs").filter(visible=True).fill("2")
    page.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
    # two epochs of logistic regression do worse than the built-in CNN: the tab asks before replacing it
    page.get_by_text("worse than the one the tab already has").filter(visible=True).wait_for(timeout=120_000)
    assert "not the full 60,000" in page.locator("#digits-status").inner_text()
    page.get_by_text("Most confident mistakes").wait_for(timeout=30_000)
    # batches of 64: the train curve starts mid-epoch, and the test curve (from the end of epoch 1) is drawn too
    assert "test" in page.locator("#digits-loss").inner_text().split(), "the test curve is missing"
    page.locator("#digits-keep-new").click()  # "Use the new model"
    page.get_by_text("The new model is now used for predictions").filter(visible=True).wait_for(timeout=30_000)
    page.get_by_role("button", name="Predict", exact=True).click()
    page.get_by_text("Predicted with your model: linear").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "digits-trained.png"), full_page=True)


def pick(page, label: str, option: str) -> None:
    """Choose an option of the visible dropdown with this label."""
    page.get_by_label(label).filter(visible=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_seed_lab_lists_rows_as_they_finish_and_stops(page):
    page.get_by_role("tab", name="Seed lab").click()
    pick(page, "Reproduction", "spiral-table")
    pick(page, "Seeds", "1")  # the seed's own run, listed row by row (more seeds run as a sweep)
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("running…").first.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"accuracy 0\.\d+ \(seed 0\.509\)")).wait_for(timeout=90_000)  # two rows are in
    page.get_by_role("button", name="Stop", exact=True).filter(visible=True).first.click()
    page.get_by_text(re.compile(r"Stopped after \d+ s")).wait_for(timeout=30_000)
    for seed_accuracy in ("0.501", "0.509"):
        assert page.get_by_text(f"(seed {seed_accuracy})").is_visible(), "a finished row is no longer listed"
    page.screenshot(path=str(ARTIFACTS / "seed-lab-stopped.png"), full_page=True)
