"""Assessment pages over HTTP: district pool, assignment (by hand and Excel, conflicts refused),
the assessor's list and sheet (bounds, typed input kept, per-indicator save, submit, read-only,
others hidden), evidence inline, access (404 / 403), progress, reopen, constant queries."""
import io
import re
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.assessments import services
from app.assessments.models import AssessorScore, Assignment
from app.extensions import db
from app.rounds.models import Application, Round
from tests.assessments.conftest import add_to_pool, in_district, in_school
from tests.conftest import post
from tests.querycount import count_queries
from tests.rounds.files import docx, pdf, png


def _assign(app, world, setup, name, school="s1a", ids=None):
    ids = ids or add_to_pool(app, world, name)
    with in_district(app, world.d1):
        a = services.assign(db.session.get(Round, (world.d1, setup.round_id)), setup.apps[school], ids[name])
        db.session.commit()
        return a.id


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _form(rubric, **changes):
    ind = rubric.ind
    data = {f"points-{ind['org']}": "3", f"comment-{ind['org']}": "组织健全",
            f"units-{ind['meetings']}": "1", f"points-{ind['discipline']}": "2", "comment": "总体较好"}
    data.update(changes)
    return data


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- district pages -----------------------------------------------------------------------------

def test_district_pool_and_assignment_pages(app, world, login_as, assessing):
    admin = login_as("d1admin")
    response = post(admin, "/d/d1/assessments/pool/add", {"user_id": world.users["chair1b"]})
    assert response.status_code == 302
    page = admin.get("/d/d1/assessments/pool").get_data(as_text=True)
    assert "CHAIR1B" in page and "一区乙中学" in page
    with in_district(app, world.d1):
        assessor_id = services.assessor_of_user(world.users["chair1b"]).id
    # own school: refused by hand
    response = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/assign",
                    {"application_id": assessing.apps["s1b"], "assessor_id": assessor_id}, follow_redirects=True)
    assert "评审专家不能评审本人所在学校" in response.get_data(as_text=True)
    response = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/assign",
                    {"application_id": assessing.apps["s1a"], "assessor_id": assessor_id}, follow_redirects=True)
    assert "已指派 1 位评审专家" in response.get_data(as_text=True)
    with in_district(app, world.d1):
        assert _count(Assignment) == 1
    for path in ("", "progress", "findings"):
        assert admin.get(f"/d/d1/assessments/rounds/{assessing.round_id}/{path}").status_code == 200
    staff = login_as("d1staff")
    assert staff.get(f"/d/d1/assessments/rounds/{assessing.round_id}/").status_code == 200
    assert post(staff, f"/d/d1/assessments/rounds/{assessing.round_id}/auto", {"per_application": "1"}).status_code == 403


def test_declared_conflict_through_the_page(app, world, login_as, assessing):
    ids = add_to_pool(app, world, "d1staff")
    admin = login_as("d1admin")
    response = post(admin, f"/d/d1/assessments/pool/{ids['d1staff']}/conflicts",
                    {"school_id": world.s1a, "reason": "配偶在该校任教"}, follow_redirects=True)
    assert "已登记回避" in response.get_data(as_text=True)
    response = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/assign",
                    {"application_id": assessing.apps["s1a"], "assessor_id": ids["d1staff"]}, follow_redirects=True)
    assert "存在利益冲突（配偶在该校任教）" in response.get_data(as_text=True)


