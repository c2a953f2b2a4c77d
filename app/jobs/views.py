"""Job progress: a page with the progress bar, and the JSON it polls."""
from flask import Blueprint, abort, jsonify, render_template

from app.access import requires
from app.extensions import db
from app.jobs.models import JobRun
from app.jobs.services import run_as_dict

bp = Blueprint("jobs", __name__, url_prefix="/d/<district>/jobs", template_folder="templates")


def _run_or_404(run_id: int) -> JobRun:
    from flask import g

    run = db.session.get(JobRun, (g.district.id, run_id))
    if run is None:
        abort(404)
    return run


@bp.route("/<int:run_id>")
@requires("jobs.view")
def show(run_id: int):
    return render_template("jobs/show.html", run=_run_or_404(run_id))


@bp.route("/<int:run_id>/progress")
@requires("jobs.view")
def progress(run_id: int):
    return jsonify(run_as_dict(_run_or_404(run_id)))
