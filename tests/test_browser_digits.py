"""The Digits tab in a real browser (Debian's chromium through playwright, the shared in-process `server`): the answer
follows each stroke without Predict (from the page's strokes, before the editor has sent its picture, and the same
answer as that picture gives), Teach fine-tunes on three corrected drawings and shows before/after, the views of what
the network sees open, and the polish (Clear keeps the zoom, the toolbar stays off the drawing square, the preview's
caption sits outside the picture, an empty Predict says to draw first). Screenshots go to artifacts/."""

from __future__ import annotations

import re

import pytest
from conftest import ARTIFACTS
from handdigits import TEMPLATES, BrowserPad, Pose, digits_page, mouse_path

pytestmark = pytest.mark.browser

ANSWER = "#digit-answer"


@pytest.fixture(scope="module")
def page(browser, server):
    pg = digits_page(browser, server)
    yield pg
    pg.close()


@pytest.fixture(scope="module")
def pad(page) -> BrowserPad:
    pad = BrowserPad(page)
    pad.calibrate()
    pad.clear()
    return pad


def answer(page) -> str:
    return page.locator(ANSWER).inner_text().strip()


def wait_answer(page, pattern: str, timeout: int = 30_000) -> str:
    """Wait until the answer line matches `pattern` (a regex), and return it."""
    page.wait_for_function("([sel, pat]) => new RegExp(pat).test(document.querySelector(sel)?.innerText || '')",
                           arg=[ANSWER, pattern], timeout=timeout)
    return answer(page)


def draw(pad: BrowserPad, template: str, pose: Pose | None = None, upto: int | None = None) -> None:
    """The template's strokes (the first `upto` of them), unwobbled, centred and large unless a pose is given."""
    import numpy as np

    strokes = TEMPLATES[template][1][:upto]
    for s in mouse_path(strokes, pose or Pose(200, 140, 140, 0, 0, 1), np.random.default_rng(0), jitter=0.0):
        pad.stroke(s)


def test_the_answer_follows_every_stroke_without_predict(page, pad):
    page.locator("#digit-predict").evaluate("b => b.addEventListener('click', () => window.__predicted = true)")
    draw(pad, "7-plain")  # one stroke: the bar and the diagonal
    wait_answer(page, r"7")
    page.locator("#digit-seen img").wait_for(timeout=30_000)  # the 28x28 the model saw follows the stroke too
    first_seen = page.locator("#digit-seen img").get_attribute("src")
    # a second stroke changes the drawing: a crossed 7 is still a 7, and the view of it is redrawn
    pad.stroke([(110, 140), (200, 140)])
    page.wait_for_function("(src) => document.querySelector('#digit-seen img')?.getAttribute('src') !== src",
                           arg=first_seen, timeout=30_000)
    assert "7" in answer(page)
    # Clear, then a new digit stroke by stroke: the answer changes from the first stroke's to the whole digit's
    pad.clear()
    page.wait_for_function(f"() => !/\\d/.test(document.querySelector('{ANSWER}')?.innerText || '')", timeout=30_000)
    draw(pad, "4-open", upto=1)  # the open 4's first stroke: an L
    first = wait_answer(page, r"\d")
    draw(pad, "4-open")  # the L again, and the 4's upright
    page.wait_for_function("([sel, old]) => { const t = document.querySelector(sel)?.innerText || '';"
                           " return /4/.test(t) && t !== old; }", arg=[ANSWER, first], timeout=30_000)
    assert not page.evaluate("() => window.__predicted === true"), "Predict was pressed"
    page.screenshot(path=str(ARTIFACTS / "digits-live.png"), full_page=True)


def test_the_answer_comes_before_the_editor_sends_its_picture(page, pad):
    """The editor's own per-stroke requests (its picture, parked through component_server) are held back: the answer
    still shows, from the strokes the page sent; once they go through, the editor's own event agrees with it."""
    pad.clear()
    page.wait_for_timeout(1000)
    held = []
    editor_calls = re.compile(r"/gradio_api/component_server")
    page.route(editor_calls, lambda route: held.append(route))  # not continued: the editor's picture waits
    try:
        draw(pad, "7-plain")
        page.wait_for_function(f"() => /7/.test(document.querySelector('{ANSWER}')?.innerText || '')", timeout=30_000)
        shown = page.evaluate("() => performance.now() - window.__digitStrokes.up")  # the pointerup's timeStamp
        print(f"\nanswer shown {shown:.0f} ms after the pointer went up; the editor had made {len(held)} requests")
        assert not page.evaluate("() => window.__digitStrokes.why"), "the page stopped following the pointer"
        for _ in range(100):  # the editor's own request does come, and is the one held back
            if held:
                break
            page.wait_for_timeout(100)
        assert held, "the editor made no request: nothing was held back"
    finally:
        for route in held:
            route.continue_()
        page.unroute(editor_calls)
    # the editor's own event follows (its picture parked, then read by the change event) and agrees
    before = page.locator("#digit-seen img").get_attribute("src")
    page.wait_for_function("(s) => document.querySelector('#digit-seen img')?.getAttribute('src') !== s", arg=before,
                           timeout=30_000)
    assert re.match(r"7\b", answer(page))
    pad.clear()