def test_excel_import_refuses_conflicts_and_bad_rows_then_imports(app, world, login_as, assessing):
    add_to_pool(app, world, "chair1b", "d1staff")
    admin = login_as("d1admin")
    template = admin.get(f"/d/d1/assessments/rounds/{assessing.round_id}/assignments.xlsx")
    assert template.status_code == 200
    ws = load_workbook(io.BytesIO(template.data)).active
    assert [c.value for c in ws[1]] == ["学校名称", "评审专家账号"]
    bad = _xlsx([["学校名称", "评审专家账号"], ["一区甲小学", "d1staff"], ["一区乙中学", "chair1b"],
                 ["=HYPERLINK(\"x\")", "d1staff"], ["一区甲小学", "nobody"]])
    response = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/import",
                    {"file": (io.BytesIO(bad), "指派.xlsx")}, content_type="multipart/form-data", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "没有任何更改" in page, re.findall(r'alert[^>]*>[^<]*', page)
    # a formula is read as its cached value: none here, so the cell counts as empty
    assert "第 4 行「学校名称」：请填写学校名称" in page and "第 5 行「评审专家账号」：「nobody」不在评审专家库中" in page
    with in_district(app, world.d1):
        assert _count(Assignment) == 0
    conflicted = _xlsx([["学校名称", "评审专家账号"], ["一区甲小学", "d1staff"], ["一区乙中学", "chair1b"]])
    page = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/import",
                {"file": (io.BytesIO(conflicted), "指派.xlsx")}, content_type="multipart/form-data",
                follow_redirects=True).get_data(as_text=True)
    assert "第 3 行：评审专家不能评审本人所在学校" in page
    with in_district(app, world.d1):
        assert _count(Assignment) == 0
    good = _xlsx([["学校名称", "评审专家账号"], ["一区甲小学", "d1staff"], ["一区乙中学", "d1staff"],
                  ["一区甲小学", "chair1b"]])
    page = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/import",
                {"file": (io.BytesIO(good), "指派.xlsx")}, content_type="multipart/form-data",
                follow_redirects=True).get_data(as_text=True)
    assert "已导入 3 项指派" in page
    not_excel = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/import",
                     {"file": (io.BytesIO(b"<html>"), "x.xlsx")}, content_type="multipart/form-data",
                     follow_redirects=True).get_data(as_text=True)
    assert "Excel" in not_excel


def test_template_cells_are_formula_safe(app, world, login_as, assessing):
    with in_school(app, world.d1, world.s1a):
        from tenants.models import School

        db.session.get(School, (world.d1, world.s1a)).name = "=cmd|'/c calc'!A1"
        db.session.commit()
    data = login_as("d1admin").get(f"/d/d1/assessments/rounds/{assessing.round_id}/assignments.xlsx").data
    values = [c.value for c in load_workbook(io.BytesIO(data)).active["A"]]
    assert "'=cmd|'/c calc'!A1" in values


# --- the assessor -------------------------------------------------------------------------------

