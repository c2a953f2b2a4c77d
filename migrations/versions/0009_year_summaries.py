"""year summaries (工作总结): year_summary and year_summary_version (issues 3 and 6)

Both are school-owned tenant tables under RLS (school column ``school_id``), keyed
(district_id, id) with composite foreign keys to school and to each other.

Revision ID: e9a1f0c20009
Revises: d8c0a1e50008
"""
from alembic import op
import sqlalchemy as sa

import tenants.models
from tenants import rls

TENANT_TABLES = {"year_summary": "school_id", "year_summary_version": "school_id"}

# revision identifiers, used by Alembic.
revision = 'e9a1f0c20009'
down_revision = 'd8c0a1e50008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('year_summary',
    sa.Column('district_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('achievements', sa.Text(), nullable=False),
    sa.Column('highlights', sa.Text(), nullable=False),
    sa.Column('problems', sa.Text(), nullable=False),
    sa.Column('next_year', sa.Text(), nullable=False),
    sa.Column('latest_version_no', sa.Integer(), nullable=False),
    sa.Column('accepted_version_id', sa.BigInteger(), nullable=True),
    sa.Column('first_submitted_at', tenants.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_submitted_at', tenants.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('accepted_at', tenants.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tenants.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tenants.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['district_id', 'school_id'], ['school.district_id', 'school.id'], name=op.f('fk_year_summary_district_id_school_id_school'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_year_summary_district_id_district'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('district_id', 'id', name=op.f('pk_year_summary')),
    sa.UniqueConstraint('district_id', 'school_id', 'year', name=op.f('uq_year_summary_district_id_school_id_year'))
    )
    with op.batch_alter_table('year_summary', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_year_summary_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_year_summary_status'), ['status'], unique=False)

    op.create_table('year_summary_version',
    sa.Column('district_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('school_id', sa.BigInteger(), nullable=False),
    sa.Column('summary_id', sa.BigInteger(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('submitted_at', tenants.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_by', sa.BigInteger(), nullable=True),
    sa.Column('decision', sa.String(length=12), nullable=False),
    sa.Column('decided_at', tenants.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('dossier_run_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['district_id', 'school_id'], ['school.district_id', 'school.id'], name=op.f('fk_year_summary_version_district_id_school_id_school'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['district_id', 'summary_id'], ['year_summary.district_id', 'year_summary.id'], name=op.f('fk_year_summary_version_district_id_summary_id_year_summary'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['district_id'], ['district.id'], name=op.f('fk_year_summary_version_district_id_district'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('district_id', 'id', name=op.f('pk_year_summary_version')),
    sa.UniqueConstraint('district_id', 'summary_id', 'number', name=op.f('uq_year_summary_version_district_id_summary_id_number'))
    )
    with op.batch_alter_table('year_summary_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_year_summary_version_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_year_summary_version_summary_id'), ['summary_id'], unique=False)

    for table, school_column in TENANT_TABLES.items():
        rls.install_tenant_table(op, table, school_column)


def downgrade():
    for table in reversed(list(TENANT_TABLES)):
        rls.drop_tenant_table_extras(op, table)
    with op.batch_alter_table('year_summary_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_year_summary_version_summary_id'))
        batch_op.drop_index(batch_op.f('ix_year_summary_version_school_id'))
    op.drop_table('year_summary_version')
    with op.batch_alter_table('year_summary', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_year_summary_status'))
        batch_op.drop_index(batch_op.f('ix_year_summary_school_id'))
    op.drop_table('year_summary')
