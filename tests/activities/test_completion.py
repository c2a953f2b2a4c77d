"""The district's completion overview: table, sorting, chart data, Excel export, and a
constant number of SQL statements however many schools the district has."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

from app.extensions import db
from tenants import provisioning
from tenants.models import District
from tenants.scope import Scope, tenant_scope
from tests.activities.helpers import add_record, make_plan
from tests.querycount import count_queries

SLOTS = [([3], "三八节"), ([5], "运动会"), ([7, 8], "暑期慰问"), ([12], "总结")]
URL = "/d/d1/activities/2026/completion"
CHART_URL = "/d/d1/activities/2026/completion/chart.json"


@pytest.fixture
def filled(app, world):
    a = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节活动", a[0])
    add_record(app, world.d1, world.s1a, date(2026, 8, 1), "暑期慰问", a[2])
    add_record(app, world.d1, world.s1a, date(2026, 6, 1), "计划外")
    b = make_plan(app, world.d1, world.s1b, 2026, SLOTS[:3], status="submitted")
    add_record(app, world.d1, world.s1b, date(2026, 3, 9), "乙三八节", b[0])
    return a, b


def _rows(page):
    return re.findall(r'<tr data-school-id="(\d+)">\s*<td><a[^>]*>([^<]+)</a>', page)


def test_overview_lists_every_school_with_its_rate(app, world, filled, login_as):
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        provisioning.add_school(db.session.get(District, world.d1), "一区丙幼儿园", "kindergarten")
        db.session.commit()
    client = login_as("d1staff")
    response = client.get(URL)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert [name for _, name in _rows(page)] == ["一区丙幼儿园", "一区乙中学", "一区甲小学"]  # by name
    assert "50%" in page and "33.3%" in page and "未填写" in page and "已提交" in page
    assert 'id="total-rate">42.9%' in page  # 3 of 7 planned activities in the district
    assert "二区甲小学" not in page
    links = re.findall(r'<tr data-school-id="(\d+)">\s*<td><a href="([^"]+)"', page)
    assert len(links) == 3 and all(href == f"/d/d1/s/{sid}/activities/2026/calendar" for sid, href in links)
    assert client.get(links[0][1]).status_code == 200
    by_rate = client.get(URL + "?sort=rate&order=desc").get_data(as_text=True)
    assert [name for _, name in _rows(by_rate)] == ["一区甲小学", "一区乙中学", "一区丙幼儿园"]
    assert 'aria-sort="descending"' in by_rate
    by_rate_up = client.get(URL + "?sort=rate&order=asc").get_data(as_text=True)
    assert [name for _, name in _rows(by_rate_up)] == ["一区乙中学", "一区甲小学", "一区丙幼儿园"]  # "—" last


def test_overview_is_for_the_district_only(app, world, login_as):
    assert login_as("chair1a").get(URL).status_code == 403
    assert login_as("d1assessor").get(URL).status_code == 403
    assert login_as("d2admin").get(URL).status_code == 404
    assert login_as("d1admin").get("/d/d1/activities/1800/completion").status_code == 404


def test_chart_reads_its_data_from_a_json_url_only_when_echarts_is_installed(app, world, filled, login_as):
    client = login_as("d1admin")
    app.jinja_env.globals["vendor_available"] = lambda path: False
    page = client.get(URL).get_data(as_text=True)
    assert "completion.js" not in page and "completion-chart" not in page  # no asset: the table alone
    app.jinja_env.globals["vendor_available"] = lambda path: True
    page = client.get(URL).get_data(as_text=True)
    assert '<script src="/static/vendor/echarts/echarts.min.js"></script>' in page
    assert '<script src="/static/js/completion.js"></script>' in page
    assert not re.search(r"<script>(?!</script>)", page) and "<script>\n" not in page  # no inline scripts
    assert "data-chart=" not in page  # the figures of every school are not in the page
    url = re.search(r'id="completion-chart"[^>]*data-url="([^"]+)"', page).group(1)
    assert url == CHART_URL
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/json"
    data = response.get_json()
    assert data == {"names": ["一区乙中学", "一区甲小学"], "rates": [33.3, 50.0], "done": [1, 2], "planned": [3, 4]}


def test_no_chart_when_nothing_is_planned(app, world, login_as):
    app.jinja_env.globals["vendor_available"] = lambda path: True
    client = login_as("d1admin")
    page = client.get(URL).get_data(as_text=True)
    assert "completion-chart" not in page and "completion.js" not in page
    assert client.get(CHART_URL).get_json() == {"names": [], "rates": [], "done": [], "planned": []}


def test_chart_data_is_for_the_district_only(app, world, filled, login_as):
    assert login_as("chair1a").get(CHART_URL).status_code == 403
    assert login_as("d1assessor").get(CHART_URL).status_code == 403
    assert login_as("d2admin").get(CHART_URL).status_code == 404
    assert login_as("d1admin").get("/d/d1/activities/1800/completion/chart.json").status_code == 404
    response = app.test_client().get(CHART_URL)
    assert response.status_code == 302 and "/login" in response.location
    assert login_as("d2admin").get("/d/d2/activities/2026/completion/chart.json").get_json()["names"] == []


def test_excel_export_rows_and_formula_escaping(app, world, filled, login_as):
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        provisioning.add_school(db.session.get(District, world.d1), '=HYPERLINK("http://evil","点我")', "other")
        provisioning.add_school(db.session.get(District, world.d1), "@SUM(1+1)学校", "other")
        db.session.commit()
    client = login_as("d1admin")
    response = client.get("/d/d1/activities/2026/completion.xlsx?sort=rate&order=desc")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[1] == ["学校", "计划状态", "计划活动数", "已完成", "完成率", "活动记录数"]
    body = rows[2:-1]
    assert body[0] == ["一区甲小学", "已通过", 4, 2, 0.5, 3]
    assert body[1] == ["一区乙中学", "已提交", 3, 1, pytest.approx(1 / 3), 1]
    names = [r[0] for r in body]
    assert "'=HYPERLINK(\"http://evil\",\"点我\")" in names and "'@SUM(1+1)学校" in names
    for row in ws.iter_rows(min_row=3):
        assert row[0].data_type == "s"  # no cell is a formula
    assert rows[-1] == ["合计", None, 7, 3, pytest.approx(3 / 7), 4]
    assert all(r[4] == "—" for r in body if r[2] == 0)


def _grow(app, world, count, start=0):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            district = db.session.get(District, world.d1)
            ids = [provisioning.add_school(district, f"扩充学校{i:03d}", "primary").id
                   for i in range(start, start + count)]
            db.session.commit()
        db.session.remove()
    for i, school_id in enumerate(ids):
        slots = make_plan(app, world.d1, school_id, 2026, SLOTS[: 1 + i % 4])
        if i % 2:
            add_record(app, world.d1, school_id, date(2026, 3, 1), "活动", slots[0])


def _counts(app, client):
    from app.activities import services

    out = {}
    with app.app_context():
        engine = db.engine
        with tenant_scope(Scope.district(world_d1(app))):
            with count_queries(engine) as statements:
                rows = services.district_completion(2026)
            out["service"] = len(statements)
            out["schools"] = len(rows)
        db.session.remove()
    for path in (URL, URL + "?sort=rate&order=desc", CHART_URL, "/d/d1/activities/2026/completion.xlsx",
                 "/api/v1/d/d1/activities/2026/completion"):
        with count_queries(engine) as statements:
            assert client.get(path).status_code == 200, path
        out[path] = len(statements)
    return out


def world_d1(app):
    from sqlalchemy import select

    from tenants.scope import system_scope

    with system_scope("test: find d1"):
        return db.session.scalar(select(District.id).where(District.slug == "d1"))


def test_overview_runs_a_constant_number_of_queries(app, world, filled, login_as):
    client = login_as("d1staff")
    _grow(app, world, 8)  # 10 schools
    small = _counts(app, client)
    _grow(app, world, 55, start=8)  # 65 schools
    large = _counts(app, client)
    assert (small.pop("schools"), large.pop("schools")) == (10, 65)
    assert small == large, (small, large)
    assert small["service"] <= 3
    assert all(n <= 20 for n in large.values()), large


def test_overview_is_paged_with_its_sort_and_search(app, world, filled, login_as):
    """50 schools a page; the sort and the search stay on every page link; the figures above the
    table (schools, totals, chart) are the whole district's."""
    client = login_as("d1staff")
    _grow(app, world, 63)  # 65 schools
    whole = []
    for page in (1, 2):
        html = client.get(URL + f"?sort=rate&order=desc&page={page}").get_data(as_text=True)
        whole.append(html)
    first, second = ([name for _, name in _rows(html)] for html in whole)
    assert (len(first), len(second)) == (50, 15) and not set(first) & set(second)
    everything = client.get("/d/d1/activities/2026/completion.xlsx?sort=rate&order=desc")
    ws = load_workbook(io.BytesIO(everything.data)).active
    assert first + second == [row[0].value for row in ws.iter_rows(min_row=3) if row[0].value != "合计"]
    assert 'id="stat-schools">65<' in whole[1] and "共 65 条" in whole[0]
    link = re.search(r'<a class="page-link" href="([^"]*page=2[^"]*)"', whole[0]).group(1).replace("&amp;", "&")
    assert "sort=rate" in link and "order=desc" in link
    found = client.get(URL + "?q=扩充学校00").get_data(as_text=True)
    assert [name for _, name in _rows(found)] == [f"扩充学校00{i}" for i in range(10)]
    assert 'id="stat-schools">65<' in found and 'class="pagination' not in found
    chart = client.get(re.search(r'data-url="([^"]+)"', found).group(1)).get_json()  # the chart ignores the search
    assert sorted(chart["names"]) == sorted(first + second) and len(chart["rates"]) == 65
    sort_link = re.search(r'href="([^"]*sort=done[^"]*)"', found).group(1)
    assert "q=" in sort_link and "page=" not in sort_link
    assert "没有符合条件的学校" in client.get(URL + "?q=没有这所学校").get_data(as_text=True)
    assert len(_rows(client.get(URL + "?page=9").get_data(as_text=True))) == 15  # past the end: the last page
