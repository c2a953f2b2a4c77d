"""Work plan pages over HTTP: the structured editor, the import review flow, submitting,
the district review with comments and diff, the CLI, and isolation between schools."""
from __future__ import annotations

import io
import json
import re

import docx
from sqlalchemy import select

from app.extensions import db
from app.plans import services
from app.plans.models import PlanVersion, WorkPlan
from app.plans.parser import parse_plan_text
from tests.conftest import post
from tests.plans.helpers import SAMPLE_002, SAMPLE_004, district_session, form_fields

YEAR = 2026


def base(world, school="s1a"):
    return f"/d/d1/s/{getattr(world, school)}/plans/{YEAR}"


def plan_of(app, world, school="s1a"):
    with district_session(app, world.d1):
        plan = services.get_plan(getattr(world, school), YEAR)
        return (plan.id, plan.status, services.plan_content(plan)) if plan else None


EDITOR_POST = {
    "title": "一区甲小学2026年工会工作计划",
    "guiding_ideology": "以人为本，服务教职工。",
    "goals": "建设模范教工之家",
    "section-0-key": "0",
    "section-0-title": "加强民主管理",
    "section-0-item-0-text": "召开教代会",
    "section-0-item-0-category": "democratic_management",
    "section-0-item-5-text": "落实校务公开",
    "section-0-item-5-category": "openness",
    "measure-0": "工会委员分工负责",
    "slot-0-months": "3",
    "slot-0-act-0-title": "三八节活动",
    "slot-0-act-0-category": "women",
    "slot-0-act-1-title": "学雷锋活动",
    "slot-0-act-1-category": "other",
    "slot-3-months": "七、八月",
    "slot-3-act-0-title": "组织教师考察学习",
    "slot-3-act-0-category": "other",
}


# --------------------------------------------------------------------------- editor

