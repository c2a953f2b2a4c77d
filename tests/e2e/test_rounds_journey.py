"""Browser journey of a 建家 round (issue 4): the district admin imports a rubric from Excel,
publishes it, creates and opens a title round; a school chair applies, fills every self score
(one out of range first: a Chinese error, the typed value kept), uploads evidence with a Chinese
file name and submits; the district's progress page shows the school submitted and complete,
and the evidence downloads under its Chinese name."""
from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from openpyxl import Workbook

from app.rounds.services import china_today
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

RUBRIC_NAME = "建家评选考核细则（浏览器测试）"
ROUND_NAME = "先进职工之家评选"
SCHOOL = "一区甲小学"
EVIDENCE_NAME = "教代会会议记录.pdf"

COLUMNS = ["类别", "类别分值", "序号", "考核内容", "分值", "类型", "评分标准", "评分依据", "必备", "一票否决",
           "每次扣分", "最低分", "加分上限", "分档", "上级提供数据"]
# 20 points: 组织建设 10 = 4 + 4 + 2; 民主管理 10 = 6 + 4.
ROWS = [
    ["组织建设", 10, "1", "工会组织健全，按期换届", 4, "直接评分", "组织不全扣 2 分", "查台账", "是", "", None, None, None, "", ""],
    [None, None, "2", "参加上级培训及会议", 4, "扣分制", "每缺席一次扣 1 分", "查台账", "", "", 1, 0, None, "", ""],
    [None, None, "3", "工会台账资料齐全", 2, "直接评分", "", "实地查看", "", "", None, None, None, "", ""],
    ["民主管理", 10, "4", "教代会代表中一线教职工比例", 6, "按比率分档", "", "查台账", "", "", None, None, None,
     "90=6\n80=4\n60=2", ""],
    [None, None, "5", "校务公开", 4, "直接评分", "", "座谈", "", "", None, None, None, "", ""],
]


