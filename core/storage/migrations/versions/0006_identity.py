"""identity: link codes, wrong link tries, merged and deleted users, released handles

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.storage.models import Id, UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deleted_at", UtcDateTime(), nullable=True))
    op.create_table(
        "link_codes",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_link_codes_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_link_codes_code_hash"), "link_codes", ["code_hash"])
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"])
    op.create_table(
        "link_tries",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_link_tries_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_link_tries")),
    )
    op.create_table(
        "merged_users",
        sa.Column("old_id", Id, nullable=False),
        sa.Column("into_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["into_id"],
            ["users.id"],
            name=op.f("fk_merged_users_into_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("old_id", name=op.f("pk_merged_users")),
    )
    op.create_index(op.f("ix_merged_users_into_id"), "merged_users", ["into_id"])
    op.create_table(
        "released_handles",
        sa.Column("handle", sa.String(length=40), nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("until", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_released_handles_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("handle", name=op.f("pk_released_handles")),
    )


def downgrade() -> None:
    op.drop_table("released_handles")
    op.drop_index(op.f("ix_merged_users_into_id"), table_name="merged_users")
    op.drop_table("merged_users")
    op.drop_table("link_tries")
    op.drop_index(op.f("ix_link_codes_user_id"), table_name="link_codes")
    op.drop_index(op.f("ix_link_codes_code_hash"), table_name="link_codes")
    op.drop_table("link_codes")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deleted_at")
