"""Jianjia (建家): the application factory."""
from __future__ import annotations

import os

from flask import Flask, g, request, session
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.config import CONFIGS
from app.extensions import babel, bootstrap, csrf, db, login_manager, migrate


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the app. ``config_name``: development/production/testing (default: $APP_ENV);
    ``overrides``: settings applied on top, before any extension is initialised."""
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    name = config_name or os.environ.get("APP_ENV", "development")
    config_class = CONFIGS[name if name in CONFIGS else "development"]
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    config_class.finalise(app)

    _import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _protect_csrf: tokens skip it
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Asia/Shanghai")
    _init_login(app)
    from app.security import bounded_int_converter

    app.url_map.converters["int"] = bounded_int_converter()  # ids beyond BIGINT → 404, not 500
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_cli(app)
    _register_template_helpers(app)
    from app import errors

    errors.register(app)

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not app.config.get("SKIP_ROLE_CHECK"):
        from tenants import rls
        from tenants.models import tenant_models

        with app.app_context():
            rls.check_app_role(db.engine, {m.__tablename__ for m in tenant_models()} | {"district"})
    return app


def _import_models() -> None:
    import app.accounts.models  # noqa: F401
    import app.activities.models  # noqa: F401
    import app.plans.models  # noqa: F401
    import app.rounds.models  # noqa: F401
    import app.assessments.models  # noqa: F401
    import app.rubrics.models  # noqa: F401
    import app.titles.models  # noqa: F401
    import app.results.models  # noqa: F401
    import app.audit.models  # noqa: F401
    import app.jobs.models  # noqa: F401
    import app.compilation.models  # noqa: F401
    import app.summaries.models  # noqa: F401
    import tenants.filters  # noqa: F401  (registers the ORM filter)
    import tenants.models  # noqa: F401
    import tenants.rls  # noqa: F401  (registers the RLS settings hook)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def _select_locale():
    lang = request.cookies.get("lang") if request else None
    if lang in ("zh_CN", "en"):
        return lang
    if current_user and not current_user.is_anonymous:
        # Read when the user was loaded: after a commit the user is expired, and the first
        # translated string of a view often comes after its commit.
        locale = g.get("user_locale") or current_user.locale
        if locale in ("zh_CN", "en"):
            return locale
    return "zh_CN"


def _translate_flash(message: str) -> str:
    from flask_babel import gettext

    return gettext(message)


def _init_login(app: Flask) -> None:
    from app.accounts import services
    from app.i18n import N_

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = N_("请先登录")  # translated by localize_callback
    login_manager.localize_callback = _translate_flash
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str):
        # A request naming an API token is authenticated by the token alone: protect_csrf skips
        # the CSRF check for it, so the ambient session cookie must not authenticate it.
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        # The cookie's user id alone is not trusted: the server-side session must be live.
        user = services.session_user(session.get("sid"))
        if user is None or str(user.id) != str(user_id):
            return None
        g.user_locale = user.locale
        return user

    @login_manager.request_loader
    def load_user_from_token(req):
        header = req.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = services.token_user(header[7:].strip())
            if user is not None:
                g.token_auth = True
            return user
        return None

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import flash, jsonify, redirect, url_for
        from flask_babel import gettext as _

        if request.path.startswith("/api/"):
            return jsonify(code=401, status="Unauthorized", message="需要登录或 API 令牌"), 401
        flash(_("请先登录"), "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))


def _register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.admin.views import bp as admin_bp
    from app.jobs.views import bp as jobs_bp
    from app.main.views import bp as main_bp
    from app.platform.views import bp as platform_bp
    from app.schools.views import bp as schools_bp

    for bp in (main_bp, accounts_bp, platform_bp, admin_bp, schools_bp, jobs_bp):
        app.register_blueprint(bp)

    from app.activities.views import bp as activities_bp

    app.register_blueprint(activities_bp)

    from app.rubrics.views import bp as rubrics_bp

    app.register_blueprint(rubrics_bp)

    from app.rounds.views import bp as rounds_bp
    from app.rounds.views import school_bp as school_rounds_bp

    app.register_blueprint(rounds_bp)
    app.register_blueprint(school_rounds_bp)

    from app.assessments.views import assess_bp
    from app.assessments.views import bp as assessments_bp

    app.register_blueprint(assessments_bp)
    app.register_blueprint(assess_bp)

    from app.results.views import bp as results_bp
    from app.results.views import school_bp as school_results_bp

    app.register_blueprint(results_bp)
    app.register_blueprint(school_results_bp)

    from app.titles.views import bp as titles_bp
    from app.titles.views import school_bp as school_titles_bp

    app.register_blueprint(titles_bp)
    app.register_blueprint(school_titles_bp)

    from app.plans.views import bp as plans_bp
    from app.plans.views import notes_bp as notifications_bp
    from app.plans.views import review_bp as plan_review_bp

    for bp in (plans_bp, plan_review_bp, notifications_bp):
        app.register_blueprint(bp)

    from app.compilation.views import bp as dossiers_bp
    from app.compilation.views import bundles_bp
    from app.jobs.views import platform_bp as platform_jobs_bp
    from app.rollup.views import bp as rollup_bp

    for bp in (dossiers_bp, bundles_bp, rollup_bp, platform_jobs_bp):
        app.register_blueprint(bp)

    from app.summaries.views import bp as summaries_bp
    from app.summaries.views import review_bp as summary_review_bp

    for bp in (summaries_bp, summary_review_bp):
        app.register_blueprint(bp)

    from app.api import register_api

    register_api(app)


def _register_request_hooks(app: Flask) -> None:
    from app import security
    from tenants import resolve

    @app.url_value_preprocessor
    def pull_tenant(endpoint, values):
        if values:
            g.district_slug = values.pop("district", None)
            g.school_id = values.pop("school", None)

    @app.url_defaults
    def add_tenant(endpoint, values):
        district = g.get("district")
        if district is not None and "district" not in values and app.url_map.is_endpoint_expecting(
                endpoint, "district"):
            values["district"] = district.slug
        school = g.get("school")
        if school is not None and "school" not in values and app.url_map.is_endpoint_expecting(endpoint, "school"):
            values["school"] = school.id

    @app.before_request
    def protect_csrf():
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            if request.headers.get("Authorization", "").startswith("Bearer "):
                return  # API tokens carry no ambient authority; no CSRF
            csrf.protect()

    @app.before_request
    def require_new_password():
        """A user with a temporary password changes it before doing anything else."""
        if (current_user.is_authenticated and current_user.must_change_password
                and request.endpoint not in _PASSWORD_EXEMPT and not g.get("token_auth")):
            from flask import flash, jsonify, redirect, url_for
            from flask_babel import gettext as _

            if request.path.startswith("/api/"):
                return jsonify(code=403, status="Forbidden", message="请先修改初始密码"), 403
            flash(_("请先修改初始密码"), "warning")
            return redirect(url_for("accounts.change_password"))

    @app.before_request
    def load_scope():
        g.district = g.school = g.scope = None
        slug = g.get("district_slug")
        if slug is None:
            return
        if not current_user.is_authenticated:
            return  # the view's permission check sends the user to login: no hint either way
        resolve.apply(resolve.resolve(current_user, slug, g.get("school_id")))

    app.after_request(security.add_headers)


_PASSWORD_EXEMPT = {"accounts.change_password", "accounts.logout", "static", "bootstrap.static",
                    "main.set_language"}


def _register_cli(app: Flask) -> None:
    from app.cli import demo_cli, jobs_cli, users_cli
    from tenants.cli import tenants_cli

    for group in (tenants_cli, users_cli, demo_cli, jobs_cli):
        app.cli.add_command(group)
    from app.privacy import _cli as privacy_cli

    app.cli.add_command(privacy_cli())

    from app.rubrics.cli import rubrics_cli

    app.cli.add_command(rubrics_cli)

    from app.plans.cli import plans_cli

    app.cli.add_command(plans_cli)

    from app.titles.cli import titles_cli

    app.cli.add_command(titles_cli)


def _register_template_helpers(app: Flask) -> None:
    from app import templating

    templating.register(app)
