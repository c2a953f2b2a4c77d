"""Browser journey of a round's results (issue 5): two assessors score two applications on their
score sheets (assigned through app.assessments' services); the
district admin moves the round to calibrating, opens a number to see its inputs, confirms the
proposed tiers and publishes; a school files an objection with a file during the 公示; the
district rejects it with a reason; after the 公示 the district finalises; the conferred titles
appear on the schools' results pages.

The end of the 公示 is simulated by moving the
publication's last day into the past."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.results.models import ResultPublication
from app.rounds.services import china_today
from tenants.scope import Scope, tenant_scope
from tests.e2e.conftest import login
from tests.results.helpers import make_round

pytestmark = pytest.mark.e2e

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _flash(page) -> str:
    return page.inner_text(".alert-success")


def test_confirm_publish_object_reject_finalise_titles(new_page, artifacts, live_server, tmp_path):
    base, world, app = live_server.url, live_server.world, live_server.app
    from app.assessments import services as assessments
    from app.rounds.models import Round

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            setup = make_round(world, status="assessing", quotas={"advanced": 1},
                               thresholds={"advanced": 15, "qualified": 12})
            round_ = db.session.get(Round, (world.d1, setup.round_id))
            first_assessor = assessments.add_assessor(world.users["d1staff"])
            second_assessor = assessments.add_assessor(world.users["d1assessor"])
            sheets = []
            for key, assessor, points, comment in (
                    ("s1a", first_assessor, (8, 5, 4), ""), ("s1a", second_assessor, (10, 6, 4), ""),
                    ("s1b", first_assessor, (7, 4, 3), ""), ("s1b", second_assessor, (7, 4, 3), "教代会记录需补充")):
                sheet = assessments.assign(round_, setup.apps[key], assessor.id)
                sheets.append((assessor.user_id, sheet.id, points, comment))
            db.session.commit()
        db.session.remove()

    # Two assessors score both applications on their score sheets and submit them.
    i1, i2, i3 = setup.indicators
    usernames = {world.users["d1staff"]: "d1staff", world.users["d1assessor"]: "d1assessor"}
    assessor_pages = {}
    for user_id, sheet_id, points, comment in sheets:
        if user_id not in assessor_pages:
            page, page_traffic = new_page()
            page.on("dialog", lambda dialog: dialog.accept())
            login(page, base, usernames[user_id])
            assessor_pages[user_id] = (page, page_traffic)
        page = assessor_pages[user_id][0]
        page.goto(f"{base}/d/d1/assess/{sheet_id}")
        for indicator_id, value in zip((i1, i2, i3), points):
            page.fill(f"#points-{indicator_id}", str(value))
            page.press(f"#points-{indicator_id}", "Tab")  # saved on change (htmx): wait for it
            page.wait_for_selector(f"#status-{indicator_id}.text-success")
        if comment:
            page.fill(f"#comment-{i2}", comment)
            page.press(f"#comment-{i2}", "Tab")  # the row exists now: this save only updates it
            page.wait_for_timeout(500)
        page.click("#submit-sheet")
        page.wait_for_load_state()
        assert "评分表已提交" in _flash(page)
    results_url = f"{base}/d/d1/results/{setup.round_id}/"

    # The district: calibrating, numbers with their inputs, confirm, publish.
    admin, traffic = new_page()
    admin.on("dialog", lambda dialog: dialog.accept())
    login(admin, base, "d1admin")
    admin.goto(f"{base}/d/d1/rounds/{setup.round_id}/")
    admin.click("#results-link")
    admin.wait_for_url(results_url)
    admin.click("#start-calibrating")
    admin.wait_for_url(results_url)
    assert "已进入核分" in _flash(admin)
    first = admin.locator(f"#app-{setup.apps['s1a']}")
    assert first.locator(".combined-total summary").inner_text() == "18.40"
    first.locator(".combined-total summary").click()
    assert "综评总分 = 18.40" in first.locator(".combined-total pre").inner_text()
    assert "考评 D1STAFF" in first.locator(".combined-total pre").inner_text()
    assert first.locator(".proposal summary").inner_text() == "先进"
    first.locator(".decision summary").click()  # the decision form is fetched when opened
    first.locator(".decision select[name=level]").wait_for()
    assert first.locator(".decision select[name=level]").input_value() == "advanced"
    admin.click("#confirm-proposals")
    admin.wait_for_url(results_url)
    assert "已确认 2 项" in _flash(admin)
    admin.screenshot(path=str(artifacts / "results-calibration.png"), full_page=True)
    admin.click("#publish")
    admin.wait_for_url(results_url)
    assert "结果已发布" in _flash(admin)
    assert admin.inner_text("#round-status") == "公示中"

    # A school during the 公示: the district's list, its own feedback, an objection with a file.
    chair, chair_traffic = new_page()
    login(chair, base, "chair1b")
    chair.goto(f"{base}/d/d1/s/{world.s1b}/rounds/")
    chair.click(".results-link")
    school_url = f"{base}/d/d1/s/{world.s1b}/results/{setup.round_id}/"
    chair.wait_for_url(school_url)
    table = chair.inner_text("#results")
    assert "一区甲小学" in table and "18.40" in table and "一区乙中学" in table and "合格" in table
    assert "教代会记录需补充" in chair.inner_text("#feedback ~ ul")
    chair.select_option("#objection-school", label="一区甲小学")
    chair.fill("#objection-reason", "甲小学的活动台账与实际不符")
    evidence = tmp_path / "情况说明.pdf"
    evidence.write_bytes(PDF)
    chair.set_input_files("#objection-files", str(evidence))
    chair.click("#file-objection")
    chair.wait_for_url(re.compile(re.escape(school_url)))
    assert "异议已提交" in _flash(chair)
    assert "情况说明.pdf" in chair.inner_text(".objection")

    # The district rejects it with a reason.
    admin.goto(results_url)
    objection = admin.locator(".objection").first
    assert "甲小学的活动台账与实际不符" in objection.inner_text()
    objection.locator("select[name=outcome]").select_option("rejected")
    objection.locator("input[name=reason]").fill("经实地核查，台账与活动记录一致")
    objection.locator("button[type=submit]").click()
    admin.wait_for_url(re.compile(re.escape(results_url)))
    assert "异议已处理" in _flash(admin)
    assert admin.locator(".objection .objection-status").first.inner_text() == "异议不成立"

    # Finalising during the 公示 is refused; once it has passed, the round is finalised.
    admin.click("#finalise")
    admin.wait_for_url(results_url)
    assert "之后才能定稿" in admin.inner_text(".alert-error, .alert-danger")
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            publication = db.session.scalar(select(ResultPublication))
            publication.ends_on = china_today() - timedelta(days=1)
            db.session.commit()
        db.session.remove()
    admin.goto(results_url)
    admin.click("#finalise")
    admin.wait_for_url(results_url)
    assert "结果已定稿" in _flash(admin)
    assert admin.inner_text("#round-status") == "已命名"

    # The titles on the schools' pages.
    chair.goto(school_url)
    assert "区级合格职工之家" in chair.inner_text("#titles")
    assert "经实地核查" in chair.inner_text(".objection")
    other, other_traffic = new_page()
    login(other, base, "chair1a")
    other.goto(f"{base}/d/d1/s/{world.s1a}/results/{setup.round_id}/")
    assert "区级先进职工之家" in other.inner_text("#titles")
    other.screenshot(path=str(artifacts / "results-school.png"), full_page=True)
    for t in (traffic, chair_traffic, other_traffic, *[t for _, t in assessor_pages.values()]):
        t.assert_clean()
