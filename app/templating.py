"""Template globals: navigation by permission, dates in China time, vendor assets."""
import os
from zoneinfo import ZoneInfo

from flask import current_app, g, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.access import allowed
from app.i18n import translate
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
        if allowed("district.view"):
            from app.activities.services import current_year

            items.append((_("活动完成率"), url_for("activities.completion", district=district.slug,
                                                year=current_year()), "activities.completion"))
        if allowed("rubrics.view"):
            items.append((_("考核细则"), url_for("rubrics.index", district=district.slug), "rubrics.index"))
        if allowed("rounds.view"):
            items.append((_("评选考核"), url_for("rounds.index", district=district.slug), "rounds.index"))
        if allowed("assessments.view"):
            items.append((_("评审专家"), url_for("assessments.pool", district=district.slug), "assessments.pool"))
        if allowed("assess.score"):
            items.append((_("我的评审"), url_for("assess.index", district=district.slug), "assess.index"))
        if allowed("titles.view"):
            items.append((_("荣誉称号"), url_for("titles.index", district=district.slug), "titles.index"))
        if allowed("plans.review"):
            items.append((_("工作计划"), url_for("plan_review.tracking", district=district.slug,
                                             year=_plan_year()), "plan_review.tracking"))
        if allowed("district.view"):
            items.append((_("工作总结"), url_for("summary_review.tracking", district=district.slug,
                                             year=_plan_year()), "summary_review.tracking"))
        if allowed("rollup.view"):
            items.append((_("汇总"), url_for("rollup.index", district=district.slug), "rollup.show"))
            items.append((_("后台任务"), url_for("jobs.index", district=district.slug), "jobs.index"))
        if allowed("audit.view"):
            items.append((_("审计日志"), url_for("admin.audit_log", district=district.slug), "admin.audit_log"))
        scope = g.get("scope")
        if scope is not None and scope.school_ids and not allowed("district.view"):
            for school_id in sorted(scope.school_ids):
                items.append((_("我的学校"), url_for("schools.home", district=district.slug, school=school_id),
                              "schools.home"))
                items.append((_("申报与自评"), url_for("school_rounds.school_index", district=district.slug,
                                                  school=school_id), "school_rounds.school_index"))
                items.append((_("工作计划"), url_for("plans.index", district=district.slug, school=school_id),
                              "plans.index"))
                items.append((_("活动记录"), url_for("activities.index", district=district.slug, school=school_id),
                              "activities.index"))
                items.append((_("工作总结"), url_for("summaries.show", district=district.slug, school=school_id,
                                                 year=_plan_year()), "summaries.show"))
                break
    if current_user.is_platform_admin:
        items.append((_("平台管理"), url_for("platform.districts"), "platform.districts"))
        items.append((_("后台任务"), url_for("platform_jobs.index"), "platform_jobs.index"))
    return items


def _plan_year() -> int:
    from datetime import datetime

    return datetime.now(CHINA).year


def unread_notifications() -> int | None:
    """Unread in-app notifications of the signed-in user in this district (None: no district)."""
    if not current_user.is_authenticated or g.get("district") is None or g.get("scope") is None:
        return None
    from app.plans.notify import unread_count

    try:
        return unread_count(current_user.id)
    except Exception:  # noqa: BLE001 - an error page must render even when the session is broken
        return None


def title_under_review(application):
    """The title a 复查 application reviews (None for other applications)."""
    if application is None or not getattr(application, "title_id", None):
        return None
    from app.extensions import db
    from app.titles.models import Title

    return db.session.get(Title, (application.district_id, application.title_id))


def register(app):
    app.jinja_env.globals["title_under_review"] = title_under_review
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["tr"] = translate  # a label chosen at run time: {{ s.kind_label|tr }}
    app.jinja_env.globals.update(
        allowed=allowed, navigation=navigation, unread_notifications=unread_notifications, get_locale=get_locale, vendor_available=vendor_available, ROLE_LABELS=ROLE_LABELS,
    )
