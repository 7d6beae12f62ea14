"""Buttons on the wire, for every platform, bound to the bot and to the person shown them.

A button carries ``<mac><owner>.<action>``: the action's text ("done|#12"), the core user id it
was shown to (empty when anyone may press it), and an HMAC of both under the bot's button key
(`Deps.button_key`, from SECRET_KEYS or the bot token). A crafted callback without the key's
MAC does nothing. When that does not fit the platform's limit (Telegram 64 bytes, Discord 100
characters) the button carries "t:<token>" and the signed text is kept server-side
(core/actions.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bots.commands import REGISTRY, Deps
from bots.reply import Action
from core.actions import load_action, store_action

TOKEN = "t:"
MAC_CHARS = 11  # 66 bits of HMAC-SHA256: far beyond what guessing through a chat can reach


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def sign(key: bytes, action: Action, owner: int | None) -> str:
    body = f"{owner if owner is not None else ''}.{action.encode()}"
    return _mac(key, body) + body


@dataclass(frozen=True)
class Pressed:
    """A verified button: the command it runs ("/done #12") and whose button it is."""

    text: str
    owner: int | None


def verify(key: bytes, data: str) -> Pressed | None:
    mac, body = data[:MAC_CHARS], data[MAC_CHARS:]
    if not hmac.compare_digest(mac, _mac(key, body)):
        return None
    owner, _, encoded = body.partition(".")
    action = Action.decode(encoded)
    if REGISTRY.get(action.command) is None and action.command not in REGISTRY.text_names():
        return None
    return Pressed(f"/{action.command} {action.args}".strip(), int(owner) if owner else None)


async def button_data(
    deps: Deps, actions: Iterable[Action], fits: Callable[[str], bool], owner: int | None = None
) -> dict[str, str]:
    """Each action's encoding -> what its button carries; one unit of work, only if needed."""
    signed = {a.encode(): sign(deps.button_key, a, owner) for a in actions}
    long = sorted(k for k, data in signed.items() if not fits(data))
    carried = dict(signed)
    if long:
        now = deps.clock.now()
        async with deps.db.session() as session:
            for key in long:
                carried[key] = TOKEN + await store_action(session, signed[key], now)
    return carried


async def pressed(deps: Deps, data: str | None) -> Pressed | None:
    """The verified button behind pressed data, or None when the data is unknown, purged, not
    signed by this bot or tampered with (the user is told the button expired)."""
    if not data:
        return None
    if data.startswith(TOKEN):
        async with deps.db.session() as session:
            stored = await load_action(session, data[len(TOKEN) :])
        if stored is None:
            return None
        data = stored
    return verify(deps.button_key, data)
