"""Error pages in Chinese; JSON for the API."""
from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from tenants.scope import TenantScopeError

MESSAGES = {
    400: "请求有误，请检查后重试",
    401: "需要登录",
    403: "您没有权限执行此操作",
    404: "页面不存在或您无权访问",
    405: "不支持的请求方式",
    413: "上传的文件太大",
    422: "提交的数据有误",
    429: "请求太频繁，请稍后再试",
    500: "服务器内部错误，我们已记录此问题",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def register(app):
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        message = MESSAGES.get(code, exc.description)
        if code == 400 and "CSRF" in (exc.description or ""):
            message = "页面已过期或表单校验失败，请刷新页面后重试"
        if _wants_json():
            body = {"code": code, "status": exc.name, "message": message}
            data = getattr(exc, "data", None)
            if isinstance(data, dict) and "messages" in data:
                body["errors"] = data["messages"]
            return jsonify(body), code
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(TenantScopeError)
    def scope_error(exc):
        app.logger.error("tenant scope violation: %s", exc)
        if _wants_json():
            return jsonify({"code": 404, "status": "Not Found", "message": MESSAGES[404]}), 404
        return render_template("error.html", code=404, message=MESSAGES[404]), 404
