"""Bulk import of schools and users from Excel (app/admin/imports.py, /d/<district>/import).

Every test asserts what the database holds afterwards: an import is all or nothing.
"""
from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.extensions import db
from tests.conftest import PASSWORD, build_world, csrf_token, login, post

SCHOOL_HEADER = ["学校名称", "学校类型", "学校代码", "教职工数", "会员数", "地址"]
USER_HEADER = ["用户名", "姓名", "手机", "邮箱", "角色", "所属学校", "初始密码"]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORTED_PASSWORD = "Imported-pass-2026"


# --- helpers --------------------------------------------------------------------

def workbook(schools=(), users=(), *, school_header=SCHOOL_HEADER, user_header=USER_HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "学校"
    ws.append(list(school_header))
    for row in schools:
        ws.append(list(row))
    us = wb.create_sheet("用户")
    us.append(list(user_header))
    for row in users:
        us.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def many_users(n, school="一区甲小学", prefix="bulk"):
    return [(f"{prefix}{i:03d}", f"批量用户{i}", f"139{i:08d}", "", "工会委员", school, IMPORTED_PASSWORD)
            for i in range(n)]


def upload(client, data: bytes, filename="导入.xlsx", path="/d/d1/import", mimetype=XLSX_MIME):
    return post(client, path, data={"file": (io.BytesIO(data), filename, mimetype)},
                content_type="multipart/form-data")


def counts(app, district_id) -> dict:
    """Schools and memberships of the district, all users, and import audit events."""
    from app.accounts.models import User
    from app.audit.models import AuditEvent
    from tenants.models import Membership, School
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            schools = db.session.scalar(select(func.count()).select_from(School))
            memberships = db.session.scalar(select(func.count()).select_from(Membership))
        users = db.session.scalar(select(func.count()).select_from(User))
        completed = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                      .where(AuditEvent.action == "import_completed"))
        db.session.remove()
    return {"schools": schools, "memberships": memberships, "users": users, "import_completed": completed}


def job_runs(app, district_id):
    from app.jobs.models import JobRun
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            runs = [{"id": r.id, "kind": r.kind, "status": r.status, "error": r.error, "result": r.result,
                     "args": r.args} for r in db.session.scalars(select(JobRun).order_by(JobRun.id))]
        db.session.remove()
    return runs


def text_of(response) -> str:
    return response.get_data(as_text=True)


def error_rows(html: str) -> set[tuple[str, str, str]]:
    """(sheet, row, column) of every line of the error table."""
    body = html.split('id="import-errors"', 1)[1]
    return set(re.findall(r"<tr><td>([^<]*)</td><td>(\d+)</td><td>([^<]*)</td>", body))


@pytest.fixture
def admin(login_as):
    return login_as("d1admin")


# --- the template ---------------------------------------------------------------

def test_template_opens_with_two_sheets_and_headers(admin):
    response = admin.get("/d/d1/import/template.xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIME
    assert "attachment" in response.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.data))
    assert {"学校", "用户"} <= set(wb.sheetnames)
    school_header = [str(c.value).rstrip("*") for c in wb["学校"][1]]
    user_header = [str(c.value).rstrip("*") for c in wb["用户"][1]]
    assert school_header == SCHOOL_HEADER
    assert user_header == USER_HEADER


def test_template_as_downloaded_imports(app, world, admin):
    data = admin.get("/d/d1/import/template.xlsx").data
    before = counts(app, world.d1)
    response = upload(admin, data, "模板.xlsx")
    assert response.status_code == 302, text_of(response)[:2000]
    after = counts(app, world.d1)
    assert after["schools"] == before["schools"] + 1
    assert after["users"] == before["users"] + 1


# --- a valid file ---------------------------------------------------------------

VALID_SCHOOLS = [
    ("新城第一小学", "小学", "N001", 60, 55, "新城路 1 号"),
    ("新城实验中学", "初中", "N002", 90, 80, ""),
]
VALID_USERS = [
    ("newchair", "王主席", "13800000001", "wang@example.cn", "学校工会主席", "新城第一小学", IMPORTED_PASSWORD),
    ("oldchair", "李主席", "13800000002", "", "学校工会主席", "一区乙中学", IMPORTED_PASSWORD),
    ("newstaff", "赵干事", "", "", "区教育工会工作人员", "", IMPORTED_PASSWORD),
]


