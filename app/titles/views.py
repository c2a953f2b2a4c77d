"""荣誉称号 pages: the district's list (filters, search, pages, Excel), registration, edits,
复查 outcomes and the history; the school's own titles. Thin: parse, call a service, commit
once, render."""
from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.extensions import db
from app.i18n import N_
from app.titles import services
from app.titles.forms import CycleForm, OutcomeForm, TitleForm
from app.titles.models import EVENTS, HOME_KINDS, LEVELS, TIERS, TITLE_STATUSES, Title
from tenants.models import School

bp = Blueprint("titles", __name__, url_prefix="/d/<district>/titles", template_folder="templates")
school_bp = Blueprint("school_titles", __name__, url_prefix="/d/<district>/s/<int:school>/titles",
                      template_folder="templates")

STATUS_COLORS = {"awarded": "success", "due": "warning", "kept": "primary", "conditional": "danger",
                 "revoked": "secondary"}
FIELD_LABELS = {"tier": N_("等级"), "level": N_("级别"), "home_kind": N_("类型"), "awarded_on": N_("授予日期"),
                "review_due_on": N_("复查到期日"), "note": N_("备注")}
LABELS = dict(tiers=TIERS, levels=LEVELS, statuses=TITLE_STATUSES, home_kinds=HOME_KINDS, event_labels=EVENTS,
              outcomes=services.OUTCOMES, exemplar_label=services.EXEMPLAR_LABEL, status_colors=STATUS_COLORS,
              held_statuses=services.HELD_STATUSES, field_labels=FIELD_LABELS)
EXPORT_LIMIT = 5000


def _title_or_404(title_id: int, school_id: int | None = None) -> Title:
    title = db.session.get(Title, (g.district.id, title_id))
    if title is None or (school_id is not None and title.school_id != school_id):
        abort(404)
    return title


def _list_args() -> dict:
    def pick(name, allowed):
        value = request.args.get(name, "")
        return value if value in allowed else ""

    year = request.args.get("year", "")
    return {"level": pick("level", LEVELS), "tier": pick("tier", TIERS), "status": pick("status", TITLE_STATUSES),
            "home_kind": pick("home_kind", HOME_KINDS),
            "year": int(year) if year.isdigit() and 1980 <= int(year) <= 2100 else None,
            "q": (request.args.get("q") or "").strip()[:50]}


