"""API schemas of the work plans. Unknown fields are rejected; ids, tenants, statuses and
review decisions are never loadable from a payload (DESIGN §10)."""
from marshmallow import fields, validate

from app.api.schemas import PageArgs, StrictSchema
from app.plans import services
from app.plans.models import CATEGORIES, STATUS_LABELS

_CATEGORY = validate.OneOf(list(CATEGORIES))


class PlanItemSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(max=services.MAX_LINE))
    category = fields.String(load_default="other", validate=_CATEGORY)


class PlanSectionSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(max=services.MAX_SECTION_TITLE))
    items = fields.List(fields.Nested(PlanItemSchema), load_default=list,
                        validate=validate.Length(max=services.MAX_ROWS))


class ScheduledActivitySchema(StrictSchema):
    id = fields.Integer(allow_none=True, load_default=None, metadata={"description": "保留已有活动的 id"})
    title = fields.String(required=True, validate=validate.Length(min=1, max=services.MAX_LINE))
    category = fields.String(load_default="other", validate=_CATEGORY)


class ScheduleSlotSchema(StrictSchema):
    months = fields.List(fields.Integer(validate=validate.Range(min=1, max=12)), required=True,
                         validate=validate.Length(min=1, max=12))
    activities = fields.List(fields.Nested(ScheduledActivitySchema), required=True,
                             validate=validate.Length(max=services.MAX_ROWS))


class PlanContentSchema(StrictSchema):
    """The structured content of a plan (a draft, or a frozen version)."""

    title = fields.String(load_default="", validate=validate.Length(max=services.MAX_TITLE))
    guiding_ideology = fields.String(load_default="", validate=validate.Length(max=services.MAX_TEXT))
    goals = fields.String(load_default="", validate=validate.Length(max=services.MAX_TEXT))
    sections = fields.List(fields.Nested(PlanSectionSchema), load_default=list,
                           validate=validate.Length(max=services.MAX_ROWS))
    measures = fields.List(fields.String(validate=validate.Length(max=services.MAX_LINE)), load_default=list,
                           validate=validate.Length(max=services.MAX_ROWS))
    schedule = fields.List(fields.Nested(ScheduleSlotSchema), load_default=list,
                           validate=validate.Length(max=services.MAX_ROWS))
    unclassified = fields.List(fields.String(validate=validate.Length(max=services.MAX_LINE)), load_default=list,
                               validate=validate.Length(max=services.MAX_ROWS))


class PlanSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    year = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    status_label = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    has_unsubmitted_changes = fields.Boolean(dump_only=True)
    latest_version_no = fields.Integer(dump_only=True)
    approved_version_id = fields.Integer(dump_only=True, allow_none=True)
    first_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    last_submitted_at = fields.DateTime(dump_only=True, allow_none=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)


class PlanDetailSchema(PlanSchema):
    content = fields.Nested(PlanContentSchema, dump_only=True)


class ReviewCommentSchema(StrictSchema):
    anchor = fields.String(required=True, validate=validate.Regexp(services.ANCHOR_RE))
    text = fields.String(required=True, validate=validate.Length(min=1, max=services.MAX_LINE))


class ReviewCommentOutSchema(ReviewCommentSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class PlanVersionSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    plan_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    submitted_at = fields.DateTime(dump_only=True)
    submitted_by = fields.Integer(dump_only=True, allow_none=True)
    decision = fields.String(dump_only=True)
    decided_at = fields.DateTime(dump_only=True, allow_none=True)
    decision_note = fields.String(dump_only=True)
    dossier_run_id = fields.Integer(dump_only=True, allow_none=True)


class PlanVersionDetailSchema(PlanVersionSchema):
    content = fields.Dict(dump_only=True)
    comments = fields.List(fields.Nested(ReviewCommentOutSchema), dump_only=True)


class SubmitSchema(StrictSchema):
    """No fields: the chair submits the current draft."""


class ApproveSchema(StrictSchema):
    version = fields.Integer(required=True, metadata={"description": "通过的版本号（须为最新提交的版本）"})
    note = fields.String(load_default="", validate=validate.Length(max=services.MAX_LINE))


class ReturnSchema(StrictSchema):
    version = fields.Integer(required=True, metadata={"description": "退回的版本号（须为最新提交的版本）"})
    note = fields.String(load_default="", validate=validate.Length(max=services.MAX_LINE))
    comments = fields.List(fields.Nested(ReviewCommentSchema), load_default=list,
                           validate=validate.Length(max=100))


class DeadlineSchema(StrictSchema):
    year = fields.Integer(dump_only=True)
    due_on = fields.Date(required=True)


class PlanListArgs(PageArgs):
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100))
    status = fields.String(load_default="", validate=validate.OneOf(["", *STATUS_LABELS]))
