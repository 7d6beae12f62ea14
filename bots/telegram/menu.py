"""Telegram's command menu (setMyCommands), generated from the one command registry.

Three scopes: private chats list everything; groups list the commands offered there
(Command.group); group admins see those plus the admin commands (Command.admin). Operator
commands are in none of them: each operator's own private chat gets a menu with them too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeUnion,
)

from bots.commands.registry import REGISTRY, Command, Registry

log = logging.getLogger("habitbot.telegram")

DESCRIPTION_LIMIT = 256
_NAME = re.compile(r"[a-z0-9_]{1,32}")


def describe(top: str, commands: list[Command]) -> str:
    """One menu line for a top-level name: its description, or its subcommands."""
    if len(commands) == 1:
        text = commands[0].description
    else:
        subs = [c.sub for c in commands if c.sub]
        text = f"{top.capitalize()}: {', '.join(subs)}"
    return text[:DESCRIPTION_LIMIT] or top


def menus(registry: Registry = REGISTRY) -> dict[str, list[BotCommand]]:
    """Menu per scope type: all_private_chats, all_group_chats, all_chat_administrators;
    "operators": the private menu with the operator commands."""
    everything = {t: cs for t, cs in registry.tops().items() if _NAME.fullmatch(t)}
    tops = {t: cs for t, cs in registry.visible(False).tops().items() if _NAME.fullmatch(t)}

    def entry(top: str, commands: list[Command]) -> BotCommand:
        return BotCommand(command=top, description=describe(top, commands))

    in_groups = {t: cs for t, cs in tops.items() if any(c.group for c in cs)}
    members = {
        t: [c for c in cs if c.group and not c.admin and c.only != "private"]
        for t, cs in in_groups.items()
    }
    in_private = {t: [c for c in cs if c.only != "group"] for t, cs in tops.items()}
    return {
        "all_private_chats": [entry(t, cs) for t, cs in in_private.items() if cs],
        # Members don't see admin subcommands in a top's line; admins see the whole top.
        "all_group_chats": [entry(t, cs) for t, cs in members.items() if cs],
        "all_chat_administrators": [
            entry(t, cs) for t, cs in tops.items() if t in in_groups or any(c.admin for c in cs)
        ],
        "operators": [
            entry(t, kept)
            for t, cs in everything.items()
            if (kept := [c for c in cs if c.only != "group"])
        ],
    }


_SCOPES: dict[str, BotCommandScopeUnion] = {
    "all_private_chats": BotCommandScopeAllPrivateChats(),
    "all_group_chats": BotCommandScopeAllGroupChats(),
    "all_chat_administrators": BotCommandScopeAllChatAdministrators(),
}


async def publish(bot: Bot, registry: Registry = REGISTRY, operators: Iterable[str] = ()) -> bool:
    """Publish the menus; a failure is logged, never fatal (the bot works without a menu).
    `operators`: "platform:id" entries; the Telegram ones get their private chat's menu."""
    built = menus(registry)
    try:
        for scope, commands in built.items():
            if scope == "operators":
                continue
            if commands:
                await bot.set_my_commands(commands, scope=_SCOPES[scope])
            else:
                await bot.delete_my_commands(scope=_SCOPES[scope])
    except TelegramAPIError as error:
        log.warning("setMyCommands failed: %s", type(error).__name__)
        return False
    for operator in sorted(operators):
        platform, _, chat = operator.partition(":")
        if platform != "telegram" or not chat.lstrip("-").isdigit():
            continue
        try:
            await bot.set_my_commands(
                built["operators"], scope=BotCommandScopeChat(chat_id=int(chat))
            )
        except TelegramAPIError as error:  # e.g. the operator never opened a chat with the bot
            log.warning("the operator menu for %s failed: %s", chat, type(error).__name__)
    return True
