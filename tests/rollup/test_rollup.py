"""The district roll-up (汇总): one job, three outputs that agree with each other and with the
database (Excel read back with openpyxl, PDF text extracted, the dashboard's JSON), cached
by a fingerprint of the inputs (unchanged → instant; changed → stale, recompile), a few
set-based queries whatever the number of schools, progress = schools done / total, and
nothing of another district."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.compilation.models import ROLLUP_JSON, ROLLUP_PDF, ROLLUP_XLSX
from app.extensions import db
from app.jobs.models import DONE, JobRun
from app.rollup import data
from tests.compilation.helpers import artifacts, pdf_text, run_job, submit_plan
from tests.conftest import post
from tests.plans.helpers import district_session
from tests.querycount import count_queries

YEAR = 2026
RESULTS = {}  # filled per test: what app.results.services.school_results would return


@pytest.fixture(autouse=True)
def fake_results(monkeypatch):
    RESULTS.clear()
    monkeypatch.setattr(data, "school_results", lambda year: {k: v for k, v in RESULTS.get(year, {}).items()})


def _approve(app, world, school_name="s1a", year=YEAR):
    from app.plans import services
    from app.plans.services import Actor

    with district_session(app, world.d1):
        plan = services.get_plan(getattr(world, school_name), year)
        services.approve(plan, plan.latest_version_no, Actor(world.users["d1staff"], frozenset({"district_staff"})))
        db.session.commit()


def _record_done(app, world, school_name="s1a", year=YEAR, count=1):
    """Activity records carrying out the first ``count`` planned activities of the school's plan."""
    from app.activities.models import ActivityRecord
    from app.plans.models import ScheduledActivity, WorkPlan

    with district_session(app, world.d1):
        sid = getattr(world, school_name)
        plan = db.session.scalar(select(WorkPlan).where(WorkPlan.school_id == sid, WorkPlan.year == year))
        planned = db.session.scalars(select(ScheduledActivity).where(ScheduledActivity.plan_id == plan.id)
                                     .order_by(ScheduledActivity.first_month, ScheduledActivity.id)).all()
        for activity in planned[:count]:
            db.session.add(ActivityRecord(school_id=sid, year=year, held_on=date(year, 3, 8), title=activity.title,
                                          scheduled_activity_id=activity.id))
        db.session.commit()


def _title(app, world, school_name="s1a", due=date(YEAR, 11, 30)):
    from app.titles.models import Title

    with district_session(app, world.d1):
        db.session.add(Title(school_id=getattr(world, school_name), tier="advanced", level="district",
                             awarded_on=date(2023, 12, 1), status="awarded", review_due_on=due))
        db.session.commit()


def _deadline(app, world, due=date(2099, 3, 31), year=YEAR):
    from app.plans.models import PlanDeadline

    with district_session(app, world.d1):
        db.session.add(PlanDeadline(year=year, due_on=due))
        db.session.commit()


@pytest.fixture
def filled(app, world):
    """d1: 甲小学 filed on time and approved, 4 planned activities of which 3 done, a title due
    this year, a result (88.5, rank 1, 先进); 乙中学 filed nothing. Previous year: 甲小学 filed.
    d2: a plan of its own that must never show in d1's figures."""
    _deadline(app, world)
    submit_plan(app, world, "s1a")
    _approve(app, world)
    _record_done(app, world, count=3)
    submit_plan(app, world, "s1a", year=YEAR - 1)
    submit_plan(app, world, "s2a")
    _title(app, world)
    RESULTS[YEAR] = {world.s1a: [{"round_id": 1, "round_name": "2026年先进职工之家评选", "kind": "title",
                                  "total": "88.50", "rank": 1, "tier": "advanced", "grade": None}]}
    return world


def _compile(client, app, world, district_id=None) -> dict:
    response = post(client, f"/d/d1/rollup/{YEAR}/compile")
    assert response.status_code == 302
    with district_session(app, district_id or world.d1):
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == "rollup").order_by(JobRun.id.desc()))
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    return result


