"""Authorization for views: every endpoint names a permission (or is marked public).

The cross-tenant test walks ``app.url_map`` and fails for an endpoint without one.
"""
from functools import wraps

from flask import abort, g, request
from flask_login import current_user

from app.extensions import login_manager
from tenants.roles import roles_allow

PUBLIC = "public"
# Endpoints registered by extensions, public by nature (static files, the OpenAPI document).
PUBLIC_ENDPOINTS = {"static", "bootstrap.static", "api-docs.openapi_json"}
AUTHENTICATED = "authenticated"


def public(view):
    view.permission = PUBLIC
    return view


def requires(permission: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if permission != AUTHENTICATED and not allowed(permission):
                deny(permission)
            return view(*args, **kwargs)

        wrapped.permission = permission
        return wrapped

    return decorator


def allowed(permission: str) -> bool:
    if not current_user.is_authenticated:
        return False
    if permission == AUTHENTICATED:
        return True
    if permission == "platform.manage":
        return current_user.is_platform_admin
    scope = g.get("scope")
    return scope is not None and roles_allow(scope.roles, permission)


def deny(permission: str):
    from app.audit.services import record

    record("permission_denied", details={"permission": permission, "path": request.path,
                                         "method": request.method}, commit=True)
    abort(403)
