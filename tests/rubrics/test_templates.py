"""The two shipped templates, transcribed from reference/domain.md §2.1: every number checked
by hand, where each source is cut off, and how a district loads them (page, CLI, demo)."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.rubrics import services, template_library
from app.rubrics.models import Rubric
from app.rubrics.scoring import Inputs, score
from tests.conftest import post
from tests.rubrics.helpers import district

D = Decimal
HUNAN, KUNSHAN = "hunan-school-100", "kunshan-annual-2010"


def _load(app, world, key):
    with district(app, world.d1):
        rubric = template_library.create_from(template_library.get(key))
        db.session.commit()
        return rubric.id


def _doc(key):
    return template_library.document(template_library.get(key))


def test_both_templates_are_shipped_as_data_files():
    keys = [t.key for t in template_library.all_templates()]
    assert keys == [HUNAN, KUNSHAN]
    for t in template_library.all_templates():
        assert t.source.startswith("https://")


def test_hunan_100_point_table_as_transcribed():
    doc = _doc(HUNAN)
    assert doc["total_points"] == D(100)
    assert [(c["name"], c["cap"]) for c in doc["categories"]] == [("自身建设", 30), ("民主管理", 30), ("履行职能", 40)]
    points = [[i["max_points"] for i in c["indicators"]] for c in doc["categories"]]
    assert points == [[4, 4, 2, 4, 4, 4, 4, 4], [5, 3, 3, 3, 6, 2, 2, 6], [5, 5, 5, 10, 0]]
    # Hand sums: 4+4+2+4+4+4+4+4 = 30; 5+3+3+3+6+2+2+6 = 30; 5+5+5+10 = 25 of 40 (cut off).
    assert [sum(p) for p in points] == [30, 30, 25]
    assert 30 + 30 + 40 == 100
    indicators = [i for c in doc["categories"] for i in c["indicators"]]
    assert len(indicators) == 21 and all(i["kind"] == "points" for i in indicators)
    by_title = {i["title"]: i for i in indicators}
    assert by_title["实行教代会会后报告制"]["evidence_method"] == "provided"  # 局工会提供
    assert by_title["设立校务公开栏"]["evidence_method"] == "site_visit"
    assert "生病住院、突发事件、家庭矛盾、婚丧嫁娶、权益受损" in by_title["落实“五必访”"]["guidance"]


def test_kunshan_year_end_table_with_deductions_and_bonuses_over_caps():
    doc = _doc(KUNSHAN)
    assert [(c["name"], c["cap"]) for c in doc["categories"]] == [("工会基础工作", 20), ("工会组宣工作", 15),
                                                                 ("学校民主管理", 15)]
    assert doc["total_points"] == D(50)  # the source's total was not retrieved: 20 + 15 + 15
    rows = [[(i["code"], i["kind"], i["max_points"], i["bonus_max"]) for i in c["indicators"]]
            for c in doc["categories"]]
    assert rows == [
        [("1", "points", 6, None), ("2", "points", 5, None), ("3", "points", 5, None), ("3+", "bonus", 0, 5),
         ("4", "deduction", 4, None), ("4+", "bonus", 0, 4)],
        [("5", "deduction", 4, None), ("6", "points", 4, None), ("7", "points", 4, None), ("7+", "bonus", 0, 5),
         ("8", "points", 3, None)],
        [("9", "points", 0, None)],
    ]
    # 6+5+5+4 = 20; 4+4+4+3 = 15; bonuses 5+4 = 9 and 5 on top of the caps.
    deductions = [i for c in doc["categories"] for i in c["indicators"] if i["kind"] == "deduction"]
    assert [(i["code"], i["deduction_per_unit"], i["deduction_floor"]) for i in deductions] == [
        ("4", D(1), D(0)), ("5", D(1), D(0))]


@pytest.mark.parametrize("key, problems", [
    (HUNAN, ["指标「维护女工权益」的分值应大于 0",
             "类别「履行职能」各指标分值合计 25.00，与类别分值 40.00 不符"]),
    (KUNSHAN, ["指标「教代会制度健全，代表培训……」的分值应大于 0",
               "类别「学校民主管理」各指标分值合计 0.00，与类别分值 15.00 不符"]),
])
def test_cut_off_sources_stay_drafts_with_exactly_these_gaps(app, world, key, problems):
    rubric_id = _load(app, world, key)
    with district(app, world.d1):
        rubric = services.get_rubric(rubric_id)
        assert rubric.status == "draft"
        assert services.problems(rubric) == problems
        with pytest.raises(services.RubricError) as refused:
            services.publish(rubric)
        assert refused.value.problems == problems
        # The notes say what the district must complete; nothing was invented.
        assert "原文只取得一部分" in rubric.notes
        if key == HUNAN:
            assert "「履行职能」（40 分）只取得" in rubric.notes and "维护女工权益" in rubric.notes
        else:
            assert "「学校民主管理」（15 分）只取得第 9 条" in rubric.notes
            assert "总分暂为已转录三个类别的分值之和 50 分" in rubric.notes


def test_computed_totals_of_the_templates(app, world):
    hunan, kunshan = _load(app, world, HUNAN), _load(app, world, KUNSHAN)
    with district(app, world.d1):
        v = services.view(services.get_rubric(hunan))
        assert (v.caps_total, v.points_total, v.bonus_total) == (D(100), D(85), D(0))  # 30 + 30 + 25
        assert [(c.points, c.adds_up) for c in v.categories] == [(D(30), True), (D(30), True), (D(25), False)]
        v = services.view(services.get_rubric(kunshan))
        assert (v.caps_total, v.points_total, v.bonus_total) == (D(50), D(35), D(14))  # 20 + 15 + 0; bonuses 9 + 5
        assert [(c.points, c.bonus) for c in v.categories] == [(D(20), D(9)), (D(15), D(5)), (D(0), D(0))]


def test_kunshan_scores_deductions_floors_and_bonus_over_the_cap(app, world):
    kunshan = _load(app, world, KUNSHAN)
    with district(app, world.d1):
        categories, indicators = services.specs(services.get_rubric(kunshan))
    specs_by_code = dict(zip(["1", "2", "3", "3+", "4", "4+", "5", "6", "7", "7+", "8", "9"], indicators))
    assert [specs_by_code[c].kind for c in ("3+", "4", "4+", "5", "7+")] == [
        "bonus", "deduction", "bonus", "deduction", "bonus"]
    inputs = {
        specs_by_code["1"].id: Inputs(points=D(6)), specs_by_code["2"].id: Inputs(points=D(5)),
        specs_by_code["3"].id: Inputs(points=D(5)), specs_by_code["3+"].id: Inputs(points=D(5)),  # 省级模范 +5
        specs_by_code["4"].id: Inputs(units=1),  # one missed activity: 4 − 1 = 3
        specs_by_code["4+"].id: Inputs(points=D(2)),  # 昆山市级第一名 +2
        specs_by_code["5"].id: Inputs(units=6),  # six absences: 4 − 6 → floor 0
        specs_by_code["6"].id: Inputs(points=D(4)), specs_by_code["7"].id: Inputs(points=D(4)),
        specs_by_code["7+"].id: Inputs(points=D(1)), specs_by_code["8"].id: Inputs(points=D(3)),
        specs_by_code["9"].id: Inputs(points=D(0)),
    }
    result = score(categories, indicators, inputs)
    base, org, demo = (result.categories[c.id] for c in categories)
    # 工会基础工作: 6 + 5 + 5 + 3 = 19 (≤ 20), bonus 5 + 2 = 7 → 26, over its cap of 20.
    assert base == {"raw": D(19), "capped": D(19), "bonus": D(7), "subtotal": D(26)}
    # 工会组宣工作: 0 + 4 + 4 + 3 = 11, bonus 1 → 12.
    assert org == {"raw": D(11), "capped": D(11), "bonus": D(1), "subtotal": D(12)}
    assert demo["subtotal"] == D(0)
    assert result.total == D("38.00")
    assert result.missing == []


def test_from_template_page_creates_an_editable_draft(app, world, login_as):
    client = login_as("d1admin")
    page = client.get("/d/d1/rubrics/").get_data(as_text=True)
    assert "从模板新建" in page and "学校工会工作考核细则（湖南，100 分）" in page
    response = post(client, "/d/d1/rubrics/from-template", {"template": HUNAN})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "学校工会工作考核细则" in page and "维护女工权益" in page and "原文只取得一部分" in page
    assert "分值尚未对上，不能发布" in page
    # A second one is a separate rubric (its own family), not a clash.
    assert post(client, "/d/d1/rubrics/from-template", {"template": HUNAN}).status_code == 302
    with district(app, world.d1):
        families = sorted(db.session.scalars(select(Rubric.family)))
    assert families == [HUNAN, f"{HUNAN}-2"]
    response = post(client, "/d/d1/rubrics/from-template", {"template": "nope"})
    assert response.status_code == 302
    assert "请选择一个模板" in client.get(response.location).get_data(as_text=True)


def test_cli_loads_templates_once(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["rubrics", "load-templates", "d1"])
    assert result.exit_code == 0, result.output
    assert result.output.count("已载入") == 2
    again = runner.invoke(args=["rubrics", "load-templates", "d1"])
    assert again.exit_code == 0 and again.output.count("已存在，跳过") == 2
    with district(app, world.d1):
        assert sorted(db.session.scalars(select(Rubric.family))) == [HUNAN, KUNSHAN]
    with district(app, world.d2):
        assert db.session.scalar(select(func.count()).select_from(Rubric)) == 0
    missing = runner.invoke(args=["rubrics", "load-templates", "nowhere"])
    assert missing.exit_code != 0 and "找不到区县" in missing.output
    listing = runner.invoke(args=["rubrics", "templates"])
    assert HUNAN in listing.output and KUNSHAN in listing.output


def test_demo_data_includes_the_templates(app):
    from tenants.models import District
    from tenants.scope import Scope, tenant_scope

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with tenant_scope(Scope.system("test: read the demo district's rubrics")):
            district_id = db.session.scalar(select(District.id).where(District.slug == "demo"))
            names = sorted(db.session.scalars(select(Rubric.name).where(Rubric.district_id == district_id)))
        db.session.remove()
    # The two shipped templates (drafts) plus the published demo rubric of the open demo round.
    assert names == ["基层教育工会工作年度考核评分标准", "学校工会工作考核细则", "示范区学校工会工作年度考核细则"]
