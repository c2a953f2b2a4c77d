"""PostgreSQL row-level security (DESIGN §3.3): the third layer of isolation.

* Policies on every tenant table read transaction-local settings that ``after_begin``
  sets from the session's scope with ``set_config(..., true)``, so nothing leaks through
  the connection pool. An empty setting means no access (``NULLIF(..., '')``).
* The app connects as a role that owns no table and cannot bypass RLS; ``check_app_role``
  refuses to start otherwise.

This is the one reviewed module allowed to run raw SQL about tenant tables.
"""
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from tenants.scope import SCOPE_KEY

DISTRICT_SETTING = "app.district_id"
SCHOOLS_SETTING = "app.school_ids"
SYSTEM_SETTING = "app.system"

# Each setting is read in a scalar sub-select: PostgreSQL evaluates it once per statement (an
# InitPlan) instead of calling current_setting() for every row a scan filters. A seq scan of
# 150,000 score rows under the policy took ~100 ms with per-row calls, ~20 ms this way.
_DISTRICT = "(SELECT NULLIF(current_setting('app.district_id', true), '')::bigint)"
_SCHOOLS = "(SELECT current_setting('app.school_ids', true))"
_DISTRICT_MATCH = f"district_id = {_DISTRICT}"
_SYSTEM = "(SELECT current_setting('app.system', true)) = 'on'"


def _school_match(column: str) -> str:
    return f"({_SCHOOLS} = '*' OR position(',' || {column}::text || ',' IN {_SCHOOLS}) > 0)"


def policy_sql(table: str, school_column: str | None) -> str:
    condition = _DISTRICT_MATCH
    if school_column:
        condition = f"{condition} AND {_school_match(school_column)}"
    return f"{_SYSTEM} OR ({condition})"


def enable_statements(table: str, school_column: str | None) -> list[str]:
    """DDL that puts ``table`` under RLS (used by migrations)."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_scope ON {table}",
        f"CREATE POLICY tenant_scope ON {table} USING ({policy_sql(table, school_column)})",
    ]


def district_policy_sql() -> str:
    return f"{_SYSTEM} OR id = {_DISTRICT}"


def district_table_statements() -> list[str]:
    condition = district_policy_sql()
    return [
        "ALTER TABLE district ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE district FORCE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS tenant_scope ON district",
        f"CREATE POLICY tenant_scope ON district USING ({condition})",
    ]


def settings_for(scope) -> dict[str, str]:
    if scope is None:
        return {"d": "", "s": "", "x": "off"}
    if scope.is_system:
        return {"d": "", "s": "", "x": "on"}
    schools = "*" if scope.school_ids is None else "," + ",".join(str(i) for i in sorted(scope.school_ids)) + ","
    return {"d": str(scope.district_id), "s": schools, "x": "off"}


_SET_SQL = (
    "SELECT set_config('app.district_id', :d, true), set_config('app.school_ids', :s, true), "
    "set_config('app.system', :x, true)"
)


@event.listens_for(Session, "after_begin")
def _set_rls_settings(session, transaction, connection):
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(_SET_SQL), settings_for(session.info.get(SCOPE_KEY)))


def refresh_settings(session) -> None:
    """Re-apply the settings when the scope changes inside an open transaction."""
    if not session.in_transaction():
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text(_SET_SQL), settings_for(session.info.get(SCOPE_KEY)))


class UnsafeDatabaseRole(RuntimeError):
    pass


def check_app_role(engine, tenant_tables) -> None:
    """Refuse to run when the connected role could bypass RLS (DESIGN §3.3)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        user, superuser, bypass = conn.execute(
            text("SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        if superuser or bypass:
            raise UnsafeDatabaseRole(
                f"数据库角色 {user} 是超级用户或可绕过行级安全，拒绝启动 "
                "(the app role must not be SUPERUSER or BYPASSRLS; see README)"
            )
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                "AND tableowner = current_user"
            )
        ).scalar_one()
        if owned:
            raise UnsafeDatabaseRole(
                f"数据库角色 {user} 拥有 {owned} 张表，行级安全对其无效，拒绝启动 "
                "(the app role must own no table; run migrations as MIGRATION_DATABASE_URL)"
            )
        rows = conn.execute(
            text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
            )
        ).all()
        protected = {name for name, enabled, forced in rows if enabled and forced}
        present = {name for name, _, _ in rows}
        missing = sorted(t for t in tenant_tables if t in present and t not in protected)
        if missing:
            raise UnsafeDatabaseRole(f"这些表没有启用行级安全：{', '.join(missing)} (RLS not forced)")


# --- migrations ---------------------------------------------------------------

def install_tenant_table(op, table: str, school_column: str | None) -> None:
    """Call from a migration after creating a tenant table: its id sequence and RLS policy
    on PostgreSQL (SQLite allocates ids from ``id_sequence`` and has no RLS)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    from tenants.ids import sequence_name

    op.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence_name(table)}")
    for statement in enable_statements(table, school_column):
        op.execute(statement)


def install_district_table(op) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in district_table_statements():
        op.execute(statement)


def drop_tenant_table_extras(op, table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from tenants.ids import sequence_name

    op.execute(f"DROP SEQUENCE IF EXISTS {sequence_name(table)}")
