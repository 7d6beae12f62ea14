"""Who administers a group, from getChatMember, remembered briefly in memory.

Promotions and demotions take effect within `ttl` seconds; a failed lookup counts as "not an
admin" (core then refuses admin-only commands) and is not remembered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

log = logging.getLogger("habitbot.telegram")

ADMIN_STATUSES = frozenset({"creator", "administrator"})


class AdminCache:
    def __init__(
        self,
        ttl: float = 60.0,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: dict[tuple[int, int], tuple[bool, float]] = {}
        self.lookups = 0  # getChatMember calls made (tests and metrics)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        now = self.clock()
        key = (chat_id, user_id)
        hit = self._entries.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        self.lookups += 1
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramAPIError as error:
            log.warning("getChatMember failed for chat %s: %s", chat_id, type(error).__name__)
            return False
        admin = member.status in ADMIN_STATUSES
        if len(self._entries) >= self.max_entries:
            self._prune(now)
        self._entries[key] = (admin, now + self.ttl)
        return admin

    def forget(self, chat_id: int) -> None:
        """Drop what is known about a chat (it migrated, or the bot left it)."""
        for key in [k for k in self._entries if k[0] == chat_id]:
            del self._entries[key]

    def _prune(self, now: float) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        if len(self._entries) >= self.max_entries:  # all fresh: start over rather than grow
            self._entries.clear()
