"""Browser journey of the district roll-up (issue 6): district staff open 汇总, start the
compile, watch the progress bar finish (the embedded worker runs the job in the
background), see the dashboard charts and download the Excel 汇总表 and the PDF report."""
from __future__ import annotations

import io
import threading

import pytest
from openpyxl import load_workbook

from app.activities.services import current_year
from tests.compilation.helpers import pdf_text, submit_plan
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def background_worker(live_server):
    """The embedded worker (flask jobs work) in a thread, polling pending runs."""
    from worker.embedded import work

    stop = threading.Event()

    def loop():
        while not stop.is_set():
            work(live_server.app, burst=True, poll=0.1)
            stop.wait(0.2)

    thread = threading.Thread(target=loop, name="e2e-embedded-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def test_district_compiles_the_rollup_and_downloads_excel_and_pdf(new_page, artifacts, live_server, background_worker):
    base, world, app = live_server.url, live_server.world, live_server.app
    with app.app_context():
        year = current_year()
    submit_plan(app, world, "s1a", year=year)

    page, traffic = new_page()
    login(page, base, "d1staff")
    page.get_by_role("link", name="汇总", exact=True).click()
    page.wait_for_url(f"{base}/d/d1/rollup/{year}")
    assert "本年度尚未汇总" in page.inner_text("#rollup-status")
    page.click("#rollup-compile")
    # the progress bar follows the job, then the page reloads with the figures
    page.wait_for_selector("#rollup-fresh", timeout=60_000)
    assert "汇总是最新的" in page.inner_text("#rollup-status")
    assert "一区甲小学" in page.inner_text("#rollup-schools")
    page.wait_for_selector("#chart-completion canvas", timeout=10_000)  # ECharts drew from the JSON
    page.screenshot(path=str(artifacts / "rollup-dashboard.png"), full_page=True)

    # the school table sorts (and pages) on the server; htmx swaps the table alone
    first_cells = "#rollup-schools tbody tr td:first-child"
    assert page.locator(first_cells).all_inner_texts() == ["一区乙中学", "一区甲小学"]
    page.evaluate("window.stillHere = true")  # a full page load would forget it
    page.click("#rollup-schools a[data-sort=name]")
    page.wait_for_url("**dir=desc**")
    page.wait_for_selector("#rollup-schools a[aria-sort=descending]")
    assert page.locator(first_cells).all_inner_texts() == ["一区甲小学", "一区乙中学"]
    assert page.locator("#chart-completion canvas").count() == 1  # the rest of the page was kept
    page.fill("#rollup-schools-filter input[name=q]", "甲")
    page.click("#rollup-schools-filter button[type=submit]")
    page.wait_for_url("**q=**")
    page.wait_for_function("document.querySelectorAll('#rollup-schools tbody tr').length === 1")
    assert page.locator(first_cells).all_inner_texts() == ["一区甲小学"]
    assert page.evaluate("window.stillHere === true")  # swapped by htmx, not reloaded

    with page.expect_download() as info:
        page.click("#download-xlsx")
    download = info.value
    assert download.suggested_filename.endswith("汇总表.xlsx")
    wb = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    names = [row[0] for row in wb["学校明细"].iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["一区乙中学", "一区甲小学"]

    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    assert download.suggested_filename.endswith("报告.pdf")
    text = pdf_text(open(download.path(), "rb").read())
    assert "一区甲小学" in text and "汇总报告" in text
    traffic.assert_clean()
