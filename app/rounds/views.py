"""Rounds (district pages) and applications (the school's pages). Thin: parse, call a
service, commit once, render."""
from __future__ import annotations

import io
import logging

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.audit.services import record
from app.extensions import db
from app.i18n import translate
from app.paging import ListPage
from app.rounds import evidence as evidence_service
from app.rounds import services
from app.rounds.forms import RoundForm
from app.rounds.models import APPLICATION_STATE_LABELS, ROUND_KINDS, ROUND_STATE_LABELS, Application, Round
from app.rubrics.models import EVIDENCE_METHODS, INDICATOR_KINDS, PROVIDED_SOURCES, Rubric
from app.titles.models import HOME_KINDS, TIERS
from app.uploads import UploadError, absolute, remove
from tenants.models import School

log = logging.getLogger("jianjia.rounds")

bp = Blueprint("rounds", __name__, url_prefix="/d/<district>/rounds", template_folder="templates")
school_bp = Blueprint("school_rounds", __name__, url_prefix="/d/<district>/s/<int:school>/rounds",
                      template_folder="templates")

LABELS = dict(kinds=ROUND_KINDS, round_states=ROUND_STATE_LABELS, app_states=APPLICATION_STATE_LABELS,
              tiers=TIERS, home_kinds=HOME_KINDS, methods=EVIDENCE_METHODS, indicator_kinds=INDICATOR_KINDS,
              sources=PROVIDED_SOURCES, grade_bands=services.GRADE_BANDS, tie_break_label=services.tie_break_label,
              eligibility_labels=services.ELIGIBILITY_LABELS)


def _round_or_404(round_id: int) -> Round:
    round_ = db.session.get(Round, (g.district.id, round_id))
    if round_ is None:
        abort(404)
    return round_


def _flash_error(exc) -> None:
    flash(str(exc), "error")


# --- district: rounds ------------------------------------------------------------------------

@bp.route("/")
@requires("rounds.view")
def index():
    rounds = db.session.scalars(select(Round).order_by(Round.year.desc(), Round.created_at.desc(),
                                                       Round.id.desc())).all()
    return render_template("rounds/index.html", rounds=rounds, **LABELS)


def _rubric_choices(form: RoundForm):
    form.rubric_id.choices = [("", _("— 请选择已发布的考核细则 —"))] + [
        (str(r.id), _("%(name)s（第 %(v)s 版，总分 %(total)s）", name=r.name, v=r.version, total=r.total_points))
        for r in services.published_rubrics()]


def _form_errors(form: RoundForm, exc: services.RoundError) -> list[str]:
    general = []
    for key, message in exc.errors.items():
        name = key.split(".")[0]
        target = {"weights": "weight_" + key.split(".")[1] if "." in key else "weight_self",
                  "eligibility": key.split(".")[1] if "." in key else "requires_tier",
                  "grade_bands": "band_" + key.split(".")[1] if "." in key else "band_excellent",
                  "quotas": "quota_" + key.split(".")[1] if "." in key else None,
                  "thresholds": "threshold_" + key.split(".")[1] if "." in key else "threshold_model"}.get(name, name)
        field = getattr(form, target, None) if target else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [message]
        else:
            general.append(message)
    return general


@bp.route("/new", methods=["GET", "POST"])
@requires("rounds.manage")
def new():
    form = RoundForm()
    _rubric_choices(form)
    general = []
    if request.method == "GET":
        form.year.data = services.china_today().year
    elif form.validate_on_submit():
        try:
            round_ = services.create_round(form.to_setup(), user_id=current_user.id)
            db.session.commit()
        except services.RoundError as exc:
            db.session.rollback()
            general = _form_errors(form, exc)
        else:
            flash(_("已新建轮次「%(name)s」，确认设置后即可开始申报", name=round_.name), "success")
            return redirect(url_for("rounds.show", round_id=round_.id))
    status = 400 if request.method == "POST" else 200
    return render_template("rounds/form.html", form=form, round=None, general=general, **LABELS), status


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@requires("rounds.manage")
def edit(round_id: int):
    round_ = _round_or_404(round_id)
    if round_.status != "draft":
        flash(_("轮次已开始申报，设置已锁定，不能再修改"), "error")
        return redirect(url_for("rounds.show", round_id=round_.id))
    form = RoundForm()
    _rubric_choices(form)
    general = []
    if request.method == "GET":
        form.fill_from(round_)
    elif form.validate_on_submit():
        try:
            services.update_round(round_, form.to_setup())
            db.session.commit()
        except services.RoundError as exc:
            db.session.rollback()
            general = _form_errors(form, exc)
        else:
            flash(_("轮次设置已保存"), "success")
            return redirect(url_for("rounds.show", round_id=round_.id))
    status = 400 if request.method == "POST" else 200
    return render_template("rounds/form.html", form=form, round=round_, general=general, **LABELS), status


