"""The district's title pages (list with filters and pages, Excel export, registration, detail
with history, outcomes, edit, cycle setting, mark-due) and the school's pages, over HTTP."""
from __future__ import annotations

import difflib
import io
import re
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.titles import services
from app.titles.models import Title
from tests.conftest import post
from tests.querycount import count_queries
from tests.titles.conftest import in_district, make_title


def _titles(app, world, n=0, **kw):
    with in_district(app, world.d1):
        ids = [make_title(world, **kw).id for _ in range(max(n, 1))]
        db.session.commit()
    return ids


def test_the_list_filters_searches_and_pages(app, world, login_as):
    with in_district(app, world.d1):
        make_title(world, world.s1a, tier="advanced", level="city", awarded_on=date(2024, 12, 1),
                   review_due_on=date(2025, 12, 1), status="due", note="市总〔2024〕8号")
        make_title(world, world.s1b, tier="model", level="district", awarded_on=date(2025, 1, 5),
                   review_due_on=date(2026, 1, 5), home_kind="group_home")
        db.session.commit()
    client = login_as("d1staff")
    page = client.get("/d/d1/titles/").get_data(as_text=True)
    assert "市级先进职工之家" in page and "区级模范职工小家" in page and "二区" not in page
    assert "登记称号" not in page  # staff view, the admin manages
    for query, present, absent in (("level=city", "市级先进", "区级模范"), ("tier=model", "区级模范", "市级先进"),
                                   ("status=due", "市级先进", "区级模范"), ("year=2025", "区级模范", "市级先进"),
                                   ("home_kind=group_home", "区级模范", "市级先进"), ("q=乙中", "区级模范", "市级先进"),
                                   ("q=8号", "市级先进", "区级模范"), ("level=bogus&year=abc", "市级先进", "无")):
        text = client.get(f"/d/d1/titles/?{query}").get_data(as_text=True)
        assert present in text and absent not in text, query
    assert "没有符合条件" in client.get("/d/d1/titles/?q=没有这个").get_data(as_text=True)


def test_the_list_runs_a_constant_number_of_queries(app, world, login_as):
    client = login_as("d1admin")
    _titles(app, world, 2, tier="model", awarded_on=date(2020, 1, 1), status="kept", round_id=999)
    with app.app_context():
        engine = db.engine
    with count_queries(engine) as few:
        assert client.get("/d/d1/titles/").status_code == 200
    with in_district(app, world.d1):
        for i in range(25):
            make_title(world, world.s1b if i % 2 else world.s1a, tier=["qualified", "advanced", "model"][i % 3],
                       home_kind="group_home" if i % 4 == 0 else "staff_home", round_id=1000 + i,
                       awarded_on=date(2015 + i % 10, 1, 1))
        db.session.commit()
    with count_queries(engine) as many:
        response = client.get("/d/d1/titles/")
    assert response.status_code == 200 and "标兵" in response.get_data(as_text=True)
    assert len(many) == len(few), "\n".join(difflib.unified_diff(few, many, lineterm=""))
    assert "下一页" in response.get_data(as_text=True)


def test_export_reads_back_with_safe_cells(app, world, login_as):
    with in_district(app, world.d1):
        make_title(world, world.s1a, tier="model", level="province", awarded_on=date(2021, 5, 1),
                   note="=HYPERLINK(\"http://evil\")")
        make_title(world, world.s1b, tier="qualified", awarded_on=date(2024, 5, 1))
        db.session.commit()
    client = login_as("d1admin")
    response = client.get("/d/d1/titles/export.xlsx?tier=model")
    assert response.status_code == 200 and "spreadsheetml" in response.mimetype
    assert "attachment" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][:6] == ("学校", "称号", "级别", "等级", "类型", "授予日期")
    assert len(rows) == 3  # title line, headers, one filtered row
    school, name, level, tier, _kind, awarded, year, status, due, source, exemplar, note = rows[2]
    assert (school, name, level, tier, year, status, source, exemplar) == (
        "一区甲小学", "省级模范职工之家", "省级", "模范", 2021, "有效", "手工登记", "标兵")
    assert awarded.date() == date(2021, 5, 1) and due.date() == date(2026, 3, 1)
    assert note == "'=HYPERLINK(\"http://evil\")" or ws.cell(3, 12).data_type == "s"
    assert not str(ws.cell(3, 12).value).startswith("=")


def _register_form(world, **changes):
    data = {"school_id": str(world.s1a), "home_kind": "staff_home", "level": "city", "tier": "advanced",
            "awarded_on": "2025-12-28", "review_due_on": "", "note": "市总〔2025〕12号"}
    data.update(changes)
    return data


