"""Work plan pages. Thin: parse the input, call ``services``, commit once, render.

* ``plans`` — a school's plans: ``/d/<district>/s/<school>/plans/…`` (view, edit, import, submit).
* ``plan_review`` — the district side: ``/d/<district>/plans/…`` (review queue, review,
  tracking with export and reminders, deadline).
* ``notifications`` — the signed-in user's in-app notifications in the district.
"""
from __future__ import annotations

import io
from datetime import date

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import select

from app.access import AUTHENTICATED, allowed, requires
from app.extensions import db
from app.i18n import months_text
from app.jobs.models import JobRun
from app.plans import notify, services
from app.plans.forms import read_form, vm_from_content, vm_from_parsed
from app.plans.models import CATEGORIES, STATUS_LABELS, WorkPlan
from app.plans.parser import MAX_FILE_BYTES, PlanParseError, parse_plan_file, parse_plan_text
from app.plans.services import Actor, PlanError
from app.security import safe_next
from app.uploads import normalise_name
from tenants.models import School

bp = Blueprint("plans", __name__, url_prefix="/d/<district>/s/<int:school>/plans", template_folder="templates")
review_bp = Blueprint("plan_review", __name__, url_prefix="/d/<district>/plans", template_folder="templates")
notes_bp = Blueprint("notifications", __name__, url_prefix="/d/<district>/notifications",
                     template_folder="templates")

MIN_YEAR, MAX_YEAR = 2000, 2100


class RowsPagination(SelectPagination):
    """Pagination of a multi-entity SELECT (rows, not scalars)."""

    def _query_items(self):
        stmt = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(stmt).all())


def paginate_rows(stmt, page: int, per_page: int | None = None) -> RowsPagination:
    return RowsPagination(select=stmt, session=db.session(), page=page,
                          per_page=per_page or current_app.config["PAGE_SIZE"], max_per_page=None, error_out=False,
                          count=True)


def _check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    return year


def _page_no() -> int:
    return max(1, request.args.get("page", 1, type=int))


def _default_title(year: int) -> str:
    return f"{g.school.name}{year}年工会工作计划"


def _months_label(months: list[int]) -> str:
    return months_text(months, services.months_label(months))


def _common(year: int) -> dict:
    return {"year": year, "categories": CATEGORIES, "months_label": _months_label,
            "anchor_label": services.anchor_label, "collapse_diff": services.collapse_diff}


# =========================================================================== school side

@bp.route("/")
@requires("school.view")
def index():
    plans = db.session.scalars(select(WorkPlan).where(WorkPlan.school_id == g.school.id)
                               .order_by(WorkPlan.year.desc())).all()
    this_year = services.today_china().year
    years = [y for y in (this_year, this_year + 1) if y not in {p.year for p in plans}]
    return render_template("plans/index.html", plans=plans, new_years=years, school=g.school)


def _runs_for(versions) -> dict[int, JobRun]:
    ids = [v.dossier_run_id for v in versions if v.dossier_run_id]
    if not ids:
        return {}
    return {run.id: run for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(ids)))}


@bp.route("/<int:year>")
@requires("school.view")
def show(year: int):
    _check_year(year)
    plan = services.get_plan(g.school.id, year)
    versions = services.versions_of(plan) if plan else []
    deadline = services.deadline_for(year)
    can_edit = allowed("school.edit")
    if plan is None:
        content, shown_version = None, None
    elif can_edit:
        content, shown_version = services.plan_content(plan), None
    else:  # the district sees what was submitted, not the school's working draft
        shown_version = versions[0] if versions else None
        content = shown_version.content if shown_version else None
    returned_version, comments = services.open_comments(plan) if plan else (None, {})
    approved = services.approved_version(plan) if plan else None
    return render_template("plans/show.html", plan=plan, content=content, shown_version=shown_version,
                           versions=versions, runs=_runs_for(versions), deadline=deadline,
                           returned_version=returned_version, comments=comments, approved=approved,
                           can_edit=can_edit, school=g.school, decision_labels=services.DECISION_LABELS,
                           **_common(year))


