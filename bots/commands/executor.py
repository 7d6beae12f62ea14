"""Runs one Invocation: find the command, parse, resolve who and where, call it, map errors."""

from __future__ import annotations

import difflib
import logging
import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bots.commands.buttons import CANCELLED, Controls, paginate, pick, split_controls
from bots.commands.context import Ctx, Deps, Invocation
from bots.commands.registry import REGISTRY, Command, Registry
from bots.commands.usage import Refused, cmd, usage
from bots.parsing import UsageError, convert_all, parse_text, split_command
from bots.reply import Reply, Span, bold, code
from core.errors import DomainError
from core.groups.service import enter_group
from core.habits.names import Ambiguous
from core.rewards.freezes import apply_missed_day_freezes
from core.users.accounts import resolve_account
from core.users.lookup import merged_into

log = logging.getLogger("habitbot.commands")

PLAIN_HINT = ("Commands start with /. Send ", " for the list.")
NOT_YOURS = "This button is not yours: it acts for the person it was shown to."


class Answer(Protocol):
    """Where an adapter records the reply to one incoming update (bots/answers.py), in the
    transaction of the command's effects, so a crash can neither lose the reply nor, on a
    replay of the update, apply the command twice."""

    async def record(self, session: AsyncSession, reply: Reply, now: datetime) -> bool:
        """False when this update was answered already."""
        ...


class AlreadyAnswered(Exception):
    """The update was answered before (a replay, or a twin on another process); what this run
    did was rolled back, and there is nothing to send."""


async def execute(
    deps: Deps, inv: Invocation, registry: Registry = REGISTRY, answer: Answer | None = None
) -> Reply:
    controls = Controls()
    if inv.button and inv.text:  # only a signed button can confirm or turn a page
        text, controls = split_controls(inv.text)
        inv = replace(inv, text=text)
    try:
        found = find(inv, registry.visible(deps.is_operator(inv)))
        if not isinstance(found, Reply):
            command, raw = found
            return await _run(deps, inv, command, raw, answer, controls)
        reply = found
    except AlreadyAnswered:
        raise
    except UsageError as error:
        shown = registry.visible(deps.is_operator(inv))
        reply = Reply.text(str(error), error=True).add("Usage: ", _usage(inv, shown))
    except Refused as error:
        reply = error.reply
    except DomainError as error:
        reply = Reply.text(*_with_commands(error), error=True)
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("command failed (ref %s): %s", ref, inv.command or (inv.text or "")[:80])
        reply = Reply.text(f"Something went wrong (ref {ref}). Please try again.", error=True)
    if answer is not None:  # nothing was changed: the reply is recorded on its own
        async with deps.db.session() as session:
            if not await answer.record(session, reply, deps.clock.now()):
                raise AlreadyAnswered
    return reply


def find(inv: Invocation, registry: Registry) -> tuple[Command, dict[str, str]] | Reply:
    if inv.plain:  # not parsed: an answer is the user's own words, quotes and "=" and all
        target = registry.get(registry.plain_text) if registry.plain_text else None
        if target is None:
            return Reply.text(PLAIN_HINT[0], cmd("help"), PLAIN_HINT[1])
        return target, {"text": inv.text or ""}
    if inv.command is not None:
        command = registry.get(inv.command)
        if command is None:
            return _unknown(inv.command, registry)
        return command, {k: v for k, v in inv.values.items() if v is not None}
    words, _, _ = split_command(inv.text or "")
    command, used = registry.resolve(words)
    if command is None:
        return _unknown(" ".join(words[:1]) or "", registry, words[1:2])
    if used == 1 and command.sub and len(words) > 1 and not command.args:
        # "/habit ad Swim" reached the default (/habit list), which takes nothing: a typo.
        return _unknown(command.top, registry, words[1:2])
    rest = (inv.text or "").strip().lstrip("/").split(None, used)
    return command, parse_text(command, rest[used] if len(rest) > used else "")


def _which_one(command: Command, raw: dict[str, str], error: Ambiguous) -> Reply:
    """A name that matches several: the message, and a button per match that runs the same
    command with that one (by #id). Private: the matches are the caller's own."""
    named = [a.name for a in command.args if raw.get(a.name, "").strip() == error.query]
    named = named or [a.name for a in command.args if a.complete == "habit"]
    reply = Reply.text(str(error))
    if named:
        reply.buttons = pick(command, raw, named[0], error.choices)
    reply.private = True
    return reply


