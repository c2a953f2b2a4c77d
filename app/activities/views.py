"""活动记录 pages: a school's records (list, form, detail, files), its month-by-month calendar
of planned vs done, and the district's completion overview with its Excel export. Thin: parse,
call a service, render."""
from __future__ import annotations

import io
import os

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user

from app.access import requires
from app.activities import services
from app.activities.forms import ActivityForm, FilesForm
from app.extensions import db
from app.i18n import translate
from app.paging import ListPage
from app.plans.models import CATEGORIES
from app.uploads import UploadError, absolute

bp = Blueprint("activities", __name__, url_prefix="/d/<district>", template_folder="templates")

INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MIN_YEAR, MAX_YEAR = 2000, 2100


@bp.app_template_filter("rate_percent")
def rate_percent(rate):
    return services.format_rate(rate)


def _year_or_404(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    return year


def _record_or_404(record_id: int):
    record = services.record_for(g.school, record_id)
    if record is None:
        abort(404)
    return record


def _uploaded(field_name: str = "files") -> list[tuple[str, bytes]]:
    """(name, bytes) of the files sent; one byte over the limit is enough to refuse a file."""
    limit = services.MAX_FILE_BYTES + 1
    return [(f.filename, f.read(limit)) for f in request.files.getlist(field_name) if f and f.filename]


def _upload_limits() -> dict:
    return {"accept": services.ACCEPT, "max_mb": services.MAX_FILE_BYTES // (1024 * 1024),
            "total_mb": (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)}


def _posted_year(form: ActivityForm, default: int) -> int:
    """The year whose planned activities the select lists: the posted date's, else ``default``."""
    held_on = form.held_on.data if request.method == "POST" else None
    return held_on.year if held_on is not None and MIN_YEAR <= held_on.year <= MAX_YEAR else default


def _with_choices(form: ActivityForm, year: int) -> None:
    form.scheduled_activity_id.choices = [("", _("— 不对应计划活动（计划外）—"))] + [
        (str(i), label) for i, label in services.scheduled_choices(g.school.id, year)]


def _form_data(form: ActivityForm) -> dict:
    return {"held_on": form.held_on.data, "title": form.title.data, "category": form.category.data,
            "participants": form.participants.data, "description": form.description.data,
            "scheduled_activity_id": form.scheduled_activity_id.data}


def _save(form: ActivityForm, record):
    """Run the service; on a refusal put the Chinese message on its field and return None."""
    try:
        saved, stored = services.save_record(g.school, _form_data(form), record=record, files=_uploaded(),
                                             user_id=current_user.id)
    except services.ActivityError as exc:
        db.session.rollback()
        if exc.field == "files":
            services.record_refused_upload(g.school, str(exc))
        getattr(form, exc.field or "title").errors.append(str(exc))
        return None
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        services.discard(stored)
        raise
    return saved


@bp.route("/s/<int:school>/activities")
@requires("school.view")
def index():
    year = request.args.get("year", type=int)
    if year is None:
        year = services.current_year()
    year = year if MIN_YEAR <= year <= MAX_YEAR else None  # 0: every year
    month = request.args.get("month", type=int)
    month = month if month and 1 <= month <= 12 else None
    category = request.args.get("category", "")
    category = category if category in CATEGORIES else ""
    page = db.paginate(services.records_query(g.school.id, year, month, category),
                       page=max(1, request.args.get("page", 1, type=int)),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template(
        "activities/list.html", page=page, year=year, month=month, category=category,
        years=services.record_years(g.school.id), categories=CATEGORIES,
        file_counts=services.file_counts([r.id for r in page.items]),
        linked=services.scheduled_by_ids([r.scheduled_activity_id for r in page.items]),
        completion=services.completion_for_school(g.school.id, year or services.current_year()),
        completion_year=year or services.current_year(), services=services)


@bp.route("/s/<int:school>/activities/new", methods=["GET", "POST"])
@requires("school.edit")
def new():
    form = ActivityForm()
    default_year = request.args.get("year", type=int) or services.current_year()
    default_year = default_year if MIN_YEAR <= default_year <= MAX_YEAR else services.current_year()
    year = _posted_year(form, default_year)
    _with_choices(form, year)
    if request.method == "GET":
        scheduled_id = request.args.get("scheduled_id", type=int)
        planned = services.scheduled_activity_for(g.school.id, year, scheduled_id) if scheduled_id else None
        if planned is not None:
            form.scheduled_activity_id.data = planned.id
            form.title.data = planned.title[:200]
            form.category.data = planned.category if planned.category in CATEGORIES else "other"
        form.held_on.data = services.today() if year == services.current_year() else None
    if form.validate_on_submit():
        record = _save(form, None)
        if record is not None:
            flash(_("活动记录已保存"), "success")
            return redirect(url_for("activities.show", record_id=record.id))
    return render_template("activities/form.html", form=form, record=None, year=year, **_upload_limits())


@bp.route("/s/<int:school>/activities/<int:record_id>")
@requires("school.view")
def show(record_id: int):
    record = _record_or_404(record_id)
    files = services.files_of(record)
    linked = services.scheduled_by_ids([record.scheduled_activity_id]).get(record.scheduled_activity_id)
    return render_template("activities/detail.html", record=record, files=files, linked=linked,
                           files_form=FilesForm(), inline_types=INLINE_TYPES, services=services,
                           **_upload_limits())


@bp.route("/s/<int:school>/activities/<int:record_id>/edit", methods=["GET", "POST"])
@requires("school.edit")
def edit(record_id: int):
    record = _record_or_404(record_id)
    form = ActivityForm(obj=record)
    year = _posted_year(form, record.year)
    _with_choices(form, year)
    if form.validate_on_submit():
        saved = _save(form, record)
        if saved is not None:
            flash(_("活动记录已保存"), "success")
            return redirect(url_for("activities.show", record_id=saved.id))
    return render_template("activities/form.html", form=form, record=record, year=year, **_upload_limits())


@bp.route("/s/<int:school>/activities/<int:record_id>/delete", methods=["POST"])
@requires("school.edit")
def delete(record_id: int):
    record = _record_or_404(record_id)
    year = record.year
    paths = services.delete_record(record)
    db.session.commit()
    services.discard(paths)
    flash(_("活动记录已删除"), "success")
    return redirect(url_for("activities.index", year=year))


@bp.route("/s/<int:school>/activities/<int:record_id>/files", methods=["POST"])
@requires("school.edit")
def upload(record_id: int):
    record = _record_or_404(record_id)
    form = FilesForm()
    if not form.validate_on_submit():
        flash(_("页面已过期，请刷新后重试"), "error")
        return redirect(url_for("activities.show", record_id=record.id))
    try:
        stored = services.add_files(record, _uploaded())
    except services.ActivityError as exc:
        db.session.rollback()
        services.record_refused_upload(g.school, str(exc))
        flash(str(exc), "error")
        return redirect(url_for("activities.show", record_id=record_id))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        services.discard(stored)
        raise
    flash(_("已上传 %(n)s 个文件", n=len(stored)), "success")
    return redirect(url_for("activities.show", record_id=record_id))


@bp.route("/s/<int:school>/activities/<int:record_id>/files/<int:file_id>/delete", methods=["POST"])
@requires("school.edit")
def delete_file(record_id: int, file_id: int):
    record = _record_or_404(record_id)
    upload_row = services.file_for(record, file_id)
    if upload_row is None:
        abort(404)
    path = services.delete_file(upload_row)
    db.session.commit()
    services.discard([path])
    flash(_("文件已删除"), "success")
    return redirect(url_for("activities.show", record_id=record_id))


@bp.route("/s/<int:school>/activities/<int:record_id>/files/<int:file_id>")
@requires("school.view")
def download(record_id: int, file_id: int):
    """Send a file after the ownership check (record of this school, file of this record),
    under its original name; images may be shown inline, anything else is an attachment."""
    record = _record_or_404(record_id)
    upload_row = services.file_for(record, file_id)
    if upload_row is None:
        abort(404)
    try:
        path = absolute(upload_row.stored_path)
    except UploadError:
        path = None
    if path is None or not os.path.isfile(path):
        flash(_("文件“%(name)s”已丢失，请重新上传", name=upload_row.original_name), "error")
        return redirect(url_for("activities.show", record_id=record_id))
    inline = request.args.get("inline") == "1" and upload_row.content_type in INLINE_TYPES
    response = send_file(path, mimetype=upload_row.content_type, as_attachment=not inline,
                         download_name=upload_row.original_name, max_age=0, conditional=False)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/s/<int:school>/activities/<int:year>/calendar")
@requires("school.view")
def calendar(year: int):
    _year_or_404(year)
    data = services.calendar(g.school.id, year)
    return render_template("activities/calendar.html", year=year, services=services, **data)


@bp.route("/activities/<int:year>/completion")
@requires("district.view")
def completion(year: int):
    _year_or_404(year)
    sort = request.args.get("sort", "name")
    sort = sort if sort in services.SORT_KEYS else "name"
    order = "desc" if request.args.get("order") == "desc" else "asc"
    q = (request.args.get("q") or "").strip()[:50]
    rows = services.sort_completion(services.district_completion(year), sort, order == "desc")
    page = ListPage(services.search_completion(rows, q), max(1, request.args.get("page", 1, type=int)))
    labels = {label: translate(label) for label in {r.plan_status_label for r in page.items}}
    # The chart (every school) reads completion_chart: the page carries one page of rows.
    return render_template("activities/completion.html", year=year, rows=rows, page=page, q=q, sort=sort,
                           order=order, labels=labels, totals=services.completion_totals(rows),
                           calendar_url=_school_url("activities.calendar", year=year))


def _school_url(endpoint: str, **values) -> tuple[str, str]:
    """(before, after) the school id in the URL of ``endpoint`` for any school: one url_for for a
    table of rows instead of one a row."""
    marker = "2147483647"
    url = url_for(endpoint, school=int(marker), **values)
    before, after = url.split(f"/{marker}/", 1)
    return before + "/", "/" + after


@bp.route("/activities/<int:year>/completion/chart.json")
@requires("district.view")
def completion_chart(year: int):
    """What completion.js draws: every school with something planned, in name order."""
    _year_or_404(year)
    return jsonify(services.chart_data(services.district_completion(year)))


@bp.route("/activities/<int:year>/completion.xlsx")
@requires("district.view")
def completion_export(year: int):
    _year_or_404(year)
    sort = request.args.get("sort", "name")
    rows = services.sort_completion(services.district_completion(year), sort if sort in services.SORT_KEYS else "name",
                                    request.args.get("order") == "desc")
    rows = services.search_completion(rows, (request.args.get("q") or "").strip()[:50])
    data = services.completion_workbook(rows, year, g.district.name)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{g.district.name}{year}年计划完成率.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
