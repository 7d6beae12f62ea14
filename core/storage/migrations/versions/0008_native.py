"""users holding streak freezes are checked after each local midnight (users.next_freeze_at)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.storage.models import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_freeze_at", UtcDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_users_next_freeze_at"), ["next_freeze_at"])
    # Whoever holds a freeze already is due at once (whatever the clock says, hence a date long
    # past): the first tick checks them and arms the next check.
    op.execute(
        "UPDATE users SET next_freeze_at = '2000-01-01 00:00:00' WHERE id IN ("
        "SELECT user_id FROM ledger WHERE currency = 'freeze' "
        "GROUP BY user_id HAVING SUM(amount) > 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_next_freeze_at"))
        batch_op.drop_column("next_freeze_at")
