"""The dashboard's school table is paged on the server (50 a page) with search, a school-kind
filter and column sorting kept across pages; htmx swaps the table alone. The district figures stay
on every view, and the rows shown are the stored figures' (the Excel and PDF read the same)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs.models import DONE, JobRun
from app.rollup import data, services
from tests.compilation.helpers import run_job
from tests.conftest import post
from tests.plans.helpers import district_session

YEAR = 2026


@pytest.fixture(autouse=True)
def no_results(monkeypatch):
    monkeypatch.setattr(data, "school_results", lambda year: {})


def _rows(n: int) -> list[dict]:
    kinds = [("primary", "小学"), ("junior", "初中"), ("senior", "高中")]
    rows = []
    for i in range(n):
        kind, label = kinds[i % 3]
        rows.append({"school_id": i + 1, "name": f"学校{i:03d}", "code": f"C{i:03d}", "kind": kind, "kind_label": label,
                     "completion_rate": None if i % 10 == 0 else round(i / n, 4), "total": None,
                     "submitted_on": "", "plan_status_label": "未提交", "summary_status_label": "未提交",
                     "applications_submitted": 0, "rank": None, "tier": "", "review_due": ""})
    return rows


def test_school_table_pages_filters_and_sorts():
    rows = _rows(120)
    table = services.school_table(rows)
    assert (table.page.total, table.page.pages, len(table.page.items)) == (120, 3, 50)
    assert [r["name"] for r in table.page.items][:2] == ["学校000", "学校001"]
    last = services.school_table(rows, page=3)
    assert len(last.page.items) == 20 and last.page.items[-1]["name"] == "学校119"
    assert services.school_table(rows, page=99).page.page == 3  # past the end: the last page
    assert services.school_table(rows, page=-4).page.page == 1
    junior = services.school_table(rows, kind="junior")
    assert junior.page.total == 40 and {r["kind"] for r in junior.page.items} == {"junior"}
    assert services.school_table(rows, kind="nonsense").kind == ""  # unknown kind: all schools
    assert [r["name"] for r in services.school_table(rows, q="c11").page.items] == [f"学校11{i}" for i in range(10)]
    assert services.school_table(rows, q="学校007").page.total == 1
    by_rate = services.school_table(rows, sort="completion", desc=True, page=3).page.items
    assert by_rate[-12:] == [r for r in rows if r["completion_rate"] is None]  # missing values last
    top = services.school_table(rows, sort="completion", desc=True).page.items[0]
    assert top["name"] == "学校119"
    asc = services.school_table(rows, sort="completion").page.items[0]
    assert asc["name"] == "学校001"
    assert services.school_table(rows, sort="name", desc=True).page.items[0]["name"] == "学校119"
    assert services.school_table(rows, sort="bogus").sort == "name"
    assert services.school_table(rows, kind="senior", sort="completion", desc=True, page=1).page.total == 40


def _compile(client, app, world):
    assert post(client, f"/d/d1/rollup/{YEAR}/compile").status_code == 302
    with district_session(app, world.d1):
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == "rollup").order_by(JobRun.id.desc()))
    assert run_job(app, world.d1, run_id)["status"] == DONE


def _names(html: str) -> list[str]:
    body = html.split('id="rollup-schools"', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr><td>([^<]+)</td>", body)


def test_dashboard_pages_the_school_table_and_keeps_the_filters(app, world, login_as):
    from tenants import provisioning

    with app.app_context():
        d1 = provisioning.find_by_slug("d1")
        for i in range(53):  # 55 schools in all: two pages
            provisioning.add_school(d1, f"一区第{i:02d}中学", "junior" if i % 2 else "primary", code=f"X{i:02d}")
        db.session.commit()
        db.session.remove()
    client = login_as("d1admin")
    _compile(client, app, world)
    base = f"/d/d1/rollup/{YEAR}"

    page = client.get(base).get_data(as_text=True)
    assert "汇总是最新的" in page and 'id="rollup-cards"' in page and 'id="rollup-summary"' in page
    first = _names(page)
    assert len(first) == 50 and "共 55 条" in page
    second = _names(client.get(f"{base}?page=2").get_data(as_text=True))
    assert len(second) == 5 and not set(first) & set(second)
    assert sorted(first + second) == sorted(s["name"] for s in _stored(client))

    # a kind filter and a sort, kept by the pager and by the column links
    page = client.get(f"{base}?kind=junior&sort=name&dir=desc").get_data(as_text=True)
    names = _names(page)
    assert names == sorted((s["name"] for s in _stored(client) if s["kind"] == "junior"), reverse=True)
    assert len(names) == 27 and 'aria-sort="descending"' in page
    for href in re.findall(r'href="([^"]*rollup/%d\?[^"]*)"' % YEAR, page):
        assert "kind=junior" in href, href
    search = _names(client.get(f"{base}?q=X0").get_data(as_text=True))
    assert search == [f"一区第0{i}中学" for i in range(10)]
    assert "没有符合条件的学校" in client.get(f"{base}?q=无此学校").get_data(as_text=True)
    page = client.get(f"{base}?page=2&kind=junior").get_data(as_text=True)  # past the end: the last page
    assert len(_names(page)) == 27

    # htmx: the table block alone
    fragment = client.get(f"{base}?page=2", headers={"HX-Request": "true", "HX-Target": "rollup-schools-block"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith('<div id="rollup-schools-block"')
    assert "<html" not in html and 'id="rollup-schools-block"' in html and _names(html) == second
    assert 'id="rollup-cards"' not in html


def _stored(client) -> list[dict]:
    return client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()["schools"]


def test_charts_json_leaves_out_the_school_rows(app, world, login_as):
    client = login_as("d1admin")
    _compile(client, app, world)
    full = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    charts = client.get(f"/d/d1/rollup/{YEAR}/data.json?charts=1").get_json()
    assert len(full["schools"]) == 2 and "schools" not in charts
    assert charts["charts"] == full["charts"] and charts["summary"] == full["summary"]
    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert "data.json?charts=1" in page


def test_fingerprint_ignores_another_districts_inputs(app, world):
    from datetime import date

    from app.activities.models import ActivityRecord

    with district_session(app, world.d1):
        before = data.fingerprint(YEAR)
    with district_session(app, world.d2):
        db.session.add(ActivityRecord(school_id=world.s2a, year=YEAR, held_on=date(YEAR, 3, 8), title="二区活动"))
        db.session.commit()
    with district_session(app, world.d1):
        assert data.fingerprint(YEAR) == before
        db.session.add(ActivityRecord(school_id=world.s1a, year=YEAR, held_on=date(YEAR, 3, 8), title="一区活动"))
        db.session.commit()
    with district_session(app, world.d1):
        assert data.fingerprint(YEAR) != before


def test_fingerprint_changes_when_an_activity_record_is_edited(app, world):
    """Moving a record to another year or another planned activity changes the figures (records per
    year, activities done) without adding or removing a row: the fingerprint must see it."""
    from datetime import date

    from app.activities.models import ActivityRecord

    with district_session(app, world.d1):
        record = ActivityRecord(school_id=world.s1a, year=YEAR, held_on=date(YEAR, 3, 8), title="一区活动")
        db.session.add(record)
        db.session.commit()
        record_id = record.id
    with district_session(app, world.d1):
        before = data.fingerprint(YEAR)
        record = db.session.get(ActivityRecord, (world.d1, record_id))
        record.held_on, record.year = date(YEAR - 1, 12, 30), YEAR - 1
        db.session.commit()
    with district_session(app, world.d1):
        moved = data.fingerprint(YEAR)
        assert moved != before
        db.session.get(ActivityRecord, (world.d1, record_id)).title = "一区活动（改名）"
        db.session.commit()
    with district_session(app, world.d1):
        assert data.fingerprint(YEAR) != moved  # any edit: the figures are cheap to recompute, staleness is not
