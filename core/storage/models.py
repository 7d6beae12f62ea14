"""The one schema. Integrity lives here: unique keys make concurrent duplicates end as one row."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements INTEGER primary keys; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; pass UTC-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Ledger refs and outbox dedupe keys name row ids, so SQLite must never reuse a deleted id.
NO_REUSE = {"sqlite_autoincrement": True}


class User(Base):
    __tablename__ = "users"
    # Handles are looked up case-insensitively ("@Ann" names ann).
    __table_args__ = (Index("ix_users_handle_lower", func.lower(text("handle"))), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    handle: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    language: Mapped[str] = mapped_column(String(8), default="en")
    profile_public: Mapped[bool] = mapped_column(Boolean, default=True)
    bio: Mapped[str | None] = mapped_column(String(160))
    verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    dm_policy: Mapped[str] = mapped_column(String(16), default="everyone")
    # Minutes after local midnight; both set or both null.
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    nudges: Mapped[bool] = mapped_column(Boolean, default=True)
    next_nudge_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # Streak-claim cycle state: the last claim's local date and its day in the 7-day cycle.
    last_claim_on: Mapped[date | None] = mapped_column(Date)
    claim_cycle_day: Mapped[int] = mapped_column(Integer, default=0)
    # Days up to this local date have been checked for missed days to freeze.
    freezes_checked_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    accounts: Mapped[list[Account]] = relationship(back_populates="user", lazy="raise")


class Account(Base):
    """A platform identity (telegram:42, discord:99, console:alice) of a core user."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Where the bot can write to this person privately; null until they open a private chat.
    private_chat: Mapped[str | None] = mapped_column(String(64))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed: discovery suggests the most recently active people first.
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)

    user: Mapped[User] = relationship(back_populates="accounts", lazy="raise")


class Habit(Base):
    __tablename__ = "habits"
    __table_args__ = (UniqueConstraint("user_id", "name_key"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))  # casefolded, for matching
    kind: Mapped[str] = mapped_column(String(8), default="build")  # build | quit
    schedule: Mapped[str] = mapped_column(String(40), default="day")
    target: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(24))
    remind_at: Mapped[str | None] = mapped_column(String(64))  # "07:30,21:00", local time
    next_reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    start_date: Mapped[date] = mapped_column(Date)  # local date it was created
    # Shown on the owner's profile; private unless they say otherwise.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CheckIn(Base):
    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("habit_id", "local_date"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    habit_id: Mapped[int] = mapped_column(ForeignKey("habits.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class FrozenDay(Base):
    """A missed day covered by a streak freeze (for all of the user's day-based habits)."""

    __tablename__ = "frozen_days"
    __table_args__ = (UniqueConstraint("user_id", "local_date"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)


class LedgerEntry(Base):
    """Every change of coins, gems (hundredths) or freezes; balances are sums.

    `ref` is a unique key of the cause (e.g. "checkin:17"), so a cause pays once.
    """

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_user_currency", "user_id", "currency"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(8))  # coin | gem | freeze
    amount: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Badge(Base):
    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("user_id", "code"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    awarded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Group(Base):
    """A Telegram group, a Discord server or a console group."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("platform", "external_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    announce_chat: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    digest_at: Mapped[int | None] = mapped_column(Integer)  # minutes after local midnight
    next_digest_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("group_id", "user_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Challenge(Base):
    __tablename__ = "challenges"
    __table_args__ = (
        Index("ix_challenges_status_starts_at", "status", "starts_at"),
        Index("ix_challenges_status_ends_at", "status", "ends_at"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    title_key: Mapped[str] = mapped_column(String(80))
    schedule: Mapped[str] = mapped_column(String(40), default="day")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # UTC instants of the start and end in the challenge's timezone, for the scheduler.
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    invite_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled|active|ended
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ChallengeHabit(Base):
    __tablename__ = "challenge_habits"
    __table_args__ = (UniqueConstraint("challenge_id", "name_key"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))


class Participant(Base):
    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    join_date: Mapped[date] = mapped_column(Date)  # scored from here
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    final_rank: Mapped[int | None] = mapped_column(Integer)


class Outbox(Base):
    """Messages the bot sends on its own initiative. The dedupe key makes enqueueing idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "platform", "status", "not_before"), NO_REUSE)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Messages of this row's reply already delivered (a long one goes out in parts): a retry
    # after a failure halfway sends only the rest.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ActionToken(Base):
    """A button action too long for a platform's callback data, stored behind a short token."""

    __tablename__ = "action_tokens"

    token: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class HeldUpdate(Base):
    """A platform update taken in but not yet answered when the platform had to be told it
    arrived (a slow command): kept so a crash replays it. Most updates never come here: their
    answer is recorded with their effects (an outbox row keyed by the update) first."""

    __tablename__ = "held_updates"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # Telegram's update_id
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Follow(Base):
    """follower follows followee: 'accepted', or 'pending' while a private profile's owner has
    not approved it."""

    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_followee_id", "followee_id", "status"),)

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(12), default="accepted")  # accepted | pending
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Block(Base):
    """blocker blocked blocked_id: neither sees the other anywhere."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked_id", "blocked_id"),)

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Report(Base):
    """A person reported to the operators, with a snapshot of what they saw. One open report per
    reporter and target: reporting again counts once."""

    __tablename__ = "reports"
    __table_args__ = (
        Index(
            "uq_reports_open",
            "reporter_id",
            "target_user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_reports_status_created_at", "status", "created_at"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(500))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