def test_valid_file_imports_everything(app, world, admin):
    from app.accounts.models import User
    from app.audit.models import AuditEvent
    from tenants.models import Membership, School
    from tenants.scope import Scope, tenant_scope

    before = counts(app, world.d1)
    d2_before = counts(app, world.d2)
    response = upload(admin, workbook(VALID_SCHOOLS, VALID_USERS))
    assert response.status_code == 302, text_of(response)[:2000]
    assert response.headers["Location"].endswith("/d/d1/")

    after = counts(app, world.d1)
    assert after["schools"] == before["schools"] + 2
    assert after["users"] == before["users"] + 3
    assert after["memberships"] == before["memberships"] + 3
    assert after["import_completed"] == before["import_completed"] + 1
    # Nothing landed in the other district.
    d2_after = counts(app, world.d2)
    assert (d2_after["schools"], d2_after["memberships"]) == (d2_before["schools"], d2_before["memberships"])

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            schools = {s.name: s for s in db.session.scalars(select(School))}
            assert schools["新城第一小学"].kind == "primary"
            assert schools["新城第一小学"].code == "N001"
            assert (schools["新城第一小学"].staff_count, schools["新城第一小学"].member_count) == (60, 55)
            assert schools["新城第一小学"].address == "新城路 1 号"
            assert schools["新城实验中学"].kind == "junior"
            assert schools["新城实验中学"].district_id == world.d1

            users = {u.username: u for u in db.session.scalars(
                select(User).where(User.username.in_(["newchair", "oldchair", "newstaff"])))}
            assert set(users) == {"newchair", "oldchair", "newstaff"}
            assert all(u.must_change_password for u in users.values())
            assert users["newchair"].display_name == "王主席"
            assert users["newchair"].phone == "13800000001"
            assert users["newchair"].email == "wang@example.cn"
            assert IMPORTED_PASSWORD not in users["newchair"].password_hash

            memberships = {(m.user_id, m.role, m.school_id) for m in db.session.scalars(
                select(Membership).where(Membership.user_id.in_([u.id for u in users.values()])))}
            assert memberships == {
                (users["newchair"].id, "school_chair", schools["新城第一小学"].id),
                (users["oldchair"].id, "school_chair", world.s1b),
                (users["newstaff"].id, "district_staff", None),
            }
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "import_completed"))
        assert event.district_id == world.d1
        assert event.actor_user_id == world.users["d1admin"]
        assert event.details == {"schools": 2, "users": 3}
        new_school_id = schools["新城第一小学"].id
        db.session.remove()

    # The imported chair logs in with the file's password, must change it, then lands on the school.
    chair = app.test_client()
    response = login(chair, "newchair", IMPORTED_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account/password")
    token = csrf_token(chair, "/account/password")
    response = chair.post("/account/password", data={"current": IMPORTED_PASSWORD, "new": "Changed-pass-2026",
                                                     "confirm": "Changed-pass-2026", "csrf_token": token})
    assert response.status_code == 302, text_of(response)[:2000]
    response = chair.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/d/d1/s/{new_school_id}/")
    assert chair.get(response.headers["Location"]).status_code == 200
    # ... and sees nothing of the other new school.
    assert chair.get(f"/d/d1/s/{schools['新城实验中学'].id}/").status_code == 404

    # A wrong password still fails for an imported user.
    other = app.test_client()
    assert login(other, "oldchair", "Wrong-password-1").status_code == 200


# --- a file with errors ---------------------------------------------------------

def test_file_with_errors_lists_them_and_imports_nothing(app, world, admin):
    schools = [
        ("好学校", "小学", "", 10, 5, ""),             # row 2: valid
        ("坏类型学校", "大学", "", 10, 5, ""),          # row 3: unknown 学校类型
        ("好学校", "初中", "", 10, 5, ""),             # row 4: duplicate 学校名称 (of row 2)
        ("一区甲小学", "小学", "", 10, 5, ""),          # row 5: school exists already
        ("人数错学校", "小学", "", 10, 20, ""),         # row 6: 会员数 > 教职工数
    ]
    users = [
        ("gooduser", "好用户", "13800000001", "", "工会委员", "好学校", IMPORTED_PASSWORD),     # row 2: valid
        ("badphone", "坏手机", "12345", "", "工会委员", "好学校", IMPORTED_PASSWORD),          # row 3: 手机
        ("badrole", "坏角色", "", "", "校长", "好学校", IMPORTED_PASSWORD),                    # row 4: 角色
        ("noschool", "无学校", "", "", "学校工会主席", "", IMPORTED_PASSWORD),                 # row 5: 所属学校
        ("shortpw", "短密码", "", "", "工会委员", "好学校", "abc"),                            # row 6: 初始密码
        ("chair1a", "重名", "", "", "工会委员", "好学校", IMPORTED_PASSWORD),                  # row 7: 用户名 taken
        ("ghost", "幽灵", "", "", "工会委员", "不存在的学校", IMPORTED_PASSWORD),               # row 8: 所属学校
        ("bademail", "坏邮箱", "", "not-an-email", "工会委员", "好学校", IMPORTED_PASSWORD),   # row 9: 邮箱
        ("gooduser", "重复", "", "", "工会委员", "好学校", IMPORTED_PASSWORD),                 # row 10: duplicate
    ]
    before = counts(app, world.d1)
    response = upload(admin, workbook(schools, users))
    assert response.status_code == 400
    html = text_of(response)
    found = error_rows(html)
    expected = {
        ("学校", "3", "学校类型"),
        ("学校", "4", "学校名称"),
        ("学校", "5", "学校名称"),
        ("学校", "6", "会员数"),
        ("用户", "3", "手机"),
        ("用户", "4", "角色"),
        ("用户", "5", "所属学校"),
        ("用户", "6", "初始密码"),
        ("用户", "7", "用户名"),
        ("用户", "8", "所属学校"),
        ("用户", "9", "邮箱"),
        ("用户", "10", "用户名"),
    }
    assert found == expected
    # The valid rows carry no error.
    assert ("学校", "2", "学校名称") not in found and ("用户", "2", "用户名") not in found
    assert "发现 12 处错误，未导入任何数据" in html
    # Messages say what is wrong.
    assert "「大学」不是有效类型" in html
    assert "与第 2 行重复" in html
    assert "学校「一区甲小学」已存在" in html
    assert "应为 11 位手机号码" in html
    assert "「校长」不是有效角色" in html
    assert "学校角色必须填写所属学校" in html
    assert "密码至少需要 8 个字符" in html
    assert "用户名「chair1a」已被使用" in html
    assert "学校「不存在的学校」不存在" in html

    # Nothing at all was imported, not even the valid rows.
    assert counts(app, world.d1) == before
    from app.accounts.models import User
    from tenants.models import School
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "gooduser")) is None
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.scalar(select(School).where(School.name == "好学校")) is None
        db.session.remove()
    assert job_runs(app, world.d1) == []


