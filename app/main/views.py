"""The landing page: each role lands where its work is."""
from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.access import AUTHENTICATED, public, requires
from app.extensions import db
from app.security import safe_next
from tenants.models import District, Membership
from tenants.roles import WHOLE_DISTRICT_ROLES
from tenants.scope import system_scope

bp = Blueprint("main", __name__, template_folder="templates")


def workplaces(user) -> list[dict]:
    """Where this user works: one entry per district, and per school inside it."""
    with system_scope("list the signed-in user's own memberships"):
        rows = db.session.execute(
            select(Membership, District).join(District, District.id == Membership.district_id)
            .where(Membership.user_id == user.id, District.active.is_(True))
            .order_by(District.name, Membership.school_id)
        ).all()
        places, seen = [], set()
        for membership, district in rows:
            if membership.school_id is None:
                key = (district.id, None)
                url = url_for("admin.schools", district=district.slug)
                label = district.name
            else:
                key = (district.id, membership.school_id)
                url = url_for("schools.home", district=district.slug, school=membership.school_id)
                label = f"{district.name} · {membership.school.name}"
            if key in seen:
                for p in places:
                    if p["key"] == key:
                        p["roles"].append(membership.role_label)
                continue
            seen.add(key)
            places.append({"key": key, "url": url, "label": label, "roles": [membership.role_label],
                           "district_level": membership.school_id is None
                           and membership.role in WHOLE_DISTRICT_ROLES})
    return places


@bp.route("/")
@requires(AUTHENTICATED)
def index():
    places = workplaces(current_user)
    if len(places) == 1 and not current_user.is_platform_admin:
        return redirect(places[0]["url"])
    if not places and current_user.is_platform_admin:
        return redirect(url_for("platform.districts"))
    return render_template("main/index.html", places=places)


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    target = safe_next(request.args.get("next")) or safe_next(request.referrer and _path(request.referrer))
    response = make_response(redirect(target or url_for("main.index")))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return ""
    return parts.path + ("?" + parts.query if parts.query else "")
