"""Every declared command fits what Discord (slash commands) and Telegram (setMyCommands) accept,
so generating their menus from the one registry can never be refused by the platform."""

from __future__ import annotations

import re

import pytest

from bots.commands import REGISTRY
from bots.commands.registry import Arg, Command, Registry

DISCORD_NAME = re.compile(r"^[-_a-z0-9]{1,32}$")
TELEGRAM_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
COMMANDS = list(REGISTRY.commands.values())


def ids(command: Command) -> str:
    return command.name.replace(" ", "_")


def test_the_registry_has_the_foundation_commands() -> None:
    expected = {
        "start", "help", "timezone", "settings", "habit add", "habit list", "habit edit",
        "habit remove", "done", "undo", "today", "stats", "claim", "wallet", "badges",
        "freeze buy",
    }
    assert expected <= set(REGISTRY.commands)
    assert REGISTRY.resolve(["habits"])[0] is REGISTRY.commands["habit list"]
    assert REGISTRY.resolve(["habit"])[0] is REGISTRY.commands["habit list"]


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_discord_names_and_descriptions(command: Command) -> None:
    parts = command.name.split(" ")
    assert 1 <= len(parts) <= 2  # a command, or one subcommand of a group
    for part in parts:
        assert DISCORD_NAME.match(part), part
    assert 1 <= len(command.description) <= 100, command.description
    assert len(command.args) <= 25
    names = [a.name for a in command.args]
    assert len(names) == len(set(names)), names
    for arg in command.args:
        assert DISCORD_NAME.match(arg.name), arg.name
        assert 1 <= len(arg.description) <= 100, arg.description
        assert len(arg.choices) <= 25
        for choice in arg.choices:
            assert 1 <= len(choice) <= 100
        if arg.min is not None and arg.max is not None:
            assert arg.min <= arg.max
        assert arg.max_length >= 1


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_discord_required_options_come_first(command: Command) -> None:
    required = [a.required for a in command.args]
    assert required == sorted(required, reverse=True), [a.name for a in command.args]


def test_discord_groups_and_commands_do_not_clash() -> None:
    tops = REGISTRY.tops()
    assert len(tops) <= 100  # global slash commands per application
    for top, commands in tops.items():
        subs = [c for c in commands if c.sub]
        # A Discord command with subcommands cannot also be run bare.
        assert not subs or len(subs) == len(commands), top
        assert len(subs) <= 25, top


def test_telegram_menu_names() -> None:
    names = set(REGISTRY.tops())
    names |= {a for c in COMMANDS for a in c.aliases if " " not in a}
    assert len(names) <= 100
    for name in names:
        assert TELEGRAM_NAME.match(name), name
    for command in COMMANDS:
        assert 1 <= len(command.description) <= 256


@pytest.mark.parametrize("command", COMMANDS, ids=ids)
def test_usage_and_examples_parse(command: Command) -> None:
    usage = command.usage()
    assert usage.startswith(f"/{command.name}")
    for example in command.examples:
        found, _ = REGISTRY.resolve(example.lstrip("/").split())
        assert found is command, example


def test_declaring_a_name_twice_is_refused() -> None:
    registry = Registry()

    async def handler(ctx: object, args: object) -> None:  # pragma: no cover
        raise AssertionError

    registry.add(Command("x", "x", handler, aliases=("y",)))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        registry.add(Command("y", "y", handler))  # type: ignore[arg-type]


def test_arg_usage_forms() -> None:
    assert Arg("name", "n", required=True).usage() == "<name>"
    assert Arg("amount", "a", "number").usage() == "[<amount>]"
    assert Arg("kind", "k", "choice", keyword=True, choices=("a", "b")).usage() == "[kind=a|b]"
    assert Arg("yesterday", "y", "flag").usage() == "[yesterday]"


def test_a_button_runs_its_command_again_with_the_values_given() -> None:
    from bots.commands.buttons import again, split_controls

    undo = REGISTRY.commands["undo"]
    assert again(undo, {"habit": "#3", "yesterday": "false"}, "buttons=2").args == "#3 buttons=2"
    assert again(undo, {"habit": "#3", "yesterday": "true"}).args == "#3 yesterday"
    text, controls = split_controls("/habit remove #3 confirm=yes")
    assert (text, controls.confirm, controls.page) == ("/habit remove #3", "yes", 1)
    text, controls = split_controls("/today buttons=3")
    assert (text, controls.confirm, controls.page) == ("/today", None, 3)
