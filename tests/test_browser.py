"""A real browser (Debian's chromium through playwright): train the spiral and watch it update, then draw a digit."""

import os
import re
import shutil
import socket
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    import app

    demo = app.build_demo()
    _, local, _ = demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True,
                              ssr_mode=False, quiet=True, css=app.CSS)
    yield local
    demo.close()


@pytest.fixture(scope="module")
def page(url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(url)
        pg.get_by_role("tab", name="Spiral").wait_for()
        yield pg
        browser.close()


def boundary_src(page) -> str:
    img = page.locator("#boundary img")
    img.wait_for(timeout=30_000)
    return img.get_attribute("src") or ""


def test_spiral_trains_live(page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.get_by_label("Epochs").first.fill("400")
    before = boundary_src(page)  # the data preview drawn at load
    page.get_by_role("button", name="Train", exact=True).first.click()
    page.get_by_text(re.compile(r"epoch \d+/400")).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    during = boundary_src(page)
    status_during = page.locator(".status").first.inner_text()
    page.get_by_text("This model is now used for predictions").wait_for(timeout=120_000)
    after = boundary_src(page)
    assert before != during != after, "the decision boundary did not refresh while training"
    assert "epoch" in status_during
    assert page.locator("svg, canvas").count() > 0  # the curves are drawn (vega renders into svg/canvas)
    page.screenshot(path=str(ARTIFACTS / "spiral.png"), full_page=True)


def test_draw_a_digit_and_predict(page):
    page.get_by_role("tab", name="Digits").click()
    canvas = page.locator("#sketchpad canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the brush is selected for us; no click on the toolbar here
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 4, cy - 70)
    page.mouse.down()
    for i in range(1, 25):
        page.mouse.move(cx - 4 + i * 0.3, cy - 70 + i * 6, steps=2)  # a tall vertical stroke: a "1"
    page.mouse.up()
    page.get_by_role("button", name="Predict", exact=True).click()
    label = page.get_by_test_id("label-output-value").first
    label.wait_for(timeout=30_000)
    page.wait_for_function(
        "() => { const e = document.querySelector('[data-testid=\"label-output-value\"]');"
        " return e && /\\d/.test(e.innerText); }", timeout=30_000)
    text = label.inner_text().strip()
    page.screenshot(path=str(ARTIFACTS / "digits.png"), full_page=True)
    assert text.splitlines()[0].strip() == "1", text
