"""Results pages: the district's calibration, decisions, publication, objections and finalising;
the school's results page (during and after the 公示) with its feedback sheet and objections.
Thin: parse, call a service, commit once, render."""
from __future__ import annotations

import io
import logging
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.extensions import db
from app.paging import ListPage
from app.results import aggregation, services, tiers
from app.results.models import OBJECTION_STATES, Objection, ObjectionFile, WorkdayOverride
from app.rounds.models import Application, Round
from app.rounds.services import RoundError
from app.titles.models import Title
from app.uploads import UploadError, absolute, remove

log = logging.getLogger("jianjia.results")

bp = Blueprint("results", __name__, url_prefix="/d/<district>/results", template_folder="templates")
school_bp = Blueprint("school_results", __name__, url_prefix="/d/<district>/s/<int:school>/results",
                      template_folder="templates")

PAST_ASSESSING = ("calibrating", "publicised", "final")
REFUSALS = (services.ResultsError, RoundError)


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, (g.district.id, round_id))
    if round_ is None:
        abort(404)
    return round_


def _application_or_404(round_: Round, application_id: int) -> Application:
    application = db.session.get(Application, (g.district.id, application_id))
    if application is None or application.round_id != round_.id:
        abort(404)
    return application


def _labels(round_: Round) -> dict:
    return dict(methods=aggregation.METHODS, level_label=lambda code: services.level_label(round_, code),
                choices=services.level_choices(round_), objection_states=OBJECTION_STATES,
                tie_break_label=tiers.tie_break_label, fmt=aggregation.fmt, explain_self=services.explain_self,
                explain_assessor_column=services.explain_assessor_column, explain_spread=services.explain_spread)


def _back(round_id: int, anchor: str | None = None, **view):
    return redirect(url_for("results.show", round_id=round_id, _anchor=anchor, **view))


def _table_view(values) -> dict:
    """The table view (sort, direction, flagged only, page) in ``values`` (a decision form's fields,
    or its page's query string), to return to the same page."""
    view = {}
    if values.get("sort") in services.SORTS:
        view["sort"] = values["sort"]
    if values.get("dir") == "desc":
        view["dir"] = "desc"
    if values.get("flagged") == "1":
        view["flagged"] = "1"
    page = values.get("page", type=int)
    if page and page > 1:
        view["page"] = page
    return view


# --- district ------------------------------------------------------------------------------------

PER_PAGE = 50  # applications per page of the calibration table


def _table_args() -> dict:
    """The calibration table's view (sort, direction, flagged only, page) from the query string."""
    sort = request.args.get("sort", "rank")
    return {"sort": sort if sort in services.SORTS else "rank", "descending": request.args.get("dir") == "desc",
            "flagged": request.args.get("flagged") == "1", "page": max(1, request.args.get("page", 1, type=int))}


@bp.route("/<int:round_id>/")
@requires("results.view")
def show(round_id: int):
    """Calibration: per application self, assessor and combined totals, spread, flags, proposals,
    decisions, sorted over the whole round and shown a page at a time (Row objects only for the page
    shown); every number opens to show its inputs (fetched when opened: ``explain``), the decision
    form too (``decision_form``). Constant queries."""
    round_ = _round_or_404(round_id)
    args = _table_args()
    table = services.calibration_table(round_, args["sort"], args["descending"], flagged_only=args["flagged"]) \
        if round_.status in ("assessing", *PAST_ASSESSING) else None
    page = ListPage(table.order if table else [], args["page"], PER_PAGE)
    publication = services.active_publication(round_) if round_.status in ("publicised", "final") else None
    objections = services.objections_of(round_)
    files = services.objection_files(o.id for o in objections)
    snapshot = services.snapshot_of(round_) if round_.status == "final" else None
    view = {"sort": args["sort"], "dir": "desc" if args["descending"] else None,
            "flagged": "1" if args["flagged"] else None, "page": page.page if page.page > 1 else None}
    view_query = "?" + urlencode({k: v for k, v in view.items() if v is not None})
    return render_template("results/show.html", round=round_, calibration=table.calibration if table else None,
                           rows=table.rows(page.items) if table else [], page=page, count=table.count if table else 0,
                           view_query=view_query,
                           sort=args["sort"], descending=args["descending"], flagged_only=args["flagged"],
                           flagged_count=table.flagged if table else 0, publication=publication,
                           objections=objections, files=files, snapshot=snapshot,
                           problems=table.problems if table else [], today=services.rounds.china_today(),
                           **_labels(round_))