def test_register_by_hand_keeps_input_on_errors(app, world, login_as):
    client = login_as("d1admin")
    form = client.get(f"/d/d1/titles/new?school={world.s1b}").get_data(as_text=True)
    assert f'<option selected value="{world.s1b}">' in form or f'value="{world.s1b}" selected' in form
    bad = post(client, "/d/d1/titles/new", _register_form(world, tier="", awarded_on="28/12/2025",
                                                          note="手写的备注"))
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "日期格式不正确" in text and "手写的备注" in text
    bad = post(client, "/d/d1/titles/new", _register_form(world, tier="", awarded_on="2099-01-01"))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "等级只能是合格、先进或模范" in text and "不能晚于今天" in text
    assert "市总〔2025〕12号" in text
    ok = post(client, "/d/d1/titles/new", _register_form(world))
    assert ok.status_code == 302
    title_id = int(re.search(r"/titles/(\d+)/", ok.location).group(1))
    page = client.get(ok.location).get_data(as_text=True)
    assert "市级先进职工之家" in page and "授予/登记" in page and "2026-12-28" in page
    again = post(client, "/d/d1/titles/new", _register_form(world))
    assert again.status_code == 400 and "已登记过" in again.get_data(as_text=True)
    with in_district(app, world.d1):
        assert db.session.get(Title, (world.d1, title_id)).note == "市总〔2025〕12号"


def test_outcomes_over_http(app, world, login_as):
    (title_id,) = _titles(app, world, status="due")
    client = login_as("d1admin")
    url = f"/d/d1/titles/{title_id}/outcome"
    page = client.get(f"/d/d1/titles/{title_id}/").get_data(as_text=True)
    assert 'value="kept"' in page and 'value="restored"' not in page
    missing = post(client, url, {"outcome": "revoked", "reason": ""})
    assert missing.status_code == 400 and "摘牌须填写理由" in missing.get_data(as_text=True)
    deadline = (services.china_today() + timedelta(days=90)).isoformat()
    bad = post(client, url, {"outcome": "conditional", "reason": "职工书屋未开放", "deadline": ""})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "须设定整改期限" in text and "职工书屋未开放" in text
    assert post(client, url, {"outcome": "conditional", "reason": "职工书屋未开放", "deadline": deadline}).status_code == 302
    page = client.get(f"/d/d1/titles/{title_id}/").get_data(as_text=True)
    assert "限期整改" in page and deadline in page and 'value="restored"' in page
    assert post(client, url, {"outcome": "restored", "reason": "整改到位"}).status_code == 302
    assert post(client, url, {"outcome": "revoked", "reason": "年度考评不合格"}).status_code == 302
    refused = post(client, url, {"outcome": "kept", "reason": "x"})
    assert refused.status_code == 400 and "不能复查保留" in refused.get_data(as_text=True)
    page = client.get(f"/d/d1/titles/{title_id}/").get_data(as_text=True)
    history = page[page.index('id="title-history"'):]
    for label in ("授予/登记", "限期整改", "整改合格恢复", "摘牌", "年度考评不合格", "D1ADMIN"):
        assert label in history, label
    assert "不能再办理复查结论" in page
    # Staff see the history, not the form; they cannot post outcomes.
    staff = login_as("d1staff")
    assert 'id="outcome-form"' not in staff.get(f"/d/d1/titles/{title_id}/").get_data(as_text=True)
    assert post(staff, url, {"outcome": "kept", "reason": "x"}).status_code == 403


def test_edit_over_http(app, world, login_as):
    (title_id,) = _titles(app, world, awarded_on=date(2025, 3, 1), review_due_on=date(2026, 3, 1))
    client = login_as("d1admin")
    form = client.get(f"/d/d1/titles/{title_id}/edit").get_data(as_text=True)
    assert "2025-03-01" in form and "一区甲小学" in form
    data = {"home_kind": "staff_home", "level": "city", "tier": "advanced", "awarded_on": "2025-03-01",
            "review_due_on": "2026-03-01", "note": "", "reason": ""}
    bad = post(client, f"/d/d1/titles/{title_id}/edit", data)
    assert bad.status_code == 400 and "修改称号信息须填写理由" in bad.get_data(as_text=True)
    ok = post(client, f"/d/d1/titles/{title_id}/edit", dict(data, reason="级别录错"))
    assert ok.status_code == 302
    page = client.get(f"/d/d1/titles/{title_id}/").get_data(as_text=True)
    assert "市级先进职工之家" in page and "级别录错" in page and "district → city" in page