def test_the_editor_gets_the_stroke_end_after_the_answer_or_sooner(page, pad):
    """The stroke's end is held back from the editor (its redraws and read-backs would hold up the page) until the
    answer has been painted; a new stroke begun sooner releases it first, and an answer that does not come releases
    it after MAX_MS. Either way the editor commits every stroke: its picture is the whole drawing."""
    from dlcore import strokes

    def releases() -> list[str]:
        return page.evaluate("() => window.__digitHold.released.map((r) => r.why)")

    pad.clear()
    page.wait_for_timeout(1000)
    n = len(releases())
    before = len(pad.composites)
    # MAX_MS lengthened here: the test is about the order of things, not the speed (a loaded machine may take longer)
    max_ms = page.evaluate("() => window.__digitHold.MAX_MS")
    page.evaluate("() => { window.__digitHold.MAX_MS = 3000; }")
    draw(pad, "7-plain")
    wait_answer(page, r"7")
    page.wait_for_function("(n) => window.__digitHold.released.length > n", arg=n, timeout=10_000)
    assert releases()[n:] == ["answered"]
    page.wait_for_timeout(1500)  # the editor's own answer to the 7 has come and gone
    # no answer (the quick path's requests, which skip the queue, and the queue's joins held back): a stroke begun
    # meanwhile releases the last one's end, and the next is released after MAX_MS
    routed = len(pad.composites)
    held = []
    joins = re.compile(r"/gradio_api/(queue/join|run/predict)")
    page.route(joins, lambda route: held.append(route))
    try:
        pad.stroke([(110, 140), (200, 140)])
        pad.stroke([(140, 60), (140, 230)])
        page.wait_for_function("(n) => window.__digitHold.released.length >= n + 3", arg=n, timeout=10_000)
        assert releases()[n + 1:] == ["pointerdown", "timeout"]
        assert page.evaluate("() => window.__digitHold.released.at(-1).ms") < 3000 + 300
        for _ in range(100):  # the editor does commit both strokes and send its pictures (their joins held here too)
            if len(pad.composites) >= routed + 2:
                break
            page.wait_for_timeout(100)
        assert len(pad.composites) >= routed + 2, "the editor did not send a picture of each stroke"
    finally:
        page.evaluate("(ms) => { window.__digitHold.MAX_MS = ms; }", max_ms)
        for route in held:
            route.continue_()
        page.unroute(joins)
    sent = strokes.parse(page.evaluate("() => window.__digitStrokes.props.value"), (280, 280))
    assert len(sent.strokes) == 3
    composite = settled(pad, before)
    assert strokes.relation(1 - composite / 255.0, sent) == strokes.CURRENT  # all three strokes, as sent
    pad.clear()


def test_the_strokes_draw_as_the_editor_draws_them(page, pad):
    """Drawings (one with another brush size from the editor's slider): the strokes the page sent, drawn in process,
    against the composite the editor sent for the same drawing: the same pixels but for a few at the edges, and the
    same answer, through the same framing and model."""
    import numpy as np

    from dlcore import strokes
    from dlcore.predict import model_input, predict_image, verdict
    from playground import store

    tm = store.default_model("digits")
    rng = np.random.default_rng(7)
    for k, name in enumerate(["7-crossed", "0-oval"]):  # two strokes; one stroke with a thicker brush
        pad.clear()
        if k == 1:  # a thicker brush, set on the editor's own slider
            page.locator("#sketchpad button[aria-label='Brush Size']").click()
            page.locator("#sketchpad input[type='range']").fill("20")
            page.mouse.click(5, 5)  # closes the slider
            pad.ready()
        before = len(pad.composites)
        for s in mouse_path(TEMPLATES[name][1], Pose(160, 140, 140, float(rng.uniform(-8, 8)), 0.1, 1.0), rng):
            pad.stroke(s)
        sent = page.evaluate("() => window.__digitStrokes.props.value")
        composite = settled(pad, before)
        drawing = strokes.parse(sent, (280, 280))
        assert len(drawing.strokes) == len(TEMPLATES[name][1])
        assert {s.radius for s in drawing.strokes} == {20.0 if k == 1 else 11.0}
        raster = strokes.rasterise(drawing)[:, :, 0]
        ours, theirs = raster < 128, composite < 128
        assert (ours ^ theirs).sum() < 0.02 * theirs.sum(), f"{name}: {(ours ^ theirs).sum()} of {theirs.sum()} differ"
        assert strokes.relation(1 - composite / 255.0, drawing) == strokes.CURRENT
        quick, editor = (verdict(predict_image(tm, model_input(tm, im))) for im in (raster, composite))
        assert quick[1][0][0] == editor[1][0][0], (name, quick, editor)
    page.locator("#sketchpad button[aria-label='Brush Size']").click()
    page.locator("#sketchpad input[type='range']").fill("11")
    page.mouse.click(5, 5)
    pad.clear()