def _calibrated_row(round_: Round, application_id: int):
    """(calibration, row) of an application of a round past assessing; a redirect to the calibration
    page (with a note) when the round has no scores yet or the application is not among them. One
    row is built, not the round's."""
    app_ = _application_or_404(round_, application_id)
    if round_.status not in ("assessing", *PAST_ASSESSING):
        flash(_("轮次尚未进入评审，没有评分结果"), "info")
        return None, redirect(url_for("results.show", round_id=round_.id))
    calibration, row = services.calibration_row(round_, app_.id)
    if row is None:
        flash(_("该申报不在评审结果中"), "info")
        return None, redirect(url_for("results.show", round_id=round_.id))
    return calibration, row


@bp.route("/<int:round_id>/applications/<int:application_id>")
@requires("results.view")
def application(round_id: int, application_id: int):
    """One application: per indicator the self score, each assessor's score, the aggregate, the
    spread and the combined score, each with its inputs; the assessors' comments."""
    round_ = _round_or_404(round_id)
    calibration, row = _calibrated_row(round_, application_id)
    if calibration is None:
        return row
    return render_template("results/application.html", round=round_, row=row, calibration=calibration,
                           groups=calibration.parts.grouped(), **_labels(round_))


@bp.route("/<int:round_id>/applications/<int:application_id>/explain/<figure>")
@requires("results.view")
def explain(round_id: int, application_id: int, figure: str):
    """How one number of the calibration table was computed: the fragment the table fetches when
    the number is opened (htmx), or a page of its own without JavaScript."""
    round_ = _round_or_404(round_id)
    if figure not in services.FIGURES:
        abort(404)
    calibration, row = _calibrated_row(round_, application_id)
    if calibration is None:
        return row
    shown = services.explain_figure(row, figure)
    if shown is None:
        abort(404)
    value, text = shown
    if request.headers.get("HX-Request"):
        return render_template("results/_explain_text.html", text=text)
    return render_template("results/explain.html", round=round_, row=row, figure=figure,
                           label=services.FIGURES[figure], value=value, text=text)


@bp.route("/<int:round_id>/decisions/<int:application_id>")
@requires("results.manage")
def decision_form(round_id: int, application_id: int):
    """The form to confirm or change the result of one application: the fragment the calibration
    table fetches when its 确认或调整 is opened (htmx), or a page of its own without JavaScript. It
    posts to ``decide``, which returns to the table's page (sort, direction, filter, page kept)."""
    round_ = _round_or_404(round_id)
    if round_.status != "calibrating":
        flash(_("轮次当前为「%(status)s」，不能确认或调整结果", status=_(round_.status_label)), "info")
        return redirect(url_for("results.show", round_id=round_.id))
    calibration, row = _calibrated_row(round_, application_id)
    if calibration is None:
        return row
    if row.combined is None:
        abort(404)
    values = dict(round=round_, row=row, view=_table_view(request.args), choices=services.level_choices(round_))
    if request.headers.get("HX-Request"):
        return render_template("results/_decide_form.html", **values)
    return render_template("results/decide.html", **values, level_label=lambda code: services.level_label(round_, code),
                           fmt=aggregation.fmt)


def _do(round_id: int, action, success: str, anchor=None):
    round_ = _round_or_404(round_id)
    try:
        result = action(round_)
        db.session.commit()
    except REFUSALS as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(success if not callable(success) else success(result), "success")
    return _back(round_id, anchor)


@bp.route("/<int:round_id>/start-calibrating", methods=["POST"])
@requires("results.manage")
def start_calibrating(round_id: int):
    return _do(round_id, lambda r: services.start_calibrating(r, user_id=current_user.id),
               lambda n: _("已进入核分，%(n)s 份申报已评分", n=n))


@bp.route("/<int:round_id>/confirm-proposals", methods=["POST"])
@requires("results.manage")
def confirm_proposals(round_id: int):
    return _do(round_id, lambda r: services.confirm_proposals(r, user_id=current_user.id),
               lambda n: _("已确认 %(n)s 项推荐结果（同分待定和待确认否决项须逐一决定）", n=n))


