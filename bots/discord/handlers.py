"""Interactions -> Invocations -> Replies on Discord.

Who and where: the user id and display name; a DM is the private chat "dm:<user id>" (the
Notifier writes there by opening a DM channel), a server is the group "<guild id>" with the
channel the command came from; Manage Server (or Administrator, or owning the server) is admin.

Answering within Discord's 3 seconds: the command runs at once and, if it finishes within
``defer_after`` seconds (2 s by default), its reply is the interaction response itself. Only a
slower command is deferred ("Habitbot is thinking…") and its reply then replaces the
placeholder. Visibility is decided by the reply, which is known only at the end: in a server a
private or error reply is ephemeral. A deferral is public (most replies are), so a slow private
reply first turns the public placeholder into a harmless note, then goes out as an ephemeral
follow-up (the first follow-up after a deferral would otherwise REPLACE the public placeholder
and show the private text to everyone), and the note is deleted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Protocol, cast
from zoneinfo import available_timezones

import discord
from discord import app_commands

from bots.actions import Pressed, pressed
from bots.answers import OutboxAnswer, Receipts
from bots.commands import REGISTRY, Chat, Deps, Invocation, execute
from bots.commands.format import unreachable
from bots.commands.registry import Arg
from bots.commands.suggest import suggestions
from bots.commands.usage import answer_slot
from bots.discord.render import Rendered, render
from bots.parsing import parse_text
from bots.reply import Reply
from core.challenges.service import challenge_suggestions
from core.habits.names import name_key
from core.habits.service import list_habits
from core.social.lookup import handles_starting
from core.users.accounts import set_private_chat_reachable
from core.users.lookup import account_user_id

log = logging.getLogger("habitbot.discord")

PLATFORM = "discord"
DM_PREFIX = "dm:"
MAX_CHOICES = 25
EXPIRED = "This button has expired. Use the command instead (/help lists them)."
PRIVATE_NOTE = "🔒 Only you can see the answer."
REMINDERS_HERE = "⏰ Your Habitbot reminders will arrive here."
DM_FIX = (
    "To get them, allow direct messages from this server's members (the server's menu ▸ "
    "Privacy Settings ▸ Direct Messages), then set the reminder again."
)


class HasDeps(Protocol):
    deps: Deps
    defer_after: float
    receipts: Receipts


def _client(interaction: discord.Interaction[Any]) -> HasDeps:
    return cast(HasDeps, interaction.client)


def invocation(
    interaction: discord.Interaction[Any],
    *,
    command: str | None = None,
    values: dict[str, str] | None = None,
    text: str | None = None,
    button: Pressed | None = None,
) -> Invocation:
    user = interaction.user
    if interaction.guild_id is None or not interaction.is_guild_integration():
        # DMs, and a server or group DM reached through the user's own install of the app:
        # the bot is not a member there, so it is the user's own context, not a group's.
        chat = Chat("private", f"{DM_PREFIX}{user.id}")
        is_admin = False
    else:
        guild = interaction.guild  # None for a server the bot left (or never joined)
        channel = interaction.channel_id
        chat = Chat(
            "group",
            str(interaction.guild_id),
            title=(guild.name if guild is not None and guild.name else ""),
            channel=str(channel) if channel is not None else None,
        )
        perms = interaction.permissions
        owner = guild is not None and guild.owner_id == user.id
        is_admin = bool(perms.manage_guild or perms.administrator or owner)
    return Invocation(
        PLATFORM,
        str(user.id),
        user.display_name,
        chat,
        text=text,
        command=command,
        values=values or {},
        is_admin=is_admin,
        reach=f"dm:{user.id}",  # Discord lets a bot DM anyone it shares a server with
        button=button is not None,
        button_owner=button.owner if button is not None else None,
        username=user.name,
    )


def others_see(interaction: discord.Interaction[Any]) -> bool:
    """A server, or another DM or group DM (a user install): not the bot's DM with the user."""
    return interaction.guild_id is not None or interaction.context.private_channel


def _ephemeral(interaction: discord.Interaction[Any], reply: Reply) -> bool:
    # A command's acknowledgment (a check-in) is for the asker; a press edits its message anyway.
    ack = reply.ack is not None and interaction.type == discord.InteractionType.application_command
    return others_see(interaction) and bool(reply.private or reply.error or ack)


