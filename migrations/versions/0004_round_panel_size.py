"""round panel size: assessors planned per application (trimmed mean needs at least 5)

A column added to an existing tenant table: its RLS policy from 0003 already covers it.

Revision ID: 648769dedfef
Revises: 633566933de6
Create Date: 2026-11-24 15:06:02.883407

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '648769dedfef'
down_revision = '633566933de6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('panel_size', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('round', schema=None) as batch_op:
        batch_op.drop_column('panel_size')