def test_district_role_with_school_is_an_error(app, world, admin):
    users = [("staffy", "干事", "", "", "区教育工会工作人员", "一区甲小学", IMPORTED_PASSWORD)]
    before = counts(app, world.d1)
    response = upload(admin, workbook([], users))
    assert response.status_code == 400
    assert error_rows(text_of(response)) == {("用户", "2", "所属学校")}
    assert counts(app, world.d1) == before


def test_missing_required_column_is_refused(app, world, admin):
    before = counts(app, world.d1)
    header = [c for c in USER_HEADER if c != "初始密码"]
    response = upload(admin, workbook([], [("x1", "某人", "", "", "工会委员", "一区甲小学")], user_header=header))
    assert response.status_code == 400
    assert "缺少列：初始密码" in text_of(response)
    assert counts(app, world.d1) == before


def test_workbook_without_known_sheets_is_refused(app, world, admin):
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["学校名称"])
    buf = io.BytesIO()
    wb.save(buf)
    before = counts(app, world.d1)
    response = upload(admin, buf.getvalue())
    assert response.status_code == 400
    assert "找不到名为「学校」或「用户」的工作表" in text_of(response)
    assert counts(app, world.d1) == before


def test_empty_workbook_is_refused(app, world, admin):
    before = counts(app, world.d1)
    response = upload(admin, workbook([], []))
    assert response.status_code == 400
    assert "没有可导入的数据行" in text_of(response)
    assert counts(app, world.d1) == before


