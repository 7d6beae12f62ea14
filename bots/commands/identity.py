"""/handle, /link, /unlink, /export, /deleteme: who you are, on every platform, and your data."""

from __future__ import annotations

from typing import Any

from bots.commands.buttons import ask
from bots.commands.context import Ctx
from bots.commands.format import streak_text
from bots.commands.registry import Arg, command
from bots.commands.usage import cmd
from bots.reply import Attachment, Reply, bold
from core.clock import local_now
from core.habits.service import habit_stats
from core.rewards.claims import format_gems
from core.rewards.ledger import balances
from core.storage.models import User
from core.users.deletion import delete_user
from core.users.export import export_user
from core.users.handles import RESERVED_FOR, change_handle
from core.users.linking import (
    MAX_TRIES,
    WrongCode,
    accounts_of,
    issue_code,
    redeem_code,
    split_account,
)


def _at(handle: str | None) -> str:
    return f"@{handle}" if handle else "(no handle)"


@command(
    "handle",
    "Show your @handle, or change it",
    Arg("handle", "the new handle: 3–32 letters, digits or _", "text", max_length=200),
    group=True,
    examples=("/handle ann_reads",),
)
async def handle(ctx: Ctx, args: dict[str, Any]) -> Reply:
    user = ctx.user
    if "handle" not in args:
        return Reply.text(
            "You are ", bold(_at(user.handle)), ". Change it: ", cmd("handle", "new_name")
        )
    old = user.handle
    new = await change_handle(ctx.session, user, args["handle"], ctx.now)
    if new == old:
        return Reply.text("You are ", bold(_at(new)), " already.")
    reply = Reply.text("✅ You are now ", bold(_at(new)), ".")
    if old:
        reply.add(f"@{old} stays yours for {RESERVED_FOR.days} days; nobody else can take it.")
    return reply


@command(
    "link",
    "Link your accounts: get a code here, type it on your other account",
    Arg("code", "the 6-digit code /link showed on your other account", "word", max_length=16),
    private=True,
    examples=("/link 123456",),
)
async def link(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if "code" not in args:
        issued = await issue_code(ctx.session, ctx.user, ctx.account, ctx.now, ctx.deps.button_key)
        until = local_now(issued.expires_at, ctx.user.timezone).strftime("%H:%M")
        return (
            Reply.text("🔗 Your link code: ", bold(issued.code))
            .add(f"It works once, for 15 minutes (until {until}, {ctx.user.timezone}).")
            .add("On your other account (Telegram, Discord, or another console user) send ")
            .add(cmd("link", issued.code))
        )
    result = await redeem_code(ctx.session, ctx.user, args["code"], ctx.now, ctx.deps.button_key)
    if isinstance(result, WrongCode):
        if result.tries_left > 0:
            left = f"{result.tries_left} {'try' if result.tries_left == 1 else 'tries'} left"
            return Reply.text(
                f"That code is not right ({left}). Check it and try again.", error=True
            )
        return Reply.text(
            f"That code is not right, the {MAX_TRIES}th wrong one: /link codes are locked for "
            "15 minutes. Then ask for a new code on your other account.",
            error=True,
        )
    keep = await ctx.session.get_one(User, result.keep_id)
    reply = Reply.text("✅ Linked: this account is now part of ", bold(_at(keep.handle)), ".")
    accounts = await accounts_of(ctx.session, keep.id)
    reply.add("Accounts: ", ", ".join(f"{a.platform}:{a.external_id}" for a in accounts))
    money = await balances(ctx.session, keep.id)
    reply.add(
        f"Wallet: 🪙 {money.coins} coins, 💎 {format_gems(money.gems)} gems, "
        f"🧊 {money.freezes} freezes"
    )
    today = local_now(ctx.now, keep.timezone).date()
    stats = await habit_stats(ctx.session, keep.id, today)
    if result.merge.merged_habits:
        reply.add(f"{result.merge.merged_habits} habit(s) of the same name now share check-ins.")
    for s in stats:
        reply.bullet(bold(s.habit.name), " — streak ", streak_text(s.streak, s.habit.kind))
    return reply


@command(
    "unlink",
    "Split a linked account off again; your data stays here, it starts fresh",
    Arg("account", "which account, e.g. discord (leave out: this one)", "word", max_length=80),
    private=True,
)
async def unlink(ctx: Ctx, args: dict[str, Any]) -> Reply:
    target, fresh = await split_account(
        ctx.session,
        ctx.user,
        ctx.account,
        args.get("account"),
        ctx.inv.user_name,
        ctx.inv.username,
        ctx.now,
    )
    name = f"{target.platform}:{target.external_id}"
    if target.id == ctx.account.id:
        return Reply.text(
            f"✂️ This account ({name}) is on its own again, as ",
            bold(_at(fresh.handle)),
            ", starting fresh.",
        ).add("Your habits, wallet and badges stay with ", bold(_at(ctx.user.handle)), ".")
    return Reply.text(
        f"✂️ {name} is on its own again, as ", bold(_at(fresh.handle)), ", starting fresh."
    ).add("Your habits, wallet and badges stay here.")


@command(
    "export",
    "Get a file of everything stored about you (JSON) and your check-ins (CSV)",
    private=True,
)
async def export(ctx: Ctx, args: dict[str, Any]) -> Reply:
    data = await export_user(ctx.session, ctx.user, ctx.now)
    stem = f"habitbot-{ctx.user.handle or ctx.user.id}-{ctx.today.isoformat()}"
    reply = Reply.text("📦 Everything I store about you, as JSON, and your check-ins as CSV ")
    reply.add(f"({data.checkins} check-ins of {data.habits} habits).")
    reply.files = [
        Attachment(f"{stem}.json", data.json_bytes, "application/json"),
        Attachment(f"{stem}-checkins.csv", data.csv_bytes, "text/csv"),
    ]
    reply.sealed = True  # the JSON holds direct messages: its recorded copy is encrypted
    return reply


@command(
    "deleteme",
    "Delete your account and all your data (asks first)",
    private=True,
    confirm=True,
)
async def deleteme(ctx: Ctx, args: dict[str, Any]) -> Reply:
    # Only the confirm button (signed and bound to this user) deletes: see bots/commands/buttons.
    if ctx.confirmed:
        gone = await delete_user(ctx.session, ctx.user, ctx.now)
        return Reply.text(
            f"🗑 Deleted: your {gone.habits} habit(s), check-ins, wallet, badges and "
            f'{gone.accounts} account link(s). Others now see you as "deleted user".'
        ).add("Goodbye. Writing to me again starts from scratch.")
    accounts = await accounts_of(ctx.session, ctx.user.id)
    names = ", ".join(f"{a.platform}:{a.external_id}" for a in accounts)
    reply = ask(ctx, bold("Delete everything?"), yes="🗑 Yes, delete everything")
    reply.add(
        "This deletes your habits and check-ins, coins, gems, badges, group memberships and "
        f"challenge places, on every linked account ({names}). It cannot be undone."
    )
    return reply.add("Keep a copy first with ", cmd("export"), ".")
