"""Titles (荣誉称号) in the JSON API, read only: the district's list (same filters as the page)
and one title with its history; a school's own titles. Same tenancy and permissions as the
web pages. Changes go through the pages (reasons, confirmations) or a round's finalisation."""
from __future__ import annotations

from flask import abort, g
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.access import requires
from app.api.schemas import PageArgs, StrictSchema, page_schema
from app.extensions import db
from app.titles import services
from app.titles.models import HOME_KINDS, LEVELS, TIERS, TITLE_STATUSES, Title

blp = Blueprint("api_titles", __name__, url_prefix="/api/v1/d/<district>", description="荣誉称号与复查")


class TitleEventSchema(StrictSchema):
    event = fields.String()
    event_label = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String()
    effective_on = fields.Date()
    deadline = fields.Date(allow_none=True)
    changes = fields.Dict()
    round_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class TitleSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    school_name = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    home_kind = fields.String(dump_only=True)
    level = fields.String(dump_only=True)
    tier = fields.String(dump_only=True)
    awarded_on = fields.Date(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    review_due_on = fields.Date(dump_only=True, allow_none=True)
    round_id = fields.Integer(dump_only=True, allow_none=True)
    note = fields.String(dump_only=True)
    exemplar = fields.Boolean(dump_only=True)


class TitleDetailSchema(TitleSchema):
    history = fields.List(fields.Nested(TitleEventSchema), dump_only=True)


class TitleListSchema(StrictSchema):
    items = fields.List(fields.Nested(TitleDetailSchema))


class TitleArgs(PageArgs):
    level = fields.String(load_default="", validate=validate.OneOf(["", *LEVELS]))
    tier = fields.String(load_default="", validate=validate.OneOf(["", *TIERS]))
    status = fields.String(load_default="", validate=validate.OneOf(["", *TITLE_STATUSES]))
    home_kind = fields.String(load_default="", validate=validate.OneOf(["", *HOME_KINDS]))
    year = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1980, max=2100))


def _dict(title: Title, names: dict, flagged: dict, history=None) -> dict:
    data = {f: getattr(title, f) for f in TitleSchema._declared_fields if hasattr(title, f)}
    data["school_name"] = names.get(title.school_id, "")
    data["exemplar"] = (title.tier == "model" and title.status in services.HELD_STATUSES
                        and title.school_id in flagged.get(title.home_kind, {}))
    if history is not None:
        data["history"] = history
    return data


@blp.route("/titles", methods=["GET"])
@requires("titles.view")
@blp.arguments(TitleArgs, location="query")
@blp.response(200, page_schema(TitleSchema))
def list_titles(args):
    """本区的荣誉称号（可按级别、等级、状态、年度、类型筛选，按学校名称、代码或备注搜索）"""
    stmt = services.title_query(level=args["level"], tier=args["tier"], status=args["status"], year=args["year"],
                                home_kind=args["home_kind"], q=args["q"].strip())
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    names = services.school_names(t.school_id for t in page.items)
    flagged = services.exemplars_by_kind(t.school_id for t in page.items)
    return {"items": [_dict(t, names, flagged) for t in page.items], "total": page.total, "page": page.page,
            "pages": page.pages}


@blp.route("/titles/<int:title_id>", methods=["GET"])
@requires("titles.view")
@blp.response(200, TitleDetailSchema)
def get_title(title_id):
    """一个称号及其全部历史记录"""
    title = db.session.get(Title, (g.district.id, title_id))
    if title is None:
        abort(404)
    return _dict(title, services.school_names([title.school_id]), services.exemplars_by_kind([title.school_id]),
                 services.history(title))


@blp.route("/s/<int:school>/titles", methods=["GET"])
@requires("school.view")
@blp.response(200, TitleListSchema)
def list_school_titles():
    """本校的荣誉称号及历史记录"""
    titles = services.school_titles(g.school.id)
    histories = services.histories(titles)
    flagged = services.exemplars_by_kind([g.school.id])
    names = {g.school.id: g.school.name}
    return {"items": [_dict(t, names, flagged, histories[t.id]) for t in titles]}
