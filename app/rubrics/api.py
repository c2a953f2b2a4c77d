"""Rubrics in the JSON API: list, one version with its computed totals, create a draft, copy,
publish. Same tenancy and permissions as the web pages."""
from __future__ import annotations

import math

from flask import abort
from flask_smorest import Blueprint
from flask_smorest import abort as api_abort

from app.access import requires
from app.api.schemas import PageArgs, page_schema
from app.extensions import db
from app.rubrics import services
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS
from app.rubrics.schemas import RubricDetailSchema, RubricInSchema, RubricSchema

blp = Blueprint("api_rubrics", __name__, url_prefix="/api/v1/d/<district>", description="考核细则")


def _summary(v: services.RubricView) -> dict:
    r = v.rubric
    return {"id": r.id, "district_id": r.district_id, "family": r.family, "version": r.version, "name": r.name,
            "status": r.status, "status_label": v.status_label, "total_points": r.total_points,
            "caps_total": v.caps_total, "points_total": v.points_total, "bonus_total": v.bonus_total,
            "problems": v.problems, "locked": v.locked, "editable": v.editable,
            "copied_from_id": r.copied_from_id, "published_at": r.published_at, "created_at": r.created_at}


def _detail(v: services.RubricView) -> dict:
    out = _summary(v)
    out["description"], out["notes"] = v.rubric.description or "", v.rubric.notes or ""
    out["categories"] = [{
        "id": cv.category.id, "position": cv.category.position, "name": cv.category.name, "cap": cv.category.cap,
        "points_total": cv.points, "bonus_total": cv.bonus, "adds_up": cv.adds_up,
        "indicators": [{
            "id": i.id, "category_id": i.category_id, "position": i.position, "code": i.code, "title": i.title,
            "guidance": i.guidance, "kind": i.kind, "kind_label": INDICATOR_KINDS.get(i.kind, i.kind),
            "max_points": i.max_points, "evidence_method": i.evidence_method,
            "evidence_method_label": EVIDENCE_METHODS.get(i.evidence_method, i.evidence_method),
            "provided_source": i.provided_source, "must_pass": i.must_pass, "veto": i.veto,
            "deduction_per_unit": i.deduction_per_unit, "deduction_floor": i.deduction_floor,
            "bonus_max": i.bonus_max, "bands": i.bands or []} for i in cv.indicators],
    } for cv in v.categories]
    return out


def _rubric_or_404(rubric_id: int):
    rubric = services.get_rubric(rubric_id)
    if rubric is None:
        abort(404)
    return rubric


@blp.route("/rubrics", methods=["GET"])
@requires("rubrics.view")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RubricSchema))
def list_rubrics(args):
    """本区考核细则的各个版本（含计算出的合计和问题）"""
    views = services.list_views(args["q"])
    start = (args["page"] - 1) * args["per_page"]
    return {"items": [_summary(v) for v in views[start:start + args["per_page"]]], "total": len(views),
            "page": args["page"], "pages": max(1, math.ceil(len(views) / args["per_page"]))}


@blp.route("/rubrics", methods=["POST"])
@requires("rubrics.manage")
@blp.arguments(RubricInSchema)
@blp.response(201, RubricDetailSchema)
def create_rubric(data):
    """新建考核细则草稿（可含类别和指标）；new_version_of 指定时为该系列的新版本"""
    family = None
    if data.get("new_version_of") is not None:
        base = services.get_rubric(data["new_version_of"])
        if base is None:
            api_abort(422, messages={"json": {"new_version_of": ["找不到该考核细则"]}})
        family = base.family
    clean, errors = services.clean_document(data)
    if errors:
        found: dict[str, list[str]] = {}
        for path, message in errors:
            found.setdefault(path, []).append(message)
        api_abort(422, messages={"json": found})
    rubric = services.create_rubric(clean, family=family)
    db.session.commit()
    return _detail(services.view(rubric))


@blp.route("/rubrics/<int:rubric_id>", methods=["GET"])
@requires("rubrics.view")
@blp.response(200, RubricDetailSchema)
def get_rubric(rubric_id):
    """一个版本：类别、指标、计算出的合计、不能发布的原因、是否锁定"""
    return _detail(services.view(_rubric_or_404(rubric_id)))


@blp.route("/rubrics/<int:rubric_id>/copy", methods=["POST"])
@requires("rubrics.manage")
@blp.response(201, RubricDetailSchema)
def copy_rubric(rubric_id):
    """复制为同一系列的新版本（草稿）"""
    rubric = services.copy_rubric(_rubric_or_404(rubric_id))
    db.session.commit()
    return _detail(services.view(rubric))


@blp.route("/rubrics/<int:rubric_id>/publish", methods=["POST"])
@requires("rubrics.manage")
@blp.response(200, RubricDetailSchema)
def publish_rubric(rubric_id):
    """发布草稿；分值对不上时 422，errors.problems 列出原因"""
    rubric = _rubric_or_404(rubric_id)
    try:
        services.publish(rubric)
        db.session.commit()
    except services.RubricError as exc:
        db.session.rollback()
        if exc.problems:
            api_abort(422, messages={"problems": exc.problems})
        api_abort(409, messages={"json": {"_schema": [str(exc)]}})
    return _detail(services.view(rubric))
