"""calibration fingerprint: a sheet's revision counts every update of the sheet; an index-only
scan over a round's submitted sheets (issue 7)

The calibration view keys its cache by a fingerprint of its inputs; for the sheets it read two
statements over every assignment row of the round (2,550 heap pages at 500 schools, ~6 ms). Now:

* ``assignment.score_revision`` (0011: +1 on every write of the sheet's score rows) also counts
  every UPDATE of the sheet row itself (comment, status, reopening, …), whoever writes it, so the
  fingerprint needs no other column of the row (the comment's length was a weak stand-in).
  PostgreSQL: a BEFORE UPDATE … FOR EACH ROW trigger raises the new value to at least old + 1 (the
  0011 statement triggers' own "+ 1" is not counted twice). SQLite: an AFTER UPDATE trigger bumps
  the row when the statement did not (recursive triggers are off: it does not fire itself). A later
  migration that recreates ``assignment`` (SQLite batch "move and copy") must create it again.
* ``ix_assignment_round_submitted`` (round_id, status, assessor_id), on PostgreSQL with the other
  columns the fingerprint and the RLS policy read INCLUDEd: an index-only scan.

Revision ID: c5e7a9b20013
Revises: b4d6f8a10012
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e7a9b20013'
down_revision = 'b4d6f8a10012'
branch_labels = None
depends_on = None

INDEX = "ix_assignment_round_submitted"
INCLUDE = ["id", "submitted_at", "score_revision", "district_id", "school_id"]
TRIGGER = "assignment_revision_update"


def upgrade():
    op.create_index(INDEX, "assignment", ["round_id", "status", "assessor_id"], unique=False,
                    postgresql_include=INCLUDE)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION assignment_revision() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN NEW.score_revision := GREATEST(NEW.score_revision, OLD.score_revision + 1); "
                   "RETURN NEW; END $$")
        op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON assignment FOR EACH ROW "
                   "EXECUTE FUNCTION assignment_revision()")
        return
    op.execute(f"CREATE TRIGGER {TRIGGER} AFTER UPDATE ON assignment "
               "WHEN NEW.score_revision <= OLD.score_revision "
               "BEGIN UPDATE assignment SET score_revision = OLD.score_revision + 1 "
               "WHERE district_id = NEW.district_id AND id = NEW.id; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON assignment")
        op.execute("DROP FUNCTION IF EXISTS assignment_revision()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.drop_index(INDEX, table_name="assignment")
