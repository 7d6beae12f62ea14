"""/claim, /wallet, /badges, /freeze buy."""

from __future__ import annotations

from datetime import date
from typing import Any

from bots.commands.context import Ctx
from bots.commands.registry import command
from bots.commands.usage import cmd
from bots.notifications import renders
from bots.reply import Reply, bold
from core.rewards.badges import badge_title
from core.rewards.claims import GEM_CYCLE, format_gems
from core.rewards.ledger import FREEZE_PRICE_GEMS, MAX_FREEZES, balances
from core.rewards.service import buy_freeze, claim, user_badges


@command(
    "claim",
    "Claim today's streak reward (gems, on a 7-day cycle)",
    group=True,
    private=True,
    personal=True,
)
async def claim_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    result = await claim(ctx.session, ctx.user, ctx.today, ctx.now)
    cycle = " ".join("●" if d <= result.cycle_day else "○" for d in range(1, len(GEM_CYCLE) + 1))
    return (
        Reply.text(f"💎 +{format_gems(result.gems)} gems — day {result.cycle_day} of 7")
        .add(cycle)
        .add(f"Gems: {format_gems(result.balances.gems)}. Come back tomorrow to keep the cycle.")
    )


@command("wallet", "Your coins, gems, streak freezes and badges", private=True, personal=True)
async def wallet(ctx: Ctx, args: dict[str, Any]) -> Reply:
    money = await balances(ctx.session, ctx.user.id)
    badges = await user_badges(ctx.session, ctx.user.id)
    reply = Reply.text(bold(f"{ctx.user.name}'s wallet"))
    reply.bullet(f"🪙 coins: {money.coins}")
    reply.bullet(f"💎 gems: {format_gems(money.gems)}")
    reply.bullet(f"🧊 streak freezes: {money.freezes}/{MAX_FREEZES}")
    reply.bullet(f"🏅 badges: {len(badges)}")
    if money.freezes < MAX_FREEZES:
        reply.add(f"A freeze costs {format_gems(FREEZE_PRICE_GEMS)} gems: ", cmd("freeze buy"))
    return reply


@command("badges", "The badges you have earned", private=True, personal=True)
async def badges_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    badges = await user_badges(ctx.session, ctx.user.id)
    if not badges:
        return Reply.text("No badges yet. Keep a 3-day streak to earn your first.")
    reply = Reply.text(bold("Your badges"))
    for badge in badges:
        reply.bullet("🏅 ", badge_title(badge.code), f" ({badge.awarded_at:%d %b %Y})")
    return reply


@command(
    "freeze buy",
    "Buy a streak freeze with gems; it covers one missed day",
    private=True,
    personal=True,
)
async def freeze_buy(ctx: Ctx, args: dict[str, Any]) -> Reply:
    money = await buy_freeze(ctx.session, ctx.user, ctx.now)
    return Reply.text(
        f"🧊 Bought a streak freeze ({money.freezes}/{MAX_FREEZES}). ",
        f"Gems left: {format_gems(money.gems)}. It is used automatically on a missed day.",
    )


@renders("freeze_used")
def _freeze_used(data: dict[str, Any]) -> Reply:
    """A streak freeze the freeze tick used for a missed day, told when it happened."""
    days = ", ".join(f"{date.fromisoformat(d):%a %d %b}" for d in data["days"])
    return Reply.text(
        "🧊 You missed ", bold(days), ": a streak freeze covered it, so your streaks go on. ",
        cmd("wallet"), " shows the freezes you have left.",
    )
