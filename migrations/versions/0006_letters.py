"""Decision letters: who signs them for the call, and the fingerprint of each stored letter.

Revision ID: 0006_letters
Revises: 0005_messages
Create Date: 2026-11-30 16:25:00

Written by hand. ``calls.signatory_name`` and ``calls.signatory_title`` name the person who signs the
decision letters for the awarding body (empty for the calls that exist: added nullable, filled, then made
NOT NULL, no server default left behind); ``decisions.letter_sha256`` is the SHA-256 of the stored letter.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_letters"
down_revision = "0005_messages"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(sa.Column("signatory_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("signatory_title", sa.String(length=200), nullable=True))
    op.get_bind().execute(sa.text("UPDATE calls SET signatory_name = '', signatory_title = ''"))
    with op.batch_alter_table("calls") as batch_op:
        batch_op.alter_column("signatory_name", existing_type=sa.String(length=200), nullable=False)
        batch_op.alter_column("signatory_title", existing_type=sa.String(length=200), nullable=False)
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.add_column(sa.Column("letter_sha256", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_column("letter_sha256")
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("signatory_title")
        batch_op.drop_column("signatory_name")
