"""Browser journey of a work plan (issue 3): the chair imports a sample plan, fixes one item,
submits; the district returns it with a comment; the chair edits and resubmits; the district
sees the diff and approves; the tracking page shows 已通过."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.plans.services import today_china
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "plans" / "002_5714f57b4cff8f47.txt"


def test_plan_import_submit_return_resubmit_approve(new_page, artifacts, live_server):
    base, world = live_server.url, live_server.world
    year = today_china().year
    plan_url = f"{base}/d/d1/s/{world.s1a}/plans/{year}"

    # --- chair: import the sample, fix one item, add one, save as draft ---------------------
    chair, chair_traffic = new_page()
    chair.on("dialog", lambda dialog: dialog.accept())
    login(chair, base, "chair1a")
    chair.get_by_role("link", name="工作计划", exact=True).click()
    chair.get_by_role("link", name=f"导入 {year} 年计划").click()
    chair.wait_for_url(f"{plan_url}/import")
    chair.fill("#import-text", SAMPLE.read_text(encoding="utf-8"))
    chair.click("#parse-plan")
    assert "核对导入的计划" in chair.inner_text("h1")
    assert "尚未保存" in chair.inner_text("#import-summary")
    first_item = chair.locator("textarea[name='section-0-item-0-text']")
    first_item.fill(first_item.input_value() + "（已核对）")
    chair.select_option("select[name='section-0-item-0-category']", label="自身建设")
    section = chair.locator(".plan-section").first
    section.get_by_role("button", name="＋ 添加条目").click()  # the JS adds a row
    section.locator(".plan-items textarea").last.fill("新增：组织工会干部培训")
    chair.screenshot(path=str(artifacts / "plan-import-review.png"), full_page=False)
    if chair.locator("#plan-unclassified").count():
        chair.locator("#plan-unclassified").screenshot(path=str(artifacts / "plan-import-unclassified.png"))
    chair.click("#save-plan")
    chair.wait_for_url(plan_url)
    assert "导入的计划已保存为草稿" in chair.inner_text(".alert-success")
    assert "（已核对）" in chair.inner_text(".plan-content")
    assert "新增：组织工会干部培训" in chair.inner_text(".plan-content")

    chair.click("#submit-plan")
    chair.wait_for_url(plan_url)
    assert "已提交第 1 版" in chair.inner_text(".alert-success")

    # --- district staff: return with a comment on the first section ---------------------------
    staff, staff_traffic = new_page()
    staff.on("dialog", lambda dialog: dialog.accept())
    login(staff, base, "d1staff")
    staff.goto(f"{base}/d/d1/plans/?year={year}")
    staff.locator("#queue-table tr", has_text="一区甲小学").get_by_role("link", name="审核").click()
    staff.fill("textarea[name='comment-section:0']", "请写明教代会的召开时间")
    staff.click("#return-plan")
    assert "已退回一区甲小学的计划" in staff.inner_text(".alert-success")

    # --- chair: sees the comment, edits, resubmits ---------------------------------------------
    chair.goto(plan_url)
    assert "请写明教代会的召开时间" in chair.inner_text(".plan-content")
    chair.screenshot(path=str(artifacts / "plan-returned-chair.png"), full_page=False)
    chair.click("#edit-plan")
    assert "请写明教代会的召开时间" in chair.inner_text("#plan-form")
    chair.fill("textarea[name='section-0-item-0-text']", "三月上旬召开教代会")
    chair.click("#save-plan")
    chair.wait_for_url(plan_url)
    chair.click("#submit-plan")
    assert "已提交第 2 版" in chair.inner_text(".alert-success")

    # --- district: the diff, then approve; the tracking page shows 已通过 -----------------------
    staff.goto(f"{base}/d/d1/plans/?year={year}")
    staff.locator("#queue-table tr", has_text="一区甲小学").get_by_role("link", name="审核").click()
    added = staff.locator("#plan-diff .diff-added").all_inner_texts()
    assert any("三月上旬召开教代会" in line for line in added), added
    assert staff.locator("#plan-diff .diff-removed").count() >= 1
    staff.screenshot(path=str(artifacts / "plan-review-diff.png"), full_page=False)
    staff.click("#approve-plan")
    assert "已通过一区甲小学的计划（第 2 版）" in staff.inner_text(".alert-success")
    staff.get_by_role("link", name="工作计划", exact=True).click()
    row = staff.locator("#tracking-table tr", has_text="一区甲小学")
    assert "已通过" in row.inner_text()
    staff.screenshot(path=str(artifacts / "plan-tracking.png"), full_page=True)

    chair.goto(plan_url)
    assert "第 2 版已于" in chair.inner_text("#plan-notice") and "通过审核" in chair.inner_text("#plan-notice")
    chair_traffic.assert_clean()
    staff_traffic.assert_clean()
