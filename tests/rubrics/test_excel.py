"""Excel export and import of a rubric: round trip, row-level Chinese errors with nothing
created, formula escaping, and files checked by content and size."""
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.rubrics import excel, services, template_library
from app.rubrics.excel import COLUMNS
from app.rubrics.models import Indicator, Rubric, RubricCategory
from tests.conftest import post
from tests.rubrics.helpers import XLSX_MIME, create, district, small_doc, workbook


def upload(client, data, filename="细则.xlsx", **fields):
    form = {"file": (io.BytesIO(data), filename, XLSX_MIME), **fields}
    return post(client, "/d/d1/rubrics/import", data=form, content_type="multipart/form-data")


def rubric_rows(app, world):
    with district(app, world.d1):
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Rubric, RubricCategory, Indicator))


def sheet_rows(data: bytes):
    ws = load_workbook(io.BytesIO(data)).active
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_export_lays_out_the_table(app, world):
    with district(app, world.d1):
        rubric = create()
        data = excel.export_workbook(rubric)
        assert excel.download_name(rubric) == "测试细则（第1版）.xlsx"
    rows = sheet_rows(data)
    assert rows[0][:2] == ["名称", "测试细则"] and rows[1][:2] == ["总分", 15]
    header = rows.index(COLUMNS)
    body = rows[header + 1:]
    assert body[0] == ["组织建设", 10, "1", "制度健全", 6, "直接评分", "缺一项扣 1 分", "查台账", "是", None, None, None,
                       None, None, None]
    assert body[1][:13] == ["组织建设", 10, "2", "参加会议", 4, "扣分制", None, "座谈", None, None, 1, 0, None]
    assert body[2][3:6] == ["获奖加分", None, "加分项"] and body[2][12] == 3
    assert body[3][0:6] == ["会员发展", 5, "3", "入会率", 5, "按比率分档"]
    assert body[3][9] == "是" and body[3][13] == "90=5\n80=3\n70=1" and body[3][14] == "入会率（会员数/教职工数）"


@pytest.mark.parametrize("key", ["hunan-school-100", "kunshan-annual-2010", None])
def test_round_trip_export_then_import_gives_the_identical_structure(app, world, login_as, key):
    with district(app, world.d1):
        rubric = template_library.create_from(template_library.get(key)) if key else create()
        db.session.commit()
        original, data = services.document(rubric), excel.export_workbook(rubric)
    client = login_as("d1admin")
    response = upload(client, data, filename="随便.xlsx")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    new_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    with district(app, world.d1):
        imported = services.get_rubric(new_id)
        assert services.document(imported) == original
        assert imported.status == "draft" and imported.version == 1 and imported.family != rubric.family


def test_import_as_a_new_version_of_an_existing_family(app, world, login_as):
    with district(app, world.d1):
        rubric = create()
        services.publish(rubric)
        db.session.commit()
        family, data = rubric.family, excel.export_workbook(rubric)
    client = login_as("d1admin")
    page = client.get("/d/d1/rubrics/import").get_data(as_text=True)
    assert "「测试细则」的新版本（第 2 版）" in page
    response = upload(client, data, family=family, name="测试细则 2027 修订")
    assert response.status_code == 302
    with district(app, world.d1):
        new = db.session.scalar(select(Rubric).where(Rubric.family == family, Rubric.version == 2))
        assert new.name == "测试细则 2027 修订" and new.status == "draft"
    assert upload(client, data, family="nonexistent").status_code == 400


def test_errors_by_row_and_column_and_nothing_created(app, world, login_as):
    rows = [
        ["组织建设", 10, "1", "制度健全", 6, "直接评分", "", "查台账", "是", "", "", "", "", "", ""],
        ["", "", "2", "", 4, "扣分制", "", "座谈", "", "", "", "", "", "", ""],              # row 6: 考核内容, 每次扣分
        ["", 12, "3", "会议", "四", "", "", "猜猜看", "可能", "", "", "", "", "", ""],       # row 7: 类别分值, 分值, 评分依据, 必备
        ["宣传", "x", "4", "宣传栏", 2, "加分", "", "", "", "", "", "", "", "", ""],         # row 8: 类别分值 / 加分上限
        ["宣传", "", "5", "入会率", "", "按比率分档", "", "上级提供", "", "", "", "", "", "九十=4", "天气"],  # row 9
    ]
    client = login_as("d1admin")
    before = rubric_rows(app, world)
    response = upload(client, workbook(rows))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "未导入任何数据" in page
    with app.app_context():
        meta, parsed = excel.read(workbook(rows), 10 ** 7, 100)
        with district(app, world.d1):
            result = excel.check(meta, parsed)
    found = [(e.row, e.column) for e in result.errors]
    # Rows 1–2 name and total, row 3 blank, row 4 the header: data starts on row 5.
    assert found == [(6, "考核内容"), (6, "每次扣分"), (7, "类别分值"), (7, "分值"), (7, "评分依据"), (7, "必备"),
                     (8, "类别分值"), (8, "加分上限"), (9, "分档"), (9, "上级提供数据")]
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages[(7, "类别分值")] == "与类别「组织建设」的分值 10.00 不一致"
    assert messages[(7, "评分依据")].startswith("「猜猜看」无效，可选：查台账、座谈、实地查看、问卷、上级提供")
    assert messages[(9, "分档")] == "第 1 档「九十=4」格式应为「比率=得分」，如 90=4"
    for row, column in found:
        assert f"<td>{row}</td><td>{column}</td>" in page
    assert rubric_rows(app, world) == before


