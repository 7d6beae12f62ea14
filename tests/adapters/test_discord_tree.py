"""The slash tree generated from the registry obeys Discord's rules for application commands."""

from __future__ import annotations

import unicodedata
from typing import Any

import discord
import pytest
from discord import app_commands

from bots.commands import REGISTRY, Deps
from bots.commands.registry import Arg, Command, Registry
from bots.discord.app import HabitbotDiscord
from bots.discord.names import slash_path
from bots.discord.tree import slash_commands, slash_tops
from bots.reply import Reply

Payload = dict[str, Any]


def valid_name(name: str) -> bool:
    """^[-_\\p{L}\\p{N}]{1,32}$ (the `regex` module is not installed) and lowercase."""
    letters_digits = all(c in "-_" or unicodedata.category(c)[0] in ("L", "N") for c in name)
    return 1 <= len(name) <= 32 and letters_digits and name == name.lower()


def walk(options: list[Payload]) -> list[Payload]:
    out = []
    for option in options:
        out.append(option)
        if option["type"] in (1, 2):  # SUB_COMMAND, SUB_COMMAND_GROUP
            out.extend(walk(option.get("options", [])))
    return out


def size(payload: Payload) -> int:
    """What Discord counts toward 8,000: names, descriptions, choice names and values."""
    total = len(payload["name"]) + len(payload.get("description", ""))
    for option in walk(payload.get("options", [])):
        total += len(option["name"]) + len(option["description"])
        for choice in option.get("choices", []):
            total += len(choice["name"]) + len(str(choice["value"]))
    return total


@pytest.fixture
def payloads(deps: Deps) -> list[Payload]:
    tree = HabitbotDiscord(deps).tree
    return [command.to_dict(tree) for command in tree.get_commands()]


def _names(payloads: list[Payload]) -> set[str]:
    generated = set()
    for top in payloads:
        subs = [o for o in top.get("options", []) if o["type"] == 1]
        generated |= {f"{top['name']} {s['name']}" for s in subs} if subs else {top["name"]}
    return generated


def test_every_registry_command_is_in_the_tree(payloads: list[Payload]) -> None:
    """Every command but the operators': Discord cannot hide a global command from people."""
    operator = {slash_path(c) for c in REGISTRY.commands.values() if c.operator}
    everyone = {slash_path(c) for c in REGISTRY.commands.values() if not c.operator}
    assert operator and _names(payloads) == everyone


def test_operator_commands_live_in_the_operators_guild_for_its_admins(deps: Deps) -> None:
    tree = HabitbotDiscord(deps, dev_guild=77).tree
    guild = [c.to_dict(tree) for c in tree.get_commands(guild=discord.Object(id=77))]
    assert _names(guild) == {slash_path(c) for c in REGISTRY.commands.values() if c.operator}
    assert all(int(c["default_member_permissions"]) == 8 for c in guild)  # administrator
    assert not {"verify", "reports"} & {c.name for c in tree.get_commands()}


def test_tree_follows_discords_rules(payloads: list[Payload]) -> None:
    assert 1 <= len(payloads) <= 100
    for top in payloads:
        assert valid_name(top["name"]), top["name"]
        assert 1 <= len(top["description"]) <= 100, top["name"]
        assert size(top) <= 8000, top["name"]
        options = top.get("options", [])
        assert len(options) <= 25
        for option in walk(options):
            where = f"{top['name']}.{option['name']}"
            assert valid_name(option["name"]), where
            assert 1 <= len(option["description"]) <= 100, where
            assert len(option.get("options", [])) <= 25, where
            assert len(option.get("choices", [])) <= 25, where
            for choice in option.get("choices", []):
                assert 1 <= len(choice["name"]) <= 100 and len(str(choice["value"])) <= 100
            if "max_length" in option:
                assert 1 <= option["max_length"] <= 6000, where
            for bound in ("min_value", "max_value"):
                if bound in option:
                    assert abs(option[bound]) <= 2**53, where
            # required options come first, and choices exclude autocomplete
            if option["type"] not in (1, 2):
                assert not (option.get("choices") and option.get("autocomplete")), where
        for level in [options, *[o.get("options", []) for o in walk(options)]]:
            required = [o.get("required", False) for o in level if o["type"] not in (1, 2)]
            assert required == sorted(required, reverse=True), top["name"]


