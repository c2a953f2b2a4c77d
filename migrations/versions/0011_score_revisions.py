"""score revisions: the database counts every change of a sheet's scores and of an application's
self scores (issue 7)

The calibration view keys its cache by a fingerprint of its inputs. Summing every score row of the
round on every view (150,240 assessor scores and 30,500 self scores at 500 schools, ~110 ms) was the
only way to see a change made to a score row, including one that bypasses the services. Now the
database records it: triggers on ``assessor_score`` add 1 to ``assignment.score_revision`` of the
row's sheet, and triggers on ``self_score`` add 1 to ``application.self_score_revision`` of the row's
application, on every INSERT, UPDATE (old and new parent) and DELETE, in the writer's transaction.
A revision never goes down, so the fingerprint reads only the sheets and applications.

PostgreSQL: one AFTER … FOR EACH STATEMENT trigger per event with its transition table (a bulk
insert bumps each sheet once per statement; a per-indicator save is one extra UPDATE of its sheet).
The functions run as the writer (SECURITY INVOKER): the app role's own RLS settings apply to the
parent's UPDATE; the parent has the child's district and school, so it is visible wherever the
child may be written, and an INSERT/UPDATE whose parent could not be bumped is refused rather than
left uncounted. (A DELETE cascading from the parent finds no parent left: nothing to bump.)
SQLite: AFTER … FOR EACH ROW triggers. The columns belong to existing tenant tables: their RLS
policies (0003, 0006) cover them. A later migration that recreates assessor_score or self_score
(SQLite batch "move and copy") must create these triggers again.

Revision ID: a3c5e7f90011
Revises: f0b2c3d40010
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'a3c5e7f90011'
down_revision = 'f0b2c3d40010'
branch_labels = None
depends_on = None

# child table → (parent table, the child's column naming the parent, the parent's counter)
COUNTED = {
    "assessor_score": ("assignment", "assignment_id", "score_revision"),
    "self_score": ("application", "application_id", "self_score_revision"),
}
EVENTS = ("INSERT", "UPDATE", "DELETE")


def _pg_function(child: str, parent: str, column: str, counter: str) -> str:
    """One function for the three statement triggers: each parent named by the statement's rows
    (old and new ones of an UPDATE together) is bumped once."""
    def parents(*tables: str) -> str:
        return " UNION ".join(f"SELECT DISTINCT district_id, {column} AS parent_id FROM {t}" for t in tables)

    def bump(source: str) -> str:
        return (f"UPDATE {parent} AS p SET {counter} = p.{counter} + 1 FROM ({source}) AS c "
                f"WHERE p.district_id = c.district_id AND p.id = c.parent_id;")

    def checked(source: str) -> str:  # every parent of a written row exists (FK): each must be bumped
        return (f"{bump(source)} GET DIAGNOSTICS bumped = ROW_COUNT; "
                f"SELECT count(*) INTO wanted FROM ({source}) AS w; "
                f"IF bumped < wanted THEN RAISE EXCEPTION '{child}: % of % {parent} revisions not counted "
                f"(row-level security hides the parent)', wanted - bumped, wanted; END IF;")

    return (
        f"CREATE OR REPLACE FUNCTION {child}_revision() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE bumped bigint; wanted bigint; "
        "BEGIN "
        f"IF TG_OP = 'INSERT' THEN {checked(parents('new_rows'))} "
        f"ELSIF TG_OP = 'UPDATE' THEN {checked(parents('old_rows', 'new_rows'))} "
        f"ELSE {bump(parents('old_rows'))} "  # a DELETE cascading from its parent: nothing left to bump
        "END IF; "
        "RETURN NULL; "
        "END $$"
    )


def upgrade():
    for child, (parent, column, counter) in COUNTED.items():
        with op.batch_alter_table(parent, schema=None) as batch_op:
            batch_op.add_column(sa.Column(counter, sa.Integer(), server_default='0', nullable=False))

    if op.get_bind().dialect.name == "postgresql":
        for child, (parent, column, counter) in COUNTED.items():
            op.execute(_pg_function(child, parent, column, counter))
            for event in EVENTS:
                tables = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                          "DELETE": "OLD TABLE AS old_rows"}[event]
                op.execute(f"CREATE TRIGGER {child}_revision_{event.lower()} AFTER {event} ON {child} "
                           f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {child}_revision()")
        return
    for child, (parent, column, counter) in COUNTED.items():
        for event in EVENTS:
            rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[event]
            where = " OR ".join(f"(district_id = {r}.district_id AND id = {r}.{column})" for r in rows)
            op.execute(f"CREATE TRIGGER {child}_revision_{event.lower()} AFTER {event} ON {child} "
                       f"BEGIN UPDATE {parent} SET {counter} = {counter} + 1 WHERE {where}; END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for child, (parent, column, counter) in COUNTED.items():
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {child}_revision_{event.lower()}" + (f" ON {child}" if postgresql else ""))
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {child}_revision()")
            op.drop_column(parent, counter)
        else:  # SQLite ≥ 3.35 drops the column in place (a batch "move and copy" of the parent would
            op.execute(f"ALTER TABLE {parent} DROP COLUMN {counter}")  # cascade-delete its children)
