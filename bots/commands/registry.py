"""Every command is declared once here; Telegram's menu, Discord's slash tree and /help derive
from these declarations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bots.commands.context import Ctx, Deps, Invocation
    from bots.reply import Reply

ArgKind = Literal[
    "text", "word", "int", "number", "times", "schedule", "date", "timezone", "choice", "flag"
]
Handler = Callable[["Ctx", dict[str, Any]], Awaitable["Reply"]]
# Runs before the command's unit of work, with no transaction open, for slow outside calls
# (the AI planner): (deps, invocation, raw values) -> what the handler finds in ctx.prepared.
Prepare = Callable[["Deps", "Invocation", dict[str, str]], Awaitable[Any]]


@dataclass(frozen=True)
class Arg:
    name: str
    description: str
    kind: ArgKind = "text"
    required: bool = False
    keyword: bool = False  # typed as name=value in chat text
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int = 64
    complete: Literal["habit", "challenge", "person", None] = None  # what Discord autocompletes
    hint: str = ""  # shown in usage instead of <name>, e.g. "day|weekdays|3/week"

    def usage(self) -> str:
        if self.kind == "flag":
            body = self.name
        elif self.keyword:
            hint = "|".join(self.choices) or self.hint or f"<{self.name}>"
            body = f"{self.name}={hint}"
        else:
            body = f"<{self.name}>"
        return body if self.required else f"[{body}]"


@dataclass(frozen=True)
class Command:
    name: str  # "done", or "habit add" for a subcommand
    description: str  # one line, at most 100 characters (Discord's limit)
    handler: Handler
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()  # other text names, e.g. "habits" for "habit list"
    default: bool = False  # the subcommand that a bare "/habit" runs
    admin: bool = False  # for the menu: shown to group admins
    group: bool = False  # for the menu: offered in group chats (every command works there)
    # Its answer is about the caller (habits, balances, invite codes): asked in a group it is
    # delivered privately (Telegram private chat, Discord ephemeral), never to the group.
    private: bool = False
    # For the bot's operators only (OPERATORS): to anyone else it does not exist (no menu,
    # no /help line, no slash command; typed, it is an unknown command).
    operator: bool = False
    examples: tuple[str, ...] = ()
    # Destructive: the handler asks first and acts only from its confirm button
    # (bots/commands/buttons.py: ask, Ctx.confirmed).
    confirm: bool = False
    # Where it makes sense: "group" only in a group (Discord: not offered in DMs), "private"
    # only in a private chat (Discord: not offered in servers); None: both.
    only: Literal["group", "private"] | None = None
    # About the caller alone (their habits, balances, settings): works wherever they are, so
    # Discord offers it as a user-installed app too (any server, any DM).
    personal: bool = False
    details: tuple[str, ...] = ()  # rules worth knowing, shown by /help <command>
    prepare: Prepare | None = None

    @property
    def top(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def sub(self) -> str | None:
        parts = self.name.split(" ", 1)
        return parts[1] if len(parts) > 1 else None

    def usage(self) -> str:
        return " ".join([f"/{self.name}", *(a.usage() for a in self.args)])


class Registry:
    def __init__(self) -> None:
        self.commands: dict[str, Command] = {}
        self._text_names: dict[str, Command] = {}
        # The command that receives chat text which is not a command (Invocation.plain).
        self.plain_text: str | None = None
        self._public: tuple[int, Registry] | None = None

    def add(self, command: Command) -> Command:
        for name in (command.name, *command.aliases):
            if name in self._text_names:
                raise ValueError(f"command {name!r} declared twice")
            self._text_names[name] = command
        self.commands[command.name] = command
        return command

    def command(
        self, name: str, description: str, *args: Arg, **options: Any
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(Command(name, description, handler, tuple(args), **options))
            return handler

        return register

    def get(self, name: str) -> Command | None:
        return self.commands.get(name)

    def resolve(self, words: list[str]) -> tuple[Command | None, int]:
        """Find the command named by the first one or two words; returns it and words used."""
        if not words:
            return None, 0
        top = words[0].lower()
        if len(words) > 1 and (sub := self._text_names.get(f"{top} {words[1].lower()}")):
            return sub, 2
        if found := self._text_names.get(top):
            return found, 1
        defaults = [c for c in self.commands.values() if c.top == top and c.default]
        return (defaults[0], 1) if defaults else (None, 0)

    def tops(self) -> dict[str, list[Command]]:
        """Commands grouped by their first word, in declaration order."""
        grouped: dict[str, list[Command]] = {}
        for command in self.commands.values():
            grouped.setdefault(command.top, []).append(command)
        return grouped

    def text_names(self) -> list[str]:
        return sorted(self._text_names)

    def visible(self, operator: bool) -> Registry:
        """The registry as someone sees it: an operator all of it, anyone else without the
        operator commands (their help, menus, slash tree and unknown-command replies)."""
        if operator or not any(c.operator for c in self.commands.values()):
            return self
        count = len(self.commands)
        if self._public is None or self._public[0] != count:  # built once, rebuilt if added to
            shown = Registry()
            for command in self.commands.values():
                if not command.operator:
                    shown.add(command)
            shown.plain_text = self.plain_text
            self._public = (count, shown)
        return self._public[1]


REGISTRY = Registry()
command = REGISTRY.command
