"""工作总结 pages. Thin: parse the input, call ``services``, commit once, render.

* ``summaries`` — a school's summary: ``/d/<district>/s/<school>/summaries/<year>`` (edit, save,
  submit, versions, the dossier download and retry).
* ``summary_review`` — the district: ``/d/<district>/summaries/<year>`` (every school with its
  status, filters) and one summary to accept (阅收) or return with a comment.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import allowed, requires
from app.compilation import dossiers, storage
from app.compilation.models import SUMMARY_DOSSIER
from app.extensions import db
from app.jobs.models import JobRun
from app.plans.services import Actor
from app.summaries import services
from app.summaries.models import SECTIONS
from app.summaries.services import SummaryError
from tenants.models import School

bp = Blueprint("summaries", __name__, url_prefix="/d/<district>/s/<int:school>/summaries",
               template_folder="templates")
review_bp = Blueprint("summary_review", __name__, url_prefix="/d/<district>/summaries", template_folder="templates")

MIN_YEAR, MAX_YEAR = 2000, 2100


def _check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404)
    return year


def _runs_for(versions) -> dict[int, JobRun]:
    ids = [v.dossier_run_id for v in versions if v.dossier_run_id]
    if not ids:
        return {}
    return {run.id: run for run in db.session.scalars(select(JobRun).where(JobRun.id.in_(ids)))}


def _common(year: int) -> dict:
    return {"year": year, "sections": SECTIONS, "decision_labels": services.DECISION_LABELS,
            "figure_rows": services.figure_rows, "rate_text": services.rate_text}


# =========================================================================== school side

def _render_show(year: int, typed: dict | None = None, errors: dict | None = None, status: int = 200):
    summary = services.get_summary(g.school.id, year)
    versions = services.versions_of(summary) if summary else []
    can_edit = allowed("school.edit")
    editable = can_edit and (summary is None or summary.status in ("draft", "returned"))
    values = typed if typed is not None else (summary.sections() if summary else {})
    latest = versions[0] if versions else None
    return render_template(
        "summaries/show.html", summary=summary, versions=versions, runs=_runs_for(versions), school=g.school,
        values=values, errors=errors or {}, editable=editable, can_edit=can_edit, latest=latest,
        returned=services.returned_version(summary), live_figures=services.compute_figures(g.school.id, year),
        **_common(year)), status


@bp.route("/<int:year>", methods=["GET"])
@requires("school.view")
def show(year: int):
    _check_year(year)
    return _render_show(year)


@bp.route("/<int:year>", methods=["POST"])
@requires("school.edit")
def save(year: int):
    _check_year(year)
    typed = {key: request.form.get(key, "") for key, _label in SECTIONS}
    try:
        services.save_draft(g.school, year, typed, Actor.current())
        db.session.commit()
    except SummaryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_show(year, typed, {exc.field or "_": str(exc)}, 400)
    flash(_("草稿已保存"), "success")
    return redirect(url_for("summaries.show", year=year))


@bp.route("/<int:year>/submit", methods=["POST"])
@requires("school.submit")
def submit(year: int):
    _check_year(year)
    summary = services.get_summary(g.school.id, year)
    if summary is None:
        flash(_("请先填写并保存工作总结，再提交"), "error")
        return redirect(url_for("summaries.show", year=year))
    try:
        version = services.submit(summary, Actor.current())
        db.session.commit()
    except SummaryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("已提交第 %(n)s 版工作总结，等待区教育工会阅收", n=version.number), "success")
    return redirect(url_for("summaries.show", year=year))


@bp.route("/<int:year>/versions/<int:number>")
@requires("school.view")
def version(year: int, number: int):
    _check_year(year)
    summary = services.get_summary(g.school.id, year)
    version = services.version_by_number(summary, number) if summary else None
    if version is None:
        abort(404)
    return render_template("summaries/version.html", summary=summary, version=version, school=g.school,
                           runs=_runs_for([version]), **_common(year))


def _version_or_404(summary_version_id: int):
    version = services.version_by_id(summary_version_id, g.school.id)
    if version is None:
        abort(404)
    summary = db.session.get(services.YearSummary, (version.district_id, version.summary_id))
    return version, url_for("summaries.show", year=summary.year)


@bp.route("/dossiers/<int:summary_version_id>")
@requires("school.view")
def dossier(summary_version_id: int):
    version, back = _version_or_404(summary_version_id)
    artifact = storage.find(SUMMARY_DOSSIER, dossiers.summary_subject(version.id), dossiers.RENDERER)
    if artifact is None or not storage.exists(artifact):
        flash(_("材料汇编尚未生成，请稍候；如生成失败可点击“重新生成”"), "warning")
        return redirect(back)
    return send_file(storage.absolute(artifact), mimetype="application/pdf", as_attachment=True,
                     download_name=artifact.filename, max_age=0)


@bp.route("/dossiers/<int:summary_version_id>/retry", methods=["POST"])
@requires("school.view")
def retry_dossier(summary_version_id: int):
    version, back = _version_or_404(summary_version_id)
    dossiers.retry(SUMMARY_DOSSIER, version.id, version.dossier_run_id, current_user.id, g.school.id)
    db.session.commit()
    flash(_("已重新开始生成材料汇编"), "info")
    target = request.form.get("back", "")
    return redirect(target if target.startswith("/d/") and "//" not in target else back)


# =========================================================================== district side

@review_bp.route("/<int:year>")
@requires("district.view")
def tracking(year: int):
    _check_year(year)
    status = request.args.get("status", "")
    status = status if status in services.TRACKING_LABELS else ""
    q = (request.args.get("q") or "").strip()[:50]
    return render_template("summaries/tracking.html", rows=services.tracking_rows(year, status=status, q=q),
                           counts=services.tracking_counts(year), labels=services.TRACKING_LABELS, status=status,
                           q=q, **_common(year))


def _summary_or_404(summary_id: int):
    summary = services.summary_by_id(summary_id)
    if summary is None:
        abort(404)
    school = db.session.get(School, (summary.district_id, summary.school_id))
    if school is None:
        abort(404)
    return summary, school


def _render_review(summary, school, note: str = "", errors: dict | None = None, status: int = 200):
    versions = services.versions_of(summary)
    return render_template("summaries/review.html", summary=summary, school=school, versions=versions,
                           latest=versions[0] if versions else None, runs=_runs_for(versions), note=note,
                           errors=errors or {}, **_common(summary.year)), status


@review_bp.route("/review/<int:summary_id>")
@requires("district.view")
def review(summary_id: int):
    summary, school = _summary_or_404(summary_id)
    return _render_review(summary, school)


@review_bp.route("/review/<int:summary_id>/accept", methods=["POST"])
@requires("plans.review")
def accept(summary_id: int):
    summary, school = _summary_or_404(summary_id)
    note = request.form.get("note", "")
    try:
        version = services.accept(summary, request.form.get("version", type=int), Actor.current(), note)
        db.session.commit()
    except SummaryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_review(summary, school, note, {exc.field or "_": str(exc)}, 400)
    flash(_("已阅收%(school)s的工作总结（第 %(n)s 版）", school=school.name, n=version.number), "success")
    return redirect(url_for("summary_review.tracking", year=summary.year))


@review_bp.route("/review/<int:summary_id>/return", methods=["POST"])
@requires("plans.review")
def return_summary(summary_id: int):
    summary, school = _summary_or_404(summary_id)
    note = request.form.get("note", "")
    try:
        version = services.return_summary(summary, request.form.get("version", type=int), Actor.current(), note)
        db.session.commit()
    except SummaryError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _render_review(summary, school, note, {exc.field or "_": str(exc)}, 400)
    flash(_("已退回%(school)s的工作总结（第 %(n)s 版）", school=school.name, n=version.number), "success")
    return redirect(url_for("summary_review.tracking", year=summary.year))