def _render_editor(year, vm, errors=None, status=200, plan=None):
    plan = plan if plan is not None else services.get_plan(g.school.id, year)
    returned_version, comments = services.open_comments(plan) if plan else (None, {})
    return render_template("plans/edit.html", vm=vm, errors=errors or {}, plan=plan, school=g.school,
                           returned_version=returned_version, comments=comments,
                           comment_content=returned_version.content if returned_version else {},
                           **_common(year)), status


@bp.route("/<int:year>/edit", methods=["GET", "POST"])
@requires("school.edit")
def edit(year: int):
    _check_year(year)
    plan = services.get_plan(g.school.id, year)
    try:
        services.check_editable(plan)
    except PlanError as exc:
        flash(str(exc), "error")
        return redirect(url_for("plans.show", year=year))
    if request.method == "GET":
        vm = vm_from_content(services.plan_content(plan)) if plan else vm_from_content(
            {"title": _default_title(year)})
        return _render_editor(year, vm, plan=plan)
    form = read_form(request.form)
    if not form.valid:
        flash(_("请按提示修改后再保存"), "error")
        return _render_editor(year, form.vm, form.errors, 400, plan)
    try:
        services.save_draft(g.school, year, form.content(), Actor.current())
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_editor(year, form.vm, {exc.field: str(exc)} if exc.field else {}, 400)
    flash(_("草稿已保存"), "success")
    return redirect(url_for("plans.show", year=year))


def _render_import(year, errors=None, text="", status=200):
    return render_template("plans/import.html", errors=errors or {}, text=text, school=g.school,
                           max_mb=MAX_FILE_BYTES // (1024 * 1024), **_common(year)), status


def _render_review_proposal(year, vm, errors=None, status=200, source=""):
    plan = services.get_plan(g.school.id, year)
    has_content = plan is not None and not services.is_empty(services.plan_content(plan))
    return render_template("plans/import_review.html", vm=vm, errors=errors or {}, plan=plan,
                           has_content=has_content, source=source, school=g.school, **_common(year)), status


@bp.route("/<int:year>/import", methods=["GET", "POST"])
@requires("school.edit")
def import_plan(year: int):
    """Paste or upload a plan; the parser's proposal is shown for review, nothing is saved."""
    _check_year(year)
    if request.method == "GET":
        return _render_import(year)
    text = request.form.get("text", "")
    upload = request.files.get("file")
    try:
        if upload is not None and upload.filename:
            source = normalise_name(upload.filename)
            parsed = parse_plan_file(source, upload.read(MAX_FILE_BYTES + 1))
        elif text.strip():
            source = _("粘贴的文本")
            parsed = parse_plan_text(text)
        else:
            return _render_import(year, {"text": _("请粘贴计划全文，或选择 .docx / .txt 文件")}, text, 400)
    except PlanParseError as exc:
        return _render_import(year, {"file": str(exc)}, text, 400)
    return _render_review_proposal(year, vm_from_parsed(parsed, _default_title(year)), source=source)


@bp.route("/<int:year>/import/save", methods=["POST"])
@requires("school.edit")
def import_save(year: int):
    """保存为草稿: the reviewed proposal becomes (or overwrites) the draft."""
    _check_year(year)
    form = read_form(request.form)
    if form.valid and services.is_empty(form.content()):
        form.errors["_"] = _("没有可保存的计划内容")
    if not form.valid:
        flash(form.errors.get("_") or _("请按提示修改后再保存"), "error")
        return _render_review_proposal(year, form.vm, form.errors, 400)
    try:
        services.save_draft(g.school, year, form.content(), Actor.current(), action="plan_imported")
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_review_proposal(year, form.vm, {exc.field: str(exc)} if exc.field else {}, 400)
    flash(_("导入的计划已保存为草稿，请检查后提交"), "success")
    return redirect(url_for("plans.show", year=year))


@bp.route("/<int:year>/submit", methods=["POST"])
@requires("school.submit")
def submit(year: int):
    _check_year(year)
    plan = services.get_plan(g.school.id, year)
    if plan is None:
        flash(_("请先编写或导入计划，再提交"), "error")
        return redirect(url_for("plans.show", year=year))
    try:
        version = services.submit(plan, Actor.current())
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("已提交第 %(n)s 版，等待区教育工会审核", n=version.number), "success")
    return redirect(url_for("plans.show", year=year))


