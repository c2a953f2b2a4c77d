"""District pages: schools, users and roles, bulk import, audit log. Thin: parse, call a
service, render."""
import hashlib
import io

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.access import requires
from app.accounts.models import User
from app.admin import imports, services
from app.admin.forms import EditUserForm, GrantForm, ImportForm, SchoolForm, UserForm
from app.audit.models import AuditEvent
from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.jobs import services as jobs
from app.uploads import store
from tenants.models import SCHOOL_KINDS, School
from tenants.roles import ALL_ROLES

bp = Blueprint("admin", __name__, url_prefix="/d/<district>", template_folder="templates")


def _school_choices():
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    return [("", _("— 不属于学校（区级角色）—"))] + [(str(s.id), s.name) for s in schools]


def _page_args():
    return max(1, request.args.get("page", 1, type=int)), (request.args.get("q") or "").strip()[:50]


@bp.route("/")
@requires("district.view")
def schools():
    page_no, q = _page_args()
    kind = request.args.get("kind", "")
    page = db.paginate(services.schools_query(q, kind), page=page_no,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    chairs = services.chairs_by_school([s.id for s in page.items])
    return render_template("admin/schools.html", page=page, q=q, kind=kind, kinds=SCHOOL_KINDS,
                           chairs=chairs, totals=services.district_totals())


@bp.route("/schools/new", methods=["GET", "POST"])
@requires("district.manage")
def new_school():
    form = SchoolForm()
    if form.validate_on_submit():
        try:
            school = services.create_school(form.data)
            db.session.commit()
        except services.AdminError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors.append(str(exc))
        else:
            flash(_("已新增学校 %(name)s", name=school.name), "success")
            return redirect(url_for("admin.schools"))
    return render_template("admin/school_form.html", form=form, school=None)


@bp.route("/s/<int:school>/edit", methods=["GET", "POST"])
@requires("district.manage")
def edit_school():
    school = g.school
    form = SchoolForm(obj=school)
    if form.validate_on_submit():
        try:
            services.update_school(school, form.data)
            db.session.commit()
        except services.AdminError as exc:
            db.session.rollback()
            getattr(form, exc.field or "name").errors.append(str(exc))
        else:
            flash(_("学校信息已保存"), "success")
            return redirect(url_for("schools.home"))
    return render_template("admin/school_form.html", form=form, school=school)


@bp.route("/users")
@requires("district.manage")
def users():
    page_no, q = _page_args()
    role = request.args.get("role", "")
    page = db.paginate(services.users_query(q, role), page=page_no,
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    memberships = services.memberships_by_user([u.id for u in page.items])
    return render_template("admin/users.html", page=page, q=q, role=role, roles=ALL_ROLES,
                           memberships=memberships)


@bp.route("/users/new", methods=["GET", "POST"])
@requires("district.manage")
def new_user():
    form = UserForm()
    form.school_id.choices = _school_choices()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.data)
            db.session.commit()
        except services.AdminError as exc:
            db.session.rollback()
            getattr(form, exc.field or "username").errors.append(str(exc))
        else:
            flash(_("已新建用户 %(name)s（%(username)s），首次登录须修改密码", name=user.display_name,
                    username=user.username), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form)


def _user_or_404(user_id: int) -> User:
    user = services.user_in_district(user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("district.manage")
def edit_user(user_id: int):
    user = _user_or_404(user_id)
    form = EditUserForm(obj=user)
    if request.method == "GET":
        form.phone.data = user.masked_phone  # masked on the server; see reveal_phone
    grant_form = GrantForm(prefix="grant")
    grant_form.school_id.choices = _school_choices()
    if form.validate_on_submit():
        try:
            services.update_user(user, form.data)
            db.session.commit()
        except services.AdminError as exc:
            db.session.rollback()
            getattr(form, exc.field or "display_name").errors.append(str(exc))
        else:
            flash(_("用户信息已保存"), "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    memberships = services.memberships_by_user([user.id]).get(user.id, [])
    return render_template("admin/user_edit.html", user=user, form=form, grant_form=grant_form,
                           memberships=memberships)


@bp.route("/users/<int:user_id>/phone", methods=["POST"])
@requires("district.manage")
def reveal_phone(user_id: int):
    """Show the full phone number once, after the current password; audited either way."""
    user = _user_or_404(user_id)
    try:
        phone = services.reveal_phone(user, current_user, request.form.get("password", ""))
        db.session.commit()
    except services.AdminError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template("admin/user_phone.html", user=user, phone=phone)


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
@requires("district.manage")
def grant_role(user_id: int):
    user = _user_or_404(user_id)
    form = GrantForm(prefix="grant")
    form.school_id.choices = _school_choices()
    if form.validate_on_submit():
        try:
            services.grant(user, form.role.data, form.school_id.data)
            db.session.commit()
            flash(_("已授予角色"), "success")
        except services.AdminError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    else:
        flash(_("；").join(str(e) for errs in form.errors.values() for e in errs), "error")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/roles/<int:membership_id>/revoke", methods=["POST"])
@requires("district.manage")
def revoke_role(user_id: int, membership_id: int):
    user = _user_or_404(user_id)
    try:
        services.revoke(user, membership_id)
        db.session.commit()
        flash(_("已撤销角色"), "success")
    except services.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires("district.manage")
def set_active(user_id: int):
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    if user.id == current_user.id and not active:
        flash(_("不能停用自己的账号"), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    try:
        services.set_user_active(user, active)
        db.session.commit()
        flash(_("账号已启用") if active else _("账号已停用，其所有登录已退出"), "success")
    except services.AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/import", methods=["GET", "POST"])
@requires("district.manage")
def import_upload():
    form = ImportForm()
    cfg = current_app.config
    if form.validate_on_submit():
        data = form.file.data.read(cfg["IMPORT_MAX_BYTES"] + 1)
        try:
            school_rows, user_rows = imports.read(data, cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_ROWS"])
        except imports.ImportRejected as exc:
            record("import_rejected", details={"reason": str(exc)}, commit=True)
            form.file.errors.append(str(exc))
            return render_template("admin/import.html", form=form), 400
        if len(school_rows) + len(user_rows) > cfg["IMPORT_BACKGROUND_ROWS"]:
            digest = hashlib.sha256(data).hexdigest()[:32]
            path = store(g.district.id, "imports", data, ".xlsx")
            run = jobs.submit("import_people", f"import-{digest}", {"path": path,
                                                                   "filename": form.file.data.filename},
                              actor_user_id=current_user.id)
            db.session.commit()
            flash(_("文件较大，已转入后台导入，可在本页查看进度"), "info")
            return redirect(url_for("jobs.show", run_id=run.id))
        plan = imports.check(school_rows, user_rows)
        if plan.errors:
            return render_template("admin/import.html", form=form, errors=plan.errors_as_dicts(),
                                   error_count=len(plan.errors)), 400
        result = imports.apply(plan)
        db.session.commit()
        flash(result["summary"], "success")
        return redirect(url_for("admin.schools"))
    return render_template("admin/import.html", form=form)


@bp.route("/import/template.xlsx")
@requires("district.manage")
def import_template():
    return send_file(io.BytesIO(imports.template_workbook()), as_attachment=True,
                     download_name="学校与用户导入模板.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/audit")
@requires("audit.view")
def audit_log():
    page_no, q = _page_args()
    stmt = select(AuditEvent).where(AuditEvent.district_id == g.district.id)
    if q:
        stmt = stmt.where(AuditEvent.actor_name.like(f"%{q}%") | AuditEvent.action.like(f"%{q}%"))
    page = db.paginate(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), page=page_no,
                       per_page=50, error_out=False)
    return render_template("admin/audit.html", page=page, q=q, labels=ACTION_LABELS)
