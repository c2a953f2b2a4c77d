"""Activity records of a school and the district's completion rates."""
from flask import abort, g
from flask_login import current_user
from flask_smorest import Blueprint

from app.access import requires
from app.activities import services
from app.activities.schemas import (ActivityListArgs, ActivityRecordDetailSchema, ActivityRecordPage,
                                    ActivityRecordPatchSchema, ActivityRecordSchema, CompletionListSchema)
from app.extensions import db

blp = Blueprint("api_activities", __name__, url_prefix="/api/v1/d/<district>", description="活动记录与计划完成率")

FIELDS = ("held_on", "title", "category", "participants", "description", "scheduled_activity_id")


def _fail(exc):
    from flask_smorest import abort as api_abort

    api_abort(422, messages={"json": {getattr(exc, "field", None) or "_schema": [str(exc)]}})


def _record_or_404(record_id):
    record = services.record_for(g.school, record_id)
    if record is None:
        abort(404)
    return record


def _save(data, record=None):
    try:
        saved, stored = services.save_record(g.school, data, record=record, user_id=current_user.id)
        db.session.commit()
    except services.ActivityError as exc:
        db.session.rollback()
        _fail(exc)
    return saved


@blp.route("/s/<int:school>/activities", methods=["GET"])
@requires("school.view")
@blp.arguments(ActivityListArgs, location="query")
@blp.response(200, ActivityRecordPage)
def list_records(args):
    """本校活动记录（按日期倒序；可按年度、月份、类别筛选）"""
    stmt = services.records_query(g.school.id, args["year"], args["month"], args["category"])
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


@blp.route("/s/<int:school>/activities", methods=["POST"])
@requires("school.edit")
@blp.arguments(ActivityRecordSchema)
@blp.response(201, ActivityRecordDetailSchema)
def create_record(data):
    """新增活动记录（可对应本校同年度工作计划中的一项计划活动）"""
    return _save(data)


@blp.route("/s/<int:school>/activities/<int:record_id>", methods=["GET"])
@requires("school.view")
@blp.response(200, ActivityRecordDetailSchema)
def get_record(record_id):
    """一条活动记录及其照片与附件"""
    return _record_or_404(record_id)


@blp.route("/s/<int:school>/activities/<int:record_id>", methods=["PATCH"])
@requires("school.edit")
@blp.arguments(ActivityRecordPatchSchema(partial=True))
@blp.response(200, ActivityRecordDetailSchema)
def update_record(data, record_id):
    """修改活动记录（只改所传字段）"""
    record = _record_or_404(record_id)
    merged = {name: getattr(record, name) for name in FIELDS}
    merged.update(data)
    return _save(merged, record)


@blp.route("/s/<int:school>/activities/<int:record_id>", methods=["DELETE"])
@requires("school.edit")
@blp.response(204)
def delete_record(record_id):
    """删除活动记录及其照片与附件"""
    paths = services.delete_record(_record_or_404(record_id))
    db.session.commit()
    services.discard(paths)


@blp.route("/activities/<int:year>/completion", methods=["GET"])
@requires("district.view")
@blp.response(200, CompletionListSchema)
def completion(year):
    """全区各校工作计划完成率（计划活动已完成数 ÷ 计划活动数；无计划活动时 rate 为 null）"""
    if not 2000 <= year <= 2100:
        abort(404)
    rows = services.district_completion(year)
    return {"year": year, "items": [r.as_dict() for r in rows],
            "totals": services.completion_totals(rows).as_dict()}
