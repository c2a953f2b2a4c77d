"""Rounds and applications in the JSON API. Same tenancy and permissions as the web pages;
unknown fields are refused (unknown=RAISE); district, school, status and snapshot fields
are never loadable."""
from __future__ import annotations

from flask import abort, g
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest import abort as api_abort
from marshmallow import fields, validate

from app.access import requires
from app.api.schemas import StrictSchema
from app.extensions import db
from app.rounds import services
from app.rounds.models import Application, Round
from tenants.models import School

blp = Blueprint("api_rounds", __name__, url_prefix="/api/v1/d/<district>", description="评选/考核轮次与申报")


class RoundSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    kind_label = fields.String(dump_only=True)
    year = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    rubric_id = fields.Integer(dump_only=True, allow_none=True)
    home_kind = fields.String(dump_only=True)
    target_tier = fields.String(dump_only=True, allow_none=True)
    opens_on = fields.Date(dump_only=True, allow_none=True)
    closes_on = fields.Date(dump_only=True, allow_none=True)
    grace_days = fields.Integer(dump_only=True)
    last_day = fields.Date(dump_only=True, allow_none=True)
    assessment_due_on = fields.Date(dump_only=True, allow_none=True)
    publicity_working_days = fields.Integer(dump_only=True)
    eligibility = fields.Dict(dump_only=True)
    weights = fields.Dict(dump_only=True)
    aggregation = fields.String(dump_only=True)
    panel_size = fields.Integer(dump_only=True, allow_none=True)
    disagreement_threshold = fields.Decimal(dump_only=True, allow_none=True, as_string=True)
    quotas = fields.Dict(dump_only=True)
    tie_break = fields.List(fields.String(), dump_only=True)
    grade_bands = fields.List(fields.List(fields.Raw()), dump_only=True)
    opened_at = fields.DateTime(dump_only=True, allow_none=True)


class RoundListSchema(StrictSchema):
    items = fields.List(fields.Nested(RoundSchema))


class ApplicationSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    school_name = fields.String(dump_only=True)
    round_id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    entered_automatically = fields.Boolean(dump_only=True)
    title_id = fields.Integer(dump_only=True, allow_none=True)
    late = fields.Boolean(dump_only=True)
    latest_snapshot_no = fields.Integer(dump_only=True)
    first_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    last_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    indicators_filled = fields.Integer(dump_only=True)
    indicators_total = fields.Integer(dump_only=True)
    indicators_with_evidence = fields.Integer(dump_only=True)
    self_total = fields.String(dump_only=True, allow_none=True)


class ApplicationListSchema(StrictSchema):
    items = fields.List(fields.Nested(ApplicationSchema))


class SelfScoreOutSchema(StrictSchema):
    indicator_id = fields.Integer()
    code = fields.String()
    title = fields.String()
    kind = fields.String()
    points = fields.Decimal(as_string=True, allow_none=True)
    units = fields.Integer(allow_none=True)
    rate = fields.Decimal(as_string=True, allow_none=True)
    passed = fields.Boolean(allow_none=True)
    note = fields.String()
    provided = fields.Boolean()
    computed_points = fields.Decimal(as_string=True, allow_none=True)


class EvidenceOutSchema(StrictSchema):
    id = fields.Integer()
    indicator_id = fields.Integer()
    original_name = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class CommentOutSchema(StrictSchema):
    indicator_id = fields.Integer(allow_none=True)
    text = fields.String()
    snapshot_no = fields.Integer()
    created_at = fields.DateTime()


class ApplicationDetailSchema(ApplicationSchema):
    summary = fields.String(dump_only=True)
    scores = fields.List(fields.Nested(SelfScoreOutSchema), dump_only=True)
    evidence = fields.List(fields.Nested(EvidenceOutSchema), dump_only=True)
    comments = fields.List(fields.Nested(CommentOutSchema), dump_only=True)
    missing = fields.List(fields.Integer(), dump_only=True)
    edit_problem = fields.String(dump_only=True, allow_none=True)


class ScoreInSchema(StrictSchema):
    indicator_id = fields.Integer(required=True)
    points = fields.Decimal(allow_none=True, load_default=None)
    units = fields.Integer(allow_none=True, load_default=None)
    rate = fields.Decimal(allow_none=True, load_default=None)
    passed = fields.Boolean(allow_none=True, load_default=None)
    note = fields.String(load_default="", validate=validate.Length(max=services.MAX_NOTE))


class ScoresUpdateSchema(StrictSchema):
    scores = fields.List(fields.Nested(ScoreInSchema), required=True, validate=validate.Length(max=500))
    summary = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=services.MAX_SUMMARY))


class SubmitResultSchema(StrictSchema):
    application = fields.Nested(ApplicationDetailSchema)
    snapshot_number = fields.Integer()
    dossier_run_id = fields.Integer(allow_none=True)


def _fail(exc, status=422):
    errors = {str(k): [str(v)] for k, v in getattr(exc, "errors", {"_": str(exc)}).items()}
    api_abort(status, messages={"json": errors})


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, (g.district.id, round_id))
    if round_ is None:
        abort(404)
    return round_


def _round_dict(round_: Round) -> dict:
    data = {f: getattr(round_, f) for f in RoundSchema._declared_fields if hasattr(round_, f)}
    data["last_day"] = services.last_day(round_)
    return data


def _application_dict(application: Application, row: services.ProgressRow | None = None,
                      school_name: str = "") -> dict:
    data = {f: getattr(application, f) for f in ApplicationSchema._declared_fields if hasattr(application, f)}
    data["school_name"] = row.school.name if row else school_name
    if row is not None:
        data.update(indicators_filled=row.filled, indicators_total=row.total,
                    indicators_with_evidence=row.with_evidence, self_total=row.self_total)
    return data


