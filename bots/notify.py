"""How the bot speaks first: each platform's Notifier sends a Reply to a chat and classifies
failures, so the outbox dispatcher knows whether to wait, retry or give up."""

from __future__ import annotations

from typing import Literal, Protocol

from bots.reply import Reply

Failure = Literal["rate_limited", "transient", "permanent"]


class DeliveryError(Exception):
    def __init__(self, failure: Failure, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.retry_after = retry_after  # seconds, for rate_limited


class Notifier(Protocol):
    platform: str

    async def send(self, chat: str, reply: Reply) -> None:
        """Deliver to a private chat or group/channel id; raise DeliveryError on failure."""
        ...
