"""Buttons on the wire, for every platform: a button carries its Action's text when that fits
the platform's limit (Telegram 64 bytes, Discord 100 characters), otherwise "t:<token>" with
the action kept server-side (core/actions.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bots.commands import REGISTRY, Deps
from bots.reply import Action
from core.actions import load_action, store_action

TOKEN = "t:"


async def button_data(
    deps: Deps, actions: Iterable[Action], fits: Callable[[str], bool]
) -> dict[str, str]:
    """Each action's encoding -> what its button carries; one unit of work, only if needed."""
    carried = {data: data for data in (a.encode() for a in actions)}
    long = sorted(d for d in carried if d.startswith(TOKEN) or not fits(d))
    if long:
        now = deps.clock.now()
        async with deps.db.session() as session:
            for data in long:
                carried[data] = TOKEN + await store_action(session, data, now)
    return carried


async def pressed(deps: Deps, data: str | None) -> str | None:
    """The command a pressed button runs ("/done #12"), or None when the data is unknown,
    purged or tampered with (the user is told the button expired)."""
    if not data:
        return None
    if data.startswith(TOKEN):
        async with deps.db.session() as session:
            stored = await load_action(session, data[len(TOKEN) :])
        if stored is None:
            return None
        data = stored
    action = Action.decode(data)
    if REGISTRY.get(action.command) is None and action.command not in REGISTRY.text_names():
        return None
    return f"/{action.command} {action.args}".strip()