def _detail(application: Application) -> dict:
    round_ = db.session.get(Round, (application.district_id, application.round_id))
    school = db.session.get(School, (application.district_id, application.school_id))
    parts = services.rubric_parts(round_.rubric_id)
    rows = services.scores_of(application)
    try:
        computed = services.evaluate(parts, rows).indicators
    except Exception:  # noqa: BLE001 - an out-of-bounds saved value: show inputs without points
        computed = {}
    evidence = services.evidence_rows(application)
    counted = [i for i in parts.indicators if i.kind != "bonus"]
    data = _application_dict(application, school_name=school.name if school else "")
    data.update(
        summary=application.summary,
        indicators_total=len(counted),
        indicators_filled=sum(1 for i in counted if rows.get(i.id) and any(
            getattr(rows[i.id], k) is not None for k in ("points", "units", "rate"))),
        indicators_with_evidence=len({e.indicator_id for e in evidence if e.indicator_id in {i.id for i in counted}}),
        scores=[{"indicator_id": i.id, "code": i.code, "title": i.title, "kind": i.kind,
                 "points": rows[i.id].points if i.id in rows else None,
                 "units": rows[i.id].units if i.id in rows else None,
                 "rate": rows[i.id].rate if i.id in rows else None,
                 "passed": rows[i.id].passed if i.id in rows else None,
                 "note": rows[i.id].note if i.id in rows else "",
                 "provided": services.is_provided(i), "computed_points": computed.get(i.id)}
                for i in parts.indicators],
        evidence=evidence,
        comments=services.comments_of(application),
        missing=[i.id for i in services.missing_inputs(parts, rows)],
        edit_problem=services.edit_problem(application, round_),
    )
    snapshots = services.snapshots_of(application)
    data["self_total"] = (snapshots[0].content or {}).get("total") if snapshots else None
    return data


# --- district -------------------------------------------------------------------------------------

@blp.route("/rounds", methods=["GET"])
@requires("rounds.view")
@blp.response(200, RoundListSchema)
def list_rounds():
    """本区的评选/考核轮次"""
    from sqlalchemy import select

    rounds = db.session.scalars(select(Round).order_by(Round.year.desc(), Round.id.desc())).all()
    return {"items": [_round_dict(r) for r in rounds]}


@blp.route("/rounds/<int:round_id>", methods=["GET"])
@requires("rounds.view")
@blp.response(200, RoundSchema)
def get_round(round_id):
    """一个轮次的设置"""
    return _round_dict(_round_or_404(round_id))


@blp.route("/rounds/<int:round_id>/applications", methods=["GET"])
@requires("rounds.view")
@blp.response(200, ApplicationListSchema)
def list_round_applications(round_id):
    """本轮次各校的申报（状态与完成度）"""
    round_ = _round_or_404(round_id)
    return {"items": [_application_dict(r.application, r) for r in services.progress(round_) if r.application]}


# --- school ---------------------------------------------------------------------------------------

@blp.route("/s/<int:school>/rounds", methods=["GET"])
@requires("school.view")
@blp.response(200, RoundListSchema)
def list_school_rounds():
    """学校可见的轮次（已开始申报的）"""
    return {"items": [_round_dict(r) for r in services.visible_rounds()]}


@blp.route("/s/<int:school>/applications", methods=["GET"])
@requires("school.view")
@blp.response(200, ApplicationListSchema)
def list_applications():
    """本校的申报"""
    from sqlalchemy import select

    apps = db.session.scalars(select(Application).where(Application.school_id == g.school.id)
                              .order_by(Application.id.desc())).all()
    return {"items": [_application_dict(a, school_name=g.school.name) for a in apps]}


def _application_or_404(application_id: int) -> Application:
    application = db.session.get(Application, (g.district.id, application_id))
    if application is None or application.school_id != g.school.id:
        abort(404)
    return application


@blp.route("/s/<int:school>/applications/<int:application_id>", methods=["GET"])
@requires("school.view")
@blp.response(200, ApplicationDetailSchema)
def get_application(application_id):
    """一份申报：自评分、佐证材料、修改意见"""
    return _detail(_application_or_404(application_id))


@blp.route("/s/<int:school>/applications/<int:application_id>/scores", methods=["PUT"])
@requires("school.edit")
@blp.arguments(ScoresUpdateSchema)
@blp.response(200, ApplicationDetailSchema)
def update_scores(data, application_id):
    """填写自评分（列出的指标整体替换；上级提供的指标只读）"""
    application = _application_or_404(application_id)
    entries = {}
    for item in data["scores"]:
        indicator_id = item.pop("indicator_id")
        if indicator_id in entries:
            _fail(services.ApplicationError({indicator_id: "同一指标不能重复填写"}))
        entries[indicator_id] = item
    try:
        services.save_self_scores(application, entries, summary=data.get("summary"), user_id=current_user.id)
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        _fail(exc)
    return _detail(application)


@blp.route("/s/<int:school>/applications/<int:application_id>/submit", methods=["POST"])
@requires("school.submit")
@blp.response(200, SubmitResultSchema)
def submit_application(application_id):
    """提交申报：冻结快照并排队生成材料汇编"""
    application = _application_or_404(application_id)
    try:
        snapshot = services.submit(application, user_id=current_user.id, roles=g.scope.roles)
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        _fail(exc, 409 if application.status not in services.EDITABLE else 422)
    return {"application": _detail(application), "snapshot_number": snapshot.number,
            "dossier_run_id": snapshot.dossier_run_id}
