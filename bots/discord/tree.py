"""The slash-command tree, generated from the command registry.

"habit add" becomes the subcommand ``add`` of the group ``/habit``; an admin subcommand among
member ones becomes a command of its own (``/challenge-new``, bots/discord/names.py). Each Arg
becomes a typed option (int -> integer with min/max, number -> number, flag -> boolean, choice
-> choices, a choice with one value -> boolean, everything else -> string with max_length)
whose description is the Arg's. Habits, challenges, time zones, schedules, times and dates
autocomplete.

Who sees what, per top-level command (Discord sets these on top-level commands only): admin
commands need Manage Server (``default_member_permissions``; server admins can change it);
``Command.only`` keeps a command out of DMs or out of servers (``contexts``); personal
commands (``Command.personal``) are also user-installable (``integration_types``), so they
work in any server and in any DM, answered ephemerally where others would see them.

discord.py reads a command's options from its callback's signature, so each generated callback
carries a synthesized ``__signature__`` (keyword-only ``o0, o1, ...`` renamed to the Arg names,
which keeps any Arg name usable even where it is not a Python identifier).
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bots.commands import REGISTRY
from bots.commands.registry import Arg, Command, Registry
from bots.commands.suggest import KINDS
from bots.discord import handlers
from bots.discord.names import slash_path, yes_no

log = logging.getLogger("habitbot.discord")

DESCRIPTION_LIMIT = 100
STRING_LIMIT = 6000  # Discord's max_length ceiling for a string option
SAFE_INT = 2**53  # Discord's integer/number option range
Completer = Callable[[discord.Interaction[Any], str], Awaitable[list[app_commands.Choice[str]]]]

COMPLETERS: dict[str, Completer] = {
    "habit": handlers.complete_habit,
    "challenge": handlers.complete_challenge,
    "person": handlers.complete_person,
    "timezone": handlers.complete_timezone,
}
MANAGE_SERVER = discord.Permissions(manage_guild=True)


def _completer(arg: Arg) -> Completer | None:
    if arg.kind == "choice":
        return None  # Discord offers the choices themselves
    if found := COMPLETERS.get(arg.complete or arg.kind):
        return found
    if arg.kind in KINDS:
        return handlers.completer_for(arg)
    return None


def _switch(arg: Arg) -> bool:
    """A choice with one value (announce=here) is a yes/no option on Discord."""
    return arg.kind == "choice" and yes_no(arg)


def describe(text: str) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= DESCRIPTION_LIMIT else text[: DESCRIPTION_LIMIT - 1] + "…"


def _annotation(arg: Arg) -> Any:
    if arg.kind == "flag" or _switch(arg):
        return bool
    if arg.kind in ("int", "number"):
        kind: type = int if arg.kind == "int" else float
        low = kind(arg.min) if arg.min is not None else None
        high = kind(arg.max) if arg.max is not None else None
        if low is None and high is None:
            return kind
        return app_commands.Range[kind, low, high]  # type: ignore[valid-type]
    return app_commands.Range[str, None, max(1, min(arg.max_length, STRING_LIMIT))]


def _as_text(arg: Arg, value: Any) -> str:
    """Invocation values are strings, as if typed: flags "true"/"false", numbers as written."""
    if _switch(arg):
        return arg.choices[0] if value else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def slash_command(
    command: Command, name: str, parent: app_commands.Group | None = None
) -> app_commands.Command[Any, ..., None]:
    keys = {f"o{i}": arg for i, arg in enumerate(command.args)}

    async def callback(interaction: discord.Interaction[Any], **options: Any) -> None:
        values = {
            keys[key].name: text
            for key, value in options.items()
            if value is not None and (text := _as_text(keys[key], value))
        }
        await handlers.on_command(interaction, command.name, values)

    params = [
        inspect.Parameter(
            "interaction",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=discord.Interaction,
        )
    ]
    for key, arg in keys.items():
        params.append(
            inspect.Parameter(
                key,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if arg.required else None,
                annotation=_annotation(arg),
            )
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = name.replace("-", "_")
    fn: Any = callback
    if keys:
        fn = app_commands.rename(**{k: a.name for k, a in keys.items()})(fn)
        fn = app_commands.describe(**{k: describe(a.description) for k, a in keys.items()})(fn)
    choices = {
        k: [app_commands.Choice(name=c[:100], value=c[:100]) for c in a.choices[:25]]
        for k, a in keys.items()
        if a.kind == "choice" and a.choices and not _switch(a)
    }
    if choices:
        fn = app_commands.choices(**choices)(fn)
    completers = {k: found for k, a in keys.items() if (found := _completer(a)) is not None}
    if completers:
        fn = app_commands.autocomplete(**completers)(fn)
    return app_commands.Command(
        name=name,
        description=describe(command.description),
        callback=fn,
        parent=parent,
    )


def _group_description(top: str, commands: list[Command]) -> str:
    subs = ", ".join(c.sub for c in commands if c.sub)
    return describe(f"{top.capitalize()}: {subs}")


def slash_tops(registry: Registry = REGISTRY) -> dict[str, list[Command]]:
    """The registry's commands by their top-level slash name, in declaration order."""
    tops: dict[str, list[Command]] = {}
    for command in registry.commands.values():
        path = slash_path(command, registry)
        tops.setdefault(path.split(" ", 1)[0], []).append(command)
    return tops


