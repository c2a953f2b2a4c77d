"""Work plans in the JSON API: plans, versions, review actions and the deadline.

A refused transition answers 409 with the Chinese reason in ``message``.
"""
from flask import abort, g
from flask_smorest import Blueprint
from marshmallow import fields

from app.access import allowed, requires
from app.api.common import conflict as _conflict, year_or_404 as _year
from app.api.schemas import StrictSchema, page_schema
from app.extensions import db
from app.plans import services
from app.plans.schemas import (
    ApproveSchema,
    DeadlineSchema,
    PlanContentSchema,
    PlanDetailSchema,
    PlanListArgs,
    PlanSchema,
    PlanVersionDetailSchema,
    PlanVersionSchema,
    ReturnSchema,
    SubmitSchema,
)
from app.plans.services import Actor, PlanError

blp = Blueprint("api_plans", __name__, url_prefix="/api/v1/d/<district>", description="年度工会工作计划")


class DeadlineOutSchema(StrictSchema):
    year = fields.Integer()
    due_on = fields.Date(allow_none=True)



def _plan_or_404(year: int):
    plan = services.get_plan(g.school.id, _year(year))
    if plan is None:
        abort(404)
    return plan


def _detail(plan):
    """The school's own users see the draft; the district sees the latest submitted version."""
    if allowed("school.edit"):
        content = services.plan_content(plan)
    else:
        version = services.latest_version(plan)
        content = (version.content or {}) if version else services.empty_content()
    return {**_attrs(plan, PlanSchema), "content": content}


def _attrs(obj, schema) -> dict:
    """The object's attributes named by ``schema`` (the response schema dumps them)."""
    return {name: getattr(obj, name) for name in schema().fields}


def _version_detail(version) -> dict:
    comments = [c for items in services.comments_of(version).values() for c in items]
    return {**_attrs(version, PlanVersionSchema), "content": version.content or {}, "comments": comments}


# --------------------------------------------------------------------------- school side

@blp.route("/s/<int:school>/plans", methods=["GET"])
@requires("school.view")
@blp.response(200, PlanSchema(many=True))
def list_school_plans():
    """本校各年度的工作计划"""
    from sqlalchemy import select

    from app.plans.models import WorkPlan

    return db.session.scalars(select(WorkPlan).where(WorkPlan.school_id == g.school.id)
                              .order_by(WorkPlan.year.desc())).all()


@blp.route("/s/<int:school>/plans/<int:year>", methods=["GET"])
@requires("school.view")
@blp.response(200, PlanDetailSchema)
def get_plan(year):
    """一个年度的计划及其内容"""
    return _detail(_plan_or_404(year))


@blp.route("/s/<int:school>/plans/<int:year>", methods=["PUT"])
@requires("school.edit")
@blp.arguments(PlanContentSchema)
@blp.response(200, PlanDetailSchema)
def save_plan(data, year):
    """保存草稿（整份内容；活动带 id 时保留原活动）"""
    try:
        plan = services.save_draft(g.school, _year(year), data, Actor.current())
        db.session.commit()
    except PlanError as exc:
        _conflict(exc)
    return _detail(plan)


@blp.route("/s/<int:school>/plans/<int:year>/submit", methods=["POST"])
@requires("school.submit")
@blp.arguments(SubmitSchema)
@blp.response(201, PlanVersionSchema)
def submit_plan(_data, year):
    """提交（或退回后重新提交）当前草稿，生成不可修改的版本"""
    plan = _plan_or_404(year)
    try:
        version = services.submit(plan, Actor.current())
        db.session.commit()
    except PlanError as exc:
        _conflict(exc)
    return version


@blp.route("/s/<int:school>/plans/<int:year>/versions", methods=["GET"])
@requires("school.view")
@blp.response(200, PlanVersionSchema(many=True))
def list_versions(year):
    """计划的各个提交版本（新的在前）"""
    return services.versions_of(_plan_or_404(year))


@blp.route("/s/<int:school>/plans/<int:year>/versions/<int:number>", methods=["GET"])
@requires("school.view")
@blp.response(200, PlanVersionDetailSchema)
def get_version(year, number):
    """一个版本的内容与审核意见"""
    version = services.version_by_number(_plan_or_404(year), number)
    if version is None:
        abort(404)
    return _version_detail(version)


# --------------------------------------------------------------------------- district side

@blp.route("/plans", methods=["GET"])
@requires("plans.review")
@blp.arguments(PlanListArgs, location="query")
@blp.response(200, page_schema(PlanSchema))
def list_plans(args):
    """本区的工作计划（按年度、状态、学校名称筛选）"""
    from sqlalchemy import select

    from app.plans.models import WorkPlan
    from tenants.models import School

    stmt = select(WorkPlan).join(School, (School.district_id == WorkPlan.district_id) & (School.id == WorkPlan.school_id))
    if args["year"]:
        stmt = stmt.where(WorkPlan.year == args["year"])
    if args["status"]:
        stmt = stmt.where(WorkPlan.status == args["status"])
    if args["q"]:
        stmt = stmt.where(School.name.like(f"%{args['q']}%"))
    page = db.paginate(stmt.order_by(WorkPlan.year.desc(), School.name), page=args["page"],
                       per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


def _district_plan(plan_id: int):
    plan = services.plan_by_id(plan_id)
    if plan is None:
        abort(404)
    return plan


@blp.route("/plans/<int:plan_id>/approve", methods=["POST"])
@requires("plans.review")
@blp.arguments(ApproveSchema)
@blp.response(200, PlanVersionSchema)
def approve_plan(data, plan_id):
    """通过指定版本（须为最新提交、尚未审核的版本）"""
    plan = _district_plan(plan_id)
    try:
        version = services.approve(plan, data["version"], Actor.current(), data["note"])
        db.session.commit()
    except PlanError as exc:
        _conflict(exc)
    return version


@blp.route("/plans/<int:plan_id>/return", methods=["POST"])
@requires("plans.review")
@blp.arguments(ReturnSchema)
@blp.response(200, PlanVersionDetailSchema)
def return_plan(data, plan_id):
    """退回指定版本，意见可附在各部分（anchor：guiding_ideology、goals、section:<n>、measures、schedule）"""
    plan = _district_plan(plan_id)
    try:
        version = services.return_plan(plan, data["version"], [(c["anchor"], c["text"]) for c in data["comments"]],
                                       Actor.current(), data["note"])
        db.session.commit()
    except PlanError as exc:
        _conflict(exc)
    return _version_detail(version)


@blp.route("/plans/<int:year>/deadline", methods=["GET"])
@requires("school.view")
@blp.response(200, DeadlineOutSchema)
def get_deadline(year):
    """某年度计划的报送截止日期（未设置时为 null）"""
    deadline = services.deadline_for(_year(year))
    return {"year": year, "due_on": deadline.due_on if deadline else None}


@blp.route("/plans/<int:year>/deadline", methods=["PUT"])
@requires("plans.deadline")
@blp.arguments(DeadlineSchema)
@blp.response(200, DeadlineOutSchema)
def set_deadline(data, year):
    """设置某年度计划的报送截止日期"""
    try:
        deadline = services.set_deadline(_year(year), data["due_on"], Actor.current())
        db.session.commit()
    except PlanError as exc:
        _conflict(exc)
    return {"year": year, "due_on": deadline.due_on}