def test_excel_pdf_json_and_database_agree(app, filled, login_as):
    world = filled
    client = login_as("d1staff")
    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert "本年度尚未汇总" in page and "生成汇总" in page
    result = _compile(client, app, world)
    assert result["result"]["schools"] == 2

    payload = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    assert payload["ready"] and not payload["stale"]
    summary, schools = payload["summary"], {s["name"]: s for s in payload["schools"]}
    assert set(schools) == {"一区甲小学", "一区乙中学"}

    # --- the database, counted independently
    from app.plans.models import WorkPlan

    with district_session(app, world.d1):
        from tenants.models import School

        n_schools = db.session.scalar(select(func.count()).select_from(School).where(School.active.is_(True)))
        filed = db.session.scalar(select(func.count()).select_from(WorkPlan).where(
            WorkPlan.year == YEAR, WorkPlan.first_submitted_at.is_not(None)))
        approved = db.session.scalar(select(func.count()).select_from(WorkPlan).where(
            WorkPlan.year == YEAR, WorkPlan.status == "approved"))
    assert summary["schools"] == n_schools == 2
    assert summary["filed"] == filed == 1 and summary["approved"] == approved == 1
    assert summary["filed_on_time"] == 1 and summary["on_time_rate"] == 0.5 and summary["approved_rate"] == 0.5
    a = schools["一区甲小学"]
    assert (a["planned"], a["done"], a["completion_rate"]) == (4, 3, 0.75)
    assert a["plan_status_label"] == "已通过" and a["on_time"] is True
    assert a["total"] == 88.5 and a["rank"] == 1 and a["tier"] == "先进"
    assert "区级先进职工之家" in a["titles"] and a["review_due"] == f"{YEAR}-11-30"
    b = schools["一区乙中学"]
    assert b["plan_status_label"] == "未提交" and b["completion_rate"] is None and b["on_time"] is False
    assert summary["completion_avg"] == 0.75 and summary["reviews_due"] == 1 and summary["titles_held"] == 1
    assert {d["band"]: d["count"] for d in summary["completion_distribution"]} == {
        "未安排活动": 1, "0–49%": 0, "50–79%": 1, "80–99%": 0, "100%": 0}
    assert {d["band"]: d["count"] for d in summary["score_distribution"]}["80–89 分"] == 1
    assert payload["previous"]["filed"] == 1 and payload["previous"]["approved"] == 0
    assert payload["charts"]["year_over_year"]["current"][0] == summary["filed_rate"]

    # --- the Excel, read back
    response = client.get(f"/d/d1/rollup/{YEAR}/rollup.xlsx")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.get_data()))
    assert wb.sheetnames == ["学校明细", "全区汇总", "按学校类型", "完成率分布", "得分分布", "等次与名额", "评选结果"]
    ws = wb["学校明细"]
    headers = [c.value for c in ws[1]]
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref.startswith("A1:")
    rows = {r[0]: dict(zip(headers, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == set(schools)
    for name, school in schools.items():
        row = rows[name]
        assert row["计划状态"] == school["plan_status_label"]
        assert row["计划活动数"] == school["planned"] and row["已完成活动数"] == school["done"]
        assert row["计划完成率"] == school["completion_rate"]
        assert row["综评总分"] == school["total"] and row["排名"] == school["rank"]
    rate_col = headers.index("计划完成率") + 1
    assert ws.cell(2, rate_col).number_format == "0.0%"
    summary_ws = {r[0]: r[1:] for r in wb["全区汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary_ws["学校数"][0] == summary["schools"]
    assert summary_ws["按时提交率"][0] == summary["on_time_rate"]
    assert summary_ws["通过率"] == (summary["approved_rate"], payload["previous"]["approved_rate"])
    assert summary_ws["平均计划完成率"][0] == summary["completion_avg"]
    tiers = list(wb["等次与名额"].iter_rows(min_row=2, values_only=True))
    assert tiers == [(t["round"], t["tier_label"], t["count"], t["quota"]) for t in summary["tiers"]]

    # --- the PDF report, text extracted
    response = client.get(f"/d/d1/rollup/{YEAR}/rollup.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(pdf_text(response.get_data()).split())
    for expected in ("一区教育工会", f"{YEAR}年度学校工会工作汇总报告", "一、全区汇总", "二、计划完成率分布", "三、按学校类型",
                     "四、年度对比", "五、得分分布与等次名额", "六、学校明细", "一区甲小学", "一区乙中学",
                     "按时提交率50.0%", "通过率50.0%", "平均计划完成率75.0%", "75.0%", "88.50"):
        assert expected in text, expected
    assert "二区甲小学" not in text

    # --- the page shows the same figures
    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert "汇总是最新的" in page and "75.0%" in page and "50.0%" in page and "一区甲小学" in page
    assert "二区甲小学" not in page


def test_unchanged_rollup_opens_instantly_and_a_change_marks_it_stale(app, filled, login_as):
    world = filled
    client = login_as("d1admin")
    _compile(client, app, world)
    before = artifacts(app, world.d1, ROLLUP_JSON)
    with count_queries(_engine(app)) as statements:
        page = client.get(f"/d/d1/rollup/{YEAR}")
    assert "汇总是最新的" in page.get_data(as_text=True)
    assert len(statements) < 30  # no recompiling on open: the fingerprint's aggregates and lookups
    # compiling again with nothing changed does nothing new
    post(client, f"/d/d1/rollup/{YEAR}/compile")
    with district_session(app, world.d1):
        assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.kind == "rollup")) == 1
    # a change to an input: one more activity done
    _record_done(app, world, count=4)
    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert "数据在汇总后有变化" in page and "重新汇总" in page
    payload = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    assert payload["stale"] is True and payload["summary"]["completion_avg"] == 0.75  # the stored figures
    _compile(client, app, world)
    after = artifacts(app, world.d1, ROLLUP_JSON)
    assert len(after) == 2 and {a["fingerprint"] for a in after} > {before[0]["fingerprint"]}
    payload = client.get(f"/d/d1/rollup/{YEAR}/data.json").get_json()
    assert payload["stale"] is False and payload["summary"]["completion_avg"] == 1.0
    # other inputs that must mark it stale: a school renamed, a title, a deadline
    from tenants.models import School

    for change in ("school", "title"):
        if change == "school":
            with district_session(app, world.d1):
                db.session.get(School, (world.d1, world.s1b)).name = "一区乙中学（新校区）"
                db.session.commit()
        else:
            _title(app, world, "s1b")
        assert "数据在汇总后有变化" in client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True), change
        _compile(client, app, world)


def _engine(app):
    with app.app_context():
        return db.engine


def test_collect_runs_a_constant_number_of_queries(app, world):
    from tenants import provisioning
    from tenants.models import District

    def count_for() -> tuple[int, int]:
        with district_session(app, world.d1):
            with count_queries(db.engine) as statements:
                figures = data.collect(YEAR)
                data.fingerprint(YEAR)
        return len(statements), len(figures["schools"])

    submit_plan(app, world, "s1a")
    small, n_small = count_for()
    with app.app_context():
        d1 = provisioning.find_by_slug("d1")
        for i in range(12):
            provisioning.add_school(d1, f"一区第{i}小学", "primary", code=f"X{i}")
        db.session.commit()
        db.session.remove()
    large, n_large = count_for()
    assert (n_small, n_large) == (2, 14)
    assert small == large, (small, large)
    assert large <= 40


def test_progress_counts_schools_done(app, world):
    seen = []
    with district_session(app, world.d1):
        data.collect(YEAR, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (2, 2) and all(total == 2 for _, total in seen)


def test_another_district_sees_nothing_of_the_rollup(app, filled, login_as):
    world = filled
    _compile(login_as("d1staff"), app, world)
    other = login_as("d2admin")
    for path in (f"/d/d1/rollup/{YEAR}", f"/d/d1/rollup/{YEAR}/data.json", f"/d/d1/rollup/{YEAR}/rollup.xlsx",
                 f"/d/d1/rollup/{YEAR}/rollup.pdf"):
        assert other.get(path).status_code == 404, path
    payload = other.get(f"/d/d2/rollup/{YEAR}/data.json").get_json()
    assert payload["ready"] is False  # d2 has its own (not compiled) roll-up
    page = other.get(f"/d/d2/rollup/{YEAR}").get_data(as_text=True)
    assert "一区甲小学" not in page
    # school users cannot open district roll-ups
    assert login_as("chair1a").get(f"/d/d1/rollup/{YEAR}").status_code == 403


def test_job_runs_are_listed_for_the_district_and_the_platform(app, filled, login_as):
    world = filled
    _compile(login_as("d1staff"), app, world)
    page = login_as("d1admin").get("/d/d1/jobs/").get_data(as_text=True)
    assert "区级汇总" in page and "工作计划材料汇编" in page and "已汇总 2 所学校" in page and "秒" in page
    page = login_as("d2admin").get("/d/d2/jobs/").get_data(as_text=True)
    assert "区级汇总" not in page  # d2's own plan dossier only
    # a school user sees only its own school's runs
    page = login_as("chair1b").get("/d/d1/jobs/").get_data(as_text=True)
    assert "区级汇总" not in page and "工作计划材料汇编" not in page
    page = login_as("platform").get("/platform/jobs/").get_data(as_text=True)
    assert "一区教育工会" in page and "二区教育工会" in page and "区级汇总" in page
    assert login_as("d1admin").get("/platform/jobs/").status_code == 403


def test_failed_rollup_shows_reason_and_retry(app_factory, tmp_path):
    from tests.conftest import build_world, login

    app = app_factory(CJK_FONT_DIR=str(tmp_path / "none"))
    world = build_world(app)
    client = app.test_client()
    login(client, "d1staff")
    post(client, f"/d/d1/rollup/{YEAR}/compile")
    with district_session(app, world.d1):
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == "rollup"))
    assert run_job(app, world.d1, run_id)["status"] == "failed"
    page = client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)
    assert "汇总失败" in page and "未安装 PDF 中文字体" in page and "重试" in page
    page = client.get("/d/d1/jobs/?status=failed").get_data(as_text=True)
    assert "未安装 PDF 中文字体" in page
    app.config["CJK_FONT_DIR"] = None
    post(client, f"/d/d1/rollup/{YEAR}/compile")
    assert run_job(app, world.d1, run_id)["status"] == DONE
    assert "汇总是最新的" in client.get(f"/d/d1/rollup/{YEAR}").get_data(as_text=True)


def test_demo_load_queues_the_rollup_and_the_worker_compiles_everything(app):
    """``make run``: the demo's plan dossiers and this year's roll-up are compiled by the
    embedded worker with no click."""
    from tenants.models import District
    from tenants.scope import Scope, tenant_scope
    from worker.embedded import work

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with tenant_scope(Scope.system("test: find the demo district")):
            district_id = db.session.scalar(select(District.id).where(District.slug == "demo"))
        db.session.remove()
    work(app, burst=True, poll=0)
    with district_session(app, district_id):
        runs = db.session.execute(select(JobRun.kind, JobRun.status, JobRun.error)).all()
        assert {kind for kind, _, _ in runs} >= {"rollup", "plan_dossier"}
        assert all(status == DONE for _, status, _ in runs), [r for r in runs if r[1] != DONE]
    with district_session(app, district_id):
        from app.activities.services import current_year
        from app.rollup import services as rollup

        st = rollup.state(current_year())
        assert st.artifact is not None
        figures = rollup.figures(st.artifact)
    assert figures["summary"]["schools"] == 13 and figures["summary"]["approved"] == 6