def _apply_errors(form, exc: services.TitleError) -> list[str]:
    general = []
    for key, message in exc.errors.items():
        target = getattr(form, key, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [message]
        else:
            general.append(message)
    return general


# --- district pages ---------------------------------------------------------------------------------

@bp.route("/")
@requires("titles.view")
def index():
    args = _list_args()
    page_no = request.args.get("page", 1, type=int)
    page = db.paginate(services.title_query(**args), page=max(page_no, 1),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    names = services.school_names(t.school_id for t in page.items)
    flagged = services.exemplars_by_kind(t.school_id for t in page.items)
    filter_args = {k: v for k, v in args.items() if v}
    return render_template("titles/index.html", page=page, args=args, filter_args=filter_args, names=names,
                           flagged=flagged, years=services.award_years(), cycle=services.cycle_years(),
                           rounds=services.round_names(t.round_id for t in page.items), **LABELS)


@bp.route("/export.xlsx")
@requires("titles.view")
def export():
    titles = db.session.scalars(services.title_query(**_list_args()).limit(EXPORT_LIMIT)).all()
    data = services.titles_workbook(titles, g.district.name)
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"{g.district.name}荣誉称号.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _school_choices(form: TitleForm) -> None:
    schools = db.session.scalars(select(School).where(School.active.is_(True)).order_by(School.name)).all()
    form.school_id.choices = [("", _("— 请选择学校 —"))] + [(str(s.id), s.name) for s in schools]


@bp.route("/new", methods=["GET", "POST"])
@requires("titles.manage")
def new():
    """Register a title awarded outside the system (e.g. a 市级先进 conferred in 2023)."""
    form = TitleForm()
    _school_choices(form)
    general = []
    if request.method == "GET":
        form.school_id.data = request.args.get("school", "")
    elif form.validate_on_submit():
        try:
            title = services.register(form.to_data(), actor_id=current_user.id)
            db.session.commit()
        except services.TitleError as exc:
            db.session.rollback()
            general = _apply_errors(form, exc)
        else:
            flash(_("已登记荣誉称号：%(name)s", name=title.name), "success")
            return redirect(url_for("titles.show", title_id=title.id))
    status = 400 if request.method == "POST" else 200
    return render_template("titles/form.html", form=form, title=None, general=general, cycle=services.cycle_years(),
                           **LABELS), status


@bp.route("/<int:title_id>/")
@requires("titles.view")
def show(title_id: int):
    title = _title_or_404(title_id)
    return _detail(title, district=True)


def _detail(title: Title, *, district: bool, outcome_form: OutcomeForm | None = None, general=None, status=200):
    school = db.session.get(School, (title.district_id, title.school_id))
    events = services.history(title)
    round_ids = [title.round_id] + [e.round_id for e in events]
    exemplar = services.exemplar_since(title.school_id, title.home_kind) if title.tier == "model" \
        and title.status in services.HELD_STATUSES else None
    return render_template("titles/show.html", title=title, school=school, events=events, district=district,
                           rounds=services.round_names(round_ids), exemplar=exemplar,
                           actors=_actor_names(e.actor_id for e in events),
                           allowed_outcomes=services.allowed_outcomes(title),
                           outcome_form=outcome_form or OutcomeForm(), general=general or [], **LABELS), status


def _actor_names(user_ids) -> dict[int, str]:
    from app.accounts.models import User

    ids = [i for i in set(user_ids) if i]
    if not ids:
        return {}
    return {u.id: u.display_name or u.username for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.route("/<int:title_id>/edit", methods=["GET", "POST"])
@requires("titles.manage")
def edit(title_id: int):
    title = _title_or_404(title_id)
    form = TitleForm()
    _school_choices(form)
    general = []
    if request.method == "GET":
        form.process(data={"school_id": str(title.school_id), "home_kind": title.home_kind, "level": title.level,
                           "tier": title.tier, "awarded_on": title.awarded_on,
                           "review_due_on": title.review_due_on, "note": title.note})
    elif form.validate_on_submit():
        data = form.to_data()
        data.pop("school_id")  # a title never moves to another school
        if data["review_due_on"] is None:
            data.pop("review_due_on")
        try:
            services.edit(title, data, reason=form.reason.data or "", actor_id=current_user.id)
            db.session.commit()
        except services.TitleError as exc:
            db.session.rollback()
            general = _apply_errors(form, exc)
        else:
            flash(_("称号信息已保存"), "success")
            return redirect(url_for("titles.show", title_id=title_id))
    status = 400 if request.method == "POST" else 200
    school = db.session.get(School, (title.district_id, title.school_id))
    return render_template("titles/form.html", form=form, title=title, general=general, school_name=school.name,
                           cycle=services.cycle_years(), **LABELS), status


@bp.route("/<int:title_id>/outcome", methods=["POST"])
@requires("titles.manage")
def outcome(title_id: int):
    """复查结论 by hand: keep / conditional (deadline) / revoke (摘牌) / restore, with a reason."""
    title = _title_or_404(title_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            services.apply_outcome(title, form.outcome.data, reason=form.reason.data or "",
                                   deadline=form.deadline.data, actor_id=current_user.id)
            db.session.commit()
        except services.TitleError as exc:
            db.session.rollback()
            title = _title_or_404(title_id)
            return _detail(title, district=True, outcome_form=form, general=_apply_errors(form, exc), status=400)
        flash(_("已办理：%(outcome)s", outcome=_(services.OUTCOMES[form.outcome.data])), "success")
        return redirect(url_for("titles.show", title_id=title_id))
    return _detail(title, district=True, outcome_form=form, status=400)


@bp.route("/settings", methods=["GET", "POST"])
@requires("titles.manage")
def settings():
    form = CycleForm()
    if request.method == "GET":
        form.review_cycle_years.data = services.cycle_years()
    elif form.validate_on_submit():
        try:
            services.set_cycle_years(form.review_cycle_years.data, actor_id=current_user.id)
            db.session.commit()
        except services.TitleError as exc:
            db.session.rollback()
            form.review_cycle_years.errors = list(form.review_cycle_years.errors) + [str(exc)]
        else:
            flash(_("复查周期已保存"), "success")
            return redirect(url_for("titles.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("titles/settings.html", form=form, default=services.DEFAULT_CYCLE_YEARS,
                           **LABELS), status


@bp.route("/mark-due", methods=["POST"])
@requires("titles.manage")
def mark_due():
    """Run now what the daily job does: titles whose review date has come become 待复查."""
    marked = services.mark_due(actor_id=current_user.id)
    db.session.commit()
    flash(_("%(n)s 个称号已到期，标记为待复查", n=len(marked)), "success")
    return redirect(url_for("titles.index", status="due"))


# --- the school's pages ---------------------------------------------------------------------------

@school_bp.route("/")
@requires("school.view")
def school_index():
    titles = services.school_titles(g.school.id)
    histories = services.histories(titles)
    events = [e for entries in histories.values() for e in entries]
    return render_template("titles/school_index.html", titles=titles, school=g.school, histories=histories,
                           exemplars=services.school_exemplars(g.school.id),
                           rounds=services.round_names([t.round_id for t in titles] + [e.round_id for e in events]),
                           actors=_actor_names(e.actor_id for e in events), **LABELS)


@school_bp.route("/<int:title_id>")
@requires("school.view")
def school_show(title_id: int):
    title = _title_or_404(title_id, g.school.id)
    return _detail(title, district=False)
