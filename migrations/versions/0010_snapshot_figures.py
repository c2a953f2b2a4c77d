"""application snapshot figures: total, filled and with_evidence in columns (issue 7)

The round's progress page read the whole frozen JSON of every application only to take its total
(and counted every self score of the round on every view). The snapshot now keeps these figures of
its own content in three columns, written once with the snapshot; existing snapshots are filled
here from their content (the content itself is not touched). The columns belong to an existing
tenant table: its RLS policy from 0003 covers them.

Revision ID: f0b2c3d40010
Revises: e9a1f0c20009
"""
from decimal import Decimal
import json

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f0b2c3d40010'
down_revision = 'e9a1f0c20009'
branch_labels = None
depends_on = None

BONUS = "bonus"


def _figures(content) -> dict:
    """As ``app.rounds.models.snapshot_figures`` at this revision (kept here so the migration
    does not change with the app)."""
    if isinstance(content, str):
        content = json.loads(content)
    content = content or {}
    total = content.get("total")
    out = {"total": Decimal(str(total)) if total not in (None, "") else None, "filled": None, "with_evidence": None}
    scores, evidence = content.get("scores"), content.get("evidence")
    if isinstance(scores, list) and isinstance(evidence, list):
        counted = {s.get("indicator_id") for s in scores if s.get("kind") != BONUS}
        out["filled"] = sum(1 for s in scores if s.get("kind") != BONUS
                            and any(s.get(k) is not None for k in ("points", "units", "rate")))
        out["with_evidence"] = len({e.get("indicator_id") for e in evidence} & counted)
    return out


def upgrade():
    with op.batch_alter_table('application_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('total', sa.Numeric(precision=7, scale=2), nullable=True))
        batch_op.add_column(sa.Column('filled', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('with_evidence', sa.Integer(), nullable=True))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # the owner is under forced RLS too: read every district
        bind.execute(sa.text("SELECT set_config('app.system', 'on', true)"))
    snapshot = sa.table('application_snapshot', sa.column('district_id', sa.BigInteger()),
                        sa.column('id', sa.BigInteger()), sa.column('content', sa.JSON()),
                        sa.column('total', sa.Numeric(7, 2)), sa.column('filled', sa.Integer()),
                        sa.column('with_evidence', sa.Integer()))
    rows = bind.execute(sa.select(snapshot.c.district_id, snapshot.c.id, snapshot.c.content)).all()
    for district_id, snapshot_id, content in rows:
        bind.execute(snapshot.update().where(snapshot.c.district_id == district_id, snapshot.c.id == snapshot_id)
                     .values(**_figures(content)))
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT set_config('app.system', 'off', true)"))


def downgrade():
    with op.batch_alter_table('application_snapshot', schema=None) as batch_op:
        batch_op.drop_column('with_evidence')
        batch_op.drop_column('filled')
        batch_op.drop_column('total')
