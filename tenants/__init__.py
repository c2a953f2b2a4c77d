"""Tenant isolation: districts, schools, memberships and the scope that every query runs in.

Business areas import ``tenants``; ``tenants`` imports no business area.
"""
from tenants.scope import (  # noqa: F401
    Scope,
    TenantScopeError,
    current_scope,
    set_scope,
    system_scope,
    tenant_scope,
)
