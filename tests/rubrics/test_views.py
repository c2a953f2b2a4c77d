"""The browser editor: pages, forms with Chinese errors that keep the typed input, the lock,
copy/publish buttons, permissions and isolation."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.rounds.models import Round
from app.rubrics import services
from app.rubrics.models import Indicator, Rubric
from tests.conftest import post
from tests.rubrics.helpers import create, district, small_doc

SCRIPT_RE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


@pytest.fixture
def rubric_id(app, world):
    with district(app, world.d1):
        rubric = create()
        db.session.commit()
        return rubric.id


def ids(app, world, rubric_id):
    with district(app, world.d1):
        rubric = services.get_rubric(rubric_id)
        return [c.id for c in services.categories_of(rubric)], [i.id for i in services.indicators_of(rubric)]


def test_list_and_table_show_computed_sums_and_problems(app, world, login_as, rubric_id):
    client = login_as("d1admin")
    page = client.get("/d/d1/rubrics/").get_data(as_text=True)
    assert "测试细则" in page and "第 1 版" in page and "分值对得上" in page
    assert "考核细则" in client.get("/d/d1/rubrics/").get_data(as_text=True)  # in the navigation too
    page = client.get(f"/d/d1/rubrics/{rubric_id}").get_data(as_text=True)
    for column in ("类别", "序号", "考核内容", "分值", "评分标准", "评分依据", "必备", "否决", "类型"):
        assert f"<th>{column}</th>" in page or f'<th class="text-end">{column}</th>' in page
    assert 'id="total-caps">15<' in page and 'id="total-points">15<' in page and 'id="total-bonus">+3<' in page
    assert "每次 −1，最低 0" in page and "≥90% → 5" in page and "+≤3" in page
    assert "可以发布" in page and not SCRIPT_RE.search(page)
    with district(app, world.d1):
        services.add_category(services.get_rubric(rubric_id), {"name": "宣传", "cap": services.parse_decimal(
            "5", required=True)})
        db.session.commit()
    page = client.get(f"/d/d1/rubrics/{rubric_id}").get_data(as_text=True)
    assert "分值尚未对上，不能发布" in page and "类别「宣传」没有计分指标" in page and "尚无指标" in page


def test_new_rubric_form_keeps_typed_input_with_chinese_errors(app, world, login_as):
    client = login_as("d1admin")
    response = post(client, "/d/d1/rubrics/new", {"name": "二〇二六细则", "total_points": "一百"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "应为数字" in page
    assert 'value="二〇二六细则"' in page and 'value="一百"' in page
    response = post(client, "/d/d1/rubrics/new", {"name": "二〇二六细则", "total_points": "100"})
    assert response.status_code == 302
    with district(app, world.d1):
        rubric = db.session.scalar(select(Rubric))
        assert (rubric.name, rubric.total_points, rubric.status) == ("二〇二六细则", 100, "draft")


def test_category_and_indicator_forms(app, world, login_as, rubric_id):
    client = login_as("d1admin")
    base = f"/d/d1/rubrics/{rubric_id}"
    page = post(client, f"{base}/categories/new", {"name": "组织建设", "cap": "3.333"}).get_data(as_text=True)
    assert "已有类别「组织建设」" not in page and "最多保留两位小数" in page and 'value="3.333"' in page
    page = post(client, f"{base}/categories/new", {"name": "组织建设", "cap": "3"}).get_data(as_text=True)
    assert "本考核细则已有类别「组织建设」" in page
    assert post(client, f"{base}/categories/new", {"name": "宣传工作", "cap": "4"}).status_code == 302
    (org, members, publicity), _ = ids(app, world, rubric_id)
    # An indicator with errors keeps what was typed.
    response = post(client, f"{base}/categories/{publicity}/indicators/new", {
        "category_id": publicity, "title": "宣传栏更新", "kind": "rate_band", "max_points": "4",
        "bands": "九十=4", "evidence_method": "site_visit"})
    page = response.get_data(as_text=True)
    assert "格式应为「比率=得分」" in page and "九十=4" in page and "宣传栏更新" in page
    response = post(client, f"{base}/categories/{publicity}/indicators/new", {
        "category_id": publicity, "title": "宣传栏更新", "kind": "deduction", "max_points": "4",
        "deduction_per_unit": "0.5", "deduction_floor": "1", "evidence_method": "site_visit", "veto": "y"})
    assert response.status_code == 302
    with district(app, world.d1):
        indicator = db.session.scalar(select(Indicator).where(Indicator.category_id == publicity))
        assert (indicator.kind, indicator.max_points, indicator.deduction_per_unit, indicator.deduction_floor,
                indicator.veto, indicator.code, indicator.position) == ("deduction", 4, 0.5, 1, True, "4", 1)
        new_id = indicator.id
    # Edit: GET shows plain numbers and bands as lines; POST moves it to another category.
    page = client.get(f"{base}/indicators/{new_id}/edit").get_data(as_text=True)
    assert 'value="0.5"' in page and 'value="4"' in page
    response = post(client, f"{base}/indicators/{new_id}/edit", {
        "category_id": members, "title": "入会率二", "kind": "rate_band", "bands": "95=2\n80=1",
        "evidence_method": "provided", "provided_source": "membership_rate"})
    assert response.status_code == 302
    with district(app, world.d1):
        indicator = db.session.get(Indicator, (world.d1, new_id))
        assert (indicator.category_id, indicator.max_points, indicator.bands, indicator.deduction_per_unit) == (
            members, 2, [[95, 2], [80, 1]], None)
    page = client.get(f"{base}/indicators/{new_id}/edit").get_data(as_text=True)
    assert "95=2\n80=1" in page
    # Move and delete.
    assert post(client, f"{base}/categories/{publicity}/move", {"direction": "up"}).status_code == 302
    assert post(client, f"{base}/indicators/{new_id}/move", {"direction": "up"}).status_code == 302
    with district(app, world.d1):
        rubric = services.get_rubric(rubric_id)
        assert [c.name for c in services.categories_of(rubric)] == ["组织建设", "宣传工作", "会员发展"]
        assert [i.title for i in services.indicators_of(rubric)][-2:] == ["入会率二", "入会率"]
    assert post(client, f"{base}/indicators/{new_id}/delete").status_code == 302
    assert post(client, f"{base}/categories/{publicity}/delete").status_code == 302
    with district(app, world.d1):
        assert len(services.categories_of(services.get_rubric(rubric_id))) == 2


def test_objects_are_checked_against_the_rubric_in_the_url(app, world, login_as, rubric_id):
    with district(app, world.d1):
        other = create(small_doc(name="另一个"))
        db.session.commit()
        other_category = services.categories_of(other)[0].id
        other_indicator = services.indicators_of(other)[0].id
    client = login_as("d1admin")
    assert client.get(f"/d/d1/rubrics/{rubric_id}/categories/{other_category}/edit").status_code == 404
    assert client.get(f"/d/d1/rubrics/{rubric_id}/indicators/{other_indicator}/edit").status_code == 404
    assert post(client, f"/d/d1/rubrics/{rubric_id}/indicators/{other_indicator}/delete").status_code == 404
    assert client.get("/d/d1/rubrics/999999").status_code == 404


def test_copy_publish_and_the_lock_in_the_browser(app, world, login_as, rubric_id):
    client = login_as("d1admin")
    base = f"/d/d1/rubrics/{rubric_id}"
    response = post(client, f"{base}/publish")
    assert response.status_code == 302
    page = client.get(base).get_data(as_text=True)
    assert "已发布" in page and 'id="edit-rubric"' not in page and 'id="publish-rubric"' not in page
    response = client.get(f"{base}/edit")
    assert response.status_code == 302
    assert "已发布的版本不能修改" in client.get(response.location).get_data(as_text=True)
    assert post(client, f"{base}/categories/new", {"name": "x", "cap": "1"}).status_code == 302
    with district(app, world.d1):
        db.session.add(Round(kind="title", year=2026, name="2026 年建家评选", status="open", rubric_id=rubric_id))
        db.session.commit()
    page = client.get(base).get_data(as_text=True)
    assert "已锁定" in page and "2026 年建家评选（申报中）" in page and 'id="delete-rubric"' not in page
    response = post(client, f"{base}/delete")
    assert "不能删除" in client.get(response.location).get_data(as_text=True)
    response = post(client, f"{base}/copy")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "第 2 版" in page and "草稿" in page and 'id="edit-rubric"' in page


def test_publish_refused_lists_the_problems(app, world, login_as):
    with district(app, world.d1):
        rubric = create(small_doc(total_points=20))
        db.session.commit()
        rubric_id = rubric.id
    client = login_as("d1admin")
    response = post(client, f"/d/d1/rubrics/{rubric_id}/publish")
    page = client.get(response.location).get_data(as_text=True)
    assert "不能发布：各类别分值合计 15.00，与总分 20.00 不符" in page
    with district(app, world.d1):
        assert services.get_rubric(rubric_id).status == "draft"


def test_delete_an_unused_version(app, world, login_as, rubric_id):
    client = login_as("d1admin")
    response = post(client, f"/d/d1/rubrics/{rubric_id}/delete")
    assert response.status_code == 302 and response.location.endswith("/d/d1/rubrics/")
    with district(app, world.d1):
        assert services.get_rubric(rubric_id) is None


@pytest.mark.parametrize("who, view, manage", [
    ("d1admin", 200, True), ("d1staff", 200, False), ("d1assessor", 200, False),
    ("chair1a", 403, False), ("editor1a", 403, False), ("d2admin", 404, False), ("chair2a", 404, False),
])
def test_permissions_and_isolation(app, world, login_as, rubric_id, who, view, manage):
    client = login_as(who)
    assert client.get("/d/d1/rubrics/").status_code == view
    page = client.get(f"/d/d1/rubrics/{rubric_id}")
    assert page.status_code == view
    if view == 200:
        body = page.get_data(as_text=True)
        assert ('id="copy-rubric"' in body) is manage and ('id="add-category"' in body) is manage
    expected = 302 if manage else (404 if view == 404 else 403)
    assert post(client, f"/d/d1/rubrics/{rubric_id}/copy").status_code == expected
    assert client.get(f"/d/d1/rubrics/{rubric_id}/categories/new").status_code == (200 if manage else expected)


def test_another_district_sees_none_of_it(app, world, login_as, rubric_id):
    client = login_as("d2admin")
    assert client.get(f"/d/d2/rubrics/{rubric_id}").status_code == 404
    assert "测试细则" not in client.get("/d/d2/rubrics/").get_data(as_text=True)
    assert post(client, f"/d/d2/rubrics/{rubric_id}/publish").status_code == 404
    with district(app, world.d1):
        assert services.get_rubric(rubric_id).status == "draft"