def test_missing_meta_uses_the_file_name_and_the_sum_of_caps(app, world, login_as):
    rows = [["组织建设", 6, "1", "制度", 6], ["会员", 4, "2", "入会", 4]]
    client = login_as("d1admin")
    header = ["类别*", "类别分值*", "序号", "考核内容*", "分值*"]  # required columns marked with * are fine
    response = upload(client, workbook(rows, meta=(), header=header), filename="二〇二六年考核细则.xlsx")
    assert response.status_code == 302
    with district(app, world.d1):
        rubric = db.session.scalar(select(Rubric))
        assert rubric.name == "二〇二六年考核细则" and rubric.total_points == 10
        assert services.problems(rubric) == []


def test_header_errors_and_bad_totals(app, world, login_as):
    client = login_as("d1admin")
    response = upload(client, workbook([["a", 1, "1", "b", 1]], header=["类别", "考核内容", "分值"]))
    assert response.status_code == 400 and "表头缺少列：类别分值" in response.get_data(as_text=True)
    response = upload(client, workbook([["a", 1, "1", "b", 1]], header=["名字", "内容"]))
    assert "找不到表头" in response.get_data(as_text=True)
    response = upload(client, workbook([], meta=(("名称", "空"),)))
    assert "没有可导入的数据行" in response.get_data(as_text=True)
    response = upload(client, workbook([["组织", 5, "1", "x", 5]], meta=(("名称", "细则"), ("总分", "很多"))))
    assert response.status_code == 400 and "<td>2</td><td>总分</td><td>应为数字" in response.get_data(as_text=True)
    assert rubric_rows(app, world) == (0, 0, 0)


def test_files_are_checked_by_content_and_size(app, world, login_as):
    client = login_as("d1admin")
    html = upload(client, b"<html><script>alert(1)</script></html>", filename="细则.xlsx")
    assert html.status_code == 400 and "不是有效的 Excel" in html.get_data(as_text=True)
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("word/document.xml", "<x/>")
    assert "不是有效的 Excel" in upload(client, docx.getvalue()).get_data(as_text=True)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/workbook.xml", b"\0" * (20 * 1024 * 1024))
    assert "压缩炸弹" in upload(client, bomb.getvalue()).get_data(as_text=True)
    app.config["IMPORT_MAX_BYTES"] = 1024
    big = upload(client, workbook([["组织", 5, "1", "x" * 5000, 5]]))
    assert big.status_code == 400 and "文件太大" in big.get_data(as_text=True)
    assert rubric_rows(app, world) == (0, 0, 0)


def test_export_escapes_formulas_and_import_restores_the_text(app, world, login_as):
    evil = {"=HYPERLINK(\"http://x\",\"点我\")": "title", "+1+1": "guidance", "-2": "code", "@SUM(A1)": "cat"}
    doc = small_doc(name="=cmd|' /C calc'!A0")
    doc["categories"][0]["name"] = "@SUM(A1)"
    doc["categories"][0]["indicators"][0].update(title="=HYPERLINK(\"http://x\",\"点我\")", guidance="+1+1", code="-2")
    with district(app, world.d1):
        rubric = create(doc)
        db.session.commit()
        original, data = services.document(rubric), excel.export_workbook(rubric)
    ws = load_workbook(io.BytesIO(data)).active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(c.data_type == "s" for c in cells)  # nothing is stored as a formula
    values = {c.value for c in cells}
    for text in list(evil) + ["=cmd|' /C calc'!A0"]:
        assert text not in values and "'" + text in values
    client = login_as("d1admin")
    response = upload(client, data)
    assert response.status_code == 302
    with district(app, world.d1):
        new_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
        assert services.document(services.get_rubric(new_id)) == original


def test_export_download_and_permissions(app, world, login_as):
    with district(app, world.d1):
        rubric_id = create().id
        db.session.commit()
    for who in ("d1admin", "d1staff", "d1assessor"):
        response = login_as(who).get(f"/d/d1/rubrics/{rubric_id}/export.xlsx")
        assert response.status_code == 200 and response.mimetype == XLSX_MIME
        assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    assert login_as("chair1a").get(f"/d/d1/rubrics/{rubric_id}/export.xlsx").status_code == 403
    assert login_as("d2admin").get(f"/d/d1/rubrics/{rubric_id}/export.xlsx").status_code == 404
    assert login_as("d2admin").get(f"/d/d2/rubrics/{rubric_id}/export.xlsx").status_code == 404
    staff = login_as("d1staff")
    assert upload(staff, b"x").status_code == 403
