"""Job progress: a page with the progress bar, and the JSON it polls; the list of job runs
of a district (what ran, when, how long, failures with a readable reason) and, for the
platform admin, across districts."""
from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import select

from app.access import requires
from app.extensions import db
from app.i18n import N_
from app.jobs.models import STATUS_LABELS, JobRun
from app.jobs.services import run_as_dict

bp = Blueprint("jobs", __name__, url_prefix="/d/<district>/jobs", template_folder="templates")
platform_bp = Blueprint("platform_jobs", __name__, url_prefix="/platform/jobs", template_folder="templates")

KIND_LABELS = {
    "plan_dossier": N_("工作计划材料汇编"), "application_dossier": N_("申报材料汇编"),
    "summary_dossier": N_("工作总结材料汇编"),
    "dossier_bundle": N_("合并材料汇编"), "rollup": N_("区级汇总"), "import_people": N_("批量导入用户"),
    "plan_reminder_mail": N_("计划提醒邮件"),
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def duration(run: JobRun) -> str:
    if not run.started_at or not run.finished_at:
        return ""
    seconds = max(0.0, (run.finished_at - run.started_at).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f} 秒"
    return f"{int(seconds // 60)} 分 {int(seconds % 60)} 秒"


def _run_or_404(run_id: int) -> JobRun:
    from flask import g

    run = db.session.get(JobRun, (g.district.id, run_id))
    if run is None:
        abort(404)
    return run


def _page(stmt):
    status = request.args.get("status", "")
    if status in STATUS_LABELS:
        stmt = stmt.where(JobRun.status == status)
    page = max(1, request.args.get("page", 1, type=int))
    return SelectPagination(select=stmt.order_by(JobRun.created_at.desc(), JobRun.id.desc()), session=db.session(),
                            page=page, per_page=current_app.config["PAGE_SIZE"], max_per_page=None, error_out=False,
                            count=True), status


@bp.route("/")
@requires("jobs.view")
def index():
    """The district's runs (a school user sees its own school's runs only: the scope filter)."""
    page, status = _page(select(JobRun))
    return render_template("jobs/index.html", page=page, status=status, statuses=STATUS_LABELS,
                           kind_label=kind_label, duration=duration, districts=None)


@bp.route("/<int:run_id>")
@requires("jobs.view")
def show(run_id: int):
    return render_template("jobs/show.html", run=_run_or_404(run_id), kind_label=kind_label, duration=duration)


@bp.route("/<int:run_id>/progress")
@requires("jobs.view")
def progress(run_id: int):
    return jsonify(run_as_dict(_run_or_404(run_id)))


@platform_bp.route("/")
@requires("platform.manage")
def index():  # noqa: F811 - another blueprint's endpoint
    """Every district's runs, newest first (operations)."""
    from tenants.models import District
    from tenants.scope import system_scope

    with system_scope("platform admin: job runs across districts"):
        page, status = _page(select(JobRun))
        items = list(page.items)
        districts = {d.id: d for d in db.session.scalars(select(District))}
    return render_template("jobs/index.html", page=page, items=items, status=status, statuses=STATUS_LABELS,
                           kind_label=kind_label, duration=duration, districts=districts)