def test_undo_hands_the_answer_to_the_editor_until_clear(page, pad):
    """Undo is not followed by the page: it says so, and the editor's picture of what is left answers; Clear starts
    following again."""
    from dlcore.predict import model_input, predict_image
    from playground import store
    from playground.tabs.digits import answer_text

    pad.clear()
    draw(pad, "4-open")
    wait_answer(page, r"\d")
    full = settled(pad)
    page.locator("#sketchpad button[aria-label='Undo']").click()
    assert page.evaluate("() => window.__digitStrokes.why") == "undo"
    left = settled(pad, len(pad.composites))
    assert 0 < (left < 128).sum() < (full < 128).sum(), "Undo took nothing away"
    tm = store.default_model("digits")
    want = answer_text(predict_image(tm, model_input(tm, left))).removeprefix("## ").split("\n")[0]
    page.wait_for_function("([sel, want]) => (document.querySelector(sel)?.innerText || '').trim().split('\\n')[0]"
                           " === want", arg=[ANSWER, want], timeout=30_000)
    pad.clear()
    assert page.evaluate("() => window.__digitStrokes.on && !window.__digitStrokes.why")


def settled(pad: BrowserPad, after: int = 0, quiet_ms: int = 2000):
    """The last picture the editor sent (after the first `after`), once none has come for `quiet_ms`."""
    import io

    import numpy as np
    from PIL import Image

    n, quiet = len(pad.composites), 0
    while quiet < quiet_ms or len(pad.composites) <= after:
        pad.page.wait_for_timeout(250)
        quiet = 0 if len(pad.composites) != n else quiet + 250
        n = len(pad.composites)
    im = Image.open(io.BytesIO(pad.composites[-1])).convert("RGBA")
    return np.asarray(Image.alpha_composite(Image.new("RGBA", im.size, "white"), im).convert("L"))


def test_predict_on_an_empty_canvas_says_draw_first(page, pad):
    pad.clear()
    page.locator("#digit-predict").click()
    page.get_by_text(re.compile("draw a digit first")).first.wait_for(timeout=30_000)


def test_clear_keeps_the_zoom_and_the_brush(page, pad):
    zoom = page.locator("#sketchpad .zoom-number")
    page.locator("#sketchpad button[aria-label='Zoom in']").click()
    page.wait_for_function("(z) => document.querySelector('#sketchpad .zoom-number')?.innerText.trim() !== z",
                           arg=pad.zoom, timeout=10_000)
    zoomed = zoom.inner_text().strip()
    draw(pad, "1-stick", Pose(120, 140, 140, 0, 0, 1))
    page.locator("#digit-clear").click()
    page.wait_for_timeout(1000)
    assert zoom.inner_text().strip() == zoomed, "Clear reset the zoom"
    # back to where the pad was calibrated: "Fit to screen" (Zoom out does not step back, 114 % -> 125 % -> 112 %)
    page.locator("#sketchpad .zoom-number [role='button']").click()
    page.locator("#sketchpad").get_by_role("button", name="Fit to screen").click()
    page.wait_for_function("(z) => document.querySelector('#sketchpad .zoom-number')?.innerText.trim() === z",
                           arg=pad.zoom, timeout=10_000)
    pad.ready()


def test_the_toolbar_and_captions_keep_off_the_pictures(page, pad):
    square = _drawing_square(page, pad)
    tools = page.locator("#sketchpad button[aria-label='Brush']").locator("xpath=..").bounding_box()
    assert tools["x"] + tools["width"] <= square["left"], f"the tool bar {tools} covers the drawing square {square}"
    draw(pad, "1-stick")
    page.locator("#digit-seen img").wait_for(timeout=30_000)
    img = page.locator("#digit-seen img").bounding_box()
    caption = page.get_by_text("What the model sees (28×28)").bounding_box()
    assert caption["y"] + caption["height"] <= img["y"], "the preview's caption lies over its top rows"
    pad.clear()