def contexts(commands: list[Command]) -> app_commands.AppCommandContext:
    personal = all(c.personal for c in commands)
    return app_commands.AppCommandContext(
        guild=any(c.only != "private" for c in commands),
        dm_channel=any(c.only != "group" for c in commands),
        private_channel=personal,  # other people's DMs and group DMs: a user install only
    )


def installs(commands: list[Command]) -> app_commands.AppInstallationType:
    return app_commands.AppInstallationType(guild=True, user=all(c.personal for c in commands))


def _who_and_where(item: Any, commands: list[Command]) -> None:
    where = contexts(commands)
    item.allowed_contexts = where
    item.allowed_installs = installs(commands)
    item.guild_only = not where.dm_channel  # the older dm_permission field says the same
    item.default_permissions = MANAGE_SERVER if all(c.admin for c in commands) else None


def slash_commands(
    registry: Registry = REGISTRY, operator: bool = False
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Every top-level slash command: plain commands, and groups for names with a space.
    Without `operator`, those everyone sees; with it, the operator commands alone."""
    out: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    public = set(registry.visible(False).commands)
    for top, commands in slash_tops(registry).items():
        commands = [c for c in commands if (c.name in public) != operator]
        if not commands:
            continue
        subs = [c for c in commands if slash_path(c, registry) != top]
        if not subs:
            if len(commands) > 1:
                raise ValueError(f"/{top} is declared twice")
            item: Any = slash_command(commands[0], top)
        elif len(subs) != len(commands):
            # Discord cannot run a command that has subcommands; the registry must choose.
            raise ValueError(f"/{top} is both a command and a group of subcommands")
        else:
            item = app_commands.Group(name=top, description=_group_description(top, commands))
            for command in subs:
                assert command.sub is not None
                if " " in command.sub:
                    raise ValueError(
                        f"/{command.name}: only one level of subcommands is generated"
                    )
                item.add_command(slash_command(command, command.sub, parent=item))
        _who_and_where(item, commands)
        out.append(item)
    return out


class HabitbotTree(app_commands.CommandTree[Any]):
    """The tree of the registry's commands; errors get an ephemeral reply, never silence.

    Operator commands are not global: Discord cannot hide a command from everyone but a few
    people, so they exist only in `operator_guild` (the dev guild), for its administrators;
    elsewhere operators use them on Telegram or the console."""

    def __init__(
        self,
        client: discord.Client,
        registry: Registry = REGISTRY,
        operator_guild: int | None = None,
    ) -> None:
        super().__init__(client)
        for command in slash_commands(registry):
            self.add_command(command)
        if operator_guild:
            guild = discord.Object(id=operator_guild)
            for command in slash_commands(registry, operator=True):
                command.default_permissions = discord.Permissions(administrator=True)
                self.add_command(command, guild=guild)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CommandSignatureMismatch):
            # Discord still shows an older version of the command (a sync is on its way).
            text = "This command was just updated. Please try again in a minute."
            log.warning("signature mismatch for /%s", getattr(error.command, "qualified_name", "?"))
        elif isinstance(error, app_commands.CommandNotFound):
            # Gone from the tree (or never in it for this person: operator commands) while
            # the client still offers it.
            text = f"Unknown command /{' '.join([*error.parents, error.name])[:40]}."
        elif isinstance(error, app_commands.TransformerError):
            text = f"I could not read {str(error.value)[:40]!r} for that option."
        else:
            ref = secrets.token_hex(3)
            log.error("interaction failed (ref %s)", ref, exc_info=error)
            text = f"Something went wrong (ref {ref}). Please try again."
        await handlers.say_privately(interaction, text)
