"""row-level security policies read their settings once per statement (issue 7)

The tenant_scope policies called current_setting() for every row a scan filtered: counting a
district's 150,000 score rows took ~100 ms under the policy against ~15 ms without it. Each
setting is now read in a scalar sub-select, which PostgreSQL evaluates once per statement (an
InitPlan); the condition is the same (tenants/rls.py policy_sql). Every tenant_scope policy is
recreated: its school column is read from the policy it replaces. SQLite has no RLS: nothing to do.

Revision ID: b4d6f8a10012
Revises: a3c5e7f90011
"""
import re

from alembic import op
from sqlalchemy import text

from tenants import rls

# revision identifiers, used by Alembic.
revision = 'b4d6f8a10012'
down_revision = 'a3c5e7f90011'
branch_labels = None
depends_on = None

# How PostgreSQL prints the school part of either form of the policy: (',' || <column>::text || ',')
_SCHOOL_COLUMN = re.compile(r"\(','::text \|\| \((\w+)\)::text\)")

# The policies as 0001–0011 created them (for downgrade).
_OLD_DISTRICT = "NULLIF(current_setting('app.district_id', true), '')::bigint"
_OLD_SYSTEM = "current_setting('app.system', true) = 'on'"


def _old_policy(school_column):
    condition = f"district_id = {_OLD_DISTRICT}"
    if school_column:
        condition += (f" AND (current_setting('app.school_ids', true) = '*' OR position(',' || {school_column}::text"
                      f" || ',' IN current_setting('app.school_ids', true)) > 0)")
    return f"{_OLD_SYSTEM} OR ({condition})"


def _policies(bind) -> list[tuple[str, str | None]]:
    rows = bind.execute(text("SELECT tablename, qual FROM pg_policies WHERE policyname = 'tenant_scope' "
                             "AND schemaname = current_schema() ORDER BY tablename")).all()
    out = []
    for table, qual in rows:
        match = _SCHOOL_COLUMN.search(qual or "")
        out.append((table, match.group(1) if match else None))
    return out


def _recreate(new: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, school_column in _policies(bind):
        if table == "district":
            condition = rls.district_policy_sql() if new else f"{_OLD_SYSTEM} OR id = {_OLD_DISTRICT}"
        else:
            condition = rls.policy_sql(table, school_column) if new else _old_policy(school_column)
        op.execute(f"ALTER POLICY tenant_scope ON {table} USING ({condition})")


def upgrade():
    _recreate(new=True)


def downgrade():
    _recreate(new=False)