def test_editor_page_renders_empty_form_without_saving(app, world, login_as):
    client = login_as("chair1a")
    page = client.get(base(world) + "/edit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="plan-form"' in html and "指导思想" in html and "活动安排" in html
    assert 'src="/static/js/plans.js"' in html and "<script>" not in html
    assert plan_of(app, world) is None


def test_editor_saves_a_draft_with_several_activities_per_slot(app, world, login_as):
    client = login_as("editor1a")
    response = post(client, base(world) + "/edit", EDITOR_POST)
    assert response.status_code == 302
    _, status, saved = plan_of(app, world)
    assert status == "draft"
    assert saved["sections"] == [{"title": "加强民主管理", "items": [
        {"text": "召开教代会", "category": "democratic_management"},
        {"text": "落实校务公开", "category": "openness"}]}]
    assert [(s["months"], [a["title"] for a in s["activities"]]) for s in saved["schedule"]] == [
        ([3], ["三八节活动", "学雷锋活动"]), ([7, 8], ["组织教师考察学习"])]
    page = client.get(base(world) + "/edit").get_data(as_text=True)
    assert "学雷锋活动" in page and "三、八" not in page


def test_editor_validation_errors_are_chinese_and_keep_everything_typed(app, world, login_as):
    client = login_as("chair1a")
    data = dict(EDITOR_POST, **{"slot-3-months": "十三月", "section-1-title": "",
                                "section-1-item-0-text": "没有标题的条目", "section-1-item-0-category": "care"})
    response = post(client, base(world) + "/edit", data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "请填写 1–12 月" in html and "请填写这一部分的标题" in html
    for typed in ("以人为本，服务教职工。", "召开教代会", "落实校务公开", "十三月", "没有标题的条目", "组织教师考察学习"):
        assert typed in html
    assert plan_of(app, world) is None
    fields = form_fields(html)
    assert fields["section-1-item-0-text"] == "没有标题的条目" and fields["section-1-item-0-category"] == "care"


def test_editor_keeps_scheduled_ids_through_the_form(app, world, login_as):
    client = login_as("chair1a")
    post(client, base(world) + "/edit", EDITOR_POST)
    _, _, saved = plan_of(app, world)
    ids = [a["id"] for slot in saved["schedule"] for a in slot["activities"]]
    fields = form_fields(client.get(base(world) + "/edit").get_data(as_text=True))
    assert {fields[k] for k in fields if k.endswith("-id")} == {str(i) for i in ids}
    fields["slot-0-act-0-title"] = "三八节女教工趣味活动"
    assert post(client, base(world) + "/edit", fields).status_code == 302
    _, _, again = plan_of(app, world)
    assert again["schedule"][0]["activities"][0] == {"id": ids[0], "title": "三八节女教工趣味活动",
                                                     "category": "women"}


def test_unclassified_lines_can_be_moved_from_the_editor(app, world, login_as):
    client = login_as("chair1a")
    data = dict(EDITOR_POST, **{"unclassified-0-text": "九月召开教代会", "unclassified-0-target": "schedule",
                                "unclassified-0-months": "9", "unclassified-1-text": "页脚文字",
                                "unclassified-1-target": "drop", "unclassified-2-text": "稍后处理",
                                "unclassified-2-target": "keep", "unclassified-3-text": "加强校务公开栏",
                                "unclassified-3-target": "section:0", "unclassified-4-text": "2026年工会计划",
                                "unclassified-4-target": "title"})
    assert post(client, base(world) + "/edit", data).status_code == 302
    _, _, saved = plan_of(app, world)
    assert saved["schedule"][-1]["months"] == [9]
    assert saved["schedule"][-1]["activities"][0]["title"] == "九月召开教代会"
    assert saved["unclassified"] == ["稍后处理"]
    assert saved["sections"][0]["items"][-1] == {"text": "加强校务公开栏", "category": "openness"}
    assert "页脚文字" not in json.dumps(saved, ensure_ascii=False)
    assert saved["title"] == "2026年工会计划"


def test_moving_a_line_to_the_schedule_needs_months(app, world, login_as):
    client = login_as("chair1a")
    data = dict(EDITOR_POST, **{"unclassified-0-text": "召开教代会", "unclassified-0-target": "schedule"})
    response = post(client, base(world) + "/edit", data)
    assert response.status_code == 400 and "移入活动安排须填写月份" in response.get_data(as_text=True)


def test_editor_and_district_users_cannot_reach_what_they_may_not_do(app, world, login_as):
    editor = login_as("editor1a")
    post(editor, base(world) + "/edit", EDITOR_POST)
    assert 'id="submit-plan"' not in editor.get(base(world)).get_data(as_text=True)
    assert post(editor, base(world) + "/submit").status_code == 403
    staff = login_as("d1staff")
    assert staff.get(base(world) + "/edit").status_code == 403
    assert post(staff, base(world) + "/edit", EDITOR_POST).status_code == 403
    # The district sees what was submitted, not the school's working draft.
    assert "召开教代会" not in staff.get(base(world)).get_data(as_text=True)


# --------------------------------------------------------------------------- import

def test_import_pasted_sample_proposes_structure_and_saves_nothing(app, world, login_as):
    client = login_as("chair1a")
    text = SAMPLE_002.read_text(encoding="utf-8")
    response = post(client, base(world) + "/import", {"text": text})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "核对导入的计划" in html and "保存为草稿" in html
    assert plan_of(app, world) is None  # nothing saved before the review
    parsed = parse_plan_text(text)
    fields = form_fields(html)
    posted_activities = [v for k, v in fields.items() if re.match(r"slot-\d+-act-\d+-title$", k)]
    assert posted_activities == [a for slot in parsed.schedule for a in slot.activities]
    assert [v for k, v in fields.items() if re.match(r"unclassified-\d+-text$", k)] == parsed.unclassified


def test_import_review_then_save_as_draft_keeps_every_line(app, world, login_as):
    client = login_as("chair1a")
    text = SAMPLE_004.read_text(encoding="utf-8")
    parsed = parse_plan_text(text)
    fields = form_fields(post(client, base(world) + "/import", {"text": text}).get_data(as_text=True))
    # The chair fixes one item's category and text, and drops one unclassified line explicitly.
    item_key = next(k for k in fields if re.match(r"section-\d+-item-\d+-text$", k))
    fields[item_key] = fields[item_key] + "（已核对）"
    fields[item_key.replace("-text", "-category")] = "self_building"
    dropped = None
    if parsed.unclassified:
        fields["unclassified-0-target"] = "drop"
        dropped = parsed.unclassified[0]
    response = post(client, base(world) + "/import/save", fields)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    _, status, saved = plan_of(app, world)
    assert status == "draft"
    blob = json.dumps(saved, ensure_ascii=False)
    for line in [parsed.guiding_ideology.splitlines()[0], *parsed.measures,
                 *[a for slot in parsed.schedule for a in slot.activities],
                 *[u for u in parsed.unclassified if u != dropped]]:
        assert line.strip() in blob, line
    assert any(i["text"].endswith("（已核对）") and i["category"] == "self_building"
               for s in saved["sections"] for i in s["items"])
    assert sum(len(s["activities"]) for s in saved["schedule"]) == sum(len(s.activities) for s in parsed.schedule)


def test_import_save_overwrites_the_draft_and_warns_first(app, world, login_as):
    client = login_as("chair1a")
    post(client, base(world) + "/edit", EDITOR_POST)
    html = post(client, base(world) + "/import", {"text": SAMPLE_002.read_text(encoding="utf-8")}).get_data(as_text=True)
    assert 'id="overwrite-warning"' in html
    assert post(client, base(world) + "/import/save", form_fields(html)).status_code == 302
    _, _, saved = plan_of(app, world)
    assert "召开教代会" not in [i["text"] for s in saved["sections"] for i in s["items"]]


def test_import_docx_upload(app, world, login_as):
    document = docx.Document()
    for line in ("一、指导思想", "坚持以人为本。", "二、主要工作", "1、召开教代会", "三、活动安排", "三月",
                 "1、三八节活动", "七、八月", "组织教师考察学习"):
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    client = login_as("chair1a")
    response = post(client, base(world) + "/import",
                    {"file": (io.BytesIO(buffer.getvalue()), "2026年工会计划.docx")},
                    content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "来源：2026年工会计划.docx" in html
    fields = form_fields(html)
    assert fields["slot-1-months"] == "七、八月" and fields["slot-1-act-0-title"] == "组织教师考察学习"


def test_import_refuses_bad_files_and_empty_input_in_chinese(app, world, login_as):
    client = login_as("chair1a")
    response = post(client, base(world) + "/import", {"file": (io.BytesIO(b"\xd0\xcf\x11\xe0old"), "计划.doc")},
                    content_type="multipart/form-data")
    assert response.status_code == 400 and "请另存为 .docx" in response.get_data(as_text=True)
    response = post(client, base(world) + "/import", {"file": (io.BytesIO(b"not a zip"), "计划.docx")},
                    content_type="multipart/form-data")
    assert response.status_code == 400 and "不是有效的 Word" in response.get_data(as_text=True)
    response = post(client, base(world) + "/import", {"text": "   "})
    assert response.status_code == 400 and "请粘贴计划全文" in response.get_data(as_text=True)
    response = post(client, base(world) + "/import/save", {})
    assert response.status_code == 400 and "没有可保存的计划内容" in response.get_data(as_text=True)
    assert plan_of(app, world) is None


# --------------------------------------------------------------------------- the whole journey

def test_submit_return_resubmit_approve_journey(app, world, login_as):
    chair = login_as("chair1a")
    fields = form_fields(post(chair, base(world) + "/import",
                              {"text": SAMPLE_002.read_text(encoding="utf-8")}).get_data(as_text=True))
    assert post(chair, base(world) + "/import/save", fields).status_code == 302
    response = post(chair, base(world) + "/submit", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已提交第 1 版" in html and 'id="edit-plan"' not in html
    assert chair.get(base(world) + "/edit").status_code == 302  # locked while under review
    plan_id, status, _ = plan_of(app, world)
    assert status == "submitted"

    staff = login_as("d1staff")
    queue = staff.get(f"/d/d1/plans/?year={YEAR}").get_data(as_text=True)
    assert "一区甲小学" in queue and f"/d/d1/plans/review/{plan_id}" in queue
    review = staff.get(f"/d/d1/plans/review/{plan_id}").get_data(as_text=True)
    assert 'name="comment-section:0"' in review and 'name="version" value="1"' in review
    # Returning without any comment is refused and keeps the page.
    response = post(staff, f"/d/d1/plans/review/{plan_id}/return", {"version": "1", "note": ""})
    assert response.status_code == 400 and "至少填写一条" in response.get_data(as_text=True)
    response = post(staff, f"/d/d1/plans/review/{plan_id}/return",
                    {"version": "1", "comment-section:0": "请写明教代会召开时间", "note": "请修改后重报"})
    assert response.status_code == 302

    page = chair.get(base(world)).get_data(as_text=True)
    assert "请写明教代会召开时间" in page and "请修改后重报" in page and 'id="submit-plan"' in page
    editor_page = chair.get(base(world) + "/edit").get_data(as_text=True)
    assert "请写明教代会召开时间" in editor_page
    # Resubmitting unchanged is refused.
    assert "尚未修改" in post(chair, base(world) + "/submit", follow_redirects=True).get_data(as_text=True)
    fields = form_fields(editor_page)
    fields["section-0-item-0-text"] = "三月召开第五届教代会第二次会议"
    assert post(chair, base(world) + "/edit", fields).status_code == 302
    assert "已提交第 2 版" in post(chair, base(world) + "/submit", follow_redirects=True).get_data(as_text=True)

    review = staff.get(f"/d/d1/plans/review/{plan_id}").get_data(as_text=True)
    assert "与第 1 版（已退回）相比的修改" in review
    assert 'class="diff-added"' in review and "三月召开第五届教代会第二次会议" in review
    assert 'class="diff-removed"' in review
    assert post(staff, f"/d/d1/plans/review/{plan_id}/approve", {"version": "1"}, follow_redirects=True) \
        .get_data(as_text=True).count("最新提交的版本") == 1
    assert post(staff, f"/d/d1/plans/review/{plan_id}/approve", {"version": "2"}).status_code == 302
    assert plan_of(app, world)[1] == "approved"

    tracking = staff.get(f"/d/d1/plans/{YEAR}/tracking").get_data(as_text=True)
    row = re.search(rf'<tr data-school="{world.s1a}">(.*?)</tr>', tracking, re.S).group(1)
    assert "已通过" in row
    version_page = chair.get(base(world) + "/versions/2").get_data(as_text=True)
    assert "已通过" in version_page and "三月召开第五届教代会第二次会议" in version_page


def test_version_page_and_dossier_run_link(app, world, login_as):
    chair = login_as("chair1a")
    post(chair, base(world) + "/edit", EDITOR_POST)
    post(chair, base(world) + "/submit")
    with district_session(app, world.d1):
        version = db.session.scalar(select(PlanVersion))
        run_id = version.dossier_run_id
    page = chair.get(base(world) + "/versions/1").get_data(as_text=True)
    assert f"/d/d1/jobs/{run_id}" in page and "召开教代会" in page
    assert chair.get(f"/d/d1/jobs/{run_id}").status_code == 200
    assert chair.get(base(world) + "/versions/2").status_code == 404
    assert chair.get(f"/d/d1/s/{world.s1a}/plans/1999").status_code == 404


# --------------------------------------------------------------------------- isolation

def test_another_school_never_sees_the_plan(app, world, login_as):
    chair = login_as("chair1a")
    post(chair, base(world) + "/edit", dict(EDITOR_POST, goals="甲校的机密目标"))
    post(chair, base(world) + "/submit")
    plan_id = plan_of(app, world)[0]
    other = login_as("chair1b")
    for url in (base(world), base(world) + "/edit", base(world) + "/versions/1", f"/d/d1/s/{world.s1a}/plans/"):
        response = other.get(url)
        assert response.status_code == 404, url
        assert "甲校的机密目标" not in response.get_data(as_text=True)
    assert post(other, base(world) + "/submit").status_code == 404
    assert other.get(f"/d/d1/plans/review/{plan_id}").status_code == 403
    own = other.get(base(world, "s1b")).get_data(as_text=True)
    assert "甲校的机密目标" not in own and "本年度计划尚未编写" in own
    # Same URL with its own school: a plan of its own is created, s1a's stays untouched.
    post(other, base(world, "s1b") + "/edit", dict(EDITOR_POST, goals="乙校目标"))
    assert plan_of(app, world, "s1b")[2]["goals"] == "乙校目标"
    assert plan_of(app, world)[2]["goals"] == "甲校的机密目标"
    payload = other.get(f"/api/v1/d/d1/s/{world.s1a}/plans/{YEAR}")
    assert payload.status_code == 404
    with district_session(app, world.d1):
        assert db.session.scalar(select(db.func.count()).select_from(WorkPlan)) == 2


def test_school_nav_links_to_plans(app, world, login_as):
    html = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert f"/d/d1/s/{world.s1a}/plans/" in html
    html = login_as("d1staff").get("/d/d1/").get_data(as_text=True)
    assert "/d/d1/plans/" in html and "/tracking" in html


# --------------------------------------------------------------------------- CLI

def test_flask_plans_parse_json(app):
    result = app.test_cli_runner().invoke(args=["plans", "parse", str(SAMPLE_002), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"guiding_ideology", "sections", "measures", "schedule", "unclassified"}
    assert [7, 8] in [slot["months"] for slot in data["schedule"]]
    summary = app.test_cli_runner().invoke(args=["plans", "parse", str(SAMPLE_004)])
    assert summary.exit_code == 0 and "活动安排" in summary.output