@bp.route("/<int:round_id>/decisions/<int:application_id>", methods=["POST"])
@requires("results.manage")
def decide(round_id: int, application_id: int):
    round_ = _round_or_404(round_id)
    app_ = _application_or_404(round_, application_id)
    try:
        services.decide(round_, app_, request.form.get("level", ""), request.form.get("reason", ""),
                        user_id=current_user.id)
        db.session.commit()
    except REFUSALS as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("结果已确认"), "success")
    return _back(round_id, f"app-{application_id}", **_table_view(request.form))


@bp.route("/<int:round_id>/publish", methods=["POST"])
@requires("results.manage")
def publish(round_id: int):
    return _do(round_id, lambda r: services.publish(r, user_id=current_user.id),
               lambda p: _("结果已发布，公示期 %(a)s 至 %(b)s（%(n)s 个工作日）", a=p.starts_on, b=p.ends_on,
                           n=p.working_days))


@bp.route("/<int:round_id>/reopen", methods=["POST"])
@requires("results.manage")
def reopen(round_id: int):
    return _do(round_id, lambda r: services.reopen_calibration(r, request.form.get("reason", ""),
                                                               user_id=current_user.id),
               _("已撤回公示，轮次退回核分；更正后请重新发布"))


@bp.route("/<int:round_id>/finalise", methods=["POST"])
@requires("results.manage")
def finalise(round_id: int):
    return _do(round_id, lambda r: services.finalise(r, user_id=current_user.id),
               _("结果已定稿，结果快照已冻结，称号已授予"))


@bp.route("/<int:round_id>/results.xlsx")
@requires("results.view")
def export(round_id: int):
    round_ = _round_or_404(round_id)
    calibration = services.calibrate(round_) if round_.status in ("assessing", *PAST_ASSESSING) else None
    if calibration is None:
        flash(_("轮次尚未进入评审，没有可导出的结果"), "info")
        return redirect(url_for("results.show", round_id=round_id))
    data = services.workbook(calibration, g.district.name)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{round_.year}年{round_.name}评审结果.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _file_objection(round_: Round, school_id):
    files = [(f.filename, f.read(services.MAX_OBJECTION_BYTES + 1)) for f in request.files.getlist("file")
             if f and f.filename]
    paths = []
    try:
        _objection, paths = services.file_objection(round_, request.form.get("reason", ""), school_id=school_id,
                                                    application_id=request.form.get("application_id") or None,
                                                    files=files, user_id=current_user.id)
        db.session.commit()
    except (*REFUSALS, UploadError) as exc:
        db.session.rollback()
        for path in paths:
            remove(path)
        return str(exc)
    except Exception:
        db.session.rollback()
        for path in paths:
            remove(path)
        raise
    return None


@bp.route("/<int:round_id>/objections", methods=["POST"])
@requires("results.view")  # district staff file here; schools on their own page (results.object)
def file_objection(round_id: int):
    round_ = _round_or_404(round_id)
    problem = _file_objection(round_, None)
    if problem:
        flash(problem, "error")
    else:
        flash(_("异议已提交，区教育工会将逐件处理"), "success")
    return _back(round_id, "objections")


def _objection_or_404(round_: Round, objection_id: int) -> Objection:
    objection = db.session.get(Objection, (g.district.id, objection_id))
    if objection is None or objection.round_id != round_.id:
        abort(404)
    return objection


@bp.route("/<int:round_id>/objections/<int:objection_id>/decide", methods=["POST"])
@requires("results.manage")
def decide_objection(round_id: int, objection_id: int):
    round_ = _round_or_404(round_id)
    objection = _objection_or_404(round_, objection_id)
    try:
        services.decide_objection(objection, request.form.get("outcome", ""), request.form.get("reason", ""),
                                  user_id=current_user.id)
        db.session.commit()
    except REFUSALS as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        flash(_("异议已处理：%(label)s", label=_(objection.status_label)), "success")
    return _back(round_id, "objections")


def _send(file: ObjectionFile):
    try:
        path = absolute(file.stored_path)
    except UploadError:
        abort(404)
    try:
        response = send_file(path, as_attachment=True, download_name=file.original_name,
                             mimetype=file.content_type, max_age=0)
    except FileNotFoundError:
        log.error("objection file missing: %s/%s", file.district_id, file.id)
        abort(404)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _objection_file_or_404(round_: Round, objection_id: int, objection_file_id: int) -> ObjectionFile:
    objection = _objection_or_404(round_, objection_id)
    file = db.session.get(ObjectionFile, (g.district.id, objection_file_id))
    if file is None or file.objection_id != objection.id:
        abort(404)
    return file


