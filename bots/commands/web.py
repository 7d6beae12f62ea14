"""/app: the web companion (bots/web), opened from any chat."""

from __future__ import annotations

from typing import Any

from bots.commands.context import Ctx
from bots.commands.registry import command
from bots.reply import Action, Button, Reply, bold
from core.users.web_login import LINK_TTL, issue_login, new_login_token


@command(
    "app",
    "Open Habitbot on the web: today in one tap, your year, challenge boards",
    private=True,
    personal=True,
    group=True,
    details=(
        "The button logs you in once and works for 15 minutes; then your browser keeps you "
        "logged in for 7 days. On Telegram it opens as a Mini App.",
    ),
)
async def app_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    base = ctx.deps.web_url
    if not base:
        return Reply.text(
            "The web companion is not switched on for this bot. Whoever runs it turns it on "
            "with WEB_BASE_URL (or WEB_PORT for the console).",
            error=True,
        )
    token, nonce = new_login_token(ctx.deps.button_key)
    await issue_login(ctx.session, ctx.user.id, ctx.account.id, nonce, ctx.now)
    minutes = int(LINK_TTL.total_seconds() // 60)
    link = f"{base}/login?t={token}"
    # Telegram opens Mini Apps from https addresses only; elsewhere the link logs in.
    web_app = f"{base}/tg" if base.startswith("https://") else None
    reply = Reply.text("🌐 ", bold("Habitbot on the web"), ": today, your year, your boards.")
    reply.add(f"The button logs you in once (valid {minutes} minutes). Don't share it.")
    reply.private = True
    return reply.button_row(Button("🌐 Open Habitbot", Action("app"), url=link, web_app=web_app))
