"""campaigns: what an approval saw (the rule, the email's hash, the segment's size)

Revision ID: mc0004
Revises: mc0003
Create Date: 2026-12-08 00:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'mc0004'
down_revision = 'mc0003'
branch_labels = None
depends_on = 'crm0004'


def upgrade():
    with op.batch_alter_table('crm_mc_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_rule', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approved_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('approved_count', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_mc_campaigns', schema=None) as batch_op:
        batch_op.drop_column('approved_count')
        batch_op.drop_column('approved_hash')
        batch_op.drop_column('approved_rule')
