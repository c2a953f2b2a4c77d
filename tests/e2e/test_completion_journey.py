"""Browser journey of the completion overview (issue 7): the page carries one page of the table;
the chart of every school is drawn from completion/chart.json, fetched by completion.js."""
from __future__ import annotations

from datetime import date

import pytest

from tests.activities.helpers import add_record, make_plan
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SLOTS = [([3], "三八节"), ([5], "运动会"), ([7, 8], "暑期慰问"), ([12], "总结")]


def test_completion_chart_is_drawn_from_its_json(new_page, artifacts, live_server):
    base, world, app = live_server.url, live_server.world, live_server.app
    a = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节活动", a[0])
    b = make_plan(app, world.d1, world.s1b, 2026, SLOTS[:3])
    add_record(app, world.d1, world.s1b, date(2026, 3, 9), "乙三八节", b[0])

    page, traffic = new_page()
    login(page, base, "d1staff")
    page.goto(f"{base}/d/d1/activities/2026/completion")
    page.wait_for_selector("#completion-chart canvas", timeout=10_000)  # ECharts drew from the JSON
    assert page.locator("#completion-chart-card").is_visible()
    assert any(url.endswith("/d/d1/activities/2026/completion/chart.json") for url in traffic.requests)
    rows = page.locator("#completion-table tbody tr td:first-child").all_inner_texts()
    assert rows == ["一区乙中学", "一区甲小学"]
    page.screenshot(path=str(artifacts / "completion-chart.png"), full_page=True)
    traffic.assert_clean()
