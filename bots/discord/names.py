"""How the registry's commands are named and typed on Discord: the slash path of each command
and a Usage written as the slash command with its options (`/habit add name:Read every:day`).

Discord sets permissions per top-level command only, so an admin subcommand whose siblings are
for everyone becomes a top-level command of its own ("challenge new" -> /challenge-new) that
can carry Manage Server; every other command keeps its registry name.
"""

from __future__ import annotations

from bots.commands import REGISTRY
from bots.commands.registry import Arg, Command, Registry
from bots.reply import Usage


def split_admin(top: str, commands: list[Command]) -> bool:
    """Whether this top's admin subcommands leave the group for commands of their own."""
    return any(c.admin for c in commands) and not all(c.admin for c in commands)


def slash_path(command: Command, registry: Registry = REGISTRY) -> str:
    """ "habit add" -> "habit add"; an admin subcommand among member ones -> "challenge-new"."""
    if command.sub and command.admin and split_admin(command.top, registry.tops()[command.top]):
        return f"{command.top}-{command.sub}"
    return command.name


def slash_text(usage: Usage, registry: Registry = REGISTRY) -> str:
    command = registry.get(usage.command)
    if command is None:  # not ours to rename: show it as written
        return f"/{usage.command}"
    words = [f"/{slash_path(command, registry)}"]
    if usage.template:
        for arg in command.args:
            hint = "True" if yes_no(arg) else "|".join(arg.choices) or arg.hint
            body = f"{arg.name}:{hint or f'<{arg.name}>'}"
            words.append(body if arg.required else f"[{body}]")
    else:
        args = {a.name: a for a in command.args}
        for name, value in usage.values:
            arg = args.get(name)
            words.append(f"{name}:{'True' if arg is not None and yes_no(arg) else value}")
    return " ".join(words)


def yes_no(arg: Arg) -> bool:
    """A flag, or a choice with one value (announce=here): a boolean option on Discord."""
    return arg.kind == "flag" or (arg.kind == "choice" and len(arg.choices) == 1)
