"""Results pages over HTTP: calibration (numbers that open to their inputs, sorting, constant
queries), decisions, publication, the school's results page (only after publication, only the
school's own feedback), objections with files (only the district and the filer's school), the
working-day calendar, the export."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from urllib.parse import urljoin

import pytest
from sqlalchemy import select

from app.extensions import db
from app.results.models import Objection, ObjectionFile, ResultPublication
from app.rounds.models import Application, Round
from tests.conftest import post
from tests.results.helpers import make_round, sheets_for, use_fake
from tests.rounds.conftest import in_district

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def fake(monkeypatch):
    return use_fake(monkeypatch)


@pytest.fixture
def setup(app, world, fake):
    with in_district(app, world.d1):
        s = make_round(world, status="calibrating", quotas={"advanced": 1}, thresholds={"advanced": 15, "qualified": 12})
        fake.sheets = sheets_for(s, {"s1a": {101: (8, 5, 4), 102: (10, 6, 4)}, "s1b": {101: (7, 4, 3), 102: (7, 4, 3)}})
        fake.names = {101: "王老师", 102: "李老师"}
        fake.comments = {s.apps["s1a"]: [{"assessor_id": 101, "assessor": "王老师", "indicator_id": s.indicators[0],
                                          "comment": "甲校台账齐全"}],
                         s.apps["s1b"]: [{"assessor_id": 102, "assessor": "李老师", "indicator_id": s.indicators[1],
                                          "comment": "乙校教代会记录不全"}]}
        db.session.commit()
    return s


def _url(setup, tail=""):
    return f"/d/d1/results/{setup.round_id}/{tail}"


def _school_url(world, setup, school="s1a", tail=""):
    return f"/d/d1/s/{getattr(world, school)}/results/{setup.round_id}/{tail}"


def _publish(client, setup):
    assert post(client, _url(setup, "confirm-proposals")).status_code == 302
    response = post(client, _url(setup, "publish"), follow_redirects=True)
    assert "结果已发布" in response.get_data(as_text=True), response.get_data(as_text=True)[-3000:]


def test_calibration_page_shows_numbers_with_their_inputs(login_as, setup):
    client = login_as("d1admin")
    page = client.get(_url(setup)).get_data(as_text=True)
    assert "18.40" in page and "14.40" in page and "18.50" in page
    assert "先进" in page and "合格" in page
    assert "综评总分 = 18.40" not in page  # the explanations are fetched when a number is opened
    explain = _url(setup, f"applications/{setup.apps['s1a']}/explain/total")
    relative = f"applications/{setup.apps['s1a']}/explain/total"  # links relative to the page
    assert urljoin(_url(setup) + "?sort=total&page=1", relative) == explain
    assert f'hx-get="{relative}"' in page and f'href="{relative}"' in page  # htmx, or a link without JavaScript
    fragment = client.get(explain, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.startswith("<pre") and "综评总分 = 18.40" in fragment and "考评 王老师" in fragment
    assert "<html" not in fragment
    alone = client.get(explain).get_data(as_text=True)  # without JavaScript: a page of its own
    assert "<html" in alone and "综评总分 = 18.40" in alone and "一区甲小学" in alone
    for figure, text in (("self", "自评总分 ="), ("assessor", "考评分（"), ("spread", "各评审总分："), ("proposal", "达到分数线")):
        response = client.get(_url(setup, f"applications/{setup.apps['s1a']}/explain/{figure}"),
                              headers={"HX-Request": "true"})
        assert response.status_code == 200 and text in response.get_data(as_text=True), figure
    assert client.get(_url(setup, f"applications/{setup.apps['s1a']}/explain/nothing")).status_code == 404
    assert client.get(_url(setup, "applications/999999/explain/total")).status_code == 404
    order = client.get(_url(setup) + "?sort=total&dir=asc").get_data(as_text=True)
    table = order[order.index('id="calibration"'):]
    assert table.index("一区乙中学") < table.index("一区甲小学")
    detail = client.get(_url(setup, f"applications/{setup.apps['s1a']}")).get_data(as_text=True)
    assert "王老师" in detail and "李老师" in detail and "甲校台账齐全" in detail and "9.00" in detail


def _table_ids(html: str) -> list[int]:
    table = html[html.index('id="calibration"'):html.index("</table>", html.index('id="calibration"'))]
    return [int(i) for i in re.findall(r'<tr id="app-(\d+)"', table)]


def _add_scored_schools(app, world, setup, fake, count, code, points, sheet, name="一区新学校"):
    """``count`` new schools of district 1 with a scored application in the round: self scores
    ``points(n)`` on every indicator, the fake assessor sheet ``sheet()``."""
    from app.rounds.models import SelfScore
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        for n in range(count):
            school = provisioning.add_school(district, f"{name}{n}", "primary", code=f"{code}{n}")
            application = Application(school_id=school.id, round_id=setup.round_id, status="scored")
            db.session.add(application)
            db.session.flush()
            for iid in setup.indicators:
                db.session.add(SelfScore(school_id=school.id, application_id=application.id, indicator_id=iid,
                                         points=points(n)))
            fake.sheets[application.id] = sheet()
        db.session.commit()


def test_calibration_table_is_paged_after_a_global_sort(app, world, login_as, setup, fake, monkeypatch):
    from app.results import views

    _add_scored_schools(app, world, setup, fake, 3, "P", points=lambda n: n + 1,
                        sheet=lambda: {101: fake.sheets[setup.apps["s1b"]][101]})
    monkeypatch.setattr(views, "PER_PAGE", 2)
    client = login_as("d1admin")
    every = _table_ids(client.get(_url(setup) + "?sort=total&dir=desc&page=1").get_data(as_text=True))
    second = client.get(_url(setup) + "?sort=total&dir=desc&page=2").get_data(as_text=True)
    third = client.get(_url(setup) + "?sort=total&dir=desc&page=3").get_data(as_text=True)
    assert len(every) == 2 and len(_table_ids(second)) == 2 and len(_table_ids(third)) == 1
    order = every + _table_ids(second) + _table_ids(third)
    assert order[0] == setup.apps["s1a"] and len(set(order)) == 5  # the best total of the round comes first
    assert "page=3&amp;sort=total&amp;dir=desc" in second  # the page links keep the sort
    assert _table_ids(client.get(_url(setup) + "?sort=total&dir=desc&page=99").get_data(as_text=True)) == \
        _table_ids(third)  # past the end: the last page
    ascending = client.get(_url(setup) + "?sort=total&dir=asc&page=3").get_data(as_text=True)
    assert _table_ids(ascending) == [setup.apps["s1a"]]
    # A decision taken on page 2 returns to page 2 of the same order.
    target = _table_ids(second)[0]
    response = post(client, _url(setup, f"decisions/{target}"),
                    {"level": "", "reason": "经研究不予推荐", "sort": "total", "dir": "desc", "page": "2"})
    assert response.status_code == 302
    assert "page=2" in response.location and "sort=total" in response.location and "dir=desc" in response.location
    assert response.location.endswith(f"#app-{target}")


def test_calibration_table_can_show_only_the_flagged_applications(app, world, login_as, setup):
    with in_district(app, world.d1):
        db.session.get(Round, (world.d1, setup.round_id)).disagreement_threshold = 1
        db.session.commit()
    client = login_as("d1admin")
    page = client.get(_url(setup)).get_data(as_text=True)
    marked = set(re.findall(r'<tr id="app-(\d+)" data-application="\d+" class="table-warning"', page))
    assert marked == {str(setup.apps["s1a"])}  # 17 and 20 from its two assessors (> 1); s1b's agree
    assert 'id="flagged-filter"' in page and "1 份评审分歧" in page
    flagged = client.get(_url(setup) + "?flagged=1&sort=total&dir=desc").get_data(as_text=True)
    assert _table_ids(flagged) == [setup.apps["s1a"]]
    table = flagged[flagged.index('id="calibration"'):]
    assert "flagged=1" in table  # the sort links keep the filter
    assert "显示全部申报" in flagged


def test_calibration_page_runs_a_constant_number_of_queries(app, world, login_as, setup, fake):
    from tests.querycount import count_queries

    client = login_as("d1admin")
    client.get(_url(setup))
    with app.app_context():
        with count_queries(db.engine) as few:
            assert client.get(_url(setup)).status_code == 200
    _add_scored_schools(app, world, setup, fake, 5, "N", points=lambda n: 2,
                        sheet=lambda: {101: fake.sheets[setup.apps["s1b"]][101],
                                       103: fake.sheets[setup.apps["s1a"]][102]})
    with app.app_context():
        with count_queries(db.engine) as many:
            page = client.get(_url(setup))
    assert page.status_code == 200 and "一区新学校4" in page.get_data(as_text=True)
    assert len(many) == len(few), (len(few), len(many))
    # one number and one decision form: one row is built, the same statements however many schools
    for tail in (f"applications/{setup.apps['s1a']}/explain/total", f"decisions/{setup.apps['s1a']}"):
        counts = []
        for more in (False, True):
            if more:
                _add_scored_schools(app, world, setup, fake, 5, "M" + tail[0], points=lambda n: 3,
                                    sheet=lambda: {101: fake.sheets[setup.apps["s1b"]][101]},
                                    name="一区又一学校" + tail[0])
            client.get(_url(setup, tail), headers={"HX-Request": "true"})
            with app.app_context():
                with count_queries(db.engine) as queries:
                    assert client.get(_url(setup, tail), headers={"HX-Request": "true"}).status_code == 200
            counts.append(len(queries))
        assert counts[0] == counts[1], (tail, counts)


def test_the_decision_form_is_fetched_when_opened_or_has_a_page_without_javascript(login_as, setup):
    client = login_as("d1admin")
    page = client.get(_url(setup) + "?sort=total&dir=desc").get_data(as_text=True)
    assert 'name="level"' not in page and "csrf_token" not in page[page.index('id="calibration"'):]
    relative = f"decisions/{setup.apps['s1b']}?sort=total&amp;dir=desc"  # relative to the page
    assert f'hx-get="{relative}"' in page and f'href="{relative}"' in page
    form_url = _url(setup, f"decisions/{setup.apps['s1b']}?sort=total&dir=desc")
    fragment = client.get(form_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith("<form")
    assert "<html" not in fragment and f'action="{_url(setup, "decisions/" + str(setup.apps["s1b"]))}"' in fragment
    assert 'name="sort" value="total"' in fragment and 'name="dir" value="desc"' in fragment
    assert '<option value="qualified" selected>' in fragment and 'name="csrf_token"' in fragment
    alone = client.get(form_url).get_data(as_text=True)  # without JavaScript: a page of its own
    assert "<html" in alone and "一区乙中学" in alone and "14.40" in alone and 'name="level"' in alone
    response = post(client, _url(setup, f"decisions/{setup.apps['s1b']}"),
                    {"level": "qualified", "reason": "", "sort": "total", "dir": "desc"})
    assert response.status_code == 302 and "sort=total" in response.location
    after = client.get(form_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<option value="qualified" selected>' in after
    assert login_as("d1staff").get(form_url).status_code == 403
    staff_page = login_as("d1staff").get(_url(setup)).get_data(as_text=True)
    assert "decisions/" not in staff_page  # no form to open without the right to decide
    assert client.get(_url(setup, "decisions/999999")).status_code == 404


def test_the_decision_form_only_while_calibrating(app, world, login_as, setup):
    with in_district(app, world.d1):
        db.session.get(Round, (world.d1, setup.round_id)).status = "assessing"
        db.session.commit()
    client = login_as("d1admin")
    response = client.get(_url(setup, f"decisions/{setup.apps['s1a']}"))
    assert response.status_code == 302 and response.location.endswith(_url(setup))
    assert "decisions/" not in client.get(_url(setup)).get_data(as_text=True)


def test_decisions_over_http_need_a_reason_to_change(login_as, setup):
    client = login_as("d1admin")
    response = post(client, _url(setup, f"decisions/{setup.apps['s1b']}"), {"level": "advanced", "reason": ""},
                    follow_redirects=True)
    assert "请填写调整推荐结果的理由" in response.get_data(as_text=True)
    response = post(client, _url(setup, f"decisions/{setup.apps['s1b']}"),
                    {"level": "", "reason": "经研究不予推荐"}, follow_redirects=True)
    assert "结果已确认" in response.get_data(as_text=True)
    staff = login_as("d1staff")
    assert post(staff, _url(setup, f"decisions/{setup.apps['s1a']}"), {"level": "advanced"}).status_code == 403


def test_schools_see_results_only_after_publication_and_only_their_feedback(login_as, world, setup):
    chair = login_as("chair1a")
    before = chair.get(_school_url(world, setup)).get_data(as_text=True)
    assert "结果尚未公布" in before and "18.40" not in before and "14.40" not in before
    _publish(login_as("d1admin"), setup)
    page = chair.get(_school_url(world, setup)).get_data(as_text=True)
    assert "18.40" in page and "14.40" in page and "一区乙中学" in page  # the 公示 list of the district
    assert "甲校台账齐全" in page and "乙校教代会记录不全" not in page
    assert "王老师" not in page and "评审 1" in page  # assessors are not named to schools
    other = login_as("chair1b").get(_school_url(world, setup, "s1b")).get_data(as_text=True)
    assert "乙校教代会记录不全" in other and "甲校台账齐全" not in other
    assert login_as("chair2a").get(_school_url(world, setup)).status_code == 404


def test_objection_files_are_seen_by_the_district_and_the_filer_only(app, world, login_as, setup):
    admin = login_as("d1admin")
    _publish(admin, setup)
    chair = login_as("chair1b")
    response = post(chair, _school_url(world, setup, "s1b", "objections"),
                    {"reason": "甲小学台账不全", "application_id": str(setup.apps["s1a"]),
                     "file": (io.BytesIO(PDF), "举报材料.pdf")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "异议已提交" in response.get_data(as_text=True)
    bad = post(chair, _school_url(world, setup, "s1b", "objections"),
               {"reason": "再议", "file": (io.BytesIO(b"MZ..."), "病毒.pdf")}, content_type="multipart/form-data",
               follow_redirects=True)
    assert "已拒绝" in bad.get_data(as_text=True) or "不是有效" in bad.get_data(as_text=True)
    with in_district(app, world.d1):
        objection = db.session.scalar(select(Objection))
        file = db.session.scalar(select(ObjectionFile))
        assert objection.school_id == world.s1b and db.session.scalar(select(Objection.id).where(
            Objection.reason == "再议")) is None
        ids = (objection.id, file.id)
    path = f"objections/{ids[0]}/files/{ids[1]}"
    download = chair.get(_school_url(world, setup, "s1b", path))
    assert download.status_code == 200 and download.data == PDF
    assert "举报材料.pdf" in download.headers["Content-Disposition"] or "filename*" in download.headers[
        "Content-Disposition"]
    assert login_as("chair1a").get(_school_url(world, setup, "s1a", path)).status_code == 404
    assert admin.get(_url(setup, path)).data == PDF
    assert login_as("d2admin").get(f"/d/d1/results/{setup.round_id}/{path}").status_code == 404
    # the district decides it; the school sees the decision
    response = post(admin, _url(setup, f"objections/{ids[0]}/decide"), {"outcome": "rejected", "reason": ""},
                    follow_redirects=True)
    assert "请填写处理异议的理由" in response.get_data(as_text=True)
    post(admin, _url(setup, f"objections/{ids[0]}/decide"), {"outcome": "rejected", "reason": "经核查台账齐全"})
    assert "经核查台账齐全" in chair.get(_school_url(world, setup, "s1b")).get_data(as_text=True)


def test_finalise_over_http_confers_titles_shown_on_the_school_page(app, world, login_as, setup):
    admin = login_as("d1admin")
    _publish(admin, setup)
    refused = post(admin, _url(setup, "finalise"), follow_redirects=True).get_data(as_text=True)
    assert "之后才能定稿" in refused
    with in_district(app, world.d1):
        publication = db.session.scalar(select(ResultPublication))
        publication.ends_on = date.today() - timedelta(days=2)
        db.session.commit()
    done = post(admin, _url(setup, "finalise"), follow_redirects=True).get_data(as_text=True)
    assert "结果已定稿" in done
    page = login_as("chair1a").get(_school_url(world, setup)).get_data(as_text=True)
    assert "本校获得" in page and "区级先进职工之家" in page
    with in_district(app, world.d1):
        assert db.session.get(Round, (world.d1, setup.round_id)).status == "final"


def test_export_downloads_a_workbook(login_as, setup):
    from openpyxl import load_workbook

    response = login_as("d1staff").get(_url(setup, "results.xlsx"))
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames == ["汇总", "评审明细", "评审总分"]
    assert wb["汇总"].cell(3, 2).value == "一区甲小学" and wb["汇总"].cell(3, 5).value == 18.4


def test_working_day_calendar_keeps_input_on_error(login_as):
    client = login_as("d1admin")
    bad = post(client, "/d/d1/results/calendar", {"day": "2026/10/12", "working": "0", "note": "区运动会"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "日期格式不正确" in text and "区运动会" in text
    ok = post(client, "/d/d1/results/calendar", {"day": "2026-10-12", "working": "0", "note": "区运动会"},
              follow_redirects=True)
    assert "2026-10-12" in ok.get_data(as_text=True)
    assert post(login_as("d1staff"), "/d/d1/results/calendar", {"day": "2026-10-13", "working": "0"}).status_code == 403
    page = login_as("d1staff").get("/d/d1/results/calendar").get_data(as_text=True)
    assert "国办发明电〔2024〕12号" in page and re.search(r"2026-10-12", page)


def test_api_gives_the_district_its_calibration_and_schools_only_what_was_published(login_as, world, setup):
    admin = login_as("d1admin")
    data = admin.get(f"/api/v1/d/d1/rounds/{setup.round_id}/results").get_json()
    assert [(i["school"], i["total"], i["proposed"]) for i in data["items"]] == [
        ("一区甲小学", "18.40", "advanced"), ("一区乙中学", "14.40", "qualified")]
    assert data["items"][0]["assessor_totals"] == {"王老师": "17.00", "李老师": "20.00"}
    chair = login_as("chair1a")
    assert chair.get(f"/api/v1/d/d1/rounds/{setup.round_id}/results").status_code == 403
    school = f"/api/v1/d/d1/s/{world.s1a}/rounds/{setup.round_id}/results"
    assert chair.get(school).get_json() == {"round_id": setup.round_id, "status": "calibrating", "published": False,
                                            "items": [], "feedback": None}
    _publish(admin, setup)
    payload = chair.get(school).get_json()
    assert payload["published"] is True and len(payload["items"]) == 2
    assert payload["feedback"]["comments"][0]["comment"] == "甲校台账齐全"
    assert "乙校教代会记录不全" not in str(payload)
