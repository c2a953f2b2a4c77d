"""Resolving the scope of a request from the login and the URL (DESIGN §3).

URLs carry the tenant: ``/d/<district>/…`` and ``/d/<district>/s/<school>/…``. The slug and
the school id only *select*; what the user may see comes from their memberships. A district
or school the user has no part in answers 404, never 403: no hint that it exists.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort, g
from sqlalchemy import select

from app.extensions import db
from tenants.models import District, Membership, School
from tenants.roles import DISTRICT_ADMIN, WHOLE_DISTRICT_ROLES
from tenants.scope import Scope, set_scope, system_scope, tenant_scope


@dataclass
class Resolved:
    district: District
    school: School | None
    scope: Scope


def district_and_memberships(slug: str, user_id: int) -> tuple[District | None, list[tuple[int | None, str]]]:
    """The active district named ``slug`` and (school id, role) of the user's memberships in it.

    One system-scope block for both: this runs before every tenant page, and each change of scope is
    a round trip setting the RLS settings. The memberships are read as plain columns of the district
    found, not as entities, so no tenant object enters the session before its scope is set."""
    with system_scope("resolve the district named in the URL and the user's memberships in it"):
        district = db.session.scalar(select(District).where(District.slug == slug, District.active.is_(True)))
        if district is None:
            return None, []
        memberships = db.session.execute(select(Membership.school_id, Membership.role).where(
            Membership.district_id == district.id, Membership.user_id == user_id)).all()
    return district, [tuple(m) for m in memberships]


def resolve(user, district_slug: str, school_id: int | None) -> Resolved:
    district, memberships = district_and_memberships(district_slug, user.id)
    if district is None:
        abort(404)
    district_roles = {role for school, role in memberships if school is None}
    if user.is_platform_admin:
        district_roles.add(DISTRICT_ADMIN)
    school_roles: dict[int, set[str]] = {}
    for school, role in memberships:
        if school is not None:
            school_roles.setdefault(school, set()).add(role)
    whole = district_roles & WHOLE_DISTRICT_ROLES

    if school_id is not None:
        roles_here = school_roles.get(school_id, set())
        if not whole and not roles_here:
            abort(404)
        with tenant_scope(Scope.district(district.id)):
            school = db.session.get(School, (district.id, school_id))
        if school is None:
            abort(404)
        scope = Scope.school(district.id, {school_id}, user_id=user.id, roles=frozenset(whole | roles_here))
        return Resolved(district, school, scope)

    if whole:
        scope = Scope.district(district.id, user_id=user.id, roles=frozenset(district_roles))
    elif district_roles or school_roles:
        roles = set(district_roles).union(*school_roles.values()) if school_roles else set(district_roles)
        scope = Scope.school(district.id, school_roles.keys(), user_id=user.id, roles=frozenset(roles))
    else:
        abort(404)
    return Resolved(district, None, scope)


def apply(resolved: Resolved) -> None:
    g.district = resolved.district
    g.school = resolved.school
    g.scope = resolved.scope
    set_scope(resolved.scope)