@bp.route("/<int:round_id>/objections/<int:objection_id>/files/<int:objection_file_id>")
@requires("results.view")
def objection_file(round_id: int, objection_id: int, objection_file_id: int):
    round_ = _round_or_404(round_id)
    return _send(_objection_file_or_404(round_, objection_id, objection_file_id))


# --- the district's working-day calendar ------------------------------------------------------------

def _calendar_page(error=None, status=200):
    from app.results import workdays

    overrides = list(db.session.scalars(select(WorkdayOverride).order_by(WorkdayOverride.day.desc())))
    return render_template("results/calendar.html", overrides=overrides, error=error,
                           form=request.form if error else {},
                           sources=[workdays.CALENDARS[y]["source"] for y in workdays.known_years()]), status


@bp.route("/calendar")
@requires("results.view")
def calendar():
    """Extra working days and days off of the district, on top of the national calendar."""
    return _calendar_page()


@bp.route("/calendar", methods=["POST"])
@requires("results.manage")
def save_override():
    working = {"1": True, "0": False}.get(request.form.get("working", ""))
    try:
        override = services.set_workday_override(request.form.get("day", ""), working, request.form.get("note", ""),
                                                  user_id=current_user.id)
        db.session.commit()
    except services.ResultsError as exc:
        db.session.rollback()
        return _calendar_page(str(exc), 400)
    flash(_("已设置 %(day)s 为%(what)s", day=override.day, what=_("上班") if override.working else _("放假")),
          "success")
    return redirect(url_for("results.calendar"))


@bp.route("/calendar/<int:override_id>/delete", methods=["POST"])
@requires("results.manage")
def delete_override(override_id: int):
    override = db.session.get(WorkdayOverride, (g.district.id, override_id))
    if override is None:
        abort(404)
    services.remove_workday_override(override)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("results.calendar"))


# --- the school's side ------------------------------------------------------------------------------

def _visible_publication(round_: Round):
    """What the schools may see: the active publication of a publicised or final round."""
    if round_.status not in ("publicised", "final"):
        return None
    return services.active_publication(round_)


@school_bp.route("/<int:round_id>/")
@requires("school.view")
def school_show(round_id: int):
    round_ = _round_or_404(round_id)
    if round_.status == "draft":
        abort(404)
    publication = _visible_publication(round_)
    window_problem = services.objection_window(round_)[1] if publication else None
    objections = [o for o in services.objections_of(round_) if o.school_id == g.school.id]
    files = services.objection_files(o.id for o in objections)
    titles = []
    if round_.status == "final":
        titles = list(db.session.scalars(select(Title).where(Title.round_id == round_.id,
                                                             Title.school_id == g.school.id)))
    content = publication.content if publication else {}
    own = next((r for r in content.get("rows", []) if r["school_id"] == g.school.id), None)
    feedback = content.get("feedback", {}).get(str(g.school.id)) if own else None
    return render_template("results/school.html", round=round_, school=g.school, publication=publication,
                           rows=content.get("rows", []), own=own, feedback=feedback, objections=objections,
                           files=files, window_problem=window_problem, titles=titles,
                           objection_states=OBJECTION_STATES)


@school_bp.route("/<int:round_id>/objections", methods=["POST"])
@requires("results.object")
def school_file_objection(round_id: int):
    round_ = _round_or_404(round_id)
    if round_.status == "draft":
        abort(404)
    problem = _file_objection(round_, g.school.id)
    if problem:
        flash(problem, "error")
    else:
        flash(_("异议已提交，区教育工会将逐件处理"), "success")
    return redirect(url_for("school_results.school_show", round_id=round_id, _anchor="objections"))


@school_bp.route("/<int:round_id>/objections/<int:objection_id>/files/<int:objection_file_id>")
@requires("school.view")
def school_objection_file(round_id: int, objection_id: int, objection_file_id: int):
    """Only the filer's school: the ORM scope hides other schools' objections (404)."""
    round_ = _round_or_404(round_id)
    file = _objection_file_or_404(round_, objection_id, objection_file_id)
    if file.school_id != g.school.id:
        abort(404)
    return _send(file)
