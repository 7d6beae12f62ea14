"""feed: posts and activity items, reactions, comments; activity and feed_alerts settings

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.storage.models import Id, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(column, Id, nullable=nullable)


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity", sa.Boolean(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("feed_alerts", sa.Boolean(), server_default="1", nullable=False)
        )
    op.create_table(
        "posts",
        sa.Column("id", Id, nullable=False),
        _fk("author_id"),
        _fk("group_id", nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("text", sa.String(length=1000), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        *(_count(n) for n in ("likes", "fires", "muscles", "parties", "hearts", "comments")),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_posts_author_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_posts_group_id_groups"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_posts_author_feed", "posts", ["author_id", "group_id", "created_at", "id"])
    op.create_index(
        "ix_posts_group_feed", "posts", ["group_id", "created_at", "id", "author_id"]
    )
    op.create_index(
        "ix_posts_outside_groups",
        "posts",
        ["created_at", "id", "author_id"],
        sqlite_where=sa.text("group_id IS NULL"),
        postgresql_where=sa.text("group_id IS NULL"),
    )
    op.create_index(
        "uq_posts_activity_day",
        "posts",
        ["author_id", "day"],
        unique=True,
        sqlite_where=sa.text("kind = 'activity'"),
        postgresql_where=sa.text("kind = 'activity'"),
    )
    op.create_table(
        "reactions",
        _fk("post_id"),
        _fk("user_id"),
        sa.Column("emoji", sa.String(length=8), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_reactions_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reactions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("post_id", "user_id", "emoji", name=op.f("pk_reactions")),
    )
    op.create_index("ix_reactions_user_id", "reactions", ["user_id"])
    op.create_table(
        "comments",
        sa.Column("id", Id, nullable=False),
        _fk("post_id"),
        _fk("author_id"),
        sa.Column("text", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_comments_post_id_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_comments_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_comments_post_id", "comments", ["post_id", "created_at", "id"])
    op.create_index("ix_comments_author_id", "comments", ["author_id"])


def downgrade() -> None:
    op.drop_table("comments")
    op.drop_table("reactions")
    op.drop_table("posts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("feed_alerts")
        batch_op.drop_column("activity")
