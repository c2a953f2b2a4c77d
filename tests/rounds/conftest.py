"""Fixtures for rounds and applications: a published rubric built directly from the models
(the rubric editor is written separately), rounds made through the services, and small
helpers to run code in a district or school scope."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from app.extensions import db
from tenants.scope import Scope, tenant_scope

D = Decimal
WIDE_OPEN = {"opens_on": date(2000, 1, 1), "closes_on": date(2099, 12, 31), "assessment_due_on": None}


@contextmanager
def in_district(app, district_id):
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            yield
        db.session.remove()


@contextmanager
def in_school(app, district_id, school_id, roles=("school_chair",)):
    with app.app_context():
        with tenant_scope(Scope.school(district_id, {school_id}, roles=frozenset(roles))):
            yield
        db.session.remove()


@dataclass
class RubricIds:
    rubric: int
    categories: dict = field(default_factory=dict)   # name -> id
    ind: dict = field(default_factory=dict)          # short name -> id


def make_rubric(district_id: int, *, published: bool = True, name: str = "学校工会工作考核细则（测试）") -> RubricIds:
    """20 points: 自身建设 10 = 组织健全 4 (必备) + 参加会议 4 (−1 per absence, floor 0) + 无违纪 2 (一票否决);
    民主管理 10 = 入会率 4 (rate bands, 上级提供) + 计划按时 3 (上级提供) + 计划完成率 3 (上级提供);
    加分 获奖 (bonus up to 5, over the cap)."""
    from app.rubrics.models import Indicator, Rubric, RubricCategory

    rubric = Rubric(district_id=district_id, family=f"t-{uuid.uuid4().hex[:8]}", version=1, name=name,
                    total_points=D(20), status="published" if published else "draft",
                    published_at=datetime.now(timezone.utc) if published else None)
    db.session.add(rubric)
    db.session.flush()
    own = RubricCategory(district_id=district_id, rubric_id=rubric.id, position=1, name="自身建设", cap=D(10))
    demo = RubricCategory(district_id=district_id, rubric_id=rubric.id, position=2, name="民主管理", cap=D(10))
    db.session.add_all([own, demo])
    db.session.flush()
    specs = {
        "org": dict(category_id=own.id, position=1, code="1", title="组织健全", kind="points", max_points=D(4),
                    must_pass=True),
        "meetings": dict(category_id=own.id, position=2, code="2", title="参加培训及会议", kind="deduction",
                         max_points=D(4), deduction_per_unit=D(1), deduction_floor=D(0),
                         guidance="每缺席一次扣 1 分"),
        "discipline": dict(category_id=own.id, position=3, code="3", title="无违纪违法", kind="points",
                           max_points=D(2), veto=True),
        "membership": dict(category_id=demo.id, position=1, code="4", title="入会率", kind="rate_band",
                           max_points=D(4), bands=[[90, 4], [80, 3], [70, 2]], evidence_method="provided",
                           provided_source="membership_rate"),
        "on_time": dict(category_id=demo.id, position=2, code="5", title="计划按时报送", kind="points",
                        max_points=D(3), evidence_method="provided", provided_source="plan_on_time"),
        "completion": dict(category_id=demo.id, position=3, code="6", title="计划完成率", kind="points",
                           max_points=D(3), evidence_method="provided", provided_source="plan_completion_rate"),
        "prize": dict(category_id=demo.id, position=4, code="7", title="获奖加分", kind="bonus", max_points=D(0),
                      bonus_max=D(5)),
    }
    ids = RubricIds(rubric=rubric.id, categories={"自身建设": own.id, "民主管理": demo.id})
    for key, values in specs.items():
        indicator = Indicator(district_id=district_id, rubric_id=rubric.id, **values)
        db.session.add(indicator)
        db.session.flush()
        ids.ind[key] = indicator.id
    return ids


def round_data(kind: str = "annual_review", rubric_id: int | None = None, **overrides) -> dict:
    data = {
        "name": {"annual_review": "2026年度学校工会工作考评", "title": "2026年先进职工之家评选",
                 "re_review": "2026年职工之家复查"}.get(kind, "测试轮次"),
        "kind": kind, "year": 2026, "rubric_id": rubric_id, "home_kind": "staff_home",
        "target_tier": "advanced" if kind == "title" else None,
        "opens_on": date(2026, 3, 1), "closes_on": date(2026, 6, 30), "grace_days": 3,
        "assessment_due_on": date(2026, 7, 31), "publicity_working_days": 5,
        "eligibility": {}, "weights": {"self": 20, "assessor": 80, "peer": 0}, "aggregation": "mean",
        "panel_size": 3, "quotas": {}, "tie_break": ["gates_passed", "category:民主管理", "earlier_submission"],
        "grade_bands": [["excellent", 18], ["good", 15], ["pass", 12]] if kind == "annual_review" else [],
    }
    data.update(overrides)
    return data


FULL_SCORES = {
    "org": {"points": "4", "passed": "1", "note": "委员会、女工委、经审委均已建立"},
    "meetings": {"units": "1", "note": "缺席一次片区会议"},
    "discipline": {"points": "2", "passed": "1"},
}


def full_entries(ids: RubricIds, **changes) -> dict:
    entries = {ids.ind[k]: dict(v) for k, v in FULL_SCORES.items()}
    for key, value in changes.items():
        entries[ids.ind[key]] = value
    return entries


@pytest.fixture
def rubric(app, world) -> RubricIds:
    with in_district(app, world.d1):
        ids = make_rubric(world.d1)
        db.session.commit()
    return ids


def open_round(app, world, rubric_ids: RubricIds, kind="annual_review", today=date(2026, 3, 1), **overrides) -> int:
    from app.rounds import services

    with in_district(app, world.d1):
        round_ = services.create_round(round_data(kind, rubric_ids.rubric, **overrides))
        services.open_round(round_, today=today)
        db.session.commit()
        return round_.id
