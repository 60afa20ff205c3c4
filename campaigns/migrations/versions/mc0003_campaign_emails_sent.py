"""campaigns: the number of emails Mailchimp sent

Revision ID: mc0003
Revises: mc0002
Create Date: 2026-12-08 00:35:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'mc0003'
down_revision = 'mc0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_mc_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emails_sent', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_mc_campaigns', schema=None) as batch_op:
        batch_op.drop_column('emails_sent')