@bp.route("/<int:round_id>/open", methods=["POST"])
@requires("rounds.manage")
def open_round(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        entered = services.open_round(round_, user_id=current_user.id)
        db.session.commit()
    except services.RoundError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        if entered:
            flash(_("「%(name)s」已开始申报，已自动列入 %(n)s 所学校；设置已锁定", name=round_.name, n=entered), "success")
        else:
            flash(_("「%(name)s」已开始申报；设置已锁定", name=round_.name), "success")
    return redirect(url_for("rounds.show", round_id=round_id))


@bp.route("/<int:round_id>/start-assessing", methods=["POST"])
@requires("rounds.manage")
def start_assessing(round_id: int):
    round_ = _round_or_404(round_id)
    try:
        moved = services.start_assessing(round_)
        db.session.commit()
    except services.RoundError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(_("「%(name)s」已进入评审，%(n)s 份申报进入评审", name=round_.name, n=moved), "success")
    return redirect(url_for("rounds.show", round_id=round_id))


def _progress_args():
    status = request.args.get("status", "")
    if status not in APPLICATION_STATE_LABELS and status != services.NOT_APPLIED:
        status = ""
    return {"status": status, "q": (request.args.get("q") or "").strip()[:50],
            "late": request.args.get("late") == "1", "incomplete": request.args.get("incomplete") == "1"}


@bp.route("/<int:round_id>/")
@requires("rounds.view")
def show(round_id: int):
    """The round's set-up and its progress: every school, status, completeness, late flags."""
    round_ = _round_or_404(round_id)
    rubric = db.session.get(Rubric, (g.district.id, round_.rubric_id)) if round_.rubric_id else None
    rows = services.progress(round_)
    args = _progress_args()
    page = ListPage(services.filter_progress(rows, **args), max(1, request.args.get("page", 1, type=int)),
                    services.PROGRESS_PER_PAGE)
    return render_template("rounds/show.html", round=round_, rubric=rubric, page=page, rows=page.items, args=args,
                           summary=services.progress_summary(rows), last_day=services.last_day(round_),
                           status_labels=_status_labels(page.items), **LABELS)


def _status_labels(rows) -> dict:
    """The status labels of the shown rows, each translated once (50 rows, a handful of states)."""
    return {label: translate(label) for label in {r.status_label for r in rows}}


@bp.route("/<int:round_id>/progress.xlsx")
@requires("rounds.view")
def export(round_id: int):
    round_ = _round_or_404(round_id)
    rows = services.filter_progress(services.progress(round_), **_progress_args())
    data = services.progress_workbook(round_, rows, g.district.name)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{round_.year}年{round_.name}申报进度.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _application_or_404(round_: Round, application_id: int) -> Application:
    application = db.session.get(Application, (g.district.id, application_id))
    if application is None or application.round_id != round_.id:
        abort(404)
    return application


@bp.route("/<int:round_id>/applications/<int:application_id>")
@requires("rounds.view")
def application(round_id: int, application_id: int):
    round_ = _round_or_404(round_id)
    app_ = _application_or_404(round_, application_id)
    school = db.session.get(School, (g.district.id, app_.school_id))
    return render_template("rounds/district_application.html", school_name=school.name if school else "",
                           **_application_context(round_, app_), **LABELS)


@bp.route("/<int:round_id>/applications/<int:application_id>/return", methods=["POST"])
@requires("rounds.manage")
def return_application(round_id: int, application_id: int):
    round_ = _round_or_404(round_id)
    app_ = _application_or_404(round_, application_id)
    comments = [(None, request.form.get("comment", ""))]
    for key, value in request.form.items():
        if key.startswith("comment-") and value.strip():
            try:
                comments.append((int(key.split("-", 1)[1]), value))
            except ValueError:
                continue
    try:
        count = services.return_application(app_, comments=comments, user_id=current_user.id)
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(_("已退回申报，附 %(n)s 条修改意见", n=count), "success")
    return redirect(url_for("rounds.application", round_id=round_id, application_id=application_id))


# --- the school's side -------------------------------------------------------------------------

def _application_context(round_: Round, application: Application | None, *, errors=None, values=None) -> dict:
    parts = services.rubric_parts(round_.rubric_id)
    rows = services.scores_of(application) if application else {}
    evidence = services.evidence_rows(application) if application else []
    by_indicator = {}
    for item in evidence:
        by_indicator.setdefault(item.indicator_id, []).append(item)
    result, score_error = None, None
    try:
        result = services.evaluate(parts, rows)
    except Exception as exc:  # noqa: BLE001 - an out-of-bounds saved value must not break the page
        score_error = str(exc)
    comments = services.comments_of(application) if application else []
    today = services.china_today()
    return {
        "round": round_, "application": application, "parts": parts, "groups": parts.grouped(), "rows": rows,
        "evidence": by_indicator, "evidence_count": len(evidence),
        "used_bytes": sum(e.size for e in evidence), "limits": evidence_service.limits(),
        "result": result, "score_error": score_error, "comments": comments,
        "latest_comments": [c for c in comments if application and c.snapshot_no == application.latest_snapshot_no],
        "snapshots": services.snapshots_of(application) if application else [],
        "missing": services.missing_inputs(parts, rows) if application else [],
        "edit_problem": services.edit_problem(application, round_, today) if application else None,
        "window_problem": services.window_problem(round_, today), "in_grace": services.in_grace(round_, today),
        "last_day": services.last_day(round_), "errors": errors or {}, "values": values or {},
        "is_provided": services.is_provided,
    }


def _visible_round_or_404(round_id: int) -> Round:
    round_ = _round_or_404(round_id)
    if round_.status == "draft":
        abort(404)
    return round_


@school_bp.route("/")
@requires("school.view")
def school_index():
    rounds = services.visible_rounds()
    applications = {a.round_id: a for a in db.session.scalars(
        select(Application).where(Application.school_id == g.school.id))}
    return render_template("rounds/school_index.html", rounds=rounds, applications=applications,
                           school=g.school, **LABELS)


@school_bp.route("/<int:round_id>/")
@requires("school.view")
def school_application(round_id: int):
    round_ = _visible_round_or_404(round_id)
    application = services.application_for(round_, g.school.id)
    eligibility = services.eligibility_problems(round_, g.school) if application is None else []
    return render_template("rounds/school_application.html", school=g.school, eligibility=eligibility,
                           **_application_context(round_, application), **LABELS)


@school_bp.route("/<int:round_id>/apply", methods=["POST"])
@requires("school.edit")
def apply(round_id: int):
    round_ = _visible_round_or_404(round_id)
    try:
        services.apply(round_, g.school, user_id=current_user.id)
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        _flash_error(exc)
    else:
        flash(_("已申报，请逐项填写自评分并上传佐证材料后提交"), "success")
    return redirect(url_for("school_rounds.school_application", round_id=round_id))


def _posted_entries(parts) -> dict:
    entries = {}
    for indicator in parts.indicators:
        if services.is_provided(indicator):
            continue
        keys = {k: f"{k}-{indicator.id}" for k in ("points", "units", "rate", "passed", "note")}
        if not any(name in request.form for name in keys.values()):
            continue
        entries[indicator.id] = {k: request.form.get(name) for k, name in keys.items()}
    return entries


def _application_of_school_or_404(round_: Round) -> Application:
    application = services.application_for(round_, g.school.id)
    if application is None:
        abort(404)
    return application


def _rerender(round_, application, errors, status=400):
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    return render_template("rounds/school_application.html", school=g.school, eligibility=[],
                           **_application_context(round_, application, errors=errors, values=values),
                           **LABELS), status


def _save_posted(round_: Round, application: Application):
    parts = services.rubric_parts(round_.rubric_id)
    entries = _posted_entries(parts)
    summary = request.form.get("summary") if "summary" in request.form else None
    if entries or summary is not None:
        services.save_self_scores(application, entries, summary=summary, user_id=current_user.id)


@school_bp.route("/<int:round_id>/", methods=["POST"])
@requires("school.edit")
def save(round_id: int):
    round_ = _visible_round_or_404(round_id)
    application = _application_of_school_or_404(round_)
    problem = services.edit_problem(application, round_)
    if problem:
        return _rerender(round_, application, {"_": problem})
    try:
        _save_posted(round_, application)
        record("application_saved", target=application, details={"round": round_.name})
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        return _rerender(round_, application, exc.errors)
    flash(_("自评已保存"), "success")
    return redirect(url_for("school_rounds.school_application", round_id=round_id))


@school_bp.route("/<int:round_id>/submit", methods=["POST"])
@requires("school.submit")
def submit(round_id: int):
    """Save what the form carries (if anything), then submit: freeze a snapshot, queue the dossier."""
    round_ = _visible_round_or_404(round_id)
    application = _application_of_school_or_404(round_)
    try:
        if application.status in services.EDITABLE:
            _save_posted(round_, application)
        snapshot = services.submit(application, user_id=current_user.id, roles=g.scope.roles)
        db.session.commit()
    except services.ApplicationError as exc:
        db.session.rollback()
        return _rerender(round_, application, exc.errors)
    if application.late:
        flash(_("已提交第 %(n)s 版申报（宽限期内提交，已标记为迟交），区教育工会将进行审核", n=snapshot.number), "success")
    else:
        flash(_("已提交第 %(n)s 版申报，区教育工会将进行审核", n=snapshot.number), "success")
    return redirect(url_for("school_rounds.school_application", round_id=round_id))


@school_bp.route("/<int:round_id>/indicators/<int:indicator_id>/evidence", methods=["POST"])
@requires("school.edit")
def upload(round_id: int, indicator_id: int):
    round_ = _visible_round_or_404(round_id)
    application = _application_of_school_or_404(round_)
    indicator = services.rubric_parts(round_.rubric_id).by_id.get(indicator_id)
    if indicator is None:
        return _rerender(round_, application, {"_": _("该指标不属于本轮次的考核细则")})
    if services.is_provided(indicator):
        return _rerender(round_, application, {indicator_id: _("「%(title)s」由上级提供（系统数据），无需上传", title=indicator.title)})
    problem = services.edit_problem(application, round_)
    if problem:
        return _rerender(round_, application, {indicator_id: problem})
    # The whole request is capped by MAX_CONTENT_LENGTH (413, parsed before the CSRF check);
    # the per-file limit and the school's quota are checked by the evidence service.
    max_bytes, _quota = evidence_service.limits()
    files = [f for f in request.files.getlist("file") if f and f.filename]
    if not files:
        return _rerender(round_, application, {indicator_id: _("请选择要上传的文件")})
    stored, names = [], []
    try:
        for upload_file in files:
            data = upload_file.read(max_bytes + 1)
            evidence, path = evidence_service.add_evidence(application, indicator_id, upload_file.filename, data,
                                                           user_id=current_user.id)
            stored.append(path)
            names.append(evidence.original_name)
            record("evidence_uploaded", target=evidence,
                   details={"file": evidence.original_name, "size": evidence.size, "indicator": indicator_id})
        db.session.commit()
    except UploadError as exc:
        db.session.rollback()
        for path in stored:
            remove(path)
        record("evidence_rejected", target_type="Application", target_id=application.id,
               school_id=application.school_id, details={"reason": str(exc), "indicator": indicator_id}, commit=True)
        return _rerender(round_, application, {indicator_id: str(exc)})
    except Exception:
        db.session.rollback()
        for path in stored:
            remove(path)
        raise
    flash(_("已上传：%(names)s", names=_("、").join(names)), "success")
    return redirect(url_for("school_rounds.school_application", round_id=round_id, _anchor=f"ind-{indicator_id}"))


def _evidence_or_404(round_: Round, evidence_id: int):
    application = _application_of_school_or_404(round_)
    evidence = evidence_service.evidence_of(application, evidence_id)
    if evidence is None:
        abort(404)
    return application, evidence


@school_bp.route("/<int:round_id>/evidence/<int:evidence_id>")
@requires("school.view")
def download(round_id: int, evidence_id: int):
    """Ownership checked through the scoped ORM and the URL's parents; foreign → 404."""
    round_ = _round_or_404(round_id)
    _application, evidence = _evidence_or_404(round_, evidence_id)
    try:
        path = absolute(evidence.stored_path)
    except UploadError:
        abort(404)
    try:
        response = send_file(path, as_attachment=True, download_name=evidence.original_name,
                             mimetype=evidence.content_type, max_age=0)
    except FileNotFoundError:
        log.error("evidence file missing: %s/%s", evidence.district_id, evidence.id)
        abort(404)
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@school_bp.route("/<int:round_id>/evidence/<int:evidence_id>/delete", methods=["POST"])
@requires("school.edit")
def delete_evidence(round_id: int, evidence_id: int):
    round_ = _visible_round_or_404(round_id)
    application, evidence = _evidence_or_404(round_, evidence_id)
    problem = services.edit_problem(application, round_)
    if problem:
        flash(problem, "error")
        return redirect(url_for("school_rounds.school_application", round_id=round_id))
    name, indicator_id = evidence.original_name, evidence.indicator_id
    record("evidence_deleted", target=evidence, details={"file": name})
    path = evidence_service.delete_evidence(application, evidence)
    db.session.commit()
    if path:
        remove(path)
    flash(_("已删除：%(name)s", name=name), "success")
    return redirect(url_for("school_rounds.school_application", round_id=round_id, _anchor=f"ind-{indicator_id}"))
