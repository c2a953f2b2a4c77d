"""activity record revision: the database counts every update of an activity record (issue 7)

The roll-up (and the dashboard's "up to date?" check) keys its figures by a fingerprint of the
inputs. For activity records it read the count, the ids, the latest creation time and the count of
linked records: an edit moving a record to another year or another planned activity changes the
figures (records per year, activities done) but none of those, so the dashboard called stale figures
current. ``activity_record.revision`` is raised by 1 on every UPDATE of the row, whoever writes it;
the fingerprint sums it (it never goes down; inserts and deletes change the count and the ids).

PostgreSQL: a BEFORE UPDATE … FOR EACH ROW trigger sets the new value to old + 1. SQLite: an AFTER
UPDATE trigger bumps the row when the statement did not (recursive triggers are off: it does not
fire itself). A later migration that recreates ``activity_record`` (SQLite batch "move and copy")
must create it again. The column belongs to an existing tenant table: its RLS policy covers it.

Revision ID: d6f8b0c30014
Revises: c5e7a9b20013
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'd6f8b0c30014'
down_revision = 'c5e7a9b20013'
branch_labels = None
depends_on = None

TRIGGER = "activity_record_revision_update"


def upgrade():
    with op.batch_alter_table("activity_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION activity_record_revision() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN NEW.revision := OLD.revision + 1; RETURN NEW; END $$")
        op.execute(f"CREATE TRIGGER {TRIGGER} BEFORE UPDATE ON activity_record FOR EACH ROW "
                   "EXECUTE FUNCTION activity_record_revision()")
        return
    op.execute(f"CREATE TRIGGER {TRIGGER} AFTER UPDATE ON activity_record WHEN NEW.revision = OLD.revision "
               "BEGIN UPDATE activity_record SET revision = OLD.revision + 1 "
               "WHERE district_id = NEW.district_id AND id = NEW.id; END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON activity_record")
        op.execute("DROP FUNCTION IF EXISTS activity_record_revision()")
        op.drop_column("activity_record", "revision")
    else:  # SQLite ≥ 3.35 drops the column in place (a batch "move and copy" would drop the files' rows)
        op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
        op.execute("ALTER TABLE activity_record DROP COLUMN revision")