@bp.route("/<int:year>/versions/<int:number>")
@requires("school.view")
def version(year: int, number: int):
    _check_year(year)
    plan = services.get_plan(g.school.id, year)
    version = services.version_by_number(plan, number) if plan else None
    if version is None:
        abort(404)
    base = services.diff_base(plan, version)
    return render_template("plans/version.html", plan=plan, version=version, comments=services.comments_of(version),
                           runs=_runs_for([version]), base=base,
                           diff=services.diff_lines(base.content or {}, version.content or {}) if base else None,
                           school=g.school, decision_labels=services.DECISION_LABELS, **_common(year))


# =========================================================================== district side

@review_bp.route("/")
@requires("plans.review")
def queue():
    year = request.args.get("year", services.today_china().year, type=int)
    _check_year(year)
    status = request.args.get("status", services.SUBMITTED)
    q = (request.args.get("q") or "").strip()[:50]
    page = paginate_rows(services.review_queue(year, status, q), _page_no())
    return render_template("plans/queue.html", page=page, status=status, q=q, statuses=STATUS_LABELS,
                           **_common(year))


def _plan_or_404(plan_id: int) -> tuple[WorkPlan, School]:
    plan = services.plan_by_id(plan_id)
    if plan is None:
        abort(404)
    school = db.session.get(School, (plan.district_id, plan.school_id))
    if school is None:
        abort(404)
    return plan, school


def _render_review(plan, school, typed=None, errors=None, status=200):
    version = services.latest_version(plan)
    base = services.diff_base(plan, version) if version else None
    content = (version.content or {}) if version else {}
    anchors = ["guiding_ideology", "goals"] + [f"section:{n}" for n in range(len(content.get("sections") or []))] \
        + ["measures", "schedule"]
    return render_template(
        "plans/review.html", plan=plan, school=school, version=version, content=content, base=base,
        diff=services.diff_lines(base.content or {}, content) if base else None,
        base_comments=services.comments_of(base) if base else {}, comments=services.comments_of(version),
        versions=services.versions_of(plan), anchors=anchors, typed=typed or {}, errors=errors or {},
        decision_labels=services.DECISION_LABELS, **_common(plan.year)), status


@review_bp.route("/review/<int:plan_id>")
@requires("plans.review")
def review(plan_id: int):
    plan, school = _plan_or_404(plan_id)
    return _render_review(plan, school)


@review_bp.route("/review/<int:plan_id>/approve", methods=["POST"])
@requires("plans.review")
def approve(plan_id: int):
    plan, school = _plan_or_404(plan_id)
    try:
        version = services.approve(plan, request.form.get("version", type=int), Actor.current(),
                                   request.form.get("note", ""))
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("plan_review.review", plan_id=plan.id))
    flash(_("已通过%(school)s的计划（第 %(n)s 版）", school=school.name, n=version.number), "success")
    return redirect(url_for("plan_review.queue", year=plan.year))


@review_bp.route("/review/<int:plan_id>/return", methods=["POST"])
@requires("plans.review")
def return_plan(plan_id: int):
    plan, school = _plan_or_404(plan_id)
    typed = {key[len("comment-"):]: value for key, value in request.form.items() if key.startswith("comment-")}
    note = request.form.get("note", "")
    try:
        version = services.return_plan(plan, request.form.get("version", type=int), list(typed.items()),
                                       Actor.current(), note)
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_review(plan, school, {**typed, "_note": note}, status=400)
    flash(_("已退回%(school)s的计划（第 %(n)s 版）", school=school.name, n=version.number), "success")
    return redirect(url_for("plan_review.queue", year=plan.year))