def _drawing_square(page, pad: BrowserPad) -> dict:
    """The white drawing square inside the editor's canvas, in CSS px (centred, 280 canvas px at the pad's scale)."""
    cx, cy = pad.centre()
    half = 140 * pad.scale
    return {"left": cx - half, "right": cx + half, "top": cy - half, "bottom": cy + half}


def test_what_the_network_sees(page, pad):
    draw(pad, "3-round")
    wait_answer(page, r"\d")
    page.locator("#digit-seeing").get_by_text("What the network sees").click()
    for part in ("#digit-filters img", "#digit-saliency img", "#digit-maps img"):
        page.locator(part).first.wait_for(timeout=60_000)
    assert "gradient × input" in page.locator("#digit-saliency").inner_text()
    assert "of net 1 of 3" in page.locator("#digit-filters").inner_text(), "the built-in ensemble's: its first net's"
    assert page.locator("#digit-maps img").count() >= 2, "a feature-map grid per convolutional layer"
    old = page.locator("#digit-saliency img").get_attribute("src")
    pad.clear()
    draw(pad, "7-plain")
    page.wait_for_function("(s) => document.querySelector('#digit-saliency img')?.getAttribute('src') !== s",
                           arg=old, timeout=60_000)  # the views follow the drawing while open
    page.screenshot(path=str(ARTIFACTS / "digits-views.png"), full_page=True)
    page.locator("#digit-seeing").get_by_text("What the network sees").click()  # closed again
    pad.clear()


def test_teach_three_corrected_drawings(page, pad):
    """Someone whose 1 wears a hat (the built-in CNN reads a 7; tests/test_digits_core.py teaches the same hand
    without a browser): three such drawings, labelled 1, then Teach: before / after."""
    page.locator("#digit-teach").get_by_text("Teach it your hand").click()
    hat_one = [[(0.2, 0.3), (0.5, 0.05), (0.8, 0.3)], [(0.5, 0.05), (0.5, 0.95)]]
    import numpy as np

    for k, pose in enumerate([Pose(200, 140, 140, 0, 0, 1), Pose(170, 130, 150, 8, 0.1, 0.9),
                              Pose(190, 150, 135, -6, -0.1, 1.1)]):
        pad.clear()
        for s in mouse_path(hat_one, pose, np.random.default_rng(k), jitter=0.01):
            pad.stroke(s)
        wait_answer(page, r"\d")
        page.locator("#teach-digit").get_by_text("1", exact=True).click()
        page.locator("#teach-add").click()
        page.get_by_text(f"{k + 1} drawing(s) ready").wait_for(timeout=30_000)
    page.locator("#teach-run").click()
    note = page.locator("#teach-note")
    page.get_by_text(re.compile(r"Taught in [\d.]+ s")).wait_for(timeout=120_000)
    text = note.inner_text()
    before, after = re.search(r"your drawings\s+(\d+)%.*?(\d+)%", text, re.S).groups()
    assert int(after) == 100 and int(after) > int(before), text
    assert re.search(r"MNIST held-out digits\s+[\d.]+%\s+[\d.]+%", text), text
    # the session now reads a new serif 1 as a 1, and its model can be downloaded
    pad.clear()
    for s in mouse_path(hat_one, Pose(180, 140, 140, 3, 0, 1), np.random.default_rng(9), jitter=0.01):
        pad.stroke(s)
    wait_answer(page, r"^1(?!\d)")
    assert page.get_by_role("button", name="Download model").filter(visible=True).first.is_enabled()
    page.screenshot(path=str(ARTIFACTS / "digits-teach.png"), full_page=True)


def test_training_notes_in_plain_words_and_whole_captions(page, pad):
    """The data note says where the digits came from in words (no cut-off RuntimeError), and the mistakes gallery's
    captions fit under their thumbnails."""
    page.get_by_label("Architecture").filter(visible=True).click()
    page.get_by_role("option", name="logistic regression", exact=True).click()
    page.get_by_label("Epochs").filter(visible=True).fill("1")
    page.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
    # one epoch of logistic regression does worse than the built-in CNN: the tab offers to keep either (issue 15)
    page.get_by_text(re.compile("now used for predictions|predictions still use that one")).filter(
        visible=True).wait_for(timeout=180_000)
    status = page.locator("#digits-status").inner_text()
    assert "the built-in 5,000 digits" in status and "Error" not in status, status
    captions = page.locator("#digits-gallery .caption-label, #digits-gallery figcaption, #digits-gallery .caption")
    captions.first.wait_for(timeout=30_000)
    cut = page.evaluate("""() => [...document.querySelectorAll(
        '#digits-gallery .caption-label, #digits-gallery figcaption, #digits-gallery .caption')]
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
    assert not cut, f"captions cut off: {cut}"
    page.screenshot(path=str(ARTIFACTS / "digits-trained-views.png"), full_page=True)
