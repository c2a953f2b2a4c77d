"""The district's round pages (create, edit, open, start assessing, progress, export, return)
and the school's pages (apply, self-assessment form, submit), through HTTP."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.jobs.models import JobRun
from app.rounds.models import Application, ApplicationSnapshot, Round
from tests.conftest import post
from tests.querycount import count_queries
from tests.rounds import files
from tests.rounds.conftest import FULL_SCORES, WIDE_OPEN, in_district, make_rubric, open_round


def _form(rubric, **overrides):
    data = {"name": "2026年度考评", "kind": "annual_review", "year": "2026", "rubric_id": str(rubric.rubric),
            "home_kind": "staff_home", "target_tier": "", "opens_on": "2000-01-01", "closes_on": "2099-12-31",
            "grace_days": "3", "assessment_due_on": "", "publicity_working_days": "5", "requires_tier": "",
            "min_membership_rate": "", "min_plan_completion_rate": "", "requires_plan_approved": "",
            "weight_self": "20", "weight_assessor": "80", "weight_peer": "0", "aggregation": "mean",
            "panel_size": "3", "disagreement_threshold": "", "band_excellent": "18", "band_good": "15",
            "band_pass": "12", "quota_excellent": "1", "tie_break": "无一票否决且必备项齐全者优先\n类别:民主管理"}
    data.update(overrides)
    return data


def _score_form(rubric, **changes):
    scores = {k: dict(v) for k, v in FULL_SCORES.items()}
    scores.update(changes)
    return {f"{field}-{rubric.ind[key]}": value for key, entry in scores.items() for field, value in entry.items()}


def test_district_creates_edits_and_opens_a_round(app, world, login_as, rubric):
    client = login_as("d1admin")
    assert "新建轮次" in client.get("/d/d1/rounds/").get_data(as_text=True)
    page = client.get("/d/d1/rounds/new").get_data(as_text=True)
    assert "学校工会工作考核细则（测试）" in page

    bad = post(client, "/d/d1/rounds/new", _form(rubric, weight_self="30", aggregation="trimmed_mean"))
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "之和应为 100%，现为 110%" in text and "至少 5 位评审" in text

    response = post(client, "/d/d1/rounds/new", _form(rubric))
    assert response.status_code == 302
    round_id = int(re.search(r"/rounds/(\d+)/", response.location).group(1))
    with in_district(app, world.d1):
        round_ = db.session.get(Round, (world.d1, round_id))
        assert round_.tie_break == ["gates_passed", "category:民主管理"] and round_.quotas == {"excellent": 1}
        assert round_.grade_bands == [["excellent", 18], ["good", 15], ["pass", 12]]
    edit = client.get(f"/d/d1/rounds/{round_id}/edit").get_data(as_text=True)
    assert "类别:民主管理" in edit
    assert post(client, f"/d/d1/rounds/{round_id}/edit", _form(rubric, name="2026年度学校工会考评")).status_code == 302

    opened = post(client, f"/d/d1/rounds/{round_id}/open")
    assert opened.status_code == 302
    page = client.get(opened.location).get_data(as_text=True)
    assert "已自动列入 2 所学校" in page and "申报中" in page
    locked = post(client, f"/d/d1/rounds/{round_id}/edit", _form(rubric, name="再改名"))
    assert locked.status_code == 302
    assert "设置已锁定" in client.get(locked.location).get_data(as_text=True)
    again = client.get(post(client, f"/d/d1/rounds/{round_id}/open").location).get_data(as_text=True)
    assert "不能开始申报" in again
    early = client.get(post(client, f"/d/d1/rounds/{round_id}/start-assessing").location).get_data(as_text=True)
    assert "仍有 2 份申报未提交" in early


def test_staff_may_follow_but_not_manage(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    staff = login_as("d1staff")
    assert staff.get(f"/d/d1/rounds/{round_id}/").status_code == 200
    assert staff.get(f"/d/d1/rounds/{round_id}/progress.xlsx").status_code == 200
    assert staff.get("/d/d1/rounds/new").status_code == 403
    assert post(staff, f"/d/d1/rounds/{round_id}/start-assessing").status_code == 403
    assert login_as("chair1a").get("/d/d1/rounds/").status_code == 403


def test_school_fills_uploads_submits_and_the_district_returns(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    chair = login_as("chair1a")
    base = f"/d/d1/s/{world.s1a}/rounds/{round_id}"
    listing = chair.get(f"/d/d1/s/{world.s1a}/rounds/").get_data(as_text=True)
    assert "2026年度学校工会工作考评" in listing and "草稿" in listing
    page = chair.get(f"{base}/").get_data(as_text=True)
    assert "上级提供 · 系统数据，只读" in page
    membership_input = re.search(rf'<input[^>]*id="rate-{rubric.ind["membership"]}"[^>]*>', page).group(0)
    assert "disabled" in membership_input and 'value="96.00"' in membership_input
    assert "disabled" not in re.search(rf'<input[^>]*id="points-{rubric.ind["org"]}"[^>]*>', page).group(0)

    bad = post(chair, f"{base}/", _score_form(rubric, org={"points": "9", "passed": "1"}))
    assert bad.status_code == 400 and "「组织健全」得分应在 0 到 4.00 之间" in bad.get_data(as_text=True)

    assert post(chair, f"{base}/", {**_score_form(rubric), "summary": "建家工作汇报"}).status_code == 302
    assert post(chair, f"{base}/indicators/{rubric.ind['org']}/evidence",
                {"file": (io.BytesIO(files.pdf()), "组织机构文件.pdf")},
                content_type="multipart/form-data").status_code == 302

    editor = login_as("editor1a")
    assert "由工会主席提交" in editor.get(f"{base}/").get_data(as_text=True)
    assert post(editor, f"{base}/submit", _score_form(rubric)).status_code == 403

    submitted = post(chair, f"{base}/submit", _score_form(rubric))
    assert submitted.status_code == 302
    page = chair.get(submitted.location).get_data(as_text=True)
    assert "已提交第 1 版申报" in page and "已提交" in page
    with in_district(app, world.d1):
        application = db.session.scalar(select(Application).where(Application.school_id == world.s1a))
        snapshot = db.session.scalar(select(ApplicationSnapshot))
        assert application.status == "submitted" and snapshot.content["evidence"][0]["original_name"] == "组织机构文件.pdf"
        assert db.session.scalar(select(JobRun).where(JobRun.kind == "application_dossier")).status == "pending"
        application_id = application.id

    admin = login_as("d1admin")
    detail = admin.get(f"/d/d1/rounds/{round_id}/applications/{application_id}").get_data(as_text=True)
    assert "一区甲小学" in detail and "组织机构文件.pdf" in detail and "退回修改" in detail
    empty = post(admin, f"/d/d1/rounds/{round_id}/applications/{application_id}/return", {"comment": ""})
    assert "请填写修改意见" in admin.get(empty.location).get_data(as_text=True)
    returned = post(admin, f"/d/d1/rounds/{round_id}/applications/{application_id}/return",
                    {"comment": "请补充教代会决议", f"comment-{rubric.ind['meetings']}": "缺席记录不全"})
    assert "已退回申报，附 2 条修改意见" in admin.get(returned.location).get_data(as_text=True)

    page = chair.get(f"{base}/").get_data(as_text=True)
    assert "已退回" in page and "请补充教代会决议" in page and "缺席记录不全" in page
    again = post(chair, f"{base}/submit", _score_form(rubric, meetings={"units": "0"}))
    assert "已提交第 2 版申报" in chair.get(again.location).get_data(as_text=True)


def test_title_round_apply_through_the_web(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, kind="title", eligibility={"min_membership_rate": 90}, **WIDE_OPEN)
    chair_b = login_as("chair1b")
    page = chair_b.get(f"/d/d1/s/{world.s1b}/rounds/{round_id}/").get_data(as_text=True)
    assert "本校暂不符合申报条件" in page and "87.50%" in page
    refused = post(chair_b, f"/d/d1/s/{world.s1b}/rounds/{round_id}/apply")
    assert "入会率须不低于" in chair_b.get(refused.location).get_data(as_text=True)
    chair = login_as("chair1a")
    assert 'id="apply"' in chair.get(f"/d/d1/s/{world.s1a}/rounds/{round_id}/").get_data(as_text=True)
    applied = post(chair, f"/d/d1/s/{world.s1a}/rounds/{round_id}/apply")
    assert "已申报" in chair.get(applied.location).get_data(as_text=True)


def test_draft_rounds_are_invisible_to_schools(app, world, login_as, rubric):
    from app.rounds import services
    from tests.rounds.conftest import round_data

    with in_district(app, world.d1):
        round_id = services.create_round(round_data("annual_review", rubric.rubric)).id
        db.session.commit()
    chair = login_as("chair1a")
    assert chair.get(f"/d/d1/s/{world.s1a}/rounds/{round_id}/").status_code == 404
    assert "2026年度学校工会工作考评" not in chair.get(f"/d/d1/s/{world.s1a}/rounds/").get_data(as_text=True)


# --- progress ---------------------------------------------------------------------------------------

def test_progress_page_and_export(app, world, login_as, rubric):
    with in_district(app, world.d1):
        from tenants.models import School

        db.session.get(School, (world.d1, world.s1b)).name = '=HYPERLINK("http://evil.example","点我")'
        db.session.commit()
    round_id = open_round(app, world, rubric, opens_on=date(2000, 1, 1), closes_on=date(2020, 1, 1),
                          grace_days=30, assessment_due_on=None, today=date(2000, 1, 1))
    # s1a submitted in the grace period
    from app.rounds import services
    from tests.rounds.conftest import full_entries, in_school

    with in_school(app, world.d1, world.s1a):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id))
        services.save_self_scores(application, full_entries(rubric), today=date(2020, 1, 10))
        services.submit(application, user_id=1, roles=("school_chair",), today=date(2020, 1, 10))
        db.session.commit()
    client = login_as("d1admin")
    page = client.get(f"/d/d1/rounds/{round_id}/").get_data(as_text=True)
    row_a = re.search(rf'<tr data-school="{world.s1a}">(.*?)</tr>', page, re.S).group(1)
    row_b = re.search(rf'<tr data-school="{world.s1b}">(.*?)</tr>', page, re.S).group(1)
    assert "已提交" in row_a and "迟交" in row_a and "6 / 6" in row_a  # 3 filled + 3 上级提供 (bonus not counted)
    assert "草稿" in row_b and "迟交" not in row_b and "3 / 6" in row_b  # only the system's values
    late_only = client.get(f"/d/d1/rounds/{round_id}/?late=1").get_data(as_text=True)
    assert f'data-school="{world.s1a}"' in late_only and f'data-school="{world.s1b}"' not in late_only
    drafts = client.get(f"/d/d1/rounds/{round_id}/?status=draft&incomplete=1").get_data(as_text=True)
    assert f'data-school="{world.s1b}"' in drafts and f'data-school="{world.s1a}"' not in drafts

    response = client.get(f"/d/d1/rounds/{round_id}/progress.xlsx")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    by_name = {r[0]: r for r in rows}
    assert by_name["一区甲小学"][2] == "已提交" and by_name["一区甲小学"][8] == "是" and by_name["一区甲小学"][4] == 6
    evil = next(c for c in sheet["A"] if c.value and "HYPERLINK" in str(c.value))
    assert evil.data_type == "s" and evil.value.startswith("'=")
    filtered = load_workbook(io.BytesIO(client.get(f"/d/d1/rounds/{round_id}/progress.xlsx?late=1").data)).active
    assert [r[0] for r in filtered.iter_rows(min_row=3, values_only=True)] == ["一区甲小学"]


def _grow(app, world, rubric, round_id, schools: int, start: int = 0):
    """``schools`` more schools, each with an application, self scores, evidence and a snapshot."""
    from app.rounds.models import Evidence, SelfScore
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        for i in range(start, start + schools):
            school = provisioning.add_school(district, f"扩充学校{i:03d}", "primary", staff_count=10, member_count=9)
            application = Application(district_id=world.d1, school_id=school.id, round_id=round_id,
                                      status="submitted", latest_snapshot_no=1, late=i % 2 == 0)
            db.session.add(application)
            db.session.flush()
            db.session.add(SelfScore(district_id=world.d1, school_id=school.id, application_id=application.id,
                                     indicator_id=rubric.ind["org"], points=3, passed=True))
            db.session.add(Evidence(district_id=world.d1, school_id=school.id, application_id=application.id,
                                    indicator_id=rubric.ind["org"], original_name="台账.pdf", stored_path="none",
                                    content_type="application/pdf", size=10, sha256="0" * 64))
            db.session.add(ApplicationSnapshot(district_id=world.d1, school_id=school.id,
                                               application_id=application.id, number=1, content={"total": "3.00"}))
        db.session.commit()


def test_progress_runs_constant_queries(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    client = login_as("d1admin")
    with app.app_context():
        engine = db.engine

    def counts():
        out = {}
        for path in (f"/d/d1/rounds/{round_id}/", f"/d/d1/rounds/{round_id}/progress.xlsx",
                     f"/api/v1/d/d1/rounds/{round_id}/applications"):
            with count_queries(engine) as statements:
                assert client.get(path).status_code == 200
            out[path] = len(statements)
        return out

    _grow(app, world, rubric, round_id, 8)     # 10 schools
    small = counts()
    _grow(app, world, rubric, round_id, 50, start=8)    # 60 schools
    large = counts()
    assert small == large, (small, large)
    print("queries per page:", large)
    assert all(n <= 25 for n in large.values()), large
    # The table is paged (50 a page) in the same number of statements; the summary counts every school.
    first = client.get(f"/d/d1/rounds/{round_id}/").get_data(as_text=True)
    with count_queries(engine) as statements:
        second = client.get(f"/d/d1/rounds/{round_id}/?page=2").get_data(as_text=True)
    assert len(statements) == large[f"/d/d1/rounds/{round_id}/"]
    shown = [set(re.findall(r'<tr data-school="(\d+)"', page)) for page in (first, second)]
    assert (len(shown[0]), len(shown[1])) == (50, 10) and not shown[0] & shown[1]
    assert 'id="stat-schools">60<' in second and "共 60 条" in first
    assert f'href="/d/d1/rounds/{round_id}/?page=2"' in first


def test_progress_pages_keep_the_filters(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    _grow(app, world, rubric, round_id, 120)  # 122 schools, every other grown one late
    client = login_as("d1admin")
    url = f"/d/d1/rounds/{round_id}/?q=扩充学校&late=1"
    first = client.get(url).get_data(as_text=True)
    names = re.findall(r'<tr data-school="\d+">\s*<td><a [^>]*>([^<]+)</a>', first)
    assert len(names) == 50 and names == sorted(names) and all(n.startswith("扩充学校") for n in names)
    assert "共 60 条" in first  # 60 late schools match, in two pages
    link = re.search(r'<a class="page-link" href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "late=1" in link and "q=" in link and "status=" not in link
    second = client.get(link).get_data(as_text=True)
    more = re.findall(r'<tr data-school="\d+">\s*<td><a [^>]*>([^<]+)</a>', second)
    assert len(more) == 10 and not set(more) & set(names) and names[-1] < more[0]
    assert client.get(url + "&page=99").get_data(as_text=True).count("<tr data-school=") == 10  # the last page
    assert client.get(url + "&page=x").status_code == 200


def test_progress_figures_of_a_frozen_application_match_its_rows(app, world, rubric):
    """A submitted application shows the figures its snapshot counted when it was frozen; they
    are what counting its rows gives (the same application counted live when it is editable)."""
    from app.rounds import services
    from app.rounds.models import Evidence, snapshot_figures
    from tests.rounds.conftest import full_entries, in_school

    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    with in_school(app, world.d1, world.s1a):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id))
        services.save_self_scores(application, full_entries(rubric), today=date(2026, 3, 2))
        for key in ("org", "org", "meetings", "prize"):  # two files on one, and one on the bonus (not counted)
            db.session.add(Evidence(district_id=world.d1, school_id=world.s1a, application_id=application.id,
                                    indicator_id=rubric.ind[key], original_name="台账.pdf", stored_path="none",
                                    content_type="application/pdf", size=10, sha256="0" * 64))
        snapshot = services.submit(application, user_id=1, roles=("school_chair",), today=date(2026, 3, 2))
        db.session.commit()
        assert (snapshot.filled, snapshot.with_evidence) == (6, 2)
        assert snapshot.total == Decimal(snapshot.content["total"])
        assert snapshot_figures(snapshot.content) == {"total": snapshot.total, "filled": 6, "with_evidence": 2}
    with in_district(app, world.d1):
        round_ = db.session.get(Round, (world.d1, round_id))
        frozen = {r.school[0]: r for r in services.progress(round_)}[world.s1a]
        db.session.get(Application, (world.d1, frozen.application[0])).status = "returned"  # counted from rows
        db.session.flush()
        live = {r.school[0]: r for r in services.progress(round_)}[world.s1a]
        db.session.rollback()
    assert (frozen.filled, frozen.total, frozen.with_evidence) == (live.filled, live.total, live.with_evidence) \
        == (6, 6, 2)
    assert frozen.self_total == live.self_total == snapshot.content["total"]
    assert frozen.status == "submitted" and live.status == "returned"


def test_progress_shows_the_latest_snapshot_of_a_resubmitted_application(app, world, rubric):
    """Returned, raised and submitted again: the progress table shows the second snapshot, not the first."""
    from app.rounds import services
    from tests.rounds.conftest import full_entries, in_school

    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    entries = full_entries(rubric)
    with in_school(app, world.d1, world.s1a):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id))
        services.save_self_scores(application, full_entries(rubric, org={"points": "2", "passed": "1"}),
                                  today=date(2026, 3, 2))
        first = services.submit(application, user_id=1, roles=("school_chair",), today=date(2026, 3, 2))
        db.session.commit()
        application_id, first = application.id, (first.number, first.content["total"])
    with in_district(app, world.d1):
        services.return_application(db.session.get(Application, (world.d1, application_id)),
                                    comments=[(None, "请补全")], user_id=1)
        db.session.commit()
    with in_school(app, world.d1, world.s1a):
        application = db.session.get(Application, (world.d1, application_id))
        services.save_self_scores(application, entries, today=date(2026, 3, 3))
        second = services.submit(application, user_id=1, roles=("school_chair",), today=date(2026, 3, 3))
        db.session.commit()
        second = (second.number, second.filled, second.content["total"])
    assert (first[0], second[0]) == (1, 2) and Decimal(first[1]) < Decimal(second[2])
    with in_district(app, world.d1):
        assert db.session.scalar(select(func.count()).select_from(ApplicationSnapshot)) == 2
        row = {r.school[0]: r for r in services.progress(db.session.get(Round, (world.d1, round_id)))}[world.s1a]
    assert (row.status, row.filled, row.self_total) == ("submitted", second[1], second[2])


def test_snapshot_figures_migration_counts_as_the_app(app, world, rubric):
    """Migration 0010 fills the columns of existing snapshots with its own copy of the counting."""
    import importlib.util
    import os

    from app.rounds.models import snapshot_figures

    path = os.path.join(os.path.dirname(app.root_path), "migrations", "versions", "0010_snapshot_figures.py")
    spec = importlib.util.spec_from_file_location("migration_0010", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    scores = [{"indicator_id": 1, "kind": "points", "points": "3.00", "units": None, "rate": None},
              {"indicator_id": 2, "kind": "deduction", "points": None, "units": 0, "rate": None},
              {"indicator_id": 3, "kind": "rate_band", "points": None, "units": None, "rate": None},
              {"indicator_id": 4, "kind": "bonus", "points": "2.00", "units": None, "rate": None}]
    evidence = [{"indicator_id": 1}, {"indicator_id": 1}, {"indicator_id": 3}, {"indicator_id": 4}]
    for content in ({"total": "5.00", "scores": scores, "evidence": evidence}, {"total": "3.00"}, {}, None):
        assert migration._figures(content) == snapshot_figures(content)
    assert snapshot_figures({"total": "5.00", "scores": scores, "evidence": evidence}) == \
        {"total": Decimal("5.00"), "filled": 2, "with_evidence": 2}
    assert snapshot_figures({"total": "3.00"}) == {"total": Decimal("3.00"), "filled": None, "with_evidence": None}


def test_navigation_links(app, world, login_as, rubric):
    assert "/d/d1/rounds/" in login_as("d1staff").get("/d/d1/").get_data(as_text=True)
    assert f"/d/d1/s/{world.s1a}/rounds/" in login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)


def test_another_districts_rubric_is_not_offered(app, world, login_as, rubric):
    with in_district(app, world.d2):
        make_rubric(world.d2, name="二区秘密细则")
        db.session.commit()
    page = login_as("d1admin").get("/d/d1/rounds/new").get_data(as_text=True)
    assert "二区秘密细则" not in page