def _unknown(name: str, registry: Registry, typed: list[str] | None = None) -> Reply:
    subs = registry.tops().get(name.lower())
    if subs:  # a mistyped or missing subcommand: name the closest and say which ones exist
        top = name.lower()
        reply = Reply.text(f"/{top} needs one of:", error=True)
        if typed:
            close = difflib.get_close_matches(
                typed[0].lower(), [s.sub for s in subs if s.sub], n=1, cutoff=0.5
            )
            reply = Reply.text(f"/{top} has no {typed[0][:20]!r}.", error=True)
            if close:
                reply.add("Did you mean ", cmd(f"{top} {close[0]}"), "?")
            reply.add(f"/{top} has:")
        for sub in subs:
            reply.add(usage(sub.name), f" — {sub.description}")
        return reply
    shown = name[:32]
    close = difflib.get_close_matches(name.lower(), registry.text_names(), n=2, cutoff=0.6)
    reply = Reply.text(
        f"Unknown command /{shown}." if shown else "That is not a command.", error=True
    )
    if close:
        reply.add("Did you mean ", *_join([code(f"/{c}") for c in close]), "?")
    return reply.add("Send ", cmd("help"), " for the list.")


def _join(spans: list[Any]) -> list[Any]:
    out: list[Any] = []
    for i, span in enumerate(spans):
        out += [" or ", span] if i else [span]
    return out


def _usage(inv: Invocation, registry: Registry) -> Span:
    found = registry.get(inv.command) if inv.command else None
    if found is None and inv.text:
        found, _ = registry.resolve(split_command(inv.text)[0])
    return usage(found.name) if found else cmd("help")


def _with_commands(error: DomainError) -> list[str | Span]:
    """The message with each command it names written for the platform (see DomainError)."""
    if not error.commands:
        return [str(error)]
    pieces = error.template.split("{}")
    parts: list[str | Span] = [pieces[0]]
    for (name, *values), after in zip(error.commands, pieces[1:], strict=True):
        parts += [cmd(name, *values), after]
    return parts


async def _run(
    deps: Deps,
    inv: Invocation,
    command: Command,
    raw: dict[str, str],
    answer: Answer | None,
    controls: Controls,
) -> Reply:
    prepared = await command.prepare(deps, inv, raw) if command.prepare is not None else None
    now = deps.clock.now()
    notices: list[Reply] = []
    async with deps.db.session() as session:
        private_chat = inv.chat.id if inv.chat.kind == "private" else None
        user, account, created = await resolve_account(
            session,
            inv.platform,
            inv.user_id,
            inv.user_name,
            private_chat,
            now,
            reach=inv.reach,
            username=inv.username,
        )
        if inv.button and inv.button_owner not in (None, user.id):
            # A button shown before /link merged its owner into this user is theirs still.
            if not await merged_into(session, inv.button_owner, user.id):
                return Reply.text(NOT_YOURS, error=True)
        group = None
        if inv.chat.kind == "group":
            group = await enter_group(
                session,
                inv.platform,
                inv.chat.id,
                inv.chat.title,
                user.id,
                now,
                channel=inv.chat.channel,
            )
        confirmed = command.confirm and controls.confirm == "yes"
        ctx = Ctx(
            session, deps, inv, user, account, group, now, created, command, raw, confirmed,
            prepared,
        )
        args = convert_all(command, raw, ctx.today)
        frozen = await apply_missed_day_freezes(session, user, ctx.today, now)
        if frozen:
            days = ", ".join(d.strftime("%a %d %b") for d in frozen)
            notices.append(Reply.text("🧊 A streak freeze covered ", bold(days), "."))
        if command.confirm and controls.confirm == "no":
            reply = Reply.text(CANCELLED)
        else:
            try:
                reply = await command.handler(ctx, args)
            except Ambiguous as error:
                reply = _which_one(command, raw, error)
        paginate(reply, controls.page, command, raw)
        reply.private = reply.private or command.private
        reply.owner = None if reply.shared else user.id
        for notice in notices:
            reply = notice.extend(reply)
        if inv.button and inv.chat.kind == "group" and reply.lines and not reply.private:
            reply.lines[0] = (bold(inv.user_name), Span(": "), *reply.lines[0])  # who pressed
        if answer is not None and not await answer.record(session, reply, now):
            raise AlreadyAnswered
    if ctx.queued:  # committed: the dispatchers find it now
        deps.doorbell.ring()
    return reply