def test_assessor_scores_keeps_typed_input_and_submits(app, world, login_as, assessing):
    assignment_id = _assign(app, world, assessing, "d1assessor")
    ind = assessing.rubric.ind
    client = login_as("d1assessor")
    listing = client.get("/d/d1/assess/").get_data(as_text=True)
    assert f'data-assignment="{assignment_id}"' in listing and "一区甲小学" in listing
    page = client.get(f"/d/d1/assess/{assignment_id}").get_data(as_text=True)
    assert "组织健全" in page and "委员会、女工委、经审委均已建立" in page   # self note shown
    assert "每缺席一次扣 1 分" in page                                          # guidance shown
    response = post(client, f"/d/d1/assess/{assignment_id}", _form(assessing.rubric, **{f"points-{ind['org']}": "7"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "「组织健全」得分应在 0 到 4.00 之间" in page or "「组织健全」得分应在 0 到 4 之间" in page
    assert 'value="7"' in page and "总体较好" in page     # typed input kept
    with in_district(app, world.d1):
        assert _count(AssessorScore) == 0
    # per-indicator save (htmx)
    fragment = post(client, f"/d/d1/assess/{assignment_id}/indicators/{ind['org']}", {f"points-{ind['org']}": "3.5"})
    assert fragment.status_code == 200 and "已保存" in fragment.get_data(as_text=True)
    fragment = post(client, f"/d/d1/assess/{assignment_id}/indicators/{ind['org']}", {f"points-{ind['org']}": "9"})
    assert "text-danger" in fragment.get_data(as_text=True)
    response = post(client, f"/d/d1/assess/{assignment_id}", dict(_form(assessing.rubric), action="submit"))
    assert response.status_code == 302
    page = client.get(f"/d/d1/assess/{assignment_id}").get_data(as_text=True)
    assert 'id="read-only"' in page and "submit-sheet" not in page
    response = post(client, f"/d/d1/assess/{assignment_id}", _form(assessing.rubric))
    assert response.status_code == 400 and "已提交" in response.get_data(as_text=True)
    with in_district(app, world.d1):
        assert db.session.get(Assignment, (world.d1, assignment_id)).status == "submitted"
    # the district reopens, audited
    admin = login_as("d1admin")
    sheet_page = admin.get(f"/d/d1/assessments/rounds/{assessing.round_id}/sheets/{assignment_id}")
    assert sheet_page.status_code == 200 and "D1ASSESSOR" in sheet_page.get_data(as_text=True)
    post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/sheets/{assignment_id}/reopen", {"reason": "第 1 项有误"})
    assert "submit-sheet" in client.get(f"/d/d1/assess/{assignment_id}").get_data(as_text=True)


def test_others_scores_hidden_until_own_sheet_submitted(app, world, login_as, assessing):
    ids = add_to_pool(app, world, "d1assessor", "d1staff")
    first = _assign(app, world, assessing, "d1staff", ids=ids)
    second = _assign(app, world, assessing, "d1assessor", ids=ids)
    staff = login_as("d1staff")
    post(staff, f"/d/d1/assess/{first}", dict(_form(assessing.rubric), action="submit"))
    client = login_as("d1assessor")
    assert "D1STAFF" not in client.get(f"/d/d1/assess/{second}").get_data(as_text=True)
    post(client, f"/d/d1/assess/{second}", dict(_form(assessing.rubric), action="submit"))
    assert "D1STAFF" in client.get(f"/d/d1/assess/{second}").get_data(as_text=True)


def test_assessor_sees_only_own_assignments(app, world, login_as, assessing):
    ids = add_to_pool(app, world, "d1assessor", "chair1b")
    mine = _assign(app, world, assessing, "chair1b", ids=ids)
    theirs = _assign(app, world, assessing, "d1assessor", ids=ids)
    chair = login_as("chair1b")     # a chair of s1b who is also an assessor
    assert chair.get(f"/d/d1/assess/{mine}").status_code == 200
    assert chair.get(f"/d/d1/assess/{theirs}").status_code == 404
    assert chair.get("/d/d1/assess/99999").status_code == 404
    assert chair.get(f"/d/d1/s/{world.s1b}/").status_code == 200       # own school still fine
    # a chair who is not an assessor
    assert login_as("chair1a").get("/d/d1/assess/").status_code == 403
    assert login_as("chair1a").get(f"/d/d1/assess/{mine}").status_code == 403
    # another district's user
    assert login_as("d2admin").get(f"/d/d1/assess/{mine}").status_code == 404


def test_not_visible_before_assessing_and_read_only_after(app, world, login_as, assessing):
    assignment_id = _assign(app, world, assessing, "d1assessor")
    with in_district(app, world.d1):
        db.session.get(Round, (world.d1, assessing.round_id)).status = "open"
        db.session.commit()
    client = login_as("d1assessor")
    assert client.get(f"/d/d1/assess/{assignment_id}").status_code == 404
    with in_district(app, world.d1):
        db.session.get(Round, (world.d1, assessing.round_id)).status = "calibrating"
        db.session.commit()
    page = client.get(f"/d/d1/assess/{assignment_id}").get_data(as_text=True)
    assert 'id="read-only"' in page
    assert post(client, f"/d/d1/assess/{assignment_id}", _form(assessing.rubric)).status_code == 400


def test_evidence_inline_for_pdf_and_images_download_for_others(app, world, login_as, assessing):
    from app.rounds import evidence as evidence_service

    ind = assessing.rubric.ind
    with in_school(app, world.d1, world.s1a):
        application = db.session.get(Application, (world.d1, assessing.apps["s1a"]))
        e_pdf, _ = evidence_service.add_evidence(application, ind["org"], "组织机构.pdf", pdf())
        e_png, _ = evidence_service.add_evidence(application, ind["org"], "照片.png", png())
        e_doc, _ = evidence_service.add_evidence(application, ind["org"], "会议纪要.docx", docx())
        db.session.commit()
        ids = (e_pdf.id, e_png.id, e_doc.id)
    with in_school(app, world.d1, world.s1b):
        application = db.session.get(Application, (world.d1, assessing.apps["s1b"]))
        other, _ = evidence_service.add_evidence(application, ind["org"], "乙校.pdf", pdf())
        db.session.commit()
        other_id = other.id
    assignment_id = _assign(app, world, assessing, "d1assessor")
    client = login_as("d1assessor")
    r = client.get(f"/d/d1/assess/{assignment_id}/evidence/{ids[0]}")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("inline")
    r = client.get(f"/d/d1/assess/{assignment_id}/evidence/{ids[1]}")
    assert r.mimetype == "image/png" and r.headers["Content-Disposition"].startswith("inline")
    r = client.get(f"/d/d1/assess/{assignment_id}/evidence/{ids[2]}")
    assert r.headers["Content-Disposition"].startswith("attachment") and "sandbox" in r.headers["Content-Security-Policy"]
    assert "filename*=UTF-8''" in r.headers["Content-Disposition"]
    assert client.get(f"/d/d1/assess/{assignment_id}/evidence/{other_id}").status_code == 404


def test_findings_through_the_pages(app, world, login_as, assessing):
    ids = add_to_pool(app, world, "d1assessor", "d1staff")
    first = _assign(app, world, assessing, "d1assessor", ids=ids)
    second = _assign(app, world, assessing, "d1staff", ids=ids)
    ind = assessing.rubric.ind
    client = login_as("d1assessor")
    page = post(client, f"/d/d1/assess/{first}/findings", {"indicator_id": ind["discipline"], "kind": "veto", "note": ""},
                follow_redirects=True).get_data(as_text=True)
    assert "证据说明" in page
    post(client, f"/d/d1/assess/{first}/findings", {"indicator_id": ind["discipline"], "kind": "veto",
                                                     "note": "区纪委通报"})
    with in_district(app, world.d1):
        finding_id = services.unconfirmed_findings(db.session.get(Round, (world.d1, assessing.round_id)))[
            assessing.apps["s1a"]][0].id
    page = post(client, f"/d/d1/assess/{first}/findings/{finding_id}/decide", {"decision": "confirm"},
                follow_redirects=True).get_data(as_text=True)
    assert "提出人不能自己确认" in page
    staff = login_as("d1staff")
    post(staff, f"/d/d1/assess/{second}/findings/{finding_id}/decide", {"decision": "confirm", "note": "属实"})
    with in_district(app, world.d1):
        gates = services.confirmed_gates(db.session.get(Round, (world.d1, assessing.round_id)))
        assert gates == {assessing.apps["s1a"]: ({ind["discipline"]}, set())}
    assert "区纪委通报" in login_as("d1admin").get(
        f"/d/d1/assessments/rounds/{assessing.round_id}/findings").get_data(as_text=True)


def test_progress_page_and_reminders(app, world, login_as, assessing):
    _assign(app, world, assessing, "d1assessor")
    admin = login_as("d1admin")
    page = admin.get(f"/d/d1/assessments/rounds/{assessing.round_id}/progress").get_data(as_text=True)
    assert "D1ASSESSOR" in page
    page = post(admin, f"/d/d1/assessments/rounds/{assessing.round_id}/remind", follow_redirects=True).get_data(as_text=True)
    assert "已向 1 位评审专家发送站内提醒" in page


# --- constant queries ---------------------------------------------------------------------------

def _more_indicators(app, world, rubric, n):
    from app.rubrics.models import Indicator

    with in_district(app, world.d1):
        for i in range(n):
            db.session.add(Indicator(district_id=world.d1, rubric_id=rubric.rubric, category_id=rubric.categories["自身建设"],
                                     position=10 + i, code=f"x{i}", title=f"扩充指标{i}", kind="points", max_points=1))
        db.session.commit()


def test_sheet_page_and_save_run_constant_queries(app, world, login_as, assessing):
    assignment_id = _assign(app, world, assessing, "d1assessor")
    client = login_as("d1assessor")
    with app.app_context():
        engine = db.engine

    def measure():
        """The page, then a save that changes every score of the sheet (a warm-up save first,
        so both runs measure the same kind of write: every row updated)."""
        from app.rubrics.models import Indicator

        with in_district(app, world.d1):
            indicators = list(db.session.scalars(select(Indicator).where(Indicator.rubric_id == assessing.rubric.rubric)))

        def form(value):
            data = {f"points-{i.id}": value for i in indicators if i.kind in ("points", "bonus")}
            data.update({f"units-{i.id}": value for i in indicators if i.kind == "deduction"})
            return data

        def post(value):
            data = dict(form(value), action="save", comment="好")
            data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"',
                                           client.get(f"/d/d1/assess/{assignment_id}").get_data(as_text=True)).group(1)
            return client.post(f"/d/d1/assess/{assignment_id}", data=data)

        assert post("0").status_code == 302
        with count_queries(engine) as page:
            assert client.get(f"/d/d1/assess/{assignment_id}").status_code == 200
        with count_queries(engine) as save:
            assert post("1").status_code == 302
        return len(page), len(save), len(form("1"))

    small = measure()
    _more_indicators(app, world, assessing.rubric, 12)
    large = measure()
    assert large[2] > small[2] + 10
    assert small[:2] == large[:2], (small, large)


def test_per_indicator_save_touches_its_row_only_and_checks_bounds(app, world, login_as, assessing):
    """The htmx save reads and writes the one indicator it names: the other rows of the sheet are
    kept, out-of-bounds input and an indicator of no rubric of the round save nothing, and the
    statements do not grow with the rows already on the sheet."""
    assignment_id = _assign(app, world, assessing, "d1assessor")
    ind = assessing.rubric.ind
    client = login_as("d1assessor")
    url = f"/d/d1/assess/{assignment_id}/indicators/"
    with app.app_context():
        engine = db.engine

    def save(key, value, field="points"):
        with count_queries(engine) as statements:
            response = post(client, f"{url}{ind[key]}", {f"{field}-{ind[key]}": value})
        assert response.status_code == 200
        return response.get_data(as_text=True), len(statements)

    def stored():
        with in_district(app, world.d1):
            return {row.indicator_id: (row.points, row.units) for row in db.session.scalars(
                select(AssessorScore).where(AssessorScore.assignment_id == assignment_id))}

    text, first = save("org", "3.5")
    assert "已保存" in text and stored() == {ind["org"]: (Decimal("3.5"), None)}
    text, _ = save("meetings", "1", field="units")
    assert "已保存" in text
    text, more = save("discipline", "2")
    assert "已保存" in text and more == first  # two more rows on the sheet, the same statements
    assert stored() == {ind["org"]: (Decimal("3.5"), None), ind["meetings"]: (None, 1),
                        ind["discipline"]: (Decimal("2"), None)}
    text, _ = save("org", "9")  # over the indicator's 4 points
    assert "text-danger" in text and "组织健全" in text
    text, _ = save("org", "-1")
    assert "text-danger" in text
    assert stored()[ind["org"]] == (Decimal("3.5"), None)  # the last good input is kept
    response = post(client, f"{url}999999", {"points-999999": "1"})
    assert "text-danger" in response.get_data(as_text=True) and "不属于" in response.get_data(as_text=True)
    assert len(stored()) == 3
