"""direct messages: conversations, members, encrypted messages, receipts, reply targets

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.storage.models import Id, UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{table}.id"], name=name, ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", Id, nullable=False),
        sa.Column("pair", sa.String(length=48), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_message_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("pair", name=op.f("uq_conversations_pair")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "conversation_members",
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("joined_at", UtcDateTime(), nullable=False),
        sa.Column("left_at", UtcDateTime(), nullable=True),
        sa.Column("last_read_id", sa.BigInteger(), nullable=False),
        sa.Column("cleared_id", sa.BigInteger(), nullable=False),
        _fk(
            "conversation_id",
            "conversations",
            op.f("fk_conversation_members_conversation_id_conversations"),
        ),
        _fk("user_id", "users", op.f("fk_conversation_members_user_id_users")),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_conversation_members")),
    )
    op.create_index(
        "ix_conversation_members_user_id", "conversation_members", ["user_id", "left_at"]
    )
    op.create_table(
        "messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=False),
        sa.Column("sender_id", Id, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _fk("conversation_id", "conversations", op.f("fk_messages_conversation_id_conversations")),
        _fk("sender_id", "users", op.f("fk_messages_sender_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_messages_conversation_id", "messages", ["conversation_id", "id"])
    op.create_index("ix_messages_sender_id", "messages", ["sender_id", "created_at"])
    op.create_table(
        "message_receipts",
        sa.Column("message_id", Id, nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        _fk("message_id", "messages", op.f("fk_message_receipts_message_id_messages")),
        _fk("user_id", "users", op.f("fk_message_receipts_user_id_users")),
        sa.PrimaryKeyConstraint("message_id", "user_id", name=op.f("pk_message_receipts")),
    )
    op.create_index("ix_message_receipts_user_id", "message_receipts", ["user_id", "status"])
    op.create_table(
        "reply_targets",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        _fk("user_id", "users", op.f("fk_reply_targets_user_id_users")),
        sa.PrimaryKeyConstraint("platform", "chat", "message_id", name=op.f("pk_reply_targets")),
    )
    op.create_index(op.f("ix_reply_targets_user_id"), "reply_targets", ["user_id"])


def downgrade() -> None:
    op.drop_table("reply_targets")
    op.drop_table("message_receipts")
    op.drop_table("messages")
    op.drop_table("conversation_members")
    op.drop_table("conversations")
