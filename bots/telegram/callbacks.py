"""Buttons <-> callback data. Telegram allows 64 bytes; a longer action is stored server-side
(core/actions.py) and the button carries "t:<token>" instead."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bots.actions import button_data
from bots.commands import REGISTRY, Deps
from bots.reply import Action, Button, Reply
from bots.telegram.render import MAX_BUTTONS, MAX_ROW

MAX_DATA = 64  # bytes of callback_data
LABEL_LIMIT = 64
TALL = 10  # rows; a keyboard taller than this pairs its one-button rows


ASK_MARK = " ask=yes"  # on a button's action: it asks for text first (never typed: signed)


def _kept(button: Button) -> bool:
    return button.ask is None or button.action.command != REGISTRY.plain_text


def _asking(button: Button) -> Button:
    if button.ask is None:
        return button
    args = f"{button.action.args}{ASK_MARK}".strip()
    return Button(button.label, Action(button.action.command, args))


def _compact(rows: list[list[Button]]) -> list[list[Button]]:
    """A page of one-button rows (20 habits) as two columns, so it fits a phone's screen."""
    if len(rows) <= TALL:
        return rows
    out: list[list[Button]] = []
    open_pair = False  # the last row holds one button that a second may join
    for row in rows:
        if len(row) == 1 and open_pair:
            out[-1] = [*out[-1], row[0]]
            open_pair = False
        else:
            out.append(list(row))
            open_pair = len(row) == 1
    return out


async def keyboard(deps: Deps, reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard; opens a unit of work only for long actions."""
    # A button that asks for text opens a ForceReply prompt (handlers._ask); one answering
    # the bot's question (/plan) is left out: any text the person types answers it.
    rows = [[_asking(b) for b in row if _kept(b)][:MAX_ROW] for row in reply.buttons]
    rows = _compact([row for row in rows if row])
    budget = MAX_BUTTONS
    kept: list[list[Button]] = []
    for row in rows:
        row = row[:budget]
        budget -= len(row)
        if row:
            kept.append(row)
    if not kept:
        return None
    carried = await button_data(
        deps,
        (b.action for row in kept for b in row if b.url is None),
        lambda d: len(d.encode()) <= MAX_DATA,
        reply.owner,
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[[_inline(b, carried) for b in row] for row in kept]
    )


def _inline(b: Button, carried: dict[str, str]) -> InlineKeyboardButton:
    label = b.label[:LABEL_LIMIT] or "·"
    if b.web_app:  # a Mini App: Telegram signs who opened it (initData)
        return InlineKeyboardButton(text=label, web_app=WebAppInfo(url=b.web_app))
    if b.url:
        return InlineKeyboardButton(text=label, url=b.url)
    return InlineKeyboardButton(text=label, callback_data=carried[b.action.encode()])
