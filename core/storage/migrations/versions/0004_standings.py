"""challenge standings kept per participant with their place on the board, and which habits
a running challenge counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:00:00
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

from core.storage.models import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("habits") as batch:
        batch.add_column(
            sa.Column("in_challenge", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("participants") as batch:
        for name in ("completed", "last_done", "streak", "best_streak"):
            batch.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("streak_end", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("place_key", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.create_index(
            "ix_participants_board",
            ["challenge_id", "place_key", "joined_at", "id", "completed"],
        )
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("board_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("next_board_at", UtcDateTime(), nullable=True))
        batch.create_index("ix_challenges_next_board_at", ["next_board_at"])
    _rebuild()  # place keys stay 0 with no board_day: the first board rolls them over


def _rebuild() -> None:
    """Standings of challenges already running, from their check-ins (the same rule as
    core.challenges.standings, which this imports, so kept and rebuilt agree)."""
    from core.challenges.calendar import scheduled_days
    from core.challenges.standings import compute
    from core.storage.models import Challenge

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT p.id, p.join_date, c.id, c.start_date, c.end_date, c.schedule, ch.name_key,"
            " ci.local_date FROM participants p"
            " JOIN challenges c ON c.id = p.challenge_id AND c.status != 'ended'"
            " JOIN challenge_habits ch ON ch.challenge_id = c.id"
            " LEFT JOIN habits h ON h.user_id = p.user_id AND h.name_key = ch.name_key"
            " LEFT JOIN checkins ci ON ci.habit_id = h.id AND ci.local_date >= p.join_date"
            " AND ci.local_date >= c.start_date AND ci.local_date <= c.end_date"
        )
    ).all()
    calendars: dict[int, tuple[list[date], set[str]]] = {}
    people: dict[int, tuple[int, date]] = {}
    done: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))

    def day(value: object) -> date:
        return value if isinstance(value, date) else date.fromisoformat(str(value))

    for pid, join_date, cid, start, end, schedule, key, local in rows:
        if cid not in calendars:
            calendar = Challenge(start_date=day(start), end_date=day(end), schedule=schedule)
            calendars[cid] = (scheduled_days(calendar), set())
        calendars[cid][1].add(key)
        people[pid] = (cid, day(join_date))
        if local is not None:
            done[pid][day(local)] += 1
    participants = sa.table(
        "participants",
        sa.column("id"),
        sa.column("completed"),
        sa.column("last_day"),
        sa.column("last_done"),
        sa.column("streak"),
        sa.column("streak_end"),
        sa.column("best_streak"),
    )
    for pid, (cid, join_date) in people.items():
        days, keys = calendars[cid]
        s = compute(days, join_date, len(keys), done.get(pid, {}))
        conn.execute(
            participants.update()
            .where(participants.c.id == pid)
            .values(
                completed=s.completed,
                last_day=s.last_day,
                last_done=s.last_done,
                streak=s.streak,
                streak_end=s.streak_end,
                best_streak=s.best_streak,
            )
        )
    conn.execute(
        sa.text(
            "UPDATE habits SET in_challenge = true WHERE EXISTS (SELECT 1 FROM participants p"
            " JOIN challenges c ON c.id = p.challenge_id AND c.status != 'ended'"
            " JOIN challenge_habits ch ON ch.challenge_id = c.id"
            " WHERE p.user_id = habits.user_id AND ch.name_key = habits.name_key)"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.drop_index("ix_challenges_next_board_at")
        batch.drop_column("next_board_at")
        batch.drop_column("board_day")
    with op.batch_alter_table("participants") as batch:
        batch.drop_index("ix_participants_board")
        for name in (
            "completed",
            "last_day",
            "last_done",
            "streak",
            "streak_end",
            "best_streak",
            "place_key",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("habits") as batch:
        batch.drop_column("in_challenge")
