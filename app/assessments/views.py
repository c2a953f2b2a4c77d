"""Assessment pages. District (``assessments.*``): the assessor pool and conflicts, assignment of
a round, progress and reminders, sheets (read, reopen) and findings. Assessor (``assess.*``):
my assignments and the scoring sheet. Thin: parse, call a service, commit once, render."""
from __future__ import annotations

import io
import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.assessments import services
from app.assessments.models import (ASSIGNMENT_SOURCES, CONFLICT_SOURCES, CONFLICT_STATUS_LABELS, FINDING_KINDS,
                                    SHEET_SUBMITTED, Assessor, AssessorConflict, Assignment, Finding)
from app.assessments.services import AssessmentError
from app.extensions import db
from app.rounds import services as round_services
from app.rounds.models import Application, Evidence, Round, SelfScore
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS
from app.spreadsheets import ImportRejected
from app.uploads import UploadError, absolute
from tenants.models import School
from tenants.scope import Scope, current_scope, set_scope

log = logging.getLogger("jianjia.assessments")

bp = Blueprint("assessments", __name__, url_prefix="/d/<district>/assessments", template_folder="templates")
assess_bp = Blueprint("assess", __name__, url_prefix="/d/<district>/assess", template_folder="templates")

LABELS = dict(sources=ASSIGNMENT_SOURCES, conflict_sources=CONFLICT_SOURCES, conflict_states=CONFLICT_STATUS_LABELS,
              finding_kinds=FINDING_KINDS, methods=EVIDENCE_METHODS, indicator_kinds=INDICATOR_KINDS)
INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png"}
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, (g.district.id, round_id))
    if round_ is None or round_.status == "draft":
        abort(404)
    return round_


def _errors_flash(exc: AssessmentError) -> None:
    for message in exc.errors.values():
        flash(str(message), "error")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- district: the pool -------------------------------------------------------------------------

@bp.route("/pool")
@requires("assessments.view")
def pool():
    assessors = services.pool()
    names = services.user_names([a.user_id for a in assessors])
    owns = services.own_schools([a.user_id for a in assessors])
    conflicts = services.conflicts_of([a.id for a in assessors])
    schools = {s.id: s for s in db.session.scalars(select(School).order_by(School.name))}
    return render_template("assessments/pool.html", assessors=assessors, names=names, owns=owns,
                           conflicts=conflicts, schools=schools, candidates=services.candidates(), **LABELS)


