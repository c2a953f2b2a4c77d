from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from app.access import AUTHENTICATED, public, requires
from app.accounts import services
from app.accounts.forms import ChangePasswordForm, LoginForm, TokenForm
from app.accounts.models import ApiToken
from app.audit.services import client_ip, record
from app.extensions import db
from app.security import safe_next

bp = Blueprint("accounts", __name__, template_folder="templates")


def _start_session(user) -> None:
    """Fresh session for a login: nothing from before it survives (no fixation)."""
    session.clear()
    session["sid"] = services.open_session(user, client_ip(), request.user_agent.string)
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.username.data, form.password.data, client_ip())
        except services.AccountError as exc:
            flash(str(exc), "error")
            return render_template("accounts/login.html", form=form), 200
        target = safe_next(request.args.get("next"))
        _start_session(user)
        record("login", target=user, actor=user)
        db.session.commit()
        if user.must_change_password:
            flash(_("首次登录请先修改密码"), "warning")
            return redirect(url_for("accounts.change_password"))
        return redirect(target or url_for("main.index"))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@requires(AUTHENTICATED)
def logout():
    record("logout", target=current_user._get_current_object())
    services.close_session(session.get("sid"))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已安全退出"), "success")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(AUTHENTICATED)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current.data, form.new.data)
        except services.AccountError as exc:
            getattr(form, exc.field or "current").errors.append(str(exc))
            db.session.rollback()
            return render_template("accounts/password.html", form=form)
        db.session.flush()
        _start_session(user)  # all earlier sessions were revoked; this one is new
        db.session.commit()
        flash(_("密码已修改，其他设备上的登录已全部退出"), "success")
        return redirect(url_for("main.index"))
    return render_template("accounts/password.html", form=form)


@bp.route("/account/tokens", methods=["GET", "POST"])
@requires(AUTHENTICATED)
def tokens():
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        _token, secret = services.create_api_token(current_user, form.name.data)
        db.session.commit()
        form = TokenForm(formdata=None)
    rows = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("accounts/tokens.html", form=form, tokens=rows, secret=secret)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@requires(AUTHENTICATED)
def revoke_token(token_id: int):
    try:
        services.revoke_api_token(current_user, token_id)
    except services.AccountError:
        from flask import abort

        abort(404)
    db.session.commit()
    flash(_("令牌已吊销"), "success")
    return redirect(url_for("accounts.tokens"))
