"""How the bot speaks first: each platform's Notifier sends a Reply to a chat and classifies
failures, so the outbox dispatcher knows whether to wait, retry or give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bots.reply import Reply

# unauthorized: the platform refused the bot's token (the operator's problem, not the chat's).
Failure = Literal["rate_limited", "transient", "permanent", "unauthorized"]


class DeliveryError(Exception):
    def __init__(self, failure: Failure, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason
        self.retry_after = retry_after  # seconds, for rate_limited


@dataclass
class Progress:
    """How many of a reply's messages (a long text goes out in several) have reached the chat.
    A notifier skips that many and counts each one it sends, so a retry after a failure
    halfway sends only the rest."""

    parts: int = 0


class Notifier(Protocol):
    platform: str

    async def send(self, chat: str, reply: Reply, progress: Progress | None = None) -> None:
        """Deliver to a private chat or group/channel id; raise DeliveryError on failure."""
        ...
