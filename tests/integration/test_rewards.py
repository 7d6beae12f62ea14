"""Rewards end to end: coins, the daily gem claim, streak freezes and badges, with a fake clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bots.commands import Deps
from bots.notifications import render
from core.clock import FakeClock
from core.rewards.claims import GEM_CYCLE, format_gems
from core.rewards.freeze_tick import freeze_tick
from core.storage.db import Database
from core.storage.models import Badge, LedgerEntry, Outbox, User
from tests.conftest import Say

DAY = timedelta(days=1)


async def ok(say: Say, text: str, **kwargs: object) -> str:
    reply = await say(text, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{text!r} failed: {reply.plain()}"
    return reply.plain()


async def wallet(say: Say, user: str = "ann") -> dict[str, str]:
    reply = await say("/wallet", user=user)
    assert not reply.error and reply.private
    found = dict(
        re.findall(r"(?m)^• \S+ (coins|gems|streak freezes|badges): (\S+)$", reply.plain())
    )
    assert set(found) == {"coins", "gems", "streak freezes", "badges"}, reply.plain()
    return found


async def daily(say: Say, clock: FakeClock, days: int, claim: bool = True) -> list[str]:
    """Check in Read (and claim) on `days` consecutive days; returns the claim replies."""
    replies = []
    for _ in range(days):
        await ok(say, "/done Read")
        if claim:
            replies.append(await ok(say, "/claim"))
        clock.advance(DAY)
    return replies


# --- coins and the wallet -------------------------------------------------------------------


async def test_new_wallet_is_empty_with_two_decimal_gems(say: Say) -> None:
    assert await wallet(say) == {
        "coins": "0",
        "gems": "0.00",
        "streak freezes": "0/3",
        "badges": "0",
    }


async def test_coins_for_each_check_in(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    await ok(say, "/done Read")
    await ok(say, "/done Run")
    await ok(say, "/done Run")
    assert (await wallet(say))["coins"] == "20"


async def test_balances_are_sums_of_the_ledger(say: Say, db: Database, clock: FakeClock) -> None:
    await ok(say, "/habit add Read target=10 unit=pages")
    await daily(say, clock, 2)
    await daily(say, clock, 1, claim=False)  # an unclaimed day's check-in can be undone
    await ok(say, "/undo Read yesterday")
    shown = await wallet(say)
    async with db.session() as session:
        rows = dict(
            (
                await session.execute(
                    select(LedgerEntry.currency, func.sum(LedgerEntry.amount)).group_by(
                        LedgerEntry.currency
                    )
                )
            ).all()
        )
    assert shown["coins"] == str(rows["coin"]) == "30"  # 3 x (10 + 5) - 15
    assert shown["gems"] == format_gems(rows["gem"]) == "0.35"


# --- /claim ---------------------------------------------------------------------------------


async def test_claim_needs_a_check_in_today(say: Say) -> None:
    await ok(say, "/habit add Read")
    reply = await say("/claim")
    assert reply.error and "/done" in reply.plain()
    assert (await wallet(say))["gems"] == "0.00"


async def test_undo_keeps_the_check_in_a_claim_rests_on(say: Say, clock: FakeClock) -> None:
    # Before: check in, claim, undo left the gems with no check-in that day.
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    await ok(say, "/done Read")
    await ok(say, "/done Run")
    await ok(say, "/claim")
    assert "Undid Run for today" in await ok(say, "/undo Run")  # Read still backs the claim
    refused = await say("/undo Read")
    assert refused.error and "only check-in, so it stays" in refused.plain()
    assert "✅ Read" in await ok(say, "/today")
    assert (await wallet(say)) == {
        "coins": "10",
        "gems": "0.10",
        "streak freezes": "0/3",
        "badges": "0",
    }
    clock.advance(DAY)  # yesterday's claim still rests on yesterday's check-in
    assert (await say("/undo Read yesterday")).error
    await ok(say, "/done Read")  # today's, not claimed yet, can go
    assert "Undid Read for today" in await ok(say, "/undo Read")


async def test_claim_cycle_runs_seven_days_then_repeats(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    replies = await daily(say, clock, 9)
    expected = [*GEM_CYCLE, GEM_CYCLE[0], GEM_CYCLE[1]]
    for n, (reply, gems) in enumerate(zip(replies, expected, strict=True)):
        day = n % 7 + 1
        assert f"+{format_gems(gems)} gems — day {day} of 7" in reply, reply
    assert [format_gems(g) for g in GEM_CYCLE] == [
        "0.10", "0.25", "0.40", "0.55", "0.70", "0.85", "1.00"
    ]
    assert (await wallet(say))["gems"] == "4.20"  # 3.85 for the week + 0.10 + 0.25


async def test_a_gap_resets_the_cycle(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await daily(say, clock, 3)
    clock.advance(DAY)  # a day without a claim
    assert "+0.10 gems — day 1 of 7" in (await daily(say, clock, 1))[0]


async def test_a_day_without_claiming_resets_even_with_a_check_in(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/habit add Read")
    await daily(say, clock, 2)
    await daily(say, clock, 1, claim=False)
    assert "day 1 of 7" in (await daily(say, clock, 1))[0]


async def test_second_claim_the_same_day_is_refused_with_the_wait(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await ok(say, "/claim")
    reply = await say("/claim")
    assert reply.error
    assert "Already claimed today" in reply.plain() and "15h 00m" in reply.plain()
    assert (await wallet(say))["gems"] == "0.10"
    clock.advance(timedelta(hours=14, minutes=30))  # 23:30 UTC
    assert "0h 30m" in (await say("/claim")).plain()


async def test_claim_wait_uses_the_users_local_midnight(say: Say, clock: FakeClock) -> None:
    await ok(say, "/timezone Asia/Tokyo")  # 18:00 there
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await ok(say, "/claim")
    assert "6h 00m" in (await say("/claim")).plain()


async def test_claim_follows_local_days(say: Say, clock: FakeClock) -> None:
    await ok(say, "/timezone America/Los_Angeles")
    await ok(say, "/habit add Read")
    clock.set(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # LA: Mon 23:00
    await ok(say, "/done Read")
    assert "day 1 of 7" in await ok(say, "/claim")
    clock.set(datetime(2026, 3, 3, 8, 30, tzinfo=UTC))  # LA: Tue 00:30, 90 minutes later
    await ok(say, "/done Read")
    assert "day 2 of 7" in await ok(say, "/claim")


# --- streak freezes -------------------------------------------------------------------------


async def earn_gems(say: Say, clock: FakeClock, days: int = 9) -> None:
    await ok(say, "/habit add Read")
    await daily(say, clock, days)


async def test_freeze_buy_needs_two_gems(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await daily(say, clock, 4)  # 1.30 gems
    reply = await say("/freeze buy")
    assert reply.error and "2.00" in reply.plain() and "1.30" in reply.plain()
    assert (await wallet(say))["streak freezes"] == "0/3"
    assert (await wallet(say))["gems"] == "1.30"
    await daily(say, clock, 1)  # +0.70 = 2.00 exactly
    text = await ok(say, "/freeze buy")
    assert "(1/3)" in text and "Gems left: 0.00" in text
    assert await wallet(say) == {
        "coins": "50",
        "gems": "0.00",
        "streak freezes": "1/3",
        "badges": "1",
    }


async def test_freeze_holds_at_most_three(say: Say, clock: FakeClock) -> None:
    await earn_gems(say, clock, 14)  # 2 x 3.85 = 7.70 gems
    for n in (1, 2, 3):
        assert f"({n}/3)" in await ok(say, "/freeze buy")
    reply = await say("/freeze buy")
    assert reply.error and "3" in reply.plain()
    money = await wallet(say)
    assert money["streak freezes"] == "3/3" and money["gems"] == "1.70"


async def test_a_freeze_covers_a_missed_day_and_the_user_is_told(
    say: Say, clock: FakeClock
) -> None:
    await earn_gems(say, clock, 6)  # 2.85 gems, streak 6; clock is on day 7
    await ok(say, "/freeze buy")
    clock.advance(DAY)  # day 7 passes without a check-in
    text = await ok(say, "/today")
    assert "streak freeze covered" in text and "Sun 08 Mar" in text
    assert "Streak: 7 days" in await ok(say, "/done Read")
    assert (await wallet(say))["streak freezes"] == "0/3"
    # Told once, in the next reply only.
    assert "freeze" not in await ok(say, "/today")


async def test_two_freezes_cover_two_missed_days(say: Say, clock: FakeClock) -> None:
    await earn_gems(say, clock, 14)
    await ok(say, "/freeze buy")
    await ok(say, "/freeze buy")
    clock.advance(2 * DAY)
    text = await ok(say, "/done Read")
    assert "streak freeze covered Mon 16 Mar, Tue 17 Mar" in text
    assert "Streak: 15 days" in text
    assert (await wallet(say))["streak freezes"] == "0/3"


async def test_a_freeze_covers_only_as_many_days_as_held(say: Say, clock: FakeClock) -> None:
    await earn_gems(say, clock, 6)
    await ok(say, "/freeze buy")
    clock.advance(2 * DAY)  # two missed days, one freeze
    text = await ok(say, "/done Read")
    assert "streak freeze covered" in text
    assert "Streak: 1 day" in text
    assert (await wallet(say))["streak freezes"] == "0/3"


async def test_no_freeze_is_spent_without_a_running_streak(say: Say, clock: FakeClock) -> None:
    await earn_gems(say, clock, 6)
    await ok(say, "/freeze buy")
    await say.confirmed("/habit remove Read")
    await ok(say, "/habit add Run")  # nothing done yet: no streak to protect
    clock.advance(3 * DAY)
    assert "freeze" not in await ok(say, "/today")
    assert (await wallet(say))["streak freezes"] == "1/3"


async def test_no_freeze_is_spent_on_an_unscheduled_day(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Swim every=mon,wed,fri")
    await ok(say, "/habit add Read every=weekends")
    for _ in range(14):  # two weeks of every scheduled day, claiming daily
        text = await ok(say, "/today")
        if "⬜ Swim" in text:
            await ok(say, "/done Swim")
        if "⬜ Read" in text:
            await ok(say, "/done Read")
        if "⬜" in text:
            await ok(say, "/claim")
        clock.advance(DAY)
    # Monday 16 Mar; only Tuesday and Thursday are free of habits
    await ok(say, "/freeze buy")
    await ok(say, "/done Swim")
    clock.advance(DAY)  # Tue, not scheduled for any habit
    assert "freeze" not in await ok(say, "/today")
    clock.advance(DAY)  # Wed
    assert "freeze" not in await ok(say, "/today")
    assert (await wallet(say))["streak freezes"] == "1/3"


async def test_frozen_day_is_not_used_twice(say: Say, clock: FakeClock) -> None:
    await earn_gems(say, clock, 9)
    await ok(say, "/freeze buy")
    await ok(say, "/freeze buy")
    clock.advance(DAY)
    assert "streak freeze covered" in await ok(say, "/done Read")
    for _ in range(3):
        await ok(say, "/stats")
    assert (await wallet(say))["streak freezes"] == "1/3"


# --- badges ---------------------------------------------------------------------------------


async def test_three_day_streak_badge_once(say: Say, clock: FakeClock, db: Database) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    texts = []
    for _ in range(4):
        texts.append(await ok(say, "/done Read"))
        texts.append(await ok(say, "/done Run"))
        clock.advance(DAY)
    announced = [t for t in texts if "New badge: 3-day streak" in t]
    assert len(announced) == 1 and announced[0] is texts[4]  # Read's third day
    badges = await ok(say, "/badges")
    assert "3-day streak" in badges and "04 Mar 2026" in badges
    assert (await wallet(say))["badges"] == "1"
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Badge)) == 1


async def test_seven_day_badge(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    texts = [await ok(say, "/done Read")]
    for _ in range(6):
        clock.advance(DAY)
        texts.append(await ok(say, "/done Read"))
    assert "New badge: 7-day streak" in texts[6]
    assert "New badge" not in texts[5]
    badges = await ok(say, "/badges")
    assert "3-day streak" in badges and "7-day streak" in badges


async def test_no_badges_yet(say: Say) -> None:
    assert "No badges yet" in await ok(say, "/badges")


async def test_badge_again_after_a_broken_streak_is_not_repeated(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/habit add Read")
    await daily(say, clock, 3, claim=False)
    clock.advance(DAY)
    texts = [t for t in [await ok(say, "/done Read")]]
    for _ in range(2):
        clock.advance(DAY)
        texts.append(await ok(say, "/done Read"))
    assert "Streak: 3 days" in texts[-1]
    assert not any("New badge" in t for t in texts)


async def test_a_freeze_used_at_midnight_is_told_through_the_outbox(
    say: Say, clock: FakeClock, deps: Deps
) -> None:
    await earn_gems(say, clock, 6)  # streak 6; clock is on Sun 08 Mar, 09:00 UTC
    await ok(say, "/freeze buy")
    clock.set(datetime(2026, 3, 9, 0, 10, tzinfo=UTC))  # Sunday passed without a check-in
    async with deps.db.session() as session:
        assert await freeze_tick(session, clock.now()) == 1
    async with deps.db.session() as session:  # a second run finds nobody due
        assert await freeze_tick(session, clock.now() + timedelta(minutes=1)) == 0
        [row] = list(await session.scalars(select(Outbox).where(Outbox.kind == "freeze_used")))
        user = await session.scalar(select(User))
    assert user is not None and user.next_freeze_at is None  # none left to spend
    assert (row.chat, row.dedupe_key) == ("ann", "freeze_used:1:2026-03-08")
    told = render(row.kind, row.data).plain()
    assert "You missed Sun 08 Mar: a streak freeze covered it" in told
    assert "freeze" not in await ok(say, "/today")  # told already, not again
    assert "Streak: 7 days" in await ok(say, "/done Read")
    assert (await wallet(say))["streak freezes"] == "0/3"


async def test_holding_a_freeze_arms_the_midnight_check_in_the_users_zone(
    say: Say, clock: FakeClock, deps: Deps
) -> None:
    await ok(say, "/timezone Europe/Berlin")
    await earn_gems(say, clock, 6)
    await ok(say, "/freeze buy")  # Sun 08 Mar, 10:00 in Berlin
    async with deps.db.session() as session:
        user = await session.scalar(select(User))
    assert user is not None
    assert user.next_freeze_at == datetime(2026, 3, 8, 23, 5, tzinfo=UTC)  # 00:05 in Berlin
