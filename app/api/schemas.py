"""API schemas. Unknown fields are rejected; ids, tenants and roles are never loadable
from a payload except where a field is named for it (mass assignment, DESIGN §10)."""
from marshmallow import RAISE, Schema, fields, validate

from tenants.models import SCHOOL_KINDS
from tenants.roles import ALL_ROLES


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
        ordered = True


class PageArgs(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    q = fields.String(load_default="", validate=validate.Length(max=50))


class MembershipSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    user_id = fields.Integer(dump_only=True)
    school_id = fields.Integer(allow_none=True, dump_only=True)
    role = fields.String(dump_only=True)
    role_label = fields.String(dump_only=True)


ID = validate.Range(min=1, max=2**63 - 1)  # a bigger number reached the driver as an overflow (500)


class GrantSchema(StrictSchema):
    user_id = fields.Integer(required=True, validate=ID)
    role = fields.String(required=True, validate=validate.OneOf(ALL_ROLES))
    school_id = fields.Integer(allow_none=True, load_default=None, validate=ID)


class UserSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    username = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    phone = fields.String(attribute="masked_phone", dump_only=True)
    email = fields.String(dump_only=True)
    active = fields.Boolean(dump_only=True)


class MeSchema(UserSchema):
    is_platform_admin = fields.Boolean(dump_only=True)
    memberships = fields.List(fields.Dict(), dump_only=True)


class SchoolSchema(StrictSchema):
    id = fields.Integer(dump_only=True)
    district_id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(list(SCHOOL_KINDS)))
    kind_label = fields.String(dump_only=True)
    code = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=40))
    staff_count = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    member_count = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    address = fields.String(load_default="", validate=validate.Length(max=200))
    active = fields.Boolean(load_default=True)


def page_schema(item_schema):
    class _Page(StrictSchema):
        items = fields.List(fields.Nested(item_schema))
        total = fields.Integer()
        page = fields.Integer()
        pages = fields.Integer()

    _Page.__name__ = f"{item_schema.__name__.replace('Schema', '')}Page"
    return _Page


class SchoolPatchSchema(SchoolSchema):
    """Partial update of a school."""