def rubric_workbook() -> bytes:
    """The import format of app/rubrics/excel.py: key | value rows, a header, one row per indicator."""
    wb = Workbook()
    ws = wb.active
    ws.title = "考核细则"
    ws.append(["名称", RUBRIC_NAME])
    ws.append(["总分", 20])
    ws.append(["简介", "浏览器测试用的考核细则"])
    ws.append([])
    ws.append(COLUMNS)
    for row in ROWS:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def evidence_pdf() -> bytes:
    """A minimal valid one-page PDF (header, objects, xref, trailer, %%EOF)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def indicator(page, title: str):
    return page.locator(".indicator", has_text=title)


def flash(page) -> str:
    return page.inner_text(".alert-success")


def test_import_rubric_open_round_chair_self_assessment_and_progress(new_page, artifacts, live_server):
    started = time.monotonic()
    base, world = live_server.url, live_server.world
    today = china_today()

    # --- d1admin: import the rubric from Excel ----------------------------------------------------
    admin, admin_traffic = new_page()
    admin.on("dialog", lambda dialog: dialog.accept())  # the data-confirm forms
    login(admin, base, "d1admin")
    admin.get_by_role("link", name="考核细则", exact=True).click()
    admin.wait_for_url(f"{base}/d/d1/rubrics/")
    admin.click("#import-rubric")
    admin.wait_for_url(f"{base}/d/d1/rubrics/import")
    admin.set_input_files("#file", files=[{
        "name": "建家评选考核细则.xlsx", "buffer": rubric_workbook(),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    admin.click("#import-submit")
    admin.wait_for_url(re.compile(re.escape(base) + r"/d/d1/rubrics/\d+$"))
    assert f"已导入「{RUBRIC_NAME}」第 1 版（草稿）" in flash(admin)
    assert admin.inner_text("#total-declared").strip() == "20"
    assert admin.inner_text("#total-caps").strip() == "20"
    assert admin.inner_text("#total-points").strip() == "20"
    assert admin.is_visible("#rubric-ok"), "the imported numbers do not add up"
    table = admin.inner_text("#rubric-table")
    for text in ("组织建设", "民主管理", "参加上级培训及会议", "扣分制", "按比率分档", "校务公开"):
        assert text in table, text
    rubric_url = admin.url

    # --- publish ------------------------------------------------------------------------------------
    admin.click("#publish-rubric")
    admin.wait_for_url(rubric_url)
    assert "已发布第 1 版" in flash(admin)
    assert admin.inner_text("#rubric-status").strip() == "已发布"

    # --- a 建家评选 round of this year with that rubric, applications open today ----------------------
    admin.get_by_role("link", name="评选考核", exact=True).click()
    admin.wait_for_url(f"{base}/d/d1/rounds/")
    admin.click("#new-round")
    admin.wait_for_url(f"{base}/d/d1/rounds/new")
    assert admin.input_value("#year") == str(today.year)
    admin.fill("#name", ROUND_NAME)
    admin.select_option("#kind", label="建家评选")
    admin.select_option("#rubric_id", label=f"{RUBRIC_NAME}（第 1 版，总分 20.00）")
    admin.select_option("#home_kind", label="职工之家")
    admin.select_option("#target_tier", label="先进")
    admin.fill("#opens_on", (today - timedelta(days=1)).isoformat())
    admin.fill("#closes_on", (today + timedelta(days=30)).isoformat())
    admin.fill("#assessment_due_on", (today + timedelta(days=60)).isoformat())
    admin.click("#save-round")
    admin.wait_for_url(re.compile(re.escape(base) + r"/d/d1/rounds/\d+/$"))
    assert f"已新建轮次「{ROUND_NAME}」" in flash(admin)
    assert admin.inner_text("#round-status").strip() == "筹备中"
    round_url = admin.url
    round_id = int(round_url.rstrip("/").rsplit("/", 1)[1])

    admin.click("#open-round")
    admin.wait_for_url(round_url)
    assert f"「{ROUND_NAME}」已开始申报" in flash(admin)
    assert admin.inner_text("#round-status").strip() == "申报中"
    school_row = admin.locator(f"#progress-table tr[data-school='{world.s1a}']")
    assert school_row.locator(".status-badge").inner_text().strip() == "未申报"

    # --- chair1a: 申报与自评 → apply ----------------------------------------------------------------
    chair, chair_traffic = new_page()
    chair.on("dialog", lambda dialog: dialog.accept())
    login(chair, base, "chair1a")
    chair.get_by_role("link", name="申报与自评", exact=True).click()
    rounds_url = f"{base}/d/d1/s/{world.s1a}/rounds/"
    chair.wait_for_url(rounds_url)
    row = chair.locator("#school-rounds tbody tr", has_text=ROUND_NAME)
    assert "未申报" in row.inner_text() and "申报中" in row.inner_text()
    row.get_by_role("link").click()
    application_url = f"{rounds_url}{round_id}/"
    chair.wait_for_url(application_url)
    chair.click("#apply")
    chair.wait_for_url(application_url)
    assert "已申报" in flash(chair)
    assert chair.inner_text("#application-status").strip() == "草稿"
    assert chair.inner_text("#missing-count").strip() == "还有 5 项未填写"

    # --- self scores: one out of range first --------------------------------------------------------
    org = indicator(chair, "工会组织健全")
    org.locator("input[name^='points-']").fill("5")  # max 4
    org.locator("select[name^='passed-']").select_option(label="是")
    org.locator("textarea[name^='note-']").fill("工会委员会、经审会、女职委健全")
    indicator(chair, "参加上级培训及会议").locator("input[name^='units-']").fill("1")
    indicator(chair, "工会台账资料齐全").locator("input[name^='points-']").fill("1.5")
    indicator(chair, "教代会代表中一线教职工比例").locator("input[name^='rate-']").fill("95")
    indicator(chair, "校务公开").locator("input[name^='points-']").fill("4")
    chair.fill("#summary", "本校工会坚持民主管理，建家工作扎实。")
    chair.click("#save-scores")
    chair.wait_for_load_state()
    assert chair.url == application_url
    assert "有 1 项需要修改" in chair.inner_text("#indicator-errors")
    error = org.locator(".indicator-error").inner_text().strip()
    assert "「工会组织健全，按期换届」得分应在 0 到 4" in error, error
    # What was typed is still there, the wrong value included.
    assert org.locator("input[name^='points-']").input_value() == "5"
    assert org.locator("textarea[name^='note-']").input_value() == "工会委员会、经审会、女职委健全"
    assert indicator(chair, "教代会代表中一线教职工比例").locator("input[name^='rate-']").input_value() == "95"
    assert chair.input_value("#summary") == "本校工会坚持民主管理，建家工作扎实。"
    chair.screenshot(path=str(artifacts / "rounds-self-score-error.png"), full_page=False)

    org.locator("input[name^='points-']").fill("4")
    chair.click("#save-scores")
    chair.wait_for_url(application_url)
    assert "自评已保存" in flash(chair)
    assert chair.locator("#missing-count").count() == 0
    assert chair.inner_text("#self-total").strip() == "18.50"  # 4 + (4 − 1) + 1.5 + 6 + 4

    # --- evidence with a Chinese file name on one indicator --------------------------------------------
    pdf = evidence_pdf()
    minutes = indicator(chair, "教代会代表中一线教职工比例")
    minutes.locator("input[type='file']").set_input_files(
        files=[{"name": EVIDENCE_NAME, "mimeType": "application/pdf", "buffer": pdf}])
    minutes.get_by_role("button", name="上传").click()
    chair.wait_for_url(re.compile(re.escape(application_url) + r"#ind-\d+$"))
    assert f"已上传：{EVIDENCE_NAME}" in flash(chair)
    assert indicator(chair, "教代会代表中一线教职工比例").locator(".evidence-list a").inner_text().strip() \
        == EVIDENCE_NAME

    # --- submit ----------------------------------------------------------------------------------------
    chair.click("#submit-application")
    chair.wait_for_url(application_url)
    assert "已提交第 1 版申报" in flash(chair)
    assert chair.inner_text("#application-status").strip() == "已提交"
    assert "18.50" in chair.inner_text("#snapshots")
    assert chair.locator("#submit-application").count() == 0, "a submitted application is still editable"
    chair.screenshot(path=str(artifacts / "rounds-chair-submitted.png"), full_page=True)

    # --- d1admin: the progress page ----------------------------------------------------------------------
    admin.goto(round_url)
    school_row = admin.locator(f"#progress-table tr[data-school='{world.s1a}']")
    assert SCHOOL in school_row.inner_text()
    assert school_row.locator(".status-badge").inner_text().strip() == "已提交"
    completeness = school_row.locator(".completeness")
    assert completeness.inner_text().strip() == "5 / 5"
    assert "text-success" in completeness.get_attribute("class")
    cells = [c.strip() for c in school_row.locator("td").all_inner_texts()]
    assert cells[3] == "1 / 5", cells  # indicators with evidence
    assert cells[5] == "18.50", cells
    assert school_row.locator(".late-flag").count() == 0
    other = admin.locator(f"#progress-table tr[data-school='{world.s1b}']")
    assert other.locator(".status-badge").inner_text().strip() == "未申报"
    assert admin.inner_text("#stat-submitted").strip() == "1"
    assert admin.inner_text("#stat-complete").strip() == "1"
    admin.screenshot(path=str(artifacts / "rounds-progress.png"), full_page=True)

    # --- the application, and its evidence under the Chinese name ---------------------------------------
    school_row.get_by_role("link", name=SCHOOL).click()
    admin.wait_for_url(re.compile(re.escape(base) + rf"/d/d1/rounds/{round_id}/applications/\d+$"))
    assert admin.inner_text("#application-school").strip() == SCHOOL
    link = admin.get_by_role("link", name=EVIDENCE_NAME)
    with admin.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == EVIDENCE_NAME
    with open(download.path(), "rb") as fh:
        assert fh.read() == pdf
    response = admin.request.get(base + link.get_attribute("href"))
    assert response.status == 200
    disposition = response.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote(EVIDENCE_NAME)}" in disposition, disposition
    assert response.headers["content-type"] == "application/pdf"

    admin_traffic.assert_clean()
    chair_traffic.assert_clean()
    elapsed = time.monotonic() - started
    assert elapsed < 40, f"the journey took {elapsed:.1f} s"


def test_demo_data_gives_the_chair_an_open_annual_review_to_fill(new_page, artifacts, live_server):
    """``flask demo load`` (what ``make run`` shows): a published demo rubric and this year's
    年度考评, open, with every school entered; the chair finds it under 申报与自评."""
    from app import demo
    from app.extensions import db

    with live_server.app.app_context():
        demo.load()
        db.session.remove()
    base, year = live_server.url, china_today().year

    chair, traffic = new_page()
    login(chair, base, "zhuxi", demo.PASSWORD)
    chair.get_by_role("link", name="申报与自评", exact=True).click()
    row = chair.locator("#school-rounds tbody tr", has_text="学校工会工作年度考评")
    assert row.locator("td").first.inner_text().strip() == str(year)
    assert "申报中" in row.inner_text() and "年度考评" in row.inner_text() and "草稿" in row.inner_text()
    row.get_by_role("link", name="填写 / 查看").click()
    chair.wait_for_url(re.compile(re.escape(base) + r"/d/demo/s/\d+/rounds/\d+/$"))
    assert chair.inner_text("#application-status").strip() == "草稿"
    assert "示范区学校工会工作年度考核细则" in chair.inner_text("body")
    # 15 indicators: 3 filled from the system (上级提供), 1 optional bonus, 11 for the school.
    assert chair.locator(".indicator").count() == 15
    assert chair.inner_text("#missing-count").strip() == "还有 11 项未填写"
    provided = indicator(chair, "会员入会率")
    assert "上级提供 · 系统数据，只读" in provided.inner_text()
    assert provided.locator("input[name^='rate-']").input_value() == "95.24"  # 120 members / 126 staff
    assert chair.is_visible("#save-scores") and chair.is_visible("#submit-application")
    chair.screenshot(path=str(artifacts / "rounds-demo-chair.png"), full_page=False)

    district, district_traffic = new_page()
    login(district, base, "qu_admin", demo.PASSWORD)
    district.get_by_role("link", name="评选考核", exact=True).click()
    district.get_by_role("link", name="学校工会工作年度考评").click()
    assert district.inner_text("#round-name").startswith(f"{year} · 学校工会工作年度考评")
    assert district.inner_text("#round-status").strip() == "申报中"
    assert district.inner_text("#stat-schools").strip() == str(len(demo.SCHOOLS))
    assert district.locator("#progress-table .status-badge", has_text="草稿").count() == len(demo.SCHOOLS)
    traffic.assert_clean()
    district_traffic.assert_clean()
