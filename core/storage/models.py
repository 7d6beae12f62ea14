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
    false,
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
    # While the user holds a freeze: the next check, just after local midnight (freeze tick).
    next_freeze_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Set by /deleteme: the row stays (as "deleted user") so challenges it owns and what others
    # did with it keep pointing somewhere; everything personal is gone.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # /settings activity=off: no automatic feed items; feed_alerts=off: no reaction news.
    activity: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")
    feed_alerts: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

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
    # Its name is one of a running challenge's habits, so its check-ins move standings. Set
    # when joining; cleared by the next refresh once no running challenge needs it.
    in_challenge: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
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
    # The one message a day the bot keeps up to date with who checked in (edited, not resent).
    day_message: Mapped[str | None] = mapped_column(String(64))  # the platform's message id
    day_message_on: Mapped[date | None] = mapped_column(Date)  # the group's local date of it
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
    # The challenge day its participants' place keys are as of (core/challenges/standings.py).
    board_day: Mapped[date | None] = mapped_column(Date)
    next_board_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)  # UTC
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
    __table_args__ = (
        UniqueConstraint("challenge_id", "user_id"),
        # The board in rank order, and (covering) the counts that place someone on it.
        Index("ix_participants_board", "challenge_id", "place_key", "joined_at", "id", "completed"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    join_date: Mapped[date] = mapped_column(Date)  # scored from here
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    final_rank: Mapped[int | None] = mapped_column(Integer)
    # The standing, kept in the transaction that changes it (core/challenges/standings.py):
    # tasks done on scheduled days, the last day with any done and how many, and the runs of
    # full days (every habit done). What is scheduled so far is the calendar's, read on demand.
    completed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_day: Mapped[date | None] = mapped_column(Date)
    last_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    streak_end: Mapped[date | None] = mapped_column(Date)
    best_streak: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where the standing ranks as of the challenge's board_day: lower is better.
    place_key: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


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


class LinkCode(Base):
    """A /link code: its hash only, valid until `expires_at`, used once."""

    __tablename__ = "link_codes"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class LinkTry(Base):
    """Wrong /link codes typed by a user since `since`; enough of them lock /link <code>."""

    __tablename__ = "link_tries"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    failures: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime] = mapped_column(UtcDateTime())


class MergedUser(Base):
    """A user merged into another by /link: buttons shown to the old one act for the new."""

    __tablename__ = "merged_users"

    old_id: Mapped[int] = mapped_column(Id, primary_key=True)  # that row is gone: no key
    into_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ReleasedHandle(Base):
    """A handle someone gave up: nobody else may take it before `until`."""

    __tablename__ = "released_handles"

    handle: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    until: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanConversation(Base):
    """A /plan conversation under way: the goal, the questions asked, the answers so far and,
    once they are in, the proposed plan. One per user; accepting or cancelling removes it."""

    __tablename__ = "plan_conversations"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    goal: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))  # build | quit
    habit: Mapped[str] = mapped_column(String(64))
    days: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[list[str]] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # PlanDraft, once proposed
    made_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(200))  # why the built-in planner was used
    version: Mapped[int] = mapped_column(Integer, default=0)  # "Another version" count
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Plan(Base):
    """An accepted plan: the habit it belongs to and when its day 1 is."""

    __tablename__ = "plans"
    __table_args__ = NO_REUSE

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    habit_id: Mapped[int] = mapped_column(
        ForeignKey("habits.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    goal: Mapped[str] = mapped_column(String(200))
    made_by: Mapped[str] = mapped_column(String(120))
    days: Mapped[int] = mapped_column(Integer)
    start_date: Mapped[date] = mapped_column(Date)  # the local date of day 1
    # Restarting begins a new round: its tasks pay again (ledger refs name the round).
    round: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PlanTask(Base):
    """One of a plan day's three tasks, dated, and done or not."""

    __tablename__ = "plan_tasks"
    __table_args__ = (
        UniqueConstraint("plan_id", "day", "position"),
        Index("ix_plan_tasks_plan_id_on_date", "plan_id", "on_date"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    day: Mapped[int] = mapped_column(Integer)  # 1..plan.days
    position: Mapped[int] = mapped_column(Integer)  # 1..3
    text: Mapped[str] = mapped_column(String(160))
    on_date: Mapped[date] = mapped_column(Date)  # start_date + day - 1
    done_on: Mapped[date | None] = mapped_column(Date)


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


class WebToken(Base):
    """A single-use credential of the web companion (bots/web), by a hash of it: a login link
    ("login") or a Telegram Mini App initData already exchanged for a session ("initdata", so a
    replay is refused). Rows past `expires_at` can go; login links per user are counted here."""

    __tablename__ = "web_tokens"
    __table_args__ = (
        Index("ix_web_tokens_user_id_created_at", "user_id", "created_at"),
        Index("ix_web_tokens_expires_at", "expires_at"),
    )

    key: Mapped[str] = mapped_column(String(80), primary_key=True)  # kind:sha256 hex
    kind: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The platform account the link was asked from (shown in the page; None for initData).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Post(Base):
    """A feed item: a post someone wrote, or the day's activity item the bot made for them
    (kind "activity": one per person and local day, later events of the day fold into `data`).
    `group_id` set: posted in that group, shown in its feed only. Reaction and comment counts
    are kept here, in the transaction that changes them, so a feed page reads no other rows."""

    __tablename__ = "posts"
    __table_args__ = (
        # The feed reads newest first with a keyset on (created, id): a group's posts; the
        # items outside groups in one walk that checks the author from the index alone (a
        # partial index: PostgreSQL orders by the columns after an IS NULL only this way);
        # an author's items, author by author.
        Index("ix_posts_group_feed", "group_id", "created_at", "id", "author_id"),
        Index(
            "ix_posts_outside_groups",
            "created_at",
            "id",
            "author_id",
            sqlite_where=text("group_id IS NULL"),
            postgresql_where=text("group_id IS NULL"),
        ),
        Index("ix_posts_author_feed", "author_id", "group_id", "created_at", "id"),
        Index(
            "uq_posts_activity_day",
            "author_id",
            "day",
            unique=True,
            sqlite_where=text("kind = 'activity'"),
            postgresql_where=text("kind = 'activity'"),
        ),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), default="post")  # post | activity
    text: Mapped[str | None] = mapped_column(String(1000))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # activity: {"events": [...]}
    day: Mapped[date | None] = mapped_column(Date)  # activity: the author's local date
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fires: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    muscles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parties: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    hearts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comments: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Reaction(Base):
    """One emoji of one person on one post: the key makes a second tap (or two racing) a
    toggle, never two rows."""

    __tablename__ = "reactions"
    __table_args__ = (Index("ix_reactions_user_id", "user_id"),)

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    emoji: Mapped[str] = mapped_column(String(8), primary_key=True)  # a code: like, fire ...
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_post_id", "post_id", "created_at", "id"),
        Index("ix_comments_author_id", "author_id"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


# ------------------------------------------------------------------ direct messages (issue 16)


class Conversation(Base):
    """Two people (`pair` = "<lower id>:<higher id>", so a pair has one) or a group of up to ten.
    Inboxes sort by `last_message_at`."""

    __tablename__ = "conversations"
    __table_args__ = (NO_REUSE,)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    pair: Mapped[str | None] = mapped_column(String(48), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_message_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ConversationMember(Base):
    """A person in a conversation: what they read (`last_read_id`), what they deleted for
    themselves (everything up to `cleared_id`), and whether they left."""

    __tablename__ = "conversation_members"
    __table_args__ = (Index("ix_conversation_members_user_id", "user_id", "left_at"),)

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_read_id: Mapped[int] = mapped_column(BigInteger, default=0)
    cleared_id: Mapped[int] = mapped_column(BigInteger, default=0)


class Message(Base):
    """One message; `body` is a Fernet token (core/storage/cipher.py), never the text."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id", "conversation_id", "id"),
        Index("ix_messages_sender_id", "sender_id", "created_at"),
        NO_REUSE,
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MessageReceipt(Base):
    """A message as one member has it: 'own' (they sent it), 'queued' (in the outbox),
    'waiting' (they could not be reached: sent when they next open the bot), 'delivered';
    `hidden` when they deleted it for themselves."""

    __tablename__ = "message_receipts"
    __table_args__ = (Index("ix_message_receipts_user_id", "user_id", "status"),)

    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    tries: Mapped[int] = mapped_column(Integer, default=0)


class ReplyTarget(Base):
    """A message the bot sent on a chat platform whose replies run `action` with the reply's
    text (Telegram: a relayed message continues its conversation; a ForceReply prompt)."""

    __tablename__ = "reply_targets"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
