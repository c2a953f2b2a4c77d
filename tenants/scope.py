"""The scope a session runs in.

A scope is resolved once per request (from the login and the URL) and once per job (from
its arguments) and stored on the SQLAlchemy session (``session.info["scope"]``). The ORM
filter in ``tenants.filters`` reads it; with no scope, a query on a tenant table raises.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

SCOPE_KEY = "scope"


class TenantScopeError(RuntimeError):
    """Raised when tenant data is touched without a scope, or outside it."""


@dataclass(frozen=True)
class Scope:
    kind: str  # "district" | "school" | "system"
    district_id: int | None = None
    # None: every school of the district; otherwise the visible schools.
    school_ids: frozenset[int] | None = None
    user_id: int | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    reason: str = ""

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def all_schools(self) -> bool:
        return self.school_ids is None

    def allows(self, district_id, school_id=None) -> bool:
        if self.is_system:
            return True
        if district_id != self.district_id:
            return False
        if self.school_ids is None:
            return True
        # A school scope reaches only rows of its schools, never district-level rows.
        return school_id in self.school_ids

    @classmethod
    def district(cls, district_id: int, **kw) -> "Scope":
        return cls(kind="district", district_id=district_id, **kw)

    @classmethod
    def school(cls, district_id: int, school_ids, **kw) -> "Scope":
        return cls(kind="school", district_id=district_id, school_ids=frozenset(school_ids), **kw)

    @classmethod
    def system(cls, reason: str) -> "Scope":
        return cls(kind="system", reason=reason)


def _session(session=None):
    if session is None:
        from app.extensions import db  # the one shared session registry

        session = db.session
    # A scoped_session proxies to the real Session of this context.
    return session() if callable(session) and not hasattr(session, "in_transaction") else session


def current_scope(session=None) -> Scope | None:
    return _session(session).info.get(SCOPE_KEY)


def set_scope(scope: Scope | None, session=None) -> None:
    """Put ``scope`` on the session.

    Objects of another scope are expunged so that an identity-map hit (``session.get``
    emits no SQL) can never hand a foreign object to the new scope; on PostgreSQL the
    RLS settings of an open transaction are refreshed.
    """
    from tenants import rls

    sess = _session(session)
    sess.info[SCOPE_KEY] = scope
    rls.refresh_settings(sess)
    if scope is not None and not scope.is_system:
        _expunge_foreign(sess, scope)


def _expunge_foreign(sess, scope: Scope) -> None:
    """Read keys from the instance state only: touching an expired attribute would load it."""
    from tenants.models import TenantMixin

    for state in list(sess.identity_map.all_states()):
        obj = state.obj()
        if obj is None or not isinstance(obj, TenantMixin):
            continue
        district_id, row_id = state.identity if state.identity else (None, None)
        school_id = None
        column = type(obj).__school_column__
        if column and scope.school_ids is not None:
            school_id = row_id if column == "id" else state.dict.get(column, -1)  # unknown: not allowed
        if not scope.allows(district_id, school_id):
            sess.expunge(obj)


@contextmanager
def tenant_scope(scope: Scope, session=None):
    """Run a block in ``scope`` and restore the previous scope after it."""
    sess = _session(session)
    previous = sess.info.get(SCOPE_KEY)
    set_scope(scope, sess)
    try:
        yield scope
    finally:
        set_scope(previous, sess)


@contextmanager
def system_scope(reason: str, session=None):
    """An explicit, greppable escape hatch for code that must see every tenant.

    Allowed users: migrations, CLI provisioning, login and URL resolution, the job sweeper.
    ``tests/tenants/test_system_scope_uses.py`` keeps the list of callers reviewed.
    """
    with tenant_scope(Scope.system(reason), session) as scope:
        yield scope