@bp.route("/pool/add", methods=["POST"])
@requires("assessments.manage")
def pool_add():
    user_id = _int(request.form.get("user_id"))
    try:
        services.add_assessor(user_id or 0, note=request.form.get("note", ""), actor_id=current_user.id)
        db.session.commit()
        flash(_("已加入评审专家库"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.pool"))


def _assessor_or_404(assessor_id: int) -> Assessor:
    assessor = db.session.get(Assessor, (g.district.id, assessor_id))
    if assessor is None:
        abort(404)
    return assessor


@bp.route("/pool/<int:assessor_id>/remove", methods=["POST"])
@requires("assessments.manage")
def pool_remove(assessor_id: int):
    assessor = _assessor_or_404(assessor_id)
    try:
        removed = services.remove_assessor(assessor, actor_id=current_user.id)
        db.session.commit()
        flash(_("已移出评审专家库，取消了 %(n)s 项未评分的指派", n=removed), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.pool"))


@bp.route("/pool/<int:assessor_id>/conflicts", methods=["POST"])
@requires("assessments.manage")
def declare_conflict(assessor_id: int):
    assessor = _assessor_or_404(assessor_id)
    try:
        services.declare_conflict(assessor, _int(request.form.get("school_id")), request.form.get("reason", ""),
                                  actor_id=current_user.id)
        db.session.commit()
        flash(_("已登记回避"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.pool", _anchor=f"assessor-{assessor_id}"))


@bp.route("/conflicts/<int:conflict_id>/decide", methods=["POST"])
@requires("assessments.manage")
def decide_conflict(conflict_id: int):
    conflict = db.session.get(AssessorConflict, (g.district.id, conflict_id))
    if conflict is None:
        abort(404)
    try:
        services.decide_conflict(conflict, request.form.get("decision", ""), request.form.get("reason", ""),
                                 actor_id=current_user.id)
        db.session.commit()
        flash(_("已处理利益冲突提示"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.pool", _anchor=f"assessor-{conflict.assessor_id}"))


# --- district: assignment of a round ------------------------------------------------------------

@bp.route("/rounds/<int:round_id>/")
@requires("assessments.view")
def assignments(round_id: int):
    round_ = _round_or_404(round_id)
    ctx = services.assign_context(round_)
    rows = services.assignments_of(round_)
    by_app: dict = {}
    for a in rows:
        by_app.setdefault(a.application_id, []).append(a)
    names = services.user_names([a.user_id for a in ctx.assessors.values()])
    assessor_names = {i: names.get(a.user_id, "") for i, a in ctx.assessors.items()}
    assessor_names.update(services.assessor_names(round_))
    apps = sorted(ctx.applications.values(), key=lambda p: ctx.schools[p.school_id].name)
    return render_template("assessments/assignments.html", round=round_, ctx=ctx, apps=apps, by_app=by_app,
                           assessor_names=assessor_names, panels=services.panels_of(round_),
                           progress=services.sheet_progress(round_),
                           can_assign=round_.status in services.ASSIGNABLE_ROUND_STATES, **LABELS)


def _back(round_id: int):
    return redirect(url_for("assessments.assignments", round_id=round_id))


@bp.route("/rounds/<int:round_id>/assign", methods=["POST"])
@requires("assessments.manage")
def assign(round_id: int):
    round_ = _round_or_404(round_id)
    application_id = _int(request.form.get("application_id"))
    assessor_ids = [_int(v) for v in request.form.getlist("assessor_id") if _int(v)]
    if not application_id or not assessor_ids:
        flash(_("请选择申报和评审专家"), "error")
        return _back(round_id)
    try:
        made = services.assign_many(round_, [(application_id, a) for a in assessor_ids], source="manual",
                                    actor_id=current_user.id)
        db.session.commit()
        flash(_("已指派 %(n)s 位评审专家", n=len(made)), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return _back(round_id)


@bp.route("/rounds/<int:round_id>/assignments/<int:assignment_id>/remove", methods=["POST"])
@requires("assessments.manage")
def unassign(round_id: int, assignment_id: int):
    round_ = _round_or_404(round_id)
    assignment = _assignment_of_round_or_404(round_, assignment_id)
    try:
        services.unassign(assignment, actor_id=current_user.id)
        db.session.commit()
        flash(_("已取消指派"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return _back(round_id)


@bp.route("/rounds/<int:round_id>/auto", methods=["POST"])
@requires("assessments.manage")
def auto(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        made = services.auto_assign(round_, per_application=_int(request.form.get("per_application")),
                                    load_cap=_int(request.form.get("load_cap")),
                                    seed=_int(request.form.get("seed")) or 0, actor_id=current_user.id)
        db.session.commit()
        flash(_("随机均衡分配完成，新增 %(n)s 项指派", n=len(made)), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return _back(round_id)


@bp.route("/rounds/<int:round_id>/panels", methods=["POST"])
@requires("assessments.manage")
def save_panel(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        services.save_panel(round_, request.form.get("name", ""),
                            [v for v in request.form.getlist("assessor_id") if _int(v)],
                            [v for v in request.form.getlist("application_id") if _int(v)], actor_id=current_user.id)
        db.session.commit()
        flash(_("评审组已保存"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return _back(round_id)


@bp.route("/rounds/<int:round_id>/panels/assign", methods=["POST"])
@requires("assessments.manage")
def assign_panels(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        made = services.assign_panels(round_, actor_id=current_user.id)
        db.session.commit()
        flash(_("已按评审组指派，新增 %(n)s 项", n=len(made)), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return _back(round_id)


@bp.route("/rounds/<int:round_id>/assignments.xlsx")
@requires("assessments.view")
def assignment_template(round_id: int):
    round_ = _round_or_404(round_id)
    return send_file(io.BytesIO(services.assignment_template(round_)), as_attachment=True,
                     download_name=f"{round_.name}评审指派.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/rounds/<int:round_id>/import", methods=["POST"])
@requires("assessments.manage")
def import_assignments(round_id: int):
    round_ = _round_or_404(round_id)
    upload = request.files.get("file")
    data = upload.read(MAX_IMPORT_BYTES + 1) if upload else b""
    if not data:
        flash(_("请选择 Excel 文件"), "error")
        return _back(round_id)
    if len(data) > MAX_IMPORT_BYTES:
        flash(_("文件过大（上限 2 MB）"), "error")
        return _back(round_id)
    try:
        made = services.import_assignments(round_, data, actor_id=current_user.id)
        db.session.commit()
        flash(_("已导入 %(n)s 项指派", n=len(made)), "success")
    except ImportRejected as exc:
        db.session.rollback()
        flash(str(exc), "error")
    except (AssessmentError, UploadError) as exc:
        db.session.rollback()
        flash(_("导入未执行，没有任何更改："), "error")
        if isinstance(exc, AssessmentError):
            _errors_flash(exc)
        else:
            flash(str(exc), "error")
    return _back(round_id)


# --- district: progress, sheets, findings -------------------------------------------------------

@bp.route("/rounds/<int:round_id>/progress")
@requires("assessments.view")
def progress(round_id: int):
    round_ = _round_or_404(round_id)
    return render_template("assessments/progress.html", round=round_, data=services.progress(round_), **LABELS)


@bp.route("/rounds/<int:round_id>/remind", methods=["POST"])
@requires("assessments.manage")
def remind(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        n = services.remind_late(round_, url=url_for("assess.index"), actor=current_user)
        db.session.commit()
        flash(_("已向 %(n)s 位评审专家发送站内提醒", n=n), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.progress", round_id=round_id))


def _assignment_of_round_or_404(round_: Round, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, (g.district.id, assignment_id))
    if assignment is None or assignment.round_id != round_.id:
        abort(404)
    return assignment


@bp.route("/rounds/<int:round_id>/sheets/<int:assignment_id>")
@requires("assessments.view")
def sheet(round_id: int, assignment_id: int):
    round_ = _round_or_404(round_id)
    assignment = _assignment_of_round_or_404(round_, assignment_id)
    return render_template("assessments/sheet.html", mode="district", editable=False, errors={}, typed=None,
                           comment_typed=None, assessor_name=services.assessor_names(round_).get(assignment.assessor_id, ""),
                           **_sheet_context(assignment, round_), **LABELS)


@bp.route("/rounds/<int:round_id>/sheets/<int:assignment_id>/reopen", methods=["POST"])
@requires("assessments.manage")
def reopen(round_id: int, assignment_id: int):
    round_ = _round_or_404(round_id)
    assignment = _assignment_of_round_or_404(round_, assignment_id)
    try:
        services.reopen_sheet(assignment, round_, request.form.get("reason", ""), actor=current_user)
        db.session.commit()
        flash(_("评分表已退回评审专家重新评分"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.sheet", round_id=round_id, assignment_id=assignment_id))


@bp.route("/rounds/<int:round_id>/findings")
@requires("assessments.view")
def findings(round_id: int):
    round_ = _round_or_404(round_id)
    rows = list(db.session.scalars(select(Finding).where(Finding.round_id == round_.id).order_by(Finding.id)))
    parts = round_services.rubric_parts(round_.rubric_id)
    schools = {s.id: s for s in db.session.scalars(select(School))}
    names = services.user_names([f.raised_by for f in rows] + [f.decided_by for f in rows])
    return render_template("assessments/findings.html", round=round_, findings=rows, parts=parts,
                           schools=schools, names=names, **LABELS)


@bp.route("/rounds/<int:round_id>/findings/<int:finding_id>/decide", methods=["POST"])
@requires("assessments.manage")
def decide_finding(round_id: int, finding_id: int):
    round_ = _round_or_404(round_id)
    finding = db.session.get(Finding, (g.district.id, finding_id))
    if finding is None or finding.round_id != round_.id:
        abort(404)
    try:
        services.decide_finding(finding, round_, request.form.get("decision", ""), request.form.get("note", ""),
                                user_id=current_user.id, as_district=True)
        db.session.commit()
        flash(_("已处理"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assessments.findings", round_id=round_id))


# --- the sheet (shared by district and assessor pages) -------------------------------------------

def _sheet_context(assignment: Assignment, round_: Round, *, viewer: Assessor | None = None) -> dict:
    """Everything the sheet shows in a constant number of queries."""
    application = db.session.get(Application, (assignment.district_id, assignment.application_id))
    school = db.session.get(School, (assignment.district_id, assignment.school_id))
    parts = round_services.rubric_parts(round_.rubric_id)
    selfs = {s.indicator_id: s for s in db.session.scalars(select(SelfScore).where(
        SelfScore.application_id == application.id))}
    evidence: dict = {}
    for e in db.session.scalars(select(Evidence).where(Evidence.application_id == application.id)
                                .order_by(Evidence.id)):
        evidence.setdefault(e.indicator_id, []).append(e)
    scores = services.scores_of(assignment)
    rows = services.findings_of(application.id)
    findings: dict = {}
    for f in rows:
        findings.setdefault(f.indicator_id, []).append(f)
    submitted = assignment.status == SHEET_SUBMITTED
    others = services.others_scores(assignment, viewer_submitted=submitted or viewer is None)
    names = services.user_names([f.raised_by for f in rows] + [f.decided_by for f in rows])
    self_result = None
    try:
        self_result = round_services.evaluate(parts, selfs) if selfs else None
    except Exception:  # noqa: BLE001 — a self score out of bounds must not hide the sheet
        self_result = None
    return {"round": round_, "assignment": assignment, "application": application, "school": school,
            "parts": parts, "selfs": selfs, "evidence": evidence, "scores": scores, "findings": findings,
            "others": others, "names": names, "self_result": self_result, "inline_types": INLINE_TYPES,
            "is_provided": round_services.is_provided}


# --- the assessor's pages -----------------------------------------------------------------------

def _enter_assessor_scope() -> Assessor:
    """The assessor of the current user (404 if none) and a session scope narrowed to the
    schools of their assignments: an assessor reads nothing else of the schools' data."""
    district_id = g.district.id
    previous = current_scope()
    set_scope(Scope.district(district_id))  # replaced below: no need to restore the previous one
    assessor, school_ids = services.assessor_and_schools(current_user.id)
    if assessor is None:
        set_scope(previous)
        abort(404)
    set_scope(Scope.school(district_id, school_ids, user_id=current_user.id, roles=g.scope.roles))
    return assessor


def _my_assignment_or_404(assessor: Assessor, assignment_id: int) -> tuple[Assignment, Round]:
    row = db.session.execute(  # the sheet and its round in one query
        select(Assignment, Round).join(Round, (Round.district_id == Assignment.district_id)
                                       & (Round.id == Assignment.round_id))
        .where(Assignment.district_id == g.district.id, Assignment.id == assignment_id)).first()
    if row is None:
        abort(404)
    assignment, round_ = row
    if assignment.assessor_id != assessor.id or round_.status in ("draft", "open"):
        abort(404)
    return assignment, round_


@assess_bp.route("/")
@requires("assess.score")
def index():
    assessor = _enter_assessor_scope()
    rows = services.my_assignments(assessor)
    scored = services.scored_assignment_ids([a.id for a, *_ in rows])
    return render_template("assessments/my.html", rows=rows, scored=scored, **LABELS)


def _entries_from_form(parts) -> dict:
    form = request.form
    entries = {}
    for indicator in parts.indicators:
        key = str(indicator.id)
        if any(f"{f}-{key}" in form for f in ("points", "units", "rate", "comment")):
            entries[indicator.id] = {f: form.get(f"{f}-{key}", "") for f in ("points", "units", "rate", "comment")}
    return entries


@assess_bp.route("/<int:assignment_id>", methods=["GET", "POST"])
@requires("assess.score")
def score_sheet(assignment_id: int):
    assessor = _enter_assessor_scope()
    assignment, round_ = _my_assignment_or_404(assessor, assignment_id)
    errors, typed = {}, None
    if request.method == "POST":
        parts = round_services.rubric_parts(round_.rubric_id)
        typed = _entries_from_form(parts)
        try:
            services.save_scores(assignment, round_, typed, comment=request.form.get("comment"),
                                 indicators=parts.indicators, actor=current_user)
            if request.form.get("action") == "submit":
                services.submit_sheet(assignment, round_, actor=current_user)
            db.session.commit()
        except AssessmentError as exc:
            db.session.rollback()
            errors = exc.errors
            # The failed save changed nothing; show what was typed with the messages.
            assignment, round_ = _my_assignment_or_404(assessor, assignment_id)
        else:
            if assignment.status == SHEET_SUBMITTED:
                flash(_("评分表已提交"), "success")
            else:
                flash(_("已保存"), "success")
            return redirect(url_for("assess.score_sheet", assignment_id=assignment_id))
    context = _sheet_context(assignment, round_, viewer=assessor)
    editable = services.editable_problem(assignment, round_) is None
    status = 400 if errors else 200
    return render_template("assessments/sheet.html", mode="assessor", editable=editable, errors=errors,
                           typed=typed, comment_typed=request.form.get("comment") if errors else None,
                           **context, **LABELS), status


@assess_bp.route("/<int:assignment_id>/indicators/<int:indicator_id>", methods=["POST"])
@requires("assess.score")
def save_indicator(assignment_id: int, indicator_id: int):
    """Per-indicator save (htmx on change): answers a small status fragment."""
    assessor = _enter_assessor_scope()
    assignment, round_ = _my_assignment_or_404(assessor, assignment_id)
    key = str(indicator_id)
    entry = {f: request.form.get(f"{f}-{key}", "") for f in ("points", "units", "rate", "comment")}
    try:
        services.save_scores(assignment, round_, {indicator_id: entry}, actor=current_user)
        db.session.commit()
        message, ok = _("已保存"), True
    except AssessmentError as exc:
        db.session.rollback()
        message, ok = "；".join(str(v) for v in exc.errors.values()), False
    return render_template("assessments/_save_status.html", indicator_id=indicator_id, message=message, ok=ok)


@assess_bp.route("/<int:assignment_id>/evidence/<int:evidence_id>")
@requires("assess.score")
def evidence(assignment_id: int, evidence_id: int):
    """PDF and images inline (correct content type), other files as downloads; only evidence of
    an application assigned to this assessor."""
    assessor = _enter_assessor_scope()
    assignment, _round = _my_assignment_or_404(assessor, assignment_id)
    return _send_evidence(assignment, evidence_id)


def _send_evidence(assignment: Assignment, evidence_id: int):
    item = db.session.scalar(select(Evidence).where(Evidence.id == evidence_id,
                                                    Evidence.application_id == assignment.application_id))
    if item is None:
        abort(404)
    try:
        path = absolute(item.stored_path)
    except UploadError:
        abort(404)
    inline = item.content_type in INLINE_TYPES
    try:
        response = send_file(path, as_attachment=not inline, download_name=item.original_name,
                             mimetype=item.content_type, max_age=0)
    except FileNotFoundError:
        log.error("evidence file missing: %s/%s", item.district_id, item.id)
        abort(404)
    # Content was checked on upload (type by content); the browser's PDF viewer needs no sandbox.
    if not inline:
        response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/rounds/<int:round_id>/sheets/<int:assignment_id>/evidence/<int:evidence_id>")
@requires("assessments.view")
def district_evidence(round_id: int, assignment_id: int, evidence_id: int):
    round_ = _round_or_404(round_id)
    return _send_evidence(_assignment_of_round_or_404(round_, assignment_id), evidence_id)


@assess_bp.route("/<int:assignment_id>/findings", methods=["POST"])
@requires("assess.score")
def raise_finding(assignment_id: int):
    assessor = _enter_assessor_scope()
    assignment, round_ = _my_assignment_or_404(assessor, assignment_id)
    application = db.session.get(Application, (g.district.id, assignment.application_id))
    try:
        services.raise_finding(application, round_, _int(request.form.get("indicator_id")) or 0,
                               request.form.get("kind", ""), request.form.get("note", ""), user_id=current_user.id,
                               assessor=assessor, evidence_id=request.form.get("evidence_id") or None)
        db.session.commit()
        flash(_("已提出，须由另一位评审专家或区教育工会确认后才生效"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assess.score_sheet", assignment_id=assignment_id, _anchor="findings"))


@assess_bp.route("/<int:assignment_id>/findings/<int:finding_id>/decide", methods=["POST"])
@requires("assess.score")
def assessor_decide_finding(assignment_id: int, finding_id: int):
    assessor = _enter_assessor_scope()
    assignment, round_ = _my_assignment_or_404(assessor, assignment_id)
    finding = db.session.get(Finding, (g.district.id, finding_id))
    if finding is None or finding.application_id != assignment.application_id:
        abort(404)
    try:
        services.decide_finding(finding, round_, request.form.get("decision", ""), request.form.get("note", ""),
                                user_id=current_user.id, assessor=assessor)
        db.session.commit()
        flash(_("已处理"), "success")
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
    return redirect(url_for("assess.score_sheet", assignment_id=assignment_id, _anchor="findings"))


@assess_bp.route("/<int:assignment_id>/conflict", methods=["POST"])
@requires("assess.score")
def declare_own_conflict(assignment_id: int):
    """The assessor declares a conflict with this application's school (then it leaves their list)."""
    assessor = _enter_assessor_scope()
    assignment, _round = _my_assignment_or_404(assessor, assignment_id)
    try:
        services.declare_conflict(assessor, assignment.school_id, request.form.get("reason", ""),
                                  actor_id=current_user.id)
        db.session.commit()
        flash(_("已申报回避，该申报已从您的评审列表中移除"), "success")
        return redirect(url_for("assess.index"))
    except AssessmentError as exc:
        db.session.rollback()
        _errors_flash(exc)
        return redirect(url_for("assess.score_sheet", assignment_id=assignment_id))