def recorded(interaction: discord.Interaction[Any]) -> OutboxAnswer:
    """The reply, recorded with the command's effects. Discord never delivers an interaction
    twice, so this is about a crash before the answer went out: the outbox then brings it to
    the person's DMs (the interaction's token may have expired by then)."""
    dm = f"{DM_PREFIX}{interaction.user.id}"
    return OutboxAnswer(PLATFORM, f"{PLATFORM}:{interaction.id}", lambda _reply: dm)


async def on_command(
    interaction: discord.Interaction[Any], name: str, values: dict[str, str]
) -> None:
    inv = invocation(interaction, command=name, values=values)
    record = recorded(interaction)
    await answer(interaction, execute(_client(interaction).deps, inv, answer=record), record)


async def on_button(interaction: discord.Interaction[Any], data: str) -> None:
    """A pressed button runs its action as the person who pressed it; its result replaces the
    message the button sat on (an error or a private result goes to the presser alone)."""
    deps = _client(interaction).deps
    record = recorded(interaction)

    async def run() -> Reply:
        button = await pressed(deps, data)
        if button is None:
            return Reply.text(EXPIRED, error=True)
        return await execute(
            deps, invocation(interaction, text=button.text, button=button), answer=record
        )

    await answer(interaction, run(), record, edit=True)


async def on_answer(interaction: discord.Interaction[Any], data: str, text: str) -> None:
    """A submitted AnswerForm: the asking button's action, its first required argument filled
    with what was typed."""
    deps = _client(interaction).deps
    record = recorded(interaction)

    async def run() -> Reply:
        button = await pressed(deps, data)
        words = button.text.lstrip("/") if button is not None else ""
        command, used = REGISTRY.resolve(words.split())
        if button is None or command is None:
            return Reply.text(EXPIRED, error=True)
        rest = words.split(None, used)  # the button's own values ("/chat 12": conversation 12)
        given = parse_text(command, rest[used]) if len(rest) > used else {}
        values = {**given, answer_slot(command, given): text}
        inv = invocation(interaction, command=command.name, values=values, button=button)
        return await execute(deps, inv, answer=record)

    await answer(interaction, run(), record)


async def answer(
    interaction: discord.Interaction[Any],
    work: Awaitable[Reply],
    record: OutboxAnswer | None = None,
    edit: bool = False,
) -> None:
    client = _client(interaction)

    async def prepare() -> Rendered:
        reply = await work
        if reply.reach is not None and others_see(interaction):
            await check_reach(interaction, reply)
        rendered = await render(client.deps, reply, _ephemeral(interaction, reply))
        rendered.error = reply.error
        return rendered

    task = asyncio.ensure_future(prepare())
    try:
        try:
            rendered = await asyncio.wait_for(asyncio.shield(task), client.defer_after)
        except TimeoutError:
            await interaction.response.defer(thinking=True)
            rendered = await task
            await _send_deferred(interaction, rendered)
        else:
            await _send(interaction, rendered, edit)
        if record is not None and record.outbox_id is not None:
            client.receipts.sent(record.outbox_id)
    except discord.HTTPException as error:
        # The token expired (15 min) or Discord refused the message: a recorded reply goes to
        # the person's DMs instead.
        log.warning("could not answer interaction %s: %s", interaction.id, error)
        if record is not None and record.outbox_id is not None:
            await client.receipts.hand_over(record.outbox_id, 0, str(error), 0)
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("interaction failed (ref %s)", ref)
        await say_privately(interaction, f"Something went wrong (ref {ref}). Please try again.")


async def check_reach(interaction: discord.Interaction[Any], reply: Reply) -> None:
    """Reminders set from a server go to the person's DMs: try them now (a short note that says
    where reminders arrive), so closed DMs (403, 50007) are told with the reply, not found out
    by a reminder failing unseen. Records what was learnt either way."""
    deps = _client(interaction).deps
    try:
        channel = await interaction.client.create_dm(interaction.user)
        await channel.send(REMINDERS_HERE, allowed_mentions=discord.AllowedMentions.none())
        reachable = True
    except discord.Forbidden:
        reachable = False
    except discord.HTTPException as error:  # Discord is unwell: nothing learnt
        log.warning("could not check DMs of %s: %s", interaction.user.id, error)
        return
    async with deps.db.session() as session:
        chat = f"{DM_PREFIX}{interaction.user.id}"
        await set_private_chat_reachable(session, PLATFORM, chat, reachable, deps.clock.now())
    if not reachable:
        reply.extend(unreachable().add(DM_FIX))


