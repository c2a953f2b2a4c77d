"""工作总结 in the JSON API: a school's summary (read, save the draft, submit), its versions,
and the district's list and decisions (阅收 / 退回). A refused transition answers 409 with the
Chinese reason in ``message``. Same permissions and tenancy as the pages."""
from flask import abort, g
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.access import allowed, requires
from app.api.common import conflict as _conflict, year_or_404 as _year
from app.api.schemas import StrictSchema
from app.extensions import db
from app.plans.services import Actor
from app.summaries import services
from app.summaries.models import SECTION_KEYS
from app.summaries.services import SummaryError

blp = Blueprint("api_summaries", __name__, url_prefix="/api/v1/d/<district>", description="工作总结")


class SummarySectionsSchema(StrictSchema):
    achievements = fields.String(load_default="", validate=validate.Length(max=services.MAX_SECTION))
    highlights = fields.String(load_default="", validate=validate.Length(max=services.MAX_SECTION))
    problems = fields.String(load_default="", validate=validate.Length(max=services.MAX_SECTION))
    next_year = fields.String(load_default="", validate=validate.Length(max=services.MAX_SECTION))


class SummaryVersionSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    submitted_at = fields.DateTime(dump_only=True)
    decision = fields.String(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    decision_note = fields.String(dump_only=True)
    content = fields.Dict(dump_only=True)


class YearSummarySchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    latest_version_no = fields.Integer(dump_only=True)
    first_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    last_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)
    sections = fields.Dict(dump_only=True, metadata={"description": "本校用户看到草稿；区教育工会看到最新提交的版本"})
    figures = fields.Dict(dump_only=True, metadata={"description": "系统根据计划与活动记录计算的年度数据（当前值）"})
    versions = fields.List(fields.Nested(SummaryVersionSchema), dump_only=True)


class SummarySubmitSchema(StrictSchema):
    """No fields: the chair submits the saved draft."""


class SummaryDecisionSchema(StrictSchema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=100000),
                             metadata={"description": "所处理的版本号（须为最新提交的版本）"})
    note = fields.String(load_default="", validate=validate.Length(max=services.MAX_NOTE),
                         metadata={"description": "意见；退回时必填"})


class SummaryTrackingArgs(StrictSchema):
    status = fields.String(load_default="", validate=validate.OneOf(["", *services.TRACKING_LABELS]))
    q = fields.String(load_default="", validate=validate.Length(max=50))


class SummaryTrackingRowSchema(StrictSchema):
    school_id = fields.Integer(dump_only=True)
    school_name = fields.String(dump_only=True)
    summary_id = fields.Integer(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    first_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    last_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    accepted_at = fields.DateTime(dump_only=True, allow_none=True)



def _version(v) -> dict:
    return {name: getattr(v, name) for name in SummaryVersionSchema().fields}


def _detail(summary) -> dict:
    versions = services.versions_of(summary)
    if allowed("school.edit"):
        sections = summary.sections()
    else:  # the district sees what was submitted, not the school's working draft
        sections = (versions[0].content or {}).get("sections", {}) if versions else {k: "" for k in SECTION_KEYS}
    out = {name: getattr(summary, name) for name in YearSummarySchema().fields
           if name not in ("sections", "figures", "versions")}
    return {**out, "sections": sections, "figures": services.compute_figures(summary.school_id, summary.year),
            "versions": [_version(v) for v in versions]}


def _own_summary(year: int):
    summary = services.get_summary(g.school.id, _year(year))
    if summary is None:
        abort(404)
    return summary


@blp.route("/s/<int:school>/summaries/<int:year>", methods=["GET"])
@requires("school.view")
@blp.response(200, YearSummarySchema)
def get_summary(year):
    """一个年度的工作总结（内容、状态、年度数据与各提交版本）"""
    return _detail(_own_summary(year))


@blp.route("/s/<int:school>/summaries/<int:year>", methods=["PUT"])
@requires("school.edit")
@blp.arguments(SummarySectionsSchema)
@blp.response(200, YearSummarySchema)
def save_summary(data, year):
    """保存草稿（四个部分的全文）"""
    try:
        summary = services.save_draft(g.school, _year(year), data, Actor.current())
        db.session.commit()
    except SummaryError as exc:
        _conflict(exc)
    return _detail(summary)


@blp.route("/s/<int:school>/summaries/<int:year>/submit", methods=["POST"])
@requires("school.submit")
@blp.arguments(SummarySubmitSchema)
@blp.response(201, SummaryVersionSchema)
def submit_summary(_data, year):
    """提交（或退回后重新提交）已保存的草稿，生成不可修改的版本并排队生成材料汇编"""
    summary = _own_summary(year)
    try:
        version = services.submit(summary, Actor.current())
        db.session.commit()
    except SummaryError as exc:
        _conflict(exc)
    return _version(version)


@blp.route("/summaries/<int:year>", methods=["GET"])
@requires("district.view")
@blp.arguments(SummaryTrackingArgs, location="query")
@blp.response(200, SummaryTrackingRowSchema(many=True))
def list_summaries(args, year):
    """本区各校某年度工作总结的报送情况（未提交/已提交/已退回/已阅收）"""
    rows = services.tracking_rows(_year(year), status=args["status"], q=args["q"])
    return [{"school_id": r.school.id, "school_name": r.school.name, "summary_id": r.summary.id if r.summary else None,
             "status": r.status, "status_label": str(r.status_label),
             "first_submitted_at": r.summary.first_submitted_at if r.summary else None,
             "last_submitted_at": r.summary.last_submitted_at if r.summary else None,
             "accepted_at": r.summary.accepted_at if r.summary else None} for r in rows]


def _district_summary(summary_id: int):
    summary = services.summary_by_id(summary_id)
    if summary is None:
        abort(404)
    return summary


@blp.route("/summaries/review/<int:summary_id>/accept", methods=["POST"])
@requires("plans.review")
@blp.arguments(SummaryDecisionSchema)
@blp.response(200, SummaryVersionSchema)
def accept_summary(data, summary_id):
    """阅收指定版本（须为最新提交、尚未处理的版本）"""
    summary = _district_summary(summary_id)
    try:
        version = services.accept(summary, data["version"], Actor.current(), data["note"])
        db.session.commit()
    except SummaryError as exc:
        _conflict(exc)
    return _version(version)


@blp.route("/summaries/review/<int:summary_id>/return", methods=["POST"])
@requires("plans.review")
@blp.arguments(SummaryDecisionSchema)
@blp.response(200, SummaryVersionSchema)
def return_summary(data, summary_id):
    """退回指定版本，note 为修改意见（必填）"""
    summary = _district_summary(summary_id)
    try:
        version = services.return_summary(summary, data["version"], Actor.current(), data["note"])
        db.session.commit()
    except SummaryError as exc:
        _conflict(exc)
    return _version(version)
