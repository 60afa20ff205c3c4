"""saved segments and the indexes segment rules read

Revision ID: crm0003
Revises: crm0002
Create Date: 2026-11-29 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'crm0003'
down_revision = 'crm0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('crm_segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_segments')),
    sa.UniqueConstraint('name_key', name=op.f('uq_crm_segments_name_key'))
    )
    with op.batch_alter_table('crm_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_contacts_created_at'), ['created_at'], unique=False)

    with op.batch_alter_table('crm_donation_summaries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_donation_summaries_gift_count'), ['gift_count'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_donation_summaries_hpc_cents'), ['hpc_cents'], unique=False)
        batch_op.create_index(batch_op.f('ix_crm_donation_summaries_first_at'), ['first_at'], unique=False)

    with op.batch_alter_table('crm_donations', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_donations_contact')
        batch_op.create_index('ix_crm_donations_contact', ['contact_id', 'received_at', 'amount_cents'], unique=False)

    with op.batch_alter_table('crm_union_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_crm_union_memberships_status', ['status', 'contact_id'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_union_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_union_memberships_status')

    with op.batch_alter_table('crm_donations', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_donations_contact')
        batch_op.create_index('ix_crm_donations_contact', ['contact_id', 'received_at'], unique=False)

    with op.batch_alter_table('crm_donation_summaries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_donation_summaries_first_at'))
        batch_op.drop_index(batch_op.f('ix_crm_donation_summaries_hpc_cents'))
        batch_op.drop_index(batch_op.f('ix_crm_donation_summaries_gift_count'))

    with op.batch_alter_table('crm_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_contacts_created_at'))

    op.drop_table('crm_segments')