async def _send(
    interaction: discord.Interaction[Any], rendered: Rendered, edit: bool = False
) -> None:
    first, *rest = rendered.messages()
    message = interaction.message
    seen_alone = message is not None and message.flags.ephemeral  # only the presser sees it
    if edit and not rendered.error and (seen_alone or not rendered.ephemeral):
        # A button's result replaces its message; the view is the result's own (or none).
        # A private result replaces only a message that was private already.
        await interaction.response.edit_message(
            content=first["content"],
            embeds=[first["embed"]] if "embed" in first else [],
            attachments=first.get("files", []),
            view=first.get("view"),
            allowed_mentions=first["allowed_mentions"],
        )
    else:
        await interaction.response.send_message(**first, ephemeral=rendered.ephemeral)
    for message in rest:
        await interaction.followup.send(**message, ephemeral=rendered.ephemeral)


async def _send_deferred(interaction: discord.Interaction[Any], rendered: Rendered) -> None:
    messages = rendered.messages()
    if rendered.ephemeral:
        await interaction.edit_original_response(content=PRIVATE_NOTE)
        for message in messages:
            await interaction.followup.send(**message, ephemeral=True)
        await interaction.delete_original_response()
        return
    first, *rest = messages
    edit: dict[str, Any] = {
        "content": first["content"],
        "embeds": [first["embed"]] if "embed" in first else [],
        "allowed_mentions": first["allowed_mentions"],
    }
    if "files" in first:
        edit["attachments"] = first["files"]
    if "view" in first:
        edit["view"] = first["view"]
    await interaction.edit_original_response(**edit)
    for message in rest:
        await interaction.followup.send(**message)


async def say_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """A short ephemeral answer, whether or not the interaction was answered already."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not answer interaction %s: %s", interaction.id, error)


# ------------------------------------------------------------------ autocomplete
def _rank(names: list[str], current: str) -> list[str]:
    """Names containing what was typed, those starting with it first."""
    key = name_key(current)
    hits = [n for n in names if key in name_key(n)]
    hits.sort(key=lambda n: not name_key(n).startswith(key))
    return hits[:MAX_CHOICES]


async def complete_habit(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """The caller's habit names (a read-only look-up: nobody is created by typing)."""
    deps = _client(interaction).deps
    try:
        async with deps.db.session() as session:
            user_id = await account_user_id(session, PLATFORM, str(interaction.user.id))
            habits = await list_habits(session, user_id) if user_id is not None else []
    except Exception:
        log.exception("habit autocomplete failed")
        return []
    names = _rank([h.name for h in habits], current)
    return [app_commands.Choice(name=n[:100], value=n[:100]) for n in names]


async def complete_challenge(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Active public challenges and the caller's own: shown as "#12 Title", sent as "12"."""
    deps = _client(interaction).deps
    try:
        async with deps.db.session() as session:
            user_id = await account_user_id(session, PLATFORM, str(interaction.user.id))
            found = await challenge_suggestions(session, user_id, current[:80], MAX_CHOICES)
    except Exception:
        log.exception("challenge autocomplete failed")
        return []
    return [app_commands.Choice(name=f"#{c.id} {c.title}"[:100], value=str(c.id)) for c in found]


def completer_for(
    arg: Arg,
) -> Callable[[discord.Interaction[Any], str], Awaitable[list[app_commands.Choice[str]]]]:
    """Suggestions for a schedule, times or a date option (bots/commands/suggest.py)."""

    async def complete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        today = _client(interaction).deps.clock.now().date()
        found = suggestions(arg, current[:100], today, MAX_CHOICES)
        return [app_commands.Choice(name=label[:100], value=value) for label, value in found]

    return complete


async def complete_person(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    """Handles starting with what was typed, as @handle (none of those who blocked the caller)."""
    deps = _client(interaction).deps
    try:
        async with deps.db.session() as session:
            user_id = await account_user_id(session, PLATFORM, str(interaction.user.id))
            found = await handles_starting(session, current, user_id, MAX_CHOICES)
    except Exception:
        log.exception("person autocomplete failed")
        return []
    return [app_commands.Choice(name=f"@{h}"[:100], value=f"@{h}"[:100]) for h in found]


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in available_timezones() if "/" in z or z == "UTC"))


async def complete_timezone(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    wanted = current.strip().lower().replace(" ", "_")
    hits = [z for z in _zones() if wanted in z.lower()]
    hits.sort(key=lambda z: not z.lower().rsplit("/", 1)[-1].startswith(wanted))
    return [app_commands.Choice(name=z, value=z) for z in hits[:MAX_CHOICES]]
