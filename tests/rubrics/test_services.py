"""Service rules: cleaning every field by kind, drafts, copy, publish, the lock and delete."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.rounds.models import Round
from app.rubrics import services
from app.rubrics.models import Indicator, Rubric, RubricCategory
from tests.rubrics.helpers import create, district, small_doc

D = Decimal


# --- cleaning -----------------------------------------------------------------------------

def test_numbers_accept_full_width_and_reject_three_decimals():
    assert services.parse_decimal("４.５", required=True) == D("4.50")
    assert services.parse_decimal("3分", required=True) == D("3.00")
    with pytest.raises(ValueError, match="两位小数"):
        services.parse_decimal("0.333", required=True)
    with pytest.raises(ValueError, match="应为数字"):
        services.parse_decimal("四", required=True)
    with pytest.raises(ValueError, match="请填写分值"):
        services.parse_decimal("", required=True, label="分值")
    assert services.parse_decimal("", required=False) is None


def test_bands_from_lines_or_pairs_sorted_high_to_low():
    assert services.parse_bands("80=3\n≥90%：4\n70 = 2") == [[90, 4], [80, 3], [70, 2]]
    assert services.parse_bands("90=4；80=3.5") == [[90, 4], [80, 3.5]]
    assert services.parse_bands([[70, 1], [85, 2]]) == [[85, 2], [70, 1]]
    with pytest.raises(ValueError, match="格式应为「比率=得分」"):
        services.parse_bands("九十=4")
    with pytest.raises(ValueError, match="重复"):
        services.parse_bands("90=4\n90=3")
    with pytest.raises(ValueError, match="比率应在 0 到 100"):
        services.parse_bands("120=4")


def test_indicator_fields_by_kind():
    clean, errors = services.clean_indicator({"title": "参加会议", "kind": "deduction", "max_points": "4",
                                              "deduction_per_unit": "1", "bonus_max": "9", "bands": "90=4"})
    assert errors == {}
    assert (clean["deduction_per_unit"], clean["deduction_floor"], clean["bonus_max"], clean["bands"]) == (
        D(1), D(0), None, [])  # fields of other kinds are cleared
    _, errors = services.clean_indicator({"title": "x", "kind": "deduction", "max_points": "4"})
    assert errors == {"deduction_per_unit": "请填写每次扣分"}
    _, errors = services.clean_indicator({"title": "x", "kind": "deduction", "max_points": "4",
                                          "deduction_per_unit": "1", "deduction_floor": "5"})
    assert errors == {"deduction_floor": "最低分不能高于分值"}
    clean, errors = services.clean_indicator({"title": "获奖", "kind": "bonus", "max_points": "7", "bonus_max": "5"})
    assert errors == {} and clean["max_points"] == 0 and clean["bonus_max"] == D(5)
    _, errors = services.clean_indicator({"title": "获奖", "kind": "bonus"})
    assert errors == {"bonus_max": "请填写加分上限"}
    clean, errors = services.clean_indicator({"title": "入会率", "kind": "rate_band", "bands": "90=4\n80=3"})
    assert errors == {} and clean["max_points"] == D(4)  # the top band when left blank
    _, errors = services.clean_indicator({"title": "入会率", "kind": "rate_band", "max_points": "5", "bands": "90=4"})
    assert errors == {"bands": "最高档得分 4.00 应等于分值 5.00"}
    _, errors = services.clean_indicator({"title": "", "kind": "magic", "evidence_method": "猜",
                                          "provided_source": "plan_on_time", "must_pass": "也许"})
    assert set(errors) == {"title", "kind", "evidence_method", "provided_source", "must_pass", "max_points"}
    _, errors = services.clean_indicator({"title": "x", "max_points": "3", "provided_source": "plan_on_time"})
    assert errors == {"provided_source": "只有评分依据为「上级提供」的指标才能指定上级提供数据"}


def test_document_errors_carry_their_path():
    doc = small_doc(total_points="abc")
    doc["categories"][1]["indicators"][0]["bands"] = "oops"
    doc["categories"].append({"name": "组织建设", "cap": 1})
    _, errors = services.clean_document(doc)
    paths = [p for p, _ in errors]
    assert paths == ["total_points", "categories.1.indicators.0.bands", "categories.2.name"]


# --- drafts, publish, copy ------------------------------------------------------------------

def test_publish_refused_then_allowed(app, world):
    with district(app, world.d1):
        rubric = create()
        category = services.add_category(rubric, {"name": "宣传", "cap": D(5)})
        with pytest.raises(services.RubricError) as refused:
            services.publish(rubric)
        assert refused.value.problems == ["类别「宣传」没有计分指标", "各类别分值合计 20.00，与总分 15.00 不符"]
        assert rubric.status == "draft"
        services.add_indicator(rubric, category, {**services.clean_indicator(
            {"title": "宣传栏", "max_points": "5"})[0]})
        services.update_header(rubric, {"name": rubric.name, "total_points": D(20), "description": "",
                                        "notes": ""})
        assert services.problems(rubric) == []
        services.publish(rubric)
        db.session.commit()
        assert rubric.status == "published" and rubric.published_at is not None
        with pytest.raises(services.RubricError, match="已发布"):
            services.publish(rubric)


def test_published_version_cannot_be_edited(app, world):
    with district(app, world.d1):
        rubric = create()
        services.publish(rubric)
        category = services.categories_of(rubric)[0]
        indicator = services.indicators_of(rubric)[0]
        clean = services.clean_indicator({"title": "x", "max_points": 1})[0]
        attempts = [
            lambda: services.update_header(rubric, {"name": "x", "total_points": D(1), "description": "", "notes": ""}),
            lambda: services.add_category(rubric, {"name": "新", "cap": D(1)}),
            lambda: services.update_category(rubric, category, {"name": "新", "cap": D(1)}),
            lambda: services.delete_category(rubric, category),
            lambda: services.move_category(rubric, category, "down"),
            lambda: services.add_indicator(rubric, category, clean),
            lambda: services.update_indicator(rubric, indicator, clean),
            lambda: services.delete_indicator(rubric, indicator),
            lambda: services.move_indicator(rubric, indicator, "down"),
        ]
        for attempt in attempts:
            with pytest.raises(services.RubricError, match="已发布的版本不能修改"):
                attempt()


def test_copy_makes_the_next_draft_version_with_identical_structure(app, world):
    with district(app, world.d1):
        rubric = create()
        services.publish(rubric)
        copy = services.copy_rubric(rubric)
        db.session.commit()
        assert (copy.family, copy.version, copy.status, copy.copied_from_id) == (rubric.family, 2, "draft", rubric.id)
        assert services.document(copy) == services.document(rubric)
        assert services.view(copy).editable and not services.view(rubric).editable
        third = services.copy_rubric(copy)
        assert third.version == 3
        # Editing the copy leaves the published version alone.
        indicator = services.indicators_of(copy)[0]
        services.update_indicator(copy, indicator, services.clean_indicator({"title": "改过", "max_points": "6"})[0])
        assert services.indicators_of(rubric)[0].title == "制度健全"
        ids_old = {i.id for i in services.indicators_of(rubric)}
        assert ids_old.isdisjoint({i.id for i in services.indicators_of(copy)})


def test_reorder_and_move_between_categories(app, world):
    with district(app, world.d1):
        rubric = create()
        first, second = services.categories_of(rubric)
        assert services.move_category(rubric, second, "up") is True
        assert [c.name for c in services.categories_of(rubric)] == ["会员发展", "组织建设"]
        assert services.move_category(rubric, second, "up") is False  # already first
        with pytest.raises(services.RubricError):
            services.move_category(rubric, second, "sideways")
        a, b, c = [i for i in services.indicators_of(rubric) if i.category_id == first.id]
        services.move_indicator(rubric, c, "up")
        assert [i.title for i in services.indicators_of(rubric) if i.category_id == first.id] == [
            "制度健全", "获奖加分", "参加会议"]
        clean = services.clean_indicator({"title": "制度健全", "max_points": "6"})[0]
        services.update_indicator(rubric, a, clean, second)
        assert [(i.title, i.position) for i in services.indicators_of(rubric) if i.category_id == first.id] == [
            ("获奖加分", 1), ("参加会议", 2)]
        assert [(i.title, i.position) for i in services.indicators_of(rubric) if i.category_id == second.id] == [
            ("入会率", 1), ("制度健全", 2)]
        services.delete_category(rubric, second)
        assert db.session.scalar(select(func.count()).select_from(Indicator)
                                 .where(Indicator.category_id == second.id)) == 0
        assert [c.position for c in services.categories_of(rubric)] == [1]


def test_category_names_are_unique_within_a_rubric(app, world):
    with district(app, world.d1):
        rubric = create()
        with pytest.raises(services.RubricError, match="已有类别「组织建设」") as refused:
            services.add_category(rubric, {"name": "组织建设", "cap": D(1)})
        assert refused.value.field == "name"


# --- the lock and delete ---------------------------------------------------------------------

def _round(rubric, status):
    r = Round(kind="annual_review", year=2026, name=f"2026 年度考评（{status}）", status=status, rubric_id=rubric.id,
              opens_on=date(2026, 11, 1), closes_on=date(2026, 11, 30))
    db.session.add(r)
    db.session.flush()
    return r


def test_a_version_used_by_an_open_round_is_locked(app, world):
    with district(app, world.d1):
        rubric = create()
        services.publish(rubric)
        planned = _round(rubric, "draft")
        assert not services.is_locked(rubric)
        planned.status = "open"
        db.session.flush()
        view = services.view(rubric)
        assert view.locked and not view.editable
        # Even a draft version that a running round names is locked.
        draft = create(small_doc(name="草稿"))
        _round(draft, "assessing")
        with pytest.raises(services.RubricError, match="已锁定"):
            services.add_category(draft, {"name": "新", "cap": D(1)})
        with pytest.raises(services.RubricError, match="不能删除"):
            services.delete_rubric(rubric)
        # The way forward: copy, which is an ordinary draft.
        copy = services.copy_rubric(rubric)
        assert services.view(copy).editable


def test_delete_refused_when_any_round_uses_it_else_everything_goes(app, world):
    with district(app, world.d1):
        used = create()
        _round(used, "draft")
        with pytest.raises(services.RubricError, match="2026 年度考评（draft）"):
            services.delete_rubric(used)
        unused = create(small_doc(name="没人用"))
        services.publish(unused)
        services.delete_rubric(unused)
        db.session.commit()
        assert services.get_rubric(unused.id) is None
        left = db.session.scalar(select(func.count()).select_from(RubricCategory)
                                 .where(RubricCategory.rubric_id == unused.id))
        assert left == 0
        assert db.session.scalar(select(func.count()).select_from(Rubric)) == 1


def test_list_views_and_published_rubrics(app, world):
    with district(app, world.d1):
        a = create()
        b = create(small_doc(name="乙"))
        services.publish(b)
        _round(b, "open")
        db.session.commit()
        views = {v.rubric.id: v for v in services.list_views()}
        assert views[a.id].caps_total == D(15) and views[a.id].points_total == D(15) and views[a.id].bonus_total == D(3)
        assert views[b.id].locked and not views[a.id].locked
        assert [r.id for r in services.published_rubrics()] == [b.id]
        assert [r.id for r in services.families()] == sorted([a.id, b.id], key=lambda i: "测试细则" if i == a.id else "乙")
    with district(app, world.d2):
        assert services.list_views() == [] and services.get_rubric(a.id) is None


def test_query_count_of_the_list_does_not_grow_with_rubrics(app, world):
    from tests.querycount import count_queries

    with district(app, world.d1):
        for n in range(2):
            create(small_doc(name=f"细则{n}"))
        db.session.commit()
        with count_queries(db.engine) as few:
            services.list_views()
        for n in range(5):
            create(small_doc(name=f"更多{n}"))
        db.session.commit()
        with count_queries(db.engine) as many:
            services.list_views()
    assert len(many) == len(few)
