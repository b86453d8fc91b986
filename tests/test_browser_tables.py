"""The Tables tab in a real browser (issue 12's "what it must show"): upload a CSV with a categorical column and missing
values, train a classifier, predict one row in the generated form and a batch file, download the model and upload it
again; and issue 15's Boston items: a failed price leaves no stale price behind."""

import re

import pytest
from bad_tables import shop_csv
from test_browser import ARTIFACTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(browser, server):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg.goto(server)
    pg.get_by_role("tab", name="Tables").click()
    pg.locator("#tables-file").wait_for(timeout=30_000)
    yield pg
    pg.close()


def open_accordion(page, label: str, inside: str) -> None:
    """Open the accordion until `inside` shows: a click that lands while the form above re-renders can miss, and a
    closed accordion keeps its (hidden) file input, where a file set uploads out of sight."""
    box = page.locator(inside)
    for _ in range(3):
        page.get_by_text(label).click()
        for _ in range(50):  # up to 10 s for it to open
            if box.is_visible():
                return
            page.wait_for_timeout(200)
    box.wait_for(state="visible", timeout=1_000)  # still hidden: fails, naming the box


def status(page) -> str:
    return page.locator("#tables-status").inner_text()


def test_a_failed_price_clears_the_old_one(page):
    page.get_by_role("button", name="Predict price", exact=True).click()
    page.get_by_text("Predicted with the built-in default model").wait_for(timeout=30_000)
    price = page.get_by_label("Predicted price ($1000s)")
    assert 5 < float(price.input_value()) < 50
    page.get_by_label("RM (rooms)").fill("")  # an empty box: the server refuses it
    page.get_by_role("button", name="Predict price", exact=True).click()
    page.get_by_text("RM is empty").first.wait_for(timeout=30_000)
    page.wait_for_function("() => !document.querySelector('input[aria-label^=\"Predicted price\"]')?.value",
                           timeout=30_000)
    assert not page.get_by_text("Predicted with the built-in default model").is_visible()
    page.get_by_label("RM (rooms)").fill("6.2")


def test_upload_train_predict_a_row_and_a_file_download_and_upload(page, tmp_path):
    page.locator("#tables-file input[type=file]").set_input_files(shop_csv(tmp_path / "shop.csv"))
    page.get_by_text("shop.csv").first.wait_for(timeout=30_000)
    page.wait_for_function("() => /240 rows, 4 columns/.test(document.querySelector('#tables-about')?.innerText)",
                           timeout=30_000)
    columns = page.locator("#tables-columns").inner_text()
    assert "category" in columns and "number" in columns  # each column's type, with its missing count
    assert "classification" in page.get_by_text("auto →").first.inner_text()
    page.get_by_label("fill (training median / most frequent)").check()
    page.get_by_label("Hidden layers").filter(visible=True).fill("16")
    page.get_by_label("Epochs").filter(visible=True).fill("150")
    page.get_by_label("Learning rate").filter(visible=True).fill("0.01")
    page.get_by_label("Learning rate").filter(visible=True).press("Enter")
    page.get_by_role("button", name="Train", exact=True).filter(visible=True).click()
    page.get_by_text("This model is now used for predictions").filter(visible=True).wait_for(timeout=180_000)
    assert "missing cells filled" in status(page) and "Baselines on this split" in status(page)

    # the generated form: a number box per numeric column, a dropdown of the cities seen, each prefilled
    page.locator("#tables-predict").wait_for(timeout=30_000)
    page.get_by_label("age", exact=True).fill("70")
    page.get_by_label("city", exact=True).click()
    page.get_by_role("option", name="Rome", exact=True).click()
    page.locator("#tables-predict").click()
    page.wait_for_function("() => /buy/.test(document.querySelector('#tables-prediction')?.innerText || '')",
                           timeout=30_000)
    page.get_by_text("Predicted with your model").wait_for(timeout=30_000)

    # a file of rows: it comes back with a prediction column
    rows = tmp_path / "rows.csv"
    rows.write_text("age,city,visits\n70,Rome,1\n20,Rome,2\n33,,3\n")
    open_accordion(page, "Predict a file of rows", "#tables-rows")
    uploads = []  # the upload's HTTP answers: the file's name shows only after a 200 (CI timed out here twice)
    page.on("response", lambda r: "/upload" in r.url and uploads.append((r.status, r.url.rsplit("/", 1)[-1])))
    page.locator("#tables-rows input[type=file]").set_input_files(str(rows))
    try:
        page.get_by_text("rows.csv").first.wait_for(timeout=30_000)
    except Exception as e:  # playwright's TimeoutError: say what the server answered, and what the page showed
        toasts = page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"rows.csv never showed; upload answers {uploads}, toasts {toasts}") from e
    page.locator("#tables-predict-file").click()
    page.get_by_text(re.compile(r"3 of 3 rows predicted")).wait_for(timeout=30_000)
    with page.expect_download() as got:
        page.locator("#tables-batch-out a").first.click()
    lines = open(got.value.path()).read().splitlines()
    assert lines[0].startswith("age,city,visits,prediction") and lines[1].split(",")[3] == "buy"
    page.screenshot(path=str(ARTIFACTS / "tables.png"), full_page=True)

    # download the model, upload it again: restored, and the form still predicts with it
    with page.expect_download() as got:
        page.locator("#tables-download").click()
    model = tmp_path / "model.safetensors"
    got.value.save_as(model)
    with page.expect_file_chooser() as chooser:
        page.locator("#tables-upload").click()
    chooser.value.set_files(str(model))
    page.get_by_text(re.compile(r"Restored your model: mlp 16")).wait_for(timeout=30_000)
    page.locator("#tables-predict").wait_for(timeout=30_000)
    page.get_by_label("age", exact=True).fill("25")
    page.locator("#tables-predict").click()
    page.wait_for_function("() => /skip|buy/.test(document.querySelector('#tables-prediction')?.innerText || '')",
                           timeout=30_000)
