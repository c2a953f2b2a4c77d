"""API schemas for rubrics. Unknown fields are rejected; ids, the district, the status and
the version are never loadable (DESIGN §10)."""
from marshmallow import fields, validate

from app.api.schemas import StrictSchema
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES

Number = fields.Decimal  # loaded as Decimal; the service checks ranges and two decimals


class IndicatorInSchema(StrictSchema):
    code = fields.String(load_default="", validate=validate.Length(max=20))
    title = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    guidance = fields.String(load_default="", validate=validate.Length(max=4000))
    kind = fields.String(load_default="points", validate=validate.OneOf(list(INDICATOR_KINDS)))
    max_points = Number(allow_none=True, load_default=None)
    evidence_method = fields.String(load_default="records", validate=validate.OneOf(list(EVIDENCE_METHODS)))
    provided_source = fields.String(allow_none=True, load_default=None,
                                    validate=validate.OneOf(list(PROVIDED_SOURCES)))
    must_pass = fields.Boolean(load_default=False)
    veto = fields.Boolean(load_default=False)
    deduction_per_unit = Number(allow_none=True, load_default=None)
    deduction_floor = Number(allow_none=True, load_default=None)
    bonus_max = Number(allow_none=True, load_default=None)
    bands = fields.List(fields.List(Number(), validate=validate.Length(equal=2)), load_default=list,
                        metadata={"description": "[[最低比率%, 得分], …]，如 [[90, 4], [80, 3]]"})


class CategoryInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    cap = Number(required=True)
    indicators = fields.List(fields.Nested(IndicatorInSchema), load_default=list)


class RubricInSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    total_points = Number(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    notes = fields.String(load_default="", validate=validate.Length(max=10000))
    categories = fields.List(fields.Nested(CategoryInSchema), load_default=list)
    new_version_of = fields.Integer(allow_none=True, load_default=None,
                                    metadata={"description": "作为该考核细则（id）所在系列的新版本；留空为新的考核细则"})


class IndicatorSchema(StrictSchema):
    id = fields.Integer()
    category_id = fields.Integer()
    position = fields.Integer()
    code = fields.String()
    title = fields.String()
    guidance = fields.String()
    kind = fields.String()
    kind_label = fields.String()
    max_points = fields.Float()
    evidence_method = fields.String()
    evidence_method_label = fields.String()
    provided_source = fields.String(allow_none=True)
    must_pass = fields.Boolean()
    veto = fields.Boolean()
    deduction_per_unit = fields.Float(allow_none=True)
    deduction_floor = fields.Float(allow_none=True)
    bonus_max = fields.Float(allow_none=True)
    bands = fields.List(fields.List(fields.Float()))


class CategorySchema(StrictSchema):
    id = fields.Integer()
    position = fields.Integer()
    name = fields.String()
    cap = fields.Float()
    points_total = fields.Float(metadata={"description": "计分指标分值合计"})
    bonus_total = fields.Float(metadata={"description": "加分项上限合计（可超出类别分值）"})
    adds_up = fields.Boolean()
    indicators = fields.List(fields.Nested(IndicatorSchema))


class RubricSchema(StrictSchema):
    id = fields.Integer()
    district_id = fields.Integer()
    family = fields.String()
    version = fields.Integer()
    name = fields.String()
    status = fields.String()
    status_label = fields.String()
    total_points = fields.Float(metadata={"description": "声明的总分"})
    caps_total = fields.Float(metadata={"description": "各类别分值合计"})
    points_total = fields.Float(metadata={"description": "各计分指标分值合计"})
    bonus_total = fields.Float(metadata={"description": "加分项上限合计"})
    problems = fields.List(fields.String(), metadata={"description": "不能发布的原因；空表示分值对得上"})
    locked = fields.Boolean(metadata={"description": "被进行中的轮次使用，已锁定"})
    editable = fields.Boolean()
    copied_from_id = fields.Integer(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RubricDetailSchema(RubricSchema):
    description = fields.String()
    notes = fields.String()
    categories = fields.List(fields.Nested(CategorySchema))
