"""sheets revision: the database counts every write of an application's score sheets (issue 7)

The calibration view's fingerprint read every submitted sheet of the round (0013: an aggregate per
assessor over ``ix_assignment_round_submitted``, whose INCLUDEd ``score_revision`` changes on every
score save: each save became a non-HOT update adding an entry to every index of ``assignment``, and
the index bloated until the planner stopped using it). Now ``application.sheets_revision`` is raised
by the database on every INSERT, UPDATE (old and new application) and DELETE of one of the
application's SUBMITTED sheets (``assignment`` rows whose status is or was 'submitted': a
submission, a reopening, any change to a submitted sheet), whoever writes it; a score row's write
reaches it too, since it updates its sheet (0011). Saves on open sheets (the assessing phase's
traffic) do not touch the application. The fingerprint reads it with the application rows it
reads anyway; the index goes.

PostgreSQL: one AFTER … FOR EACH STATEMENT trigger per event with its transition tables, each
application named by the statement's rows bumped once, under the writer's RLS (the application has
the sheet's district and school): an INSERT/UPDATE whose application could not be bumped is
refused rather than left uncounted (as 0011). SQLite: AFTER … FOR EACH ROW triggers. A later
migration that recreates ``assignment`` (SQLite batch "move and copy") must create them again. The
column belongs to an existing tenant table: its RLS policy (0003) covers it.

Revision ID: e7a9c1d40015
Revises: d6f8b0c30014
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'e7a9c1d40015'
down_revision = 'd6f8b0c30014'
branch_labels = None
depends_on = None

CHILD, PARENT, COLUMN, COUNTER = "assignment", "application", "application_id", "sheets_revision"
SUBMITTED = "'submitted'"  # app.assessments.models.SHEET_SUBMITTED
EVENTS = ("INSERT", "UPDATE", "DELETE")
INDEX = "ix_assignment_round_submitted"


def _pg_function() -> str:
    """As 0011's: one function for the three statement triggers."""
    def parents(*tables: str) -> str:
        return " UNION ".join(f"SELECT DISTINCT district_id, {COLUMN} AS parent_id FROM {t} "
                              f"WHERE status = {SUBMITTED}" for t in tables)

    def bump(source: str) -> str:
        return (f"UPDATE {PARENT} AS p SET {COUNTER} = p.{COUNTER} + 1 FROM ({source}) AS c "
                f"WHERE p.district_id = c.district_id AND p.id = c.parent_id;")

    def checked(source: str) -> str:
        return (f"{bump(source)} GET DIAGNOSTICS bumped = ROW_COUNT; "
                f"SELECT count(*) INTO wanted FROM ({source}) AS w; "
                f"IF bumped < wanted THEN RAISE EXCEPTION '{CHILD}: % of % {PARENT} revisions not counted "
                f"(row-level security hides the parent)', wanted - bumped, wanted; END IF;")

    return (
        f"CREATE OR REPLACE FUNCTION {CHILD}_sheets_revision() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "DECLARE bumped bigint; wanted bigint; "
        "BEGIN "
        f"IF TG_OP = 'INSERT' THEN {checked(parents('new_rows'))} "
        f"ELSIF TG_OP = 'UPDATE' THEN {checked(parents('old_rows', 'new_rows'))} "
        f"ELSE {bump(parents('old_rows'))} "  # a DELETE cascading from its application: nothing to bump
        "END IF; "
        "RETURN NULL; "
        "END $$"
    )


def upgrade():
    op.drop_index(INDEX, table_name=CHILD)
    with op.batch_alter_table(PARENT, schema=None) as batch_op:
        batch_op.add_column(sa.Column(COUNTER, sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_function())
        for event in EVENTS:
            tables = {"INSERT": "NEW TABLE AS new_rows", "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                      "DELETE": "OLD TABLE AS old_rows"}[event]
            op.execute(f"CREATE TRIGGER {CHILD}_sheets_revision_{event.lower()} AFTER {event} ON {CHILD} "
                       f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {CHILD}_sheets_revision()")
        return
    for event in EVENTS:
        rows = {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[event]
        when = " OR ".join(f"{r}.status = {SUBMITTED}" for r in rows)
        where = " OR ".join(f"(district_id = {r}.district_id AND id = {r}.{COLUMN} AND {r}.status = {SUBMITTED})"
                            for r in rows)
        op.execute(f"CREATE TRIGGER {CHILD}_sheets_revision_{event.lower()} AFTER {event} ON {CHILD} "
                   f"WHEN {when} BEGIN UPDATE {PARENT} SET {COUNTER} = {COUNTER} + 1 WHERE {where}; END")


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for event in EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS {CHILD}_sheets_revision_{event.lower()}" + (f" ON {CHILD}" if postgresql else ""))
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS {CHILD}_sheets_revision()")
        op.drop_column(PARENT, COUNTER)
    else:  # SQLite ≥ 3.35 drops the column in place (a batch "move and copy" of the parent would
        op.execute(f"ALTER TABLE {PARENT} DROP COLUMN {COUNTER}")  # cascade-delete its children)
    op.create_index(INDEX, CHILD, ["round_id", "status", "assessor_id"], unique=False,
                    postgresql_include=["id", "submitted_at", "score_revision", "district_id", "school_id"])
