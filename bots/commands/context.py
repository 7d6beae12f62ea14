"""What an adapter hands to the commands layer, and what a handler receives."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock, local_date
from core.outbox import Doorbell
from core.planning.planner import ChatModel
from core.storage.db import Database
from core.storage.models import Account, Group, User

if TYPE_CHECKING:
    from bots.commands.registry import Command


@dataclass(frozen=True)
class Chat:
    kind: Literal["private", "group"]
    id: str  # private: where to write to the user; group: the Telegram chat / Discord guild id
    title: str = ""
    channel: str | None = None  # the channel inside a Discord guild the command came from


@dataclass(frozen=True)
class Invocation:
    """One typed command or button press, from any platform."""

    platform: str
    user_id: str
    user_name: str
    chat: Chat
    text: str | None = None  # "/habit add Read every=day" as typed, or a button's action text
    command: str | None = None  # or, from typed platforms (Discord), the command name ...
    values: dict[str, str] = field(default_factory=dict)  # ... and its options as strings
    is_admin: bool = False  # the adapter proved the caller administers this group
    # Where the platform lets the bot write to this person privately even when the command
    # came from a group (Discord DMs); Telegram needs the user to open a private chat first.
    reach: str | None = None
    # A pressed button (its signature checked by the adapter): whose button it was, if
    # anyone's. Someone else pressing it is refused; the result names who pressed.
    button: bool = False
    button_owner: int | None = None
    # The platform's unique username (Telegram @username, Discord user name), if any: a new
    # user's handle starts from it.
    username: str | None = None
    # Chat text that is not a command (private chats): the answer to a question the bot asked
    # (/plan's), or a slip the bot explains.
    plain: bool = False


@dataclass
class Deps:
    db: Database
    clock: Clock
    # Signs button data (bots/actions.py). The app derives it from its settings so buttons
    # survive restarts and work across processes; a random one suits tests and the console.
    button_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # The AI planner behind /plan; None: the built-in planner plans (and says so).
    planner: ChatModel | None = None
    # The bot's operators as "platform:id" (OPERATORS): they alone verify people and read
    # reports. Decided here from the settings, for every adapter alike.
    operators: frozenset[str] = frozenset()
    # The web companion's address (WEB_BASE_URL, or the console's local server); None: off.
    web_url: str | None = None
    # Rung after a command queued a message that should go out at once (a relayed DM).
    doorbell: Doorbell = field(default_factory=Doorbell)

    def is_operator(self, inv: Invocation) -> bool:
        return f"{inv.platform}:{inv.user_id}" in self.operators


@dataclass
class Ctx:
    session: AsyncSession
    deps: Deps
    inv: Invocation
    user: User
    account: Account
    group: Group | None
    now: datetime
    first_visit: bool = False
    command: Command | None = None  # what runs, and its raw values: buttons run it again
    raw: dict[str, str] = field(default_factory=dict)
    confirmed: bool = False  # pressed the confirm button of a destructive command
    # What the command's `prepare` step worked out before the unit of work began (an answer
    # from the AI planner, which must not hold the database's write lock while it thinks).
    prepared: Any = None
    queued: bool = False  # it queued a message to send now: ring the doorbell after commit

    @property
    def today(self) -> date:
        return local_date(self.now, self.user.timezone)

    @property
    def is_admin(self) -> bool:
        return self.group is not None and self.inv.is_admin

    @property
    def is_operator(self) -> bool:
        return self.deps.is_operator(self.inv)
