"""Concurrent duplicates end as one row, never as an error to the user. Runs on SQLite and, when
TEST_DATABASE_URL is set, on PostgreSQL (the `db` fixture switches)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from core.storage.db import Database
from core.storage.models import Account, Badge, CheckIn, Habit, LedgerEntry, User
from tests.conftest import Say


async def count(db: Database, model: type, *where: object) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def coin_total(db: Database) -> int:
    async with db.session() as session:
        total = await session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.currency == "coin"
            )
        )
        return int(total)


async def test_fifty_concurrent_done_are_one_check_in_and_one_award(
    say: Say, db: Database
) -> None:
    assert not (await say("/habit add Read")).error
    replies = await asyncio.gather(*(say("/done Read") for _ in range(50)))
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert sum("+10 coins" in r.plain() for r in replies) == 1
    assert sum("already done today" in r.plain() for r in replies) == 49
    assert await count(db, CheckIn) == 1
    assert await coin_total(db) == 10
    assert "coins: 10" in (await say("/wallet")).plain()


async def test_concurrent_bare_done_on_a_measurable_habit_counts_the_target_once(
    say: Say, db: Database
) -> None:
    assert not (await say("/habit add Read target=20 unit=pages")).error
    replies = await asyncio.gather(*(say("/done Read") for _ in range(20)))
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert "✅ Read (20/20)" in (await say("/today")).plain()
    assert await coin_total(db) == 15


async def test_concurrent_amounts_on_a_measurable_habit_all_add_up(
    say: Say, db: Database
) -> None:
    assert not (await say("/habit add Read target=100 unit=pages")).error
    replies = await asyncio.gather(*(say("/done Read 5") for _ in range(20)))
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert "✅ Read (100/100)" in (await say("/today")).plain()
    assert await coin_total(db) == 15  # one check-in, one bonus


async def test_concurrent_first_contact_creates_one_user(say: Say, db: Database) -> None:
    replies = await asyncio.gather(*(say("/start", user="newbie") for _ in range(10)))
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert await count(db, User) == 1
    assert await count(db, Account) == 1


async def test_concurrent_first_contact_of_namesakes_on_two_platforms(
    say: Say, db: Database
) -> None:
    # Different people with the same name want the same handle at the same moment.
    replies = await asyncio.gather(
        *(say("/start", user="sam", platform=p) for p in ("console", "telegram", "discord"))
    )
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert await count(db, User) == 3
    async with db.session() as session:
        handles = set(await session.scalars(select(User.handle)))
    assert len(handles) == 3 and "sam" in handles


async def test_concurrent_habit_add_makes_one_habit(say: Say, db: Database) -> None:
    await say("/start")
    replies = await asyncio.gather(*(say("/habit add Read") for _ in range(10)))
    assert sum(not r.error for r in replies) == 1
    assert all("already have" in r.plain() for r in replies if r.error)
    assert await count(db, Habit) == 1


async def test_concurrent_claims_pay_once(say: Say, db: Database) -> None:
    await say("/habit add Read")
    await say("/done Read")
    replies = await asyncio.gather(*(say("/claim") for _ in range(10)))
    assert sum(not r.error for r in replies) == 1
    assert all("Already claimed" in r.plain() for r in replies if r.error)
    assert await count(db, LedgerEntry, LedgerEntry.currency == "gem") == 1


async def test_concurrent_badge_award_is_given_once(say: Say, db: Database, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    await say("/habit add Read")
    await say("/habit add Run")
    for _ in range(2):
        await say("/done Read")
        await say("/done Run")
        clock.advance(timedelta(days=1))
    replies = await asyncio.gather(say("/done Read"), say("/done Run"))
    assert all(not r.error for r in replies)
    assert sum("New badge" in r.plain() for r in replies) == 1
    assert await count(db, Badge) == 1


async def test_concurrent_freeze_purchases_do_not_overspend(
    say: Say, db: Database, clock
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    await say("/habit add Read")
    for _ in range(5):  # 2.00 gems: exactly one freeze
        await say("/done Read")
        await say("/claim")
        clock.advance(timedelta(days=1))
    replies = await asyncio.gather(*(say("/freeze buy") for _ in range(5)))
    assert sum(not r.error for r in replies) == 1, [r.plain() for r in replies]
    text = (await say("/wallet")).plain()
    assert "gems: 0.00" in text and "streak freezes: 1/3" in text


async def test_first_commands_of_the_day_on_two_devices_use_a_due_freeze_once(
    say: Say, db: Database, clock
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from core.storage.models import FrozenDay

    await say("/habit add Read")
    for _ in range(9):  # 4.20 gems and a nine-day streak
        await say("/done Read")
        await say("/claim")
        clock.advance(timedelta(days=1))
    for _ in range(2):  # a freeze more than the missed day needs
        assert not (await say("/freeze buy")).error
    clock.advance(timedelta(days=1))  # a day missed: the next first command spends a freeze
    replies = await asyncio.gather(*(say("/today") for _ in range(50)))
    assert all(not r.error for r in replies), [r.plain() for r in replies if r.error][:3]
    assert sum("streak freeze covered" in r.plain() for r in replies) == 1
    assert await count(db, FrozenDay) == 1
    assert "streak freezes: 1/3" in (await say("/wallet")).plain()
