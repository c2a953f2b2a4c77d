"""Template globals: navigation by permission, dates in China time, vendor assets."""
import os
from zoneinfo import ZoneInfo

from flask import current_app, g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.access import allowed
from tenants.roles import ROLE_LABELS

CHINA = ZoneInfo("Asia/Shanghai")


def local_time(value, fmt="%Y-%m-%d %H:%M"):
    if value is None:
        return ""
    return value.astimezone(CHINA).strftime(fmt)


def vendor_available(relpath: str) -> bool:
    return os.path.exists(os.path.join(current_app.static_folder, "vendor", relpath))


def navigation() -> list[tuple[str, str, str]]:
    """(label, url, endpoint) for what the current user may do here."""
    items = []
    if not current_user.is_authenticated:
        return items
    district = g.get("district")
    if district is not None:
        if allowed("district.view"):
            items.append((_("学校"), url_for("admin.schools", district=district.slug), "admin.schools"))
        if allowed("district.manage"):
            items.append((_("用户"), url_for("admin.users", district=district.slug), "admin.users"))
            items.append((_("批量导入"), url_for("admin.import_upload", district=district.slug),
                          "admin.import_upload"))
        if allowed("audit.view"):
            items.append((_("审计日志"), url_for("admin.audit_log", district=district.slug), "admin.audit_log"))
        scope = g.get("scope")
        if scope is not None and scope.school_ids and not allowed("district.view"):
            for school_id in sorted(scope.school_ids):
                items.append((_("我的学校"), url_for("schools.home", district=district.slug, school=school_id),
                              "schools.home"))
                break
    if current_user.is_platform_admin:
        items.append((_("平台管理"), url_for("platform.districts"), "platform.districts"))
    return items


def register(app):
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.globals.update(
        allowed=allowed, navigation=navigation, get_locale=get_locale, vendor_available=vendor_available, ROLE_LABELS=ROLE_LABELS,
    )