def test_option_types_follow_the_arg_kinds(payloads: list[Payload]) -> None:
    by_name = {p["name"]: p for p in payloads}
    opts = {o["name"]: o for o in by_name["challenge-new"]["options"]}
    wanted = {"type": 4, "min_value": 1, "max_value": 365, "required": True}
    assert opts["days"].items() >= wanted.items()
    assert opts["title"]["type"] == 3 and opts["title"]["max_length"] == 80
    assert opts["habits"]["max_length"] == 700
    assert opts["private"]["type"] == 5 and not opts["private"]["required"]
    done = {o["name"]: o for o in by_name["done"]["options"]}
    assert done["habit"]["autocomplete"] and done["amount"]["type"] == 10
    settings = {o["name"]: o for o in by_name["settings"]["options"]}
    assert [c["value"] for c in settings["nudges"]["choices"]] == ["on", "off"]
    leaderboard = {o["name"]: o for o in by_name["leaderboard"]["options"]}
    assert leaderboard["challenge"]["autocomplete"]


def test_tree_serialises_without_a_client_round_trip(deps: Deps) -> None:
    tree = HabitbotDiscord(deps).tree
    for command in tree.get_commands():
        payload = command.to_dict(tree)
        assert payload["name"] and isinstance(payload.get("options", []), list)


def test_long_descriptions_are_cut_and_mixed_tops_are_refused() -> None:
    async def handler(ctx: Any, args: dict[str, Any]) -> Reply:
        return Reply.text("x")

    registry = Registry()
    registry.add(Command("echo", "d" * 150, handler, (Arg("text", "e" * 120, required=True),)))
    [echo] = slash_commands(registry)
    assert isinstance(echo, app_commands.Command)
    payload = echo.to_dict(app_commands.CommandTree(discord.Client(intents=discord.Intents.none())))
    assert len(payload["description"]) == 100 and len(payload["options"][0]["description"]) == 100

    registry.add(Command("echo twice", "twice", handler))
    with pytest.raises(ValueError, match="both a command and a group"):
        slash_commands(registry)


# ---------------------------------------------------------------- who sees what, where
GUILD_CONTEXT, BOT_DM, PRIVATE_CHANNEL = 0, 1, 2
GUILD_INSTALL, USER_INSTALL = 0, 1
MANAGE_GUILD = 1 << 5


def test_who_sees_what_and_where_follows_the_registry(payloads: list[Payload]) -> None:
    by_name = {p["name"]: p for p in payloads}
    for top, commands in slash_tops(REGISTRY.visible(False)).items():  # operators': elsewhere
        payload = by_name[top]
        admin = all(c.admin for c in commands)
        assert payload["default_member_permissions"] == (MANAGE_GUILD if admin else None), top
        where = set(payload["contexts"])
        assert (GUILD_CONTEXT in where) == any(c.only != "private" for c in commands), top
        assert (BOT_DM in where) == any(c.only != "group" for c in commands), top
        personal = all(c.personal for c in commands)
        assert (PRIVATE_CHANNEL in where) == personal, top
        installs = set(payload["integration_types"])
        assert installs == ({GUILD_INSTALL, USER_INSTALL} if personal else {GUILD_INSTALL}), top
        assert payload["dm_permission"] == (BOT_DM in where), top
    # Spot checks a user would notice.
    assert by_name["challenge-new"]["default_member_permissions"] == MANAGE_GUILD
    assert by_name["challenge-end"]["default_member_permissions"] == MANAGE_GUILD
    assert by_name["group-settings"]["contexts"] == [GUILD_CONTEXT]  # not offered in DMs
    assert by_name["group"]["contexts"] == [GUILD_CONTEXT]
    assert by_name["challenge"]["default_member_permissions"] is None  # list, info, invite
    assert {"new", "end"}.isdisjoint(o["name"] for o in by_name["challenge"]["options"])
    assert USER_INSTALL in by_name["today"]["integration_types"]
    assert USER_INSTALL in by_name["habit"]["integration_types"]
    assert USER_INSTALL not in by_name["leaderboard"]["integration_types"]


def _option(payloads: list[Payload], path: str, name: str) -> Payload:
    top, *sub = path.split()
    [payload] = [p for p in payloads if p["name"] == top]
    options = payload["options"]
    if sub:
        [parent] = [o for o in options if o["name"] == sub[0]]
        options = parent["options"]
    [option] = [o for o in options if o["name"] == name]
    return option


def test_patterned_options_autocomplete_and_a_lone_choice_is_a_switch(
    payloads: list[Payload],
) -> None:
    for path, name in [
        ("habit add", "every"),
        ("habit add", "remind"),
        ("habit edit", "every"),
        ("habit edit", "remind"),
        ("challenge-new", "start"),
        ("challenge-new", "every"),
        ("group-settings", "digest"),
        ("group-settings", "timezone"),
        ("timezone", "zone"),
    ]:
        assert _option(payloads, path, name).get("autocomplete"), (path, name)
    announce = _option(payloads, "group-settings", "announce")
    assert announce["type"] == 5 and "choices" not in announce  # boolean: a one-value choice
    kind = _option(payloads, "habit add", "kind")
    assert [c["value"] for c in kind["choices"]] == ["build", "quit"]