def _tracking_args():
    status = request.args.get("status", "")
    status = status if status in services.TRACKING_LABELS else ""
    return status, (request.args.get("q") or "").strip()[:50], request.args.get("late") == "1"


@review_bp.route("/<int:year>/tracking")
@requires("plans.review")
def tracking(year: int):
    _check_year(year)
    status, q, late = _tracking_args()
    deadline = services.deadline_for(year)
    due_on = deadline.due_on if deadline else None
    today = services.today_china()
    page = paginate_rows(services.tracking_query(year, status=status, q=q, late_only=late, due_on=due_on,
                                                 today=today), _page_no())
    rows = services.tracking_rows(page.items, due_on, today)
    return render_template("plans/tracking.html", page=page, rows=rows, status=status, q=q, late=late,
                           deadline=deadline, counts=services.tracking_counts(year),
                           labels=services.TRACKING_LABELS, **_common(year))


@review_bp.route("/<int:year>/tracking.xlsx")
@requires("plans.review")
def tracking_export(year: int):
    _check_year(year)
    status, q, late = _tracking_args()
    deadline = services.deadline_for(year)
    due_on = deadline.due_on if deadline else None
    today = services.today_china()
    stmt = services.tracking_query(year, status=status, q=q, late_only=late, due_on=due_on, today=today)
    rows = services.tracking_rows(db.session.execute(stmt).all(), due_on, today)
    data = services.tracking_workbook(year, rows, due_on)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{year}年工会工作计划报送情况.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@review_bp.route("/<int:year>/remind", methods=["POST"])
@requires("plans.review")
def remind(year: int):
    _check_year(year)
    try:
        result = notify.send_reminders(year, Actor.current(), g.district.slug)
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("plan_review.tracking", year=year))
    if not result["schools"]:
        flash(_("所有学校都已提交计划，无需提醒"), "info")
    else:
        message = _("已向 %(n)s 位工会主席发送站内提醒（未提交学校 %(schools)s 所）", n=result["notified"],
                    schools=result["schools"])
        if result["skipped"]:
            message += _("，%(n)s 位已有未读提醒", n=result["skipped"])
        if result["mail_run"] is not None:
            message += _("，邮件将在后台发送")
        flash(message, "success")
    return redirect(url_for("plan_review.tracking", year=year))


@review_bp.route("/<int:year>/deadline", methods=["POST"])
@requires("plans.deadline")
def set_deadline(year: int):
    _check_year(year)
    try:
        due_on = date.fromisoformat((request.form.get("due_on") or "").strip())
    except ValueError:
        flash(_("请填写有效的截止日期（如 2026-03-15）"), "error")
        return redirect(url_for("plan_review.tracking", year=year))
    try:
        services.set_deadline(year, due_on, Actor.current())
        db.session.commit()
    except PlanError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("%(year)s 年计划报送截止日期已设为 %(date)s", year=year, date=due_on.isoformat()), "success")
    return redirect(url_for("plan_review.tracking", year=year))


# =========================================================================== notifications

@notes_bp.route("/")
@requires(AUTHENTICATED)
def notifications():
    page = db.paginate(notify.notifications_query(current_user.id), page=_page_no(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("plans/notifications.html", page=page)


@notes_bp.route("/<int:notification_id>/read", methods=["POST"])
@requires(AUTHENTICATED)
def read(notification_id: int):
    note = notify.own_notification(notification_id, current_user.id)
    if note is None:
        abort(404)
    notify.mark_read(note)
    db.session.commit()
    return redirect(safe_next(note.url) or url_for("notifications.notifications"))


@notes_bp.route("/read-all", methods=["POST"])
@requires(AUTHENTICATED)
def read_all():
    count = notify.mark_all_read(current_user.id)
    db.session.commit()
    flash(_("已将 %(n)s 条通知标为已读", n=count) if count else _("没有未读通知"), "success" if count else "info")
    return redirect(url_for("notifications.notifications"))