# --- files that are no workbook -------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
CSV = "学校名称,学校类型\n一区丙小学,小学\n".encode("utf-8")
OLE_XLS = bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504


def _refusal(app, world, client, data, filename="学校.xlsx"):
    from app.audit.models import AuditEvent

    before = counts(app, world.d1)
    response = upload(client, data, filename)
    assert counts(app, world.d1) == before
    assert job_runs(app, world.d1) == []
    with app.app_context():
        rejected = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import_rejected")).all()
        assert len(rejected) == 1 and rejected[0].district_id == world.d1
        db.session.remove()
    return response


@pytest.mark.parametrize("data", [PNG, CSV, OLE_XLS], ids=["png", "csv", "xls-ole"])
def test_other_file_types_renamed_xlsx_are_refused(app, world, admin, data):
    response = _refusal(app, world, admin, data)
    assert response.status_code == 400
    assert "文件不是有效的 Excel (.xlsx) 文件" in text_of(response)


def test_zip_that_is_not_a_workbook_is_refused(app, world, admin):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "这不是 Excel 文件")
    response = _refusal(app, world, admin, buf.getvalue())
    assert response.status_code == 400
    assert "文件不是有效的 Excel (.xlsx) 文件" in text_of(response)


def test_corrupt_zip_is_refused(app, world, admin):
    data = workbook(VALID_SCHOOLS, VALID_USERS)
    response = _refusal(app, world, admin, data[: len(data) // 2])
    assert response.status_code == 400
    assert "文件已损坏" in text_of(response)


def test_workbook_parts_but_unreadable_is_refused(app, world, admin):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<garbage")
        zf.writestr("xl/workbook.xml", "<garbage")
    response = _refusal(app, world, admin, buf.getvalue())
    assert response.status_code == 400
    assert "无法读取该 Excel 文件" in text_of(response)


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    return buf.getvalue()


def test_zip_bomb_is_refused_by_the_pre_check(app, world, admin, monkeypatch):
    data = _zip_bomb()
    assert len(data) < 1024 * 1024  # 60 MB packed into well under 1 MB
    opened = []
    import app.admin.imports as imports

    monkeypatch.setattr(imports, "load_workbook", lambda *a, **k: opened.append(1))
    started = time.monotonic()
    response = _refusal(app, world, admin, data)
    elapsed = time.monotonic() - started
    assert response.status_code == 400
    assert "疑似压缩炸弹" in text_of(response)
    assert opened == []  # refused before any parser saw it
    assert elapsed < 3, f"the pre-check took {elapsed:.1f}s: it must not decompress"


def test_file_over_import_max_bytes_is_refused(app, world, admin):
    limit = app.config["IMPORT_MAX_BYTES"]
    data = b"PK\x03\x04" + b"\x00" * limit  # one byte per byte over the limit
    response = _refusal(app, world, admin, data)
    assert response.status_code == 400
    assert "文件太大" in text_of(response)


def test_valid_workbook_over_a_small_byte_limit_is_refused(app_factory, world):
    small = app_factory(IMPORT_MAX_BYTES=2048)
    client = small.test_client()
    assert login(client, "d1admin").status_code == 302
    data = workbook(VALID_SCHOOLS, VALID_USERS)
    assert len(data) > 2048
    response = _refusal(small, world, client, data)
    assert response.status_code == 400
    assert "文件太大" in text_of(response)


def test_more_rows_than_import_max_rows_is_refused(app_factory, world):
    small = app_factory(IMPORT_MAX_ROWS=5)
    client = small.test_client()
    assert login(client, "d1admin").status_code == 302
    # 3 + 3 rows: each sheet under the limit, together over it.
    data = workbook(
        [(f"行数学校{i}", "小学", "", 10, 5, "") for i in range(3)],
        many_users(3),
    )
    response = _refusal(small, world, client, data)
    assert response.status_code == 400
    assert "一次最多导入 5 行" in text_of(response)
    # One sheet alone over the limit.
    data = workbook([], many_users(7, prefix="more"))
    response = upload(client, data)
    assert response.status_code == 400
    assert "一次最多导入 5 行" in text_of(response)


def test_missing_file_is_a_form_error(app, world, admin):
    before = counts(app, world.d1)
    response = post(admin, "/d/d1/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "请选择要导入的 Excel 文件" in text_of(response)
    assert counts(app, world.d1) == before


def test_upload_without_csrf_token_is_refused(app, world, admin):
    before = counts(app, world.d1)
    response = admin.post("/d/d1/import", data={"file": (io.BytesIO(workbook(VALID_SCHOOLS, VALID_USERS)),
                                                         "a.xlsx", XLSX_MIME)},
                          content_type="multipart/form-data")
    assert response.status_code == 400
    assert counts(app, world.d1) == before


# --- large imports run in the background ------------------------------------------

def test_large_import_runs_as_a_background_job(app, world, admin):
    from worker.embedded import work

    schools = [("后台一小", "小学", "", 100, 90, ""), ("后台二中", "初中", "", 100, 90, "")]
    users = many_users(50, school="后台一小") + many_users(5, school="一区乙中学", prefix="second")
    assert len(schools) + len(users) > app.config["IMPORT_BACKGROUND_ROWS"]
    before = counts(app, world.d1)

    response = upload(admin, workbook(schools, users), "大名单.xlsx")
    assert response.status_code == 302, text_of(response)[:2000]
    runs = job_runs(app, world.d1)
    assert len(runs) == 1
    run = runs[0]
    assert response.headers["Location"].endswith(f"/d/d1/jobs/{run['id']}")
    assert run["kind"] == "import_people"
    assert run["status"] == "pending"
    assert run["args"]["filename"] == "大名单.xlsx"
    assert counts(app, world.d1) == before  # nothing imported yet

    page = admin.get(f"/d/d1/jobs/{run['id']}")
    assert page.status_code == 200
    assert 'class="job-progress"' in text_of(page)
    progress = admin.get(f"/d/d1/jobs/{run['id']}/progress").get_json()
    assert progress["status"] == "pending" and progress["finished"] is False

    assert work(app, burst=True) == 1

    progress = admin.get(f"/d/d1/jobs/{run['id']}/progress").get_json()
    assert progress["status"] == "done", progress
    assert progress["progress"] == 100
    assert progress["finished"] is True
    assert progress["result"]["schools"] == 2 and progress["result"]["users"] == 55
    after = counts(app, world.d1)
    assert after["schools"] == before["schools"] + 2
    assert after["users"] == before["users"] + 55
    assert after["memberships"] == before["memberships"] + 55
    assert after["import_completed"] == before["import_completed"] + 1
    page = text_of(admin.get(f"/d/d1/jobs/{run['id']}"))
    assert "导入学校 2 所、用户 55 名" in page

    # Running the worker again does nothing more.
    assert work(app, burst=True) == 0
    assert counts(app, world.d1) == after

    # The imported user of the background run can log in with the file's password.
    c = app.test_client()
    assert login(c, "bulk007", IMPORTED_PASSWORD).headers["Location"].endswith("/account/password")


def test_same_large_file_twice_gives_one_run(app, world, admin):
    data = workbook([], many_users(55))
    first = upload(admin, data)
    second = upload(admin, data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(job_runs(app, world.d1)) == 1


def test_large_import_with_an_error_fails_and_imports_nothing(app, world, admin):
    from worker.embedded import work

    users = many_users(55)
    users[40] = ("bulk040", "短密码", "", "", "工会委员", "一区甲小学", "short")       # 用户 row 42
    users[50] = ("bulk050", "坏学校", "", "", "工会委员", "没有这所学校", IMPORTED_PASSWORD)  # 用户 row 52
    before = counts(app, world.d1)
    response = upload(admin, workbook([("后台三小", "小学", "", 10, 5, "")], users))
    assert response.status_code == 302
    run_id = job_runs(app, world.d1)[0]["id"]
    assert counts(app, world.d1) == before

    assert work(app, burst=True) == 1

    run = job_runs(app, world.d1)[0]
    assert run["status"] == "failed"
    assert run["error"] == "发现 2 处错误，未导入任何数据"
    assert run["result"]["error_count"] == 2
    assert {(e["sheet"], e["row"], e["column"]) for e in run["result"]["errors"]} == {
        ("用户", 42, "初始密码"), ("用户", 52, "所属学校")}
    assert counts(app, world.d1) == before

    progress = admin.get(f"/d/d1/jobs/{run_id}/progress").get_json()
    assert progress["status"] == "failed" and progress["finished"] is True
    assert progress["error"] == "发现 2 处错误，未导入任何数据"
    page = admin.get(f"/d/d1/jobs/{run_id}")
    assert page.status_code == 200
    html = text_of(page)
    assert error_rows(html) == {("用户", "42", "初始密码"), ("用户", "52", "所属学校")}
    assert "学校「没有这所学校」不存在" in html


def test_background_import_whose_file_vanished_fails_cleanly(app, world, admin):
    import os

    from app.uploads import absolute
    from worker.embedded import work

    response = upload(admin, workbook([], many_users(55)))
    assert response.status_code == 302
    run = job_runs(app, world.d1)[0]
    with app.app_context():
        os.remove(absolute(run["args"]["path"]))
    before = counts(app, world.d1)
    assert work(app, burst=True) == 1
    run = job_runs(app, world.d1)[0]
    assert run["status"] == "failed"
    assert run["error"] == "导入文件已不存在，请重新上传"
    assert counts(app, world.d1) == before


def test_background_file_is_stored_under_the_district(app, world, admin):
    import os

    from app.uploads import absolute

    data = workbook([], many_users(55))
    assert upload(admin, data, "大名单.xlsx").status_code == 302
    run = job_runs(app, world.d1)[0]
    assert run["args"]["path"].startswith(f"{world.d1}/imports/")
    assert "大名单" not in run["args"]["path"]
    with app.app_context():
        path = absolute(run["args"]["path"])
    assert os.path.realpath(path).startswith(os.path.realpath(app.config["UPLOAD_FOLDER"]) + os.sep)
    with open(path, "rb") as fh:
        assert fh.read() == data


# --- who may import and see runs -------------------------------------------------

def test_other_district_admin_cannot_see_the_run(app, world, admin, login_as):
    assert upload(admin, workbook([], many_users(55))).status_code == 302
    run_id = job_runs(app, world.d1)[0]["id"]
    other = login_as("d2admin")
    assert other.get(f"/d/d1/jobs/{run_id}").status_code == 404
    assert other.get(f"/d/d1/jobs/{run_id}/progress").status_code == 404
    # Its own district does not have a run of that id either.
    assert other.get(f"/d/d2/jobs/{run_id}").status_code == 404
    assert other.get(f"/d/d2/jobs/{run_id}/progress").status_code == 404
    assert other.get("/d/d1/import").status_code == 404


def test_school_roles_cannot_see_a_district_import_run(app, world, admin, login_as):
    """An import run concerns the whole district (its result lists usernames): a school
    chair of the same district does not see it."""
    assert upload(admin, workbook([], many_users(55))).status_code == 302
    run_id = job_runs(app, world.d1)[0]["id"]
    assert admin.get(f"/d/d1/jobs/{run_id}").status_code == 200
    chair = login_as("chair1a")
    assert chair.get(f"/d/d1/jobs/{run_id}").status_code == 404
    assert chair.get(f"/d/d1/jobs/{run_id}/progress").status_code == 404


@pytest.mark.parametrize("username", ["chair1a", "editor1a", "d1staff", "d1assessor"])
def test_non_admins_get_403_on_import(app, world, login_as, username):
    client = login_as(username)
    assert client.get("/d/d1/import").status_code == 403
    assert client.get("/d/d1/import/template.xlsx").status_code == 403
    before = counts(app, world.d1)
    response = upload(client, workbook(VALID_SCHOOLS, VALID_USERS))
    assert response.status_code == 403
    assert counts(app, world.d1) == before


def test_anonymous_is_sent_to_login(app, world):
    response = app.test_client().get("/d/d1/import")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_import_page_renders_for_admin(admin):
    response = admin.get("/d/d1/import")
    assert response.status_code == 200
    html = text_of(response)
    assert 'enctype="multipart/form-data"' in html
    assert "/d/d1/import/template.xlsx" in html
