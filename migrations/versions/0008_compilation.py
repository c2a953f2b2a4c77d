"""compiled artifacts: dossiers and district roll-ups (issue 6)

Revision ID: d8c0a1e50008
Revises: c7e5a1750007
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

import tenants.models  # noqa: F401
from tenants import rls  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'd8c0a1e50008'
down_revision = 'c7e5a1750007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('artifact',
    sa.Column('district_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('run_id', sa.BigInteger(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', tenants.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_artifact_district_id_district'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('district_id', 'id', name=op.f('pk_artifact')),
    sa.UniqueConstraint('district_id', 'kind', 'subject', 'fingerprint', name=op.f('uq_artifact_district_id_kind_subject_fingerprint'))
    )
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_artifact_subject'), ['subject'], unique=False)
    rls.install_tenant_table(op, "artifact", "school_id")


def downgrade():
    rls.drop_tenant_table_extras(op, "artifact")
    with op.batch_alter_table('artifact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_artifact_subject'))
    op.drop_table('artifact')
