"""Dossier downloads and retries (school pages) and merged dossier bundles (district).

* ``dossiers`` — ``/d/<district>/s/<school>/dossiers/…``: a submission's PDF and its retry.
* ``dossier_bundles`` — ``/d/<district>/dossiers/…``: all dossiers of a year or a round as
  one PDF with a bookmark per school, compiled as one job with progress.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.compilation import dossiers, storage
from app.compilation.models import APPLICATION_DOSSIER, DOSSIER_BUNDLE, PLAN_DOSSIER
from app.extensions import db
from app.jobs.models import JobRun

bp = Blueprint("dossiers", __name__, url_prefix="/d/<district>/s/<int:school>/dossiers", template_folder="templates")
bundles_bp = Blueprint("dossier_bundles", __name__, url_prefix="/d/<district>/dossiers", template_folder="templates")


@bp.app_template_global()
def dossier_run(run_id):
    """The compile run of a submission's dossier (for the dossier cell on submission pages)."""
    if not run_id:
        return None
    return db.session.scalar(select(JobRun).where(JobRun.id == run_id))


def _plan_version_or_404(version_id: int):
    from app.plans.models import PlanVersion, WorkPlan

    version = db.session.scalar(select(PlanVersion).where(PlanVersion.id == version_id,
                                                          PlanVersion.school_id == g.school.id))
    if version is None:
        abort(404)
    plan = db.session.get(WorkPlan, (version.district_id, version.plan_id))
    return version, url_for("plans.version", year=plan.year, number=version.number)


def _snapshot_or_404(snapshot_id: int):
    from app.rounds.models import Application, ApplicationSnapshot

    snapshot = db.session.scalar(select(ApplicationSnapshot).where(ApplicationSnapshot.id == snapshot_id,
                                                                   ApplicationSnapshot.school_id == g.school.id))
    if snapshot is None:
        abort(404)
    application = db.session.get(Application, (snapshot.district_id, snapshot.application_id))
    return snapshot, url_for("school_rounds.school_application", round_id=application.round_id)


def _send(artifact, back: str):
    if artifact is None or not storage.exists(artifact):
        flash(_("材料汇编尚未生成，请稍候；如生成失败可点击“重新生成”"), "warning")
        return redirect(back)
    return send_file(storage.absolute(artifact), mimetype="application/pdf", as_attachment=True,
                     download_name=artifact.filename, max_age=0)


def _retry(kind, subject_id, run_id, back):
    dossiers.retry(kind, subject_id, run_id, current_user.id, g.school.id)
    db.session.commit()
    flash(_("已重新开始生成材料汇编"), "info")
    return redirect(request.form.get("back") if request.form.get("back", "").startswith("/d/") else back)


@bp.route("/plan-versions/<int:version_id>")
@requires("school.view")
def plan_version(version_id: int):
    version, back = _plan_version_or_404(version_id)
    return _send(storage.find(PLAN_DOSSIER, dossiers.plan_subject(version.id), dossiers.RENDERER), back)


@bp.route("/plan-versions/<int:version_id>/retry", methods=["POST"])
@requires("school.view")
def retry_plan_version(version_id: int):
    version, back = _plan_version_or_404(version_id)
    return _retry(PLAN_DOSSIER, version.id, version.dossier_run_id, back)


@bp.route("/snapshots/<int:snapshot_id>")
@requires("school.view")
def snapshot(snapshot_id: int):
    snap, back = _snapshot_or_404(snapshot_id)
    return _send(storage.find(APPLICATION_DOSSIER, dossiers.snapshot_subject(snap.id), dossiers.RENDERER), back)


@bp.route("/snapshots/<int:snapshot_id>/retry", methods=["POST"])
@requires("school.view")
def retry_snapshot(snapshot_id: int):
    snap, back = _snapshot_or_404(snapshot_id)
    return _retry(APPLICATION_DOSSIER, snap.id, snap.dossier_run_id, back)


# --------------------------------------------------------------------------- bundles (district)

def _bundle_state(scope_kind: str, scope_id: int) -> dict:
    members = dossiers.bundle_members(scope_kind, scope_id)
    fp = dossiers.bundle_fingerprint(members)
    subject = dossiers.bundle_subject(scope_kind, scope_id)
    artifact = storage.find(DOSSIER_BUNDLE, subject)
    run = db.session.scalar(select(JobRun).where(
        JobRun.kind == DOSSIER_BUNDLE, JobRun.dedupe_key == f"dossier-bundle-{scope_kind}-{scope_id}-{fp[:16]}"))
    return {"members": members, "artifact": artifact if storage.exists(artifact) else None,
            "fresh": artifact is not None and artifact.fingerprint == fp, "run": run}


def _rounds():
    from app.rounds.models import Round

    return db.session.scalars(select(Round).order_by(Round.year.desc(), Round.id.desc())).all()


@bundles_bp.route("/")
@requires("rollup.view")
def index():
    from app.activities.services import current_year

    year = request.args.get("year", type=int) or current_year()
    if not 2000 <= year <= 2100:
        abort(404)
    rounds = [r for r in _rounds() if r.year == year]
    return render_template("compilation/bundles.html", year=year, year_state=_bundle_state("year", year),
                           rounds=[(r, _bundle_state("round", r.id)) for r in rounds])


@bundles_bp.route("/years/<int:year>", methods=["POST"])
@requires("rollup.compile")
def compile_year(year: int):
    if not 2000 <= year <= 2100:
        abort(404)
    run, _fp = dossiers.submit_bundle("year", year, current_user.id)
    db.session.commit()
    flash(_("已开始合并材料汇编"), "info")
    return redirect(url_for("dossier_bundles.index", year=year))


@bundles_bp.route("/years/<int:year>.pdf")
@requires("rollup.view")
def download_year(year: int):
    artifact = storage.find(DOSSIER_BUNDLE, dossiers.bundle_subject("year", year))
    if not storage.exists(artifact):
        flash(_("合并的材料汇编尚未生成"), "warning")
        return redirect(url_for("dossier_bundles.index", year=year))
    return send_file(storage.absolute(artifact), mimetype="application/pdf", as_attachment=True,
                     download_name=artifact.filename, max_age=0)


def _round_or_404(round_id: int):
    from app.rounds.models import Round

    round_ = db.session.scalar(select(Round).where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


@bundles_bp.route("/rounds/<int:round_id>", methods=["POST"])
@requires("rollup.compile")
def compile_round(round_id: int):
    round_ = _round_or_404(round_id)
    dossiers.submit_bundle("round", round_.id, current_user.id)
    db.session.commit()
    flash(_("已开始合并材料汇编"), "info")
    return redirect(url_for("dossier_bundles.index", year=round_.year))


@bundles_bp.route("/rounds/<int:round_id>.pdf")
@requires("rollup.view")
def download_round(round_id: int):
    round_ = _round_or_404(round_id)
    artifact = storage.find(DOSSIER_BUNDLE, dossiers.bundle_subject("round", round_.id))
    if not storage.exists(artifact):
        flash(_("合并的材料汇编尚未生成"), "warning")
        return redirect(url_for("dossier_bundles.index", year=round_.year))
    return send_file(storage.absolute(artifact), mimetype="application/pdf", as_attachment=True,
                     download_name=artifact.filename, max_age=0)
