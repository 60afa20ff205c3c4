"""jobs: which process runs a job (host and pid), so a restart can reap its dead jobs

Revision ID: crm0004
Revises: crm0003
Create Date: 2026-12-08 01:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'crm0004'
down_revision = 'crm0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_jobs', schema=None) as batch_op:
        batch_op.drop_column('worker')
