"""Outbox rows carry a kind and plain data; this turns them into Replies at delivery time.

Core decides what to say and to whom (kind + data); wording lives here with the other replies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bots.reply import Action, Button, Reply, bold

Renderer = Callable[[dict[str, Any]], Reply]
RENDERERS: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return register


def render(kind: str, data: dict[str, Any]) -> Reply:
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise KeyError(f"no renderer for outbox kind {kind!r}")
    reply = renderer(data)
    if reply.owner is None and isinstance(data.get("user_id"), int):
        reply.owner = data["user_id"]  # its buttons are for the person it is sent to
    return reply


@renders("answer")
def _answer(data: dict[str, Any]) -> Reply:
    """A command's reply recorded with its effects, sent by the outbox when the process that
    should have sent it at once could not (it died, or the platform was busy)."""
    if "sealed" in data:  # a reply holding messages: encrypted in the row (bots/answers.py)
        from core.storage.cipher import UNREADABLE, current

        opened = current().decrypt(data["sealed"], "an answer in the outbox")
        return (
            Reply.text(UNREADABLE) if opened == UNREADABLE else Reply.from_data(json.loads(opened))
        )
    return Reply.from_data(data["reply"])


# ---------------------------------------------------------------- scheduler: reminders, nudges


def _amount(value: float) -> str:
    return f"{value:g}"


@renders("reminder")
def _reminder(data: dict[str, Any]) -> Reply:
    reply = Reply(private=True)
    if data.get("kind") == "quit":
        reply.add("⏰ ", bold(data["habit"]), f" ({data['time']}): still clean today? Keep going.")
    else:
        reply.add("⏰ Time for ", bold(data["habit"]), f" ({data['time']}).")
    if data.get("target") is not None:
        reply.add(f"Today's target: {_amount(data['target'])} {data.get('unit') or ''}".rstrip())
    return reply.button_row(Button("✅ Done", Action("done", f"#{data['habit_id']}")))


@renders("nudge")
def _nudge(data: dict[str, Any]) -> Reply:
    from bots.commands.usage import cmd  # the commands layer imports this module

    # Older rows (queued before the habit was named) read as before.
    on = f" on {data['habit']}" if data.get("habit") else ""
    streak = bold(f"streak of {data['streak']}{on}")
    if data.get("checked_in"):
        return Reply.text(
            "💎 You checked in today: ",
            cmd("claim"),
            " your gems before midnight to keep your ",
            streak,
            " and the 7-day cycle going.",
        ).button_row(Button("💎 Claim", Action("claim")))
    return Reply.text(
        "🔥 Keep your ",
        streak,
        " alive: check in today, then ",
        cmd("claim"),
        " your gems.",
    ).button_row(Button("✅ Check in", Action("done")))


# ---------------------------------------------------------------- people


def _handles(names: list[str], count: int) -> str:
    shown = ", ".join(f"@{n}" for n in names)
    return shown + (f" and {count - len(names)} more" if count > len(names) else "")


@renders("followers")
def _followers(data: dict[str, Any]) -> Reply:
    """New followers and requests of the last hour, in one message (core/social/follows.py)."""
    reply = Reply(private=True)
    followers, requests = data.get("followers", []), data.get("requests", [])
    count = int(data.get("followers_count", len(followers)))
    asked = int(data.get("requests_count", len(requests)))
    if count:
        plural = "new follower" if count == 1 else "new followers"
        reply.add(f"👥 {count} {plural}: ", bold(_handles(followers, count)), ".")
    if asked:
        plural = "asks" if asked == 1 else "ask"
        reply.add("🔒 ", bold(_handles(requests, asked)), f" {plural} to follow you.")
        reply.button_row(Button("Review requests", Action("requests")))
    elif followers:
        reply.button_row(Button("👥 Followers", Action("followers")))
    return reply


@renders("follow_accepted")
def _follow_accepted(data: dict[str, Any]) -> Reply:
    handle = f"@{data['handle']}"
    return Reply.text(
        "✅ ", bold(handle), " accepted your request: you follow them now."
    ).button_row(Button("👤 Profile", Action("profile", handle)))


# ---------------------------------------------------------------- feed


@renders("feed_news")
def _feed_news(data: dict[str, Any]) -> Reply:
    """Reactions and comments on one post in the last hour (core/social/feed_alerts.py)."""
    from core.social.reactions import EMOJI  # plain data: the set and its emoji

    reply = Reply(private=True)
    said = []
    for code, count in (data.get("reactions") or {}).items():
        if code in EMOJI and count:
            who = "1 person" if count == 1 else f"{count} people"
            said.append(f"{who} reacted {EMOJI[code][0]}")
    names, comments = data.get("commenters") or [], int(data.get("comments") or 0)
    if comments:
        more = f" ({comments} comments)" if comments > 1 else ""
        said.append(f"{_handles(names, len(names))} commented{more}")
    reply.add("📰 On your post ", bold(f"“{data.get('excerpt', '')}”"), ": ", ", ".join(said), ".")
    return reply.button_row(Button("👀 Show", Action("post", str(data["post_id"]))))
