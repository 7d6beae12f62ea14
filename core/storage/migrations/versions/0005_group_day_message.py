"""a group's day message: the one message a day the bot edits with who checked in

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("day_message", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("day_message_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("day_message_on")
        batch.drop_column("day_message")