def test_cycle_setting_and_mark_due_over_http(app, world, login_as):
    (title_id,) = _titles(app, world, review_due_on=date(2020, 1, 1))
    client = login_as("d1admin")
    assert 'value="1"' in client.get("/d/d1/titles/settings").get_data(as_text=True)
    bad = post(client, "/d/d1/titles/settings", {"review_cycle_years": "20"})
    assert bad.status_code == 400 and "1～10" in bad.get_data(as_text=True) and 'value="20"' in bad.get_data(as_text=True)
    assert post(client, "/d/d1/titles/settings", {"review_cycle_years": "3"}).status_code == 302
    assert "复查周期：3 年" in client.get("/d/d1/titles/").get_data(as_text=True)
    response = post(client, "/d/d1/titles/mark-due")
    assert response.status_code == 302 and "status=due" in response.location
    with in_district(app, world.d1):
        assert db.session.get(Title, (world.d1, title_id)).status == "due"
    assert post(login_as("d1staff"), "/d/d1/titles/settings", {"review_cycle_years": "2"}).status_code == 403


def test_schools_see_their_own_titles_and_history_only(app, world, login_as):
    with in_district(app, world.d1):
        own = make_title(world, world.s1a, tier="model", awarded_on=date(2021, 1, 1), status="kept",
                         review_due_on=date(2027, 1, 1))
        services.make_conditional(own, reason="台账需补齐", deadline=date(2026, 9, 1), today=date(2026, 3, 1))
        other = make_title(world, world.s1b, tier="qualified", note="乙中学的称号")
        db.session.commit()
        own_id, other_id = own.id, other.id
    chair = login_as("chair1a")
    home = chair.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert 'id="titles-card"' in home and "区级模范职工之家" in home and "限期整改" in home and "标兵" in home
    page = chair.get(f"/d/d1/s/{world.s1a}/titles/").get_data(as_text=True)
    assert "台账需补齐" in page and "乙中学" not in page and "区级合格" not in page
    detail = chair.get(f"/d/d1/s/{world.s1a}/titles/{own_id}").get_data(as_text=True)
    assert "台账需补齐" in detail and 'id="outcome-form"' not in detail
    assert chair.get(f"/d/d1/s/{world.s1a}/titles/{other_id}").status_code == 404
    assert chair.get(f"/d/d1/s/{world.s1b}/titles/").status_code == 404
    assert chair.get("/d/d1/titles/").status_code == 403
    assert chair.get(f"/d/d1/titles/{own_id}/").status_code == 403
    # The district sees the school's card on the school page, with a link to register.
    admin_home = login_as("d1admin").get(f"/d/d1/s/{world.s1b}/").get_data(as_text=True)
    assert "区级合格职工之家" in admin_home and "登记称号" in admin_home


def test_navigation_shows_titles_to_district_roles(app, world, login_as):
    assert "/d/d1/titles/" in login_as("d1staff").get("/d/d1/rounds/").get_data(as_text=True)
    assert "/d/d1/titles/" not in login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert login_as("d2admin").get(f"/d/d1/titles/").status_code == 404


def test_the_api_lists_titles_with_filters_and_history(app, world, login_as):
    with in_district(app, world.d1):
        own = make_title(world, world.s1a, tier="model", level="city", awarded_on=date(2020, 1, 1), status="kept")
        other = make_title(world, world.s1b, tier="qualified", awarded_on=date(2025, 1, 1), note="乙中学")
        db.session.commit()
        own_id, other_id = own.id, other.id
    admin = login_as("d1admin")
    payload = admin.get("/api/v1/d/d1/titles?tier=model").get_json()
    assert payload["total"] == 1
    (item,) = payload["items"]
    assert (item["id"], item["school_name"], item["name"], item["exemplar"]) == (own_id, "一区甲小学", "市级模范职工之家", True)
    assert admin.get("/api/v1/d/d1/titles?year=2025&q=乙").get_json()["items"][0]["id"] == other_id
    assert admin.get("/api/v1/d/d1/titles?tier=gold").status_code == 422
    detail = admin.get(f"/api/v1/d/d1/titles/{own_id}").get_json()
    assert [e["event"] for e in detail["history"]] == ["awarded"]
    chair = login_as("chair1a")
    mine = chair.get(f"/api/v1/d/d1/s/{world.s1a}/titles").get_json()
    assert [t["id"] for t in mine["items"]] == [own_id] and mine["items"][0]["history"][0]["reason"] == "测试登记"
    assert chair.get("/api/v1/d/d1/titles").status_code == 403
    assert chair.get(f"/api/v1/d/d1/s/{world.s1b}/titles").status_code == 404
    assert login_as("d2admin").get(f"/api/v1/d/d1/titles/{own_id}").status_code == 404
