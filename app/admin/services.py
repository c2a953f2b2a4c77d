"""Rules for managing a district's schools and people. Everything runs inside the request's
scope: the ORM filter keeps every query to the current district."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.accounts import services as accounts
from app.accounts.models import User
from app.audit.services import record
from app.extensions import db
from tenants import provisioning
from tenants.models import SCHOOL_KINDS, Membership, School
from tenants.roles import ALL_ROLES, DISTRICT_ROLES, SCHOOL_ROLES
from tenants.scope import Scope, tenant_scope


class AdminError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# --- schools -----------------------------------------------------------------

def schools_query(search: str = "", kind: str = ""):
    stmt = select(School)
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(or_(School.name.like(like), School.code.like(like), School.address.like(like)))
    if kind in SCHOOL_KINDS:
        stmt = stmt.where(School.kind == kind)
    return stmt.order_by(School.name)


def chairs_by_school(school_ids) -> dict[int, list[str]]:
    """Chair names for a page of schools, in one query."""
    if not school_ids:
        return {}
    rows = db.session.execute(
        select(Membership.school_id, User.display_name).join(User, User.id == Membership.user_id)
        .where(Membership.school_id.in_(school_ids), Membership.role == "school_chair")
        .order_by(User.display_name)
    ).all()
    out: dict[int, list[str]] = {}
    for school_id, name in rows:
        out.setdefault(school_id, []).append(name)
    return out


def district_totals() -> dict:
    row = db.session.execute(
        select(func.count(School.id), func.coalesce(func.sum(School.staff_count), 0),
               func.coalesce(func.sum(School.member_count), 0)).where(School.active.is_(True))
    ).one()
    return {"schools": row[0], "staff": row[1], "members": row[2]}


def create_school(data: dict) -> School:
    try:
        school = provisioning.add_school(g.district, data["name"], data["kind"], code=data.get("code") or None,
                                         staff_count=data.get("staff_count") or 0,
                                         member_count=data.get("member_count") or 0,
                                         address=data.get("address") or "")
    except provisioning.ProvisioningError as exc:
        raise AdminError(str(exc), field="name")
    record("school_created", target=school, school_id=school.id, details={"name": school.name})
    return school


def update_school(school: School, data: dict) -> School:
    name = data["name"].strip()
    code = (data.get("code") or "").strip() or None
    # Names and codes are unique per district, but the request may run in a one-school scope
    # (/d/<district>/s/<school>/…), which would hide the clashing school: check district-wide.
    with tenant_scope(Scope.district(school.district_id)):
        clash = db.session.scalar(select(School.id).where(School.name == name, School.id != school.id))
        code_clash = code and db.session.scalar(select(School.id).where(School.code == code,
                                                                        School.id != school.id))
    if clash:
        raise AdminError(_("学校 %(name)s 已存在", name=name), field="name")
    if code_clash:
        raise AdminError(_("学校代码 %(code)s 已被使用", code=code), field="code")
    before = {"name": school.name, "kind": school.kind, "code": school.code}
    school.name, school.kind, school.code = name, data["kind"], code
    school.staff_count = data.get("staff_count") or 0
    school.member_count = data.get("member_count") or 0
    school.address = data.get("address") or ""
    school.active = bool(data.get("active", True))
    record("school_updated", target=school, school_id=school.id, details={"before": before})
    return school


# --- users -------------------------------------------------------------------

def users_query(search: str = "", role: str = ""):
    member_ids = select(Membership.user_id)
    if role in ALL_ROLES:
        member_ids = member_ids.where(Membership.role == role)
    stmt = select(User).where(User.id.in_(member_ids))
    if search:
        like = f"%{search.strip()}%"
        stmt = stmt.where(or_(User.username.like(like), User.display_name.like(like)))
    return stmt.order_by(User.display_name, User.id)


def memberships_by_user(user_ids) -> dict[int, list[Membership]]:
    if not user_ids:
        return {}
    out: dict[int, list[Membership]] = {}
    for m in db.session.scalars(select(Membership).where(Membership.user_id.in_(user_ids))
                                .order_by(Membership.role)):
        out.setdefault(m.user_id, []).append(m)
    return out


def user_in_district(user_id: int) -> User | None:
    """A user who holds a role in this district, else None (the view answers 404)."""
    if not db.session.scalar(select(Membership.id).where(Membership.user_id == user_id).limit(1)):
        return None
    return db.session.get(User, user_id)


def _check_role(role: str, school_id: int | None) -> None:
    if role not in ALL_ROLES:
        raise AdminError(_("请选择角色"), field="role")
    if role in SCHOOL_ROLES and not school_id:
        raise AdminError(_("学校角色需要选择所属学校"), field="school_id")
    if role in DISTRICT_ROLES and school_id:
        raise AdminError(_("区级角色不属于某个学校，请不要选择学校"), field="school_id")
    if school_id and db.session.get(School, (g.district.id, school_id)) is None:
        raise AdminError(_("所选学校不存在"), field="school_id")


def grant(user: User, role: str, school_id: int | None) -> Membership:
    _check_role(role, school_id)
    existing = db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.role == role,
        Membership.school_id.is_(None) if school_id is None else Membership.school_id == school_id))
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, role=role, school_id=school_id)
    db.session.add(membership)
    db.session.flush()
    record("membership_added", target=user, school_id=school_id, details={"role": role, "school_id": school_id})
    return membership


def revoke(user: User, membership_id: int) -> None:
    membership = db.session.get(Membership, (g.district.id, membership_id))
    if membership is None or membership.user_id != user.id:
        raise AdminError(_("找不到该角色"))
    if membership.role == "district_admin" and _admin_count() <= 1:
        raise AdminError(_("不能撤销本区最后一位管理员"))
    db.session.delete(membership)
    record("membership_removed", target=user, school_id=membership.school_id,
           details={"role": membership.role, "school_id": membership.school_id})


def _admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.role == "district_admin"))


def create_user(data: dict) -> User:
    _check_role(data["role"], data.get("school_id"))
    try:
        user = accounts.create_user(data["username"], data["display_name"], data["password"],
                                    phone=data.get("phone") or "", email=data.get("email") or "")
    except accounts.AccountError as exc:
        # accounts.set_password names its field "new" (the change-password form); here it is "password".
        raise AdminError(str(exc), field="password" if exc.field == "new" else (exc.field or "username"))
    record("user_created", target=user, details={"username": user.username})
    grant(user, data["role"], data.get("school_id"))
    return user


def update_user(user: User, data: dict) -> User:
    user.display_name = data["display_name"].strip() or user.username
    phone = (data.get("phone") or "").strip()
    if "*" in phone and phone != user.masked_phone:
        raise AdminError(_("请填写 11 位手机号码"), field="phone")
    if not (phone and phone == user.masked_phone):  # the form shows the masked number: unchanged keeps it
        user.phone = phone
    user.email = (data.get("email") or "").strip()
    if data.get("password"):
        try:
            accounts.set_password(user, data["password"])
        except accounts.AccountError as exc:
            raise AdminError(str(exc), field="password")
        user.must_change_password = True
        accounts.revoke_sessions(user)
    record("user_updated", target=user, details={"password_reset": bool(data.get("password"))})
    return user


def set_user_active(user: User, active: bool) -> None:
    """Disable or enable a login. Only for people whose every role is in this district."""
    if user.is_platform_admin:
        raise AdminError(_("不能停用平台管理员"))
    from tenants.scope import system_scope

    with system_scope("check a user's roles in other districts before disabling"):
        elsewhere = db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.user_id == user.id, Membership.district_id != g.district.id))
    if elsewhere:
        raise AdminError(_("该用户在其他区县也有角色，请改为撤销其在本区的角色"))
    accounts.set_active(user, active)


def reveal_phone(user: User, actor: User, password: str) -> str:
    """The full phone number of ``user``, after ``actor`` re-enters their own password (PIPL: a
    sensitive read is re-authenticated and audited — the audit row names the field, never the value)."""
    from app.accounts.passwords import verify_password

    if not verify_password(actor.password_hash, password or ""):
        record("unmask_refused", target=user, details={"field": "phone"}, commit=True)
        raise AdminError(_("密码不正确，未显示完整号码"), field="password")
    record("sensitive_read", target=user, details={"field": "phone"})
    return user.phone or ""
