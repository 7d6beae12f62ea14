"""Buttons <-> callback data. Telegram allows 64 bytes; a longer action is stored server-side
(core/actions.py) and the button carries "t:<token>" instead."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.commands import REGISTRY, Deps
from bots.reply import Action, Reply
from bots.telegram.render import MAX_BUTTONS, MAX_ROW
from core.actions import load_action, store_action

MAX_DATA = 64  # bytes of callback_data
TOKEN_PREFIX = "t:"
LABEL_LIMIT = 64


def _fits(data: str) -> bool:
    return len(data.encode()) <= MAX_DATA and not data.startswith(TOKEN_PREFIX)


async def keyboard(deps: Deps, reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; opens a unit of work only for long actions."""
    rows = [row[:MAX_ROW] for row in reply.buttons if row]
    budget = MAX_BUTTONS
    kept: list[list[tuple[str, str]]] = []
    for row in rows:
        row = row[:budget]
        budget -= len(row)
        if row:
            kept.append([(b.label[:LABEL_LIMIT], b.action.encode()) for b in row])
    if not kept:
        return None
    long = {data for row in kept for _, data in row if not _fits(data)}
    tokens: dict[str, str] = {}
    if long:
        now = deps.clock.now()
        async with deps.db.session() as session:
            for data in sorted(long):
                tokens[data] = TOKEN_PREFIX + await store_action(session, data, now)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=label or "·", callback_data=tokens.get(data, data))
                for label, data in row
            ]
            for row in kept
        ]
    )


async def command_text(deps: Deps, data: str | None) -> str | None:
    """The command a pressed button runs ("/done #12"), or None when the data is unknown or
    was tampered with (the user is told the button expired)."""
    if not data:
        return None
    if data.startswith(TOKEN_PREFIX):
        async with deps.db.session() as session:
            stored = await load_action(session, data[len(TOKEN_PREFIX) :])
        if stored is None:
            return None
        data = stored
    action = Action.decode(data)
    if REGISTRY.get(action.command) is None and action.command not in REGISTRY.text_names():
        return None
    return f"/{action.command} {action.args}".strip()
