"""Results in the JSON API (read-only): the district's calibration of a round and the results a
school may see (the published list, its own feedback). Decisions, publication and objections are
taken on the pages (each needs a reason and is audited)."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from marshmallow import fields

from app.access import requires
from app.api.schemas import StrictSchema
from app.extensions import db
from app.results import services
from app.results.aggregation import fmt
from app.rounds.models import Round

blp = Blueprint("api_results", __name__, url_prefix="/api/v1/d/<district>", description="核分与结果")


class ResultRowSchema(StrictSchema):
    application_id = fields.Integer()
    school_id = fields.Integer()
    school = fields.String()
    self_total = fields.String(allow_none=True)
    assessor_total = fields.String(allow_none=True)
    total = fields.String(allow_none=True)
    assessor_totals = fields.Dict(keys=fields.String(), values=fields.String())
    range = fields.String(allow_none=True)
    disagreement = fields.Boolean()
    rank = fields.String(allow_none=True)
    proposed = fields.String(allow_none=True)
    proposal_reason = fields.String(allow_none=True)
    decided = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    gates_passed = fields.Boolean(allow_none=True)
    error = fields.String(allow_none=True)


class CalibrationSchema(StrictSchema):
    round_id = fields.Integer()
    status = fields.String()
    flag_rule = fields.String()
    problems = fields.List(fields.String())
    items = fields.List(fields.Nested(ResultRowSchema))


class PublishedSchema(StrictSchema):
    round_id = fields.Integer()
    status = fields.String()
    published = fields.Boolean()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    items = fields.List(fields.Dict())
    feedback = fields.Dict(allow_none=True)


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, (g.district.id, round_id))
    if round_ is None:
        abort(404)
    return round_


@blp.route("/rounds/<int:round_id>/results", methods=["GET"])
@requires("results.view")
@blp.response(200, CalibrationSchema)
def calibration(round_id):
    """核分：各校自评、考评、综评总分，分歧提示，推荐与确认结果"""
    round_ = _round_or_404(round_id)
    if round_.status not in ("assessing", "calibrating", "publicised", "final"):
        return {"round_id": round_.id, "status": round_.status, "flag_rule": "", "problems": [], "items": []}
    cal = services.calibrate(round_)
    items = []
    for r in services.sorted_rows(cal, "rank"):
        c = r.combined
        items.append({
            "application_id": r.id, "school_id": r.application.school_id, "school": r.school_name,
            "self_total": fmt(c.self_total) if c else None,
            "assessor_total": fmt(c.assessor_column_total) if c and c.assessor_column_total is not None else None,
            "total": fmt(c.total) if c else None,
            "assessor_totals": {str(k): fmt(v) for k, v in c.assessor_totals.items()} if c else {},
            "range": fmt(c.assessor_spread.range) if c and c.assessor_spread else None,
            "disagreement": bool(r.disagreement and r.disagreement.any),
            "rank": str(r.rank) if r.rank else None,
            "proposed": r.proposed, "proposal_reason": r.placement.reason if r.placement else None,
            "decided": r.decision.level if r.decision else None,
            "decision_reason": r.decision.reason if r.decision else None,
            "gates_passed": c.gates_passed if c else None, "error": r.error,
        })
    return {"round_id": round_.id, "status": round_.status, "flag_rule": cal.flag_rule,
            "problems": cal.problems(), "items": items}


@blp.route("/s/<int:school>/rounds/<int:round_id>/results", methods=["GET"])
@requires("school.view")
@blp.response(200, PublishedSchema)
def published(round_id):
    """学校可见的结果：公示名单（公示期间及之后）与本校反馈"""
    round_ = _round_or_404(round_id)
    if round_.status == "draft":
        abort(404)
    publication = services.active_publication(round_) if round_.status in ("publicised", "final") else None
    if publication is None:
        return {"round_id": round_.id, "status": round_.status, "published": False, "items": [], "feedback": None}
    content = publication.content
    return {"round_id": round_.id, "status": round_.status, "published": True,
            "starts_on": publication.starts_on, "ends_on": publication.ends_on, "items": content.get("rows", []),
            "feedback": content.get("feedback", {}).get(str(g.school.id))}
