"""The roll-up shows each school's 工作总结 status and submitted date, and the district's count
of summaries submitted (and accepted); JSON, Excel and PDF agree with each other and with the
database; a submission, a return or an acceptance marks the roll-up stale."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.models import DONE, JobRun
from app.rollup import data
from tests.compilation.helpers import pdf_text, run_job
from tests.conftest import post
from tests.plans.helpers import actor, district_session
from tests.summaries.helpers import YEAR, save_summary, submit_summary


@pytest.fixture(autouse=True)
def no_results(monkeypatch):
    monkeypatch.setattr(data, "school_results", lambda year: {})


def _compile(client, app, world):
    assert post(client, f"/d/d1/rollup/{YEAR}/compile").status_code == 302
    with district_session(app, world.d1):
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == "rollup").order_by(JobRun.id.desc()))
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]


def _accept(app, world, name="s1a", number=1):
    from app.summaries import services

    with district_session(app, world.d1):
        summary = services.get_summary(getattr(world, name), YEAR)
        services.accept(summary, number, actor(world, "d1staff"))
        db.session.commit()


def test_summary_columns_agree_in_json_excel_pdf_and_database(app, world, login_as):
    from app.summaries.models import YearSummary

    submit_summary(app, world, "s1a")
    _accept(app, world)
    save_summary(app, world, "s1b", who="chair1b")  # a draft: 未提交
    submit_summary(app, world, "s2a")  # another district
    submit_summary(app, world, "s1a", year=YEAR - 1)  # the previous year, beside
    client = login_as("d1staff")
    _compile(client, app, world)
    payload = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    schools = {s["name"]: s for s in payload["schools"]}
    a, b = schools["一区甲小学"], schools["一区乙中学"]
    assert (a["summary_status"], a["summary_status_label"]) == ("accepted", "已阅收")
    assert (b["summary_status"], b["summary_status_label"], b["summary_submitted_on"]) == ("not_submitted", "未提交", "")
    with district_session(app, world.d1):
        submitted = db.session.scalar(select(func.count()).select_from(YearSummary).where(
            YearSummary.year == YEAR, YearSummary.first_submitted_at.is_not(None)))
        first = db.session.scalar(select(YearSummary.first_submitted_at).where(
            YearSummary.school_id == world.s1a, YearSummary.year == YEAR))
    assert a["summary_submitted_on"] == data._day(first)
    summary = payload["summary"]
    assert summary["summaries_submitted"] == submitted == 1 and summary["summaries_accepted"] == 1
    assert payload["previous"]["summaries_submitted"] == 1 and payload["previous"]["summaries_accepted"] == 0

    wb = load_workbook(io.BytesIO(client.get(f"/d/d1/rollup/{YEAR}/rollup.xlsx").get_data()))
    ws = wb["学校明细"]
    headers = [c.value for c in ws[1]]
    rows = {r[0]: dict(zip(headers, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["一区甲小学"]["工作总结"] == "已阅收" and rows["一区甲小学"]["总结提交日期"] == a["summary_submitted_on"]
    assert rows["一区乙中学"]["工作总结"] == "未提交" and rows["一区乙中学"]["总结提交日期"] is None
    lines = {r[0]: r[1:] for r in wb["全区汇总"].iter_rows(min_row=2, values_only=True)}
    assert lines["已提交工作总结"] == (1, 1) and lines["工作总结已阅收"] == (1, 0)

    text = "".join(pdf_text(client.get(f"/d/d1/rollup/{YEAR}/rollup.pdf").get_data()).split())
    assert "已提交工作总结11" in text and "工作总结已阅收10" in text and "已阅收" in text

    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert 'id="rollup-summaries-submitted">1<' in page and "已阅收" in page


def test_summary_changes_mark_the_rollup_stale(app, world, login_as):
    client = login_as("d1admin")
    _compile(client, app, world)
    assert "汇总是最新的" in client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    save_summary(app, world, "s1a")  # a draft is not in the roll-up: still fresh
    assert "汇总是最新的" in client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    from app.summaries import services

    steps = [
        lambda: submit_summary(app, world, "s1a"),
        lambda: _return(app, world),
        lambda: (save_summary(app, world, "s1a", highlights="新增亮点"), _submit(app, world)),
        lambda: _accept(app, world, number=2),
    ]
    for step in steps:
        step()
        page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
        assert "数据在汇总后有变化" in page, step
        _compile(client, app, world)
    payload = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    assert payload["stale"] is False and payload["summary"]["summaries_accepted"] == 1
    assert services.TRACKING_LABELS["accepted"] == "已阅收"


def _return(app, world):
    from app.summaries import services

    with district_session(app, world.d1):
        summary = services.get_summary(world.s1a, YEAR)
        services.return_summary(summary, 1, actor(world, "d1staff"), "请修改")
        db.session.commit()


def _submit(app, world):
    from app.summaries import services

    with district_session(app, world.d1):
        summary = services.get_summary(world.s1a, YEAR)
        services.submit(summary, actor(world, "chair1a"))
        db.session.commit()
