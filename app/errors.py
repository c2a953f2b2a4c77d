"""Error pages (Chinese, or English with the lang cookie); JSON for the API."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.i18n import N_
from tenants.scope import TenantScopeError

MESSAGES = {
    400: N_("请求有误，请检查后重试"),
    401: N_("需要登录"),
    403: N_("您没有权限执行此操作"),
    404: N_("页面不存在或您无权访问"),
    405: N_("不支持的请求方式"),
    413: N_("上传的文件太大"),
    422: N_("提交的数据有误"),
    429: N_("请求太频繁，请稍后再试"),
    500: N_("服务器内部错误，我们已记录此问题"),
    503: N_("系统暂时不可用，请稍后再试"),
}
# "may not have completed": the fault runs showed a commit can succeed just before the connection
# drops (the answer is then a 503 although the submission is stored) — the page must not say it failed.
DEPENDENCY_DOWN = N_("数据库或后台服务暂时无法连接，操作可能未完成，请稍后刷新页面查看后再试")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app):
    from app.privacy import install_log_redaction

    install_log_redaction()  # error logs carry tracebacks: no phone or ID number in them
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description)
        if code == 400 and "CSRF" in (exc.description or ""):
            message = N_("页面已过期或表单校验失败，请刷新页面后重试")
        if _wants_json():
            body = {"code": code, "status": exc.name, "message": message}
            data = getattr(exc, "data", None)
            if isinstance(data, dict) and "messages" in data:
                body["errors"] = data["messages"]
            return jsonify(body), code
        return render_template("error.html", code=code, message=message), code

    def dependency_down(exc):
        # PostgreSQL restarting, Redis gone: a clear Chinese message and 503, never a traceback.
        app.logger.error("dependency unavailable: %s", type(exc).__name__)
        try:
            from app.extensions import db

            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection may be gone entirely
            pass
        if _wants_json():
            return jsonify({"code": 503, "status": "Service Unavailable", "message": DEPENDENCY_DOWN}), 503
        try:
            return render_template("error.html", code=503, message=DEPENDENCY_DOWN), 503
        except Exception:  # noqa: BLE001 - the page itself needs the database (current user)
            return (f"<!doctype html><meta charset=utf-8><title>503</title><p>{DEPENDENCY_DOWN}</p>", 503,
                    {"Content-Type": "text/html; charset=utf-8"})

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import InterfaceError, OperationalError

    for exc_class in (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError):
        app.register_error_handler(exc_class, dependency_down)

    @app.teardown_appcontext
    def remove_session_quietly(exc):
        # Runs before Flask-SQLAlchemy's own teardown (registered earlier, teardowns run in reverse).
        # When PostgreSQL restarts, the end-of-request ROLLBACK on the dead connection raises —
        # after every error handler, so the user would get the server's bare 500 instead of the
        # Chinese 503 already produced (found by tests/faults/run.py). Drop the connection instead.
        from app.extensions import db

        try:
            db.session.remove()
        except (OperationalError, InterfaceError):
            try:
                db.session.invalidate()
            except Exception:  # noqa: BLE001 - the connection is gone either way
                pass
            db.session.registry.clear()

    @app.errorhandler(TenantScopeError)
    def scope_error(exc):
        app.logger.error("tenant scope violation: %s", exc)
        if _wants_json():
            return jsonify({"code": 404, "status": "Not Found", "message": MESSAGES[404]}), 404
        return render_template("error.html", code=404, message=MESSAGES[404]), 404
