"""Schools, users and memberships of a district."""
from flask import abort, g
from flask_smorest import Blueprint

from app.access import requires
from app.admin import services
from app.api.schemas import GrantSchema, MembershipSchema, PageArgs, SchoolPatchSchema, SchoolSchema, UserSchema, page_schema
from app.extensions import db
from tenants.models import Membership

blp = Blueprint("api_district", __name__, url_prefix="/api/v1/d/<district>", description="学校、用户与角色")


def _page(stmt, args):
    page = db.paginate(stmt, page=args["page"], per_page=args["per_page"], error_out=False)
    return {"items": page.items, "total": page.total, "page": page.page, "pages": page.pages}


def _fail(exc):
    # Shaped like a schema error (the error handler passes "messages" on as "errors"), so the
    # client learns which field failed and why; a bare abort's description was dropped.
    from flask_smorest import abort as api_abort

    api_abort(422, messages={"json": {getattr(exc, "field", None) or "_schema": [str(exc)]}})


@blp.route("/schools", methods=["GET"])
@requires("school.view")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(SchoolSchema))
def list_schools(args):
    """本区学校（学校用户只看到本校）"""
    return _page(services.schools_query(args["q"]), args)


@blp.route("/schools", methods=["POST"])
@requires("district.manage")
@blp.arguments(SchoolSchema)
@blp.response(201, SchoolSchema)
def create_school(data):
    """新增学校"""
    try:
        school = services.create_school(data)
        db.session.commit()
    except services.AdminError as exc:
        db.session.rollback()
        _fail(exc)
    return school


@blp.route("/s/<int:school>", methods=["GET"])
@requires("school.view")
@blp.response(200, SchoolSchema)
def get_school():
    """一所学校"""
    return g.school


@blp.route("/s/<int:school>", methods=["PATCH"])
@requires("district.manage")
@blp.arguments(SchoolPatchSchema(partial=True))
@blp.response(200, SchoolSchema)
def update_school(data):
    """修改学校"""
    school = g.school
    merged = {c: getattr(school, c) for c in ("name", "kind", "code", "staff_count", "member_count",
                                              "address", "active")}
    merged.update(data)
    try:
        services.update_school(school, merged)
        db.session.commit()
    except services.AdminError as exc:
        db.session.rollback()
        _fail(exc)
    return school


@blp.route("/users", methods=["GET"])
@requires("district.manage")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(UserSchema))
def list_users(args):
    """本区用户"""
    return _page(services.users_query(args["q"]), args)


@blp.route("/users/<int:user_id>", methods=["GET"])
@requires("district.manage")
@blp.response(200, UserSchema)
def get_user(user_id):
    """一个用户"""
    user = services.user_in_district(user_id)
    if user is None:
        abort(404)
    return user


@blp.route("/memberships", methods=["GET"])
@requires("district.manage")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(MembershipSchema))
def list_memberships(args):
    """本区角色授予"""
    from sqlalchemy import select

    return _page(select(Membership).order_by(Membership.id), args)


@blp.route("/memberships", methods=["POST"])
@requires("district.manage")
@blp.arguments(GrantSchema)
@blp.response(201, MembershipSchema)
def create_membership(data):
    """授予角色（用户须已在本区有角色）"""
    user = services.user_in_district(data["user_id"])
    if user is None:
        abort(404)
    try:
        membership = services.grant(user, data["role"], data["school_id"])
        db.session.commit()
    except services.AdminError as exc:
        db.session.rollback()
        _fail(exc)
    return membership


@blp.route("/memberships/<int:membership_id>", methods=["DELETE"])
@requires("district.manage")
@blp.response(204)
def delete_membership(membership_id):
    """撤销角色"""
    membership = db.session.get(Membership, (g.district.id, membership_id))
    if membership is None:
        abort(404)
    try:
        services.revoke(membership.user, membership_id)
        db.session.commit()
    except services.AdminError as exc:
        db.session.rollback()
        _fail(exc)
