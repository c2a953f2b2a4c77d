"""API schemas for activity records and completion. Unknown fields are rejected; the
district, school and year of a record come from the URL and the date, never from a payload."""
from flask import url_for
from marshmallow import fields, validate

from app.activities import services
from app.api.schemas import StrictSchema
from app.plans.models import CATEGORIES


class ActivityFileSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    original_name = fields.String(dump_only=True)
    content_type = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True)
    uploaded_at = fields.DateTime(dump_only=True)
    url = fields.Method("get_url", dump_only=True)

    def get_url(self, obj):
        return url_for("activities.download", school=obj.school_id, record_id=obj.record_id, file_id=obj.id)


class ActivityRecordSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    held_on = fields.Date(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    category = fields.String(required=True, validate=validate.OneOf(list(CATEGORIES)))
    category_label = fields.Method("get_category_label", dump_only=True)
    participants = fields.Integer(load_default=0, validate=validate.Range(min=0, max=services.MAX_PARTICIPANTS))
    description = fields.String(load_default="", validate=validate.Length(max=services.MAX_DESCRIPTION))
    scheduled_activity_id = fields.Integer(allow_none=True, load_default=None)
    created_at = fields.DateTime(dump_only=True)

    def get_category_label(self, obj):
        return services.category_label(obj.category)


class ActivityRecordDetailSchema(ActivityRecordSchema):
    files = fields.Method("get_files", dump_only=True)

    def get_files(self, obj):
        return ActivityFileSchema(many=True).dump(services.files_of(obj))


class ActivityRecordPatchSchema(ActivityRecordSchema):
    """Partial update: only the fields sent change."""


class ActivityListArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    month = fields.Integer(load_default=None, validate=validate.Range(min=1, max=12))
    category = fields.String(load_default=None, validate=validate.OneOf(list(CATEGORIES)))


class ActivityRecordPage(StrictSchema):
    items = fields.List(fields.Nested(ActivityRecordSchema))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()


class CompletionSchema(StrictSchema):
    school_id = fields.Integer()
    school_name = fields.String()
    plan_status = fields.String()
    plan_status_label = fields.String()
    planned = fields.Integer()
    done = fields.Integer()
    rate = fields.Float(allow_none=True)
    records = fields.Integer()


class CompletionListSchema(StrictSchema):
    year = fields.Integer()
    items = fields.List(fields.Nested(CompletionSchema))
    totals = fields.Nested(CompletionSchema)
