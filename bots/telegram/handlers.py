"""Telegram updates -> Invocations -> Replies. Translation only: every rule lives in core or in
bots/commands. Dependencies arrive through the Dispatcher as `services` (no globals)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import aiohttp
from aiogram import Bot, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    ErrorEvent,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
)
from aiogram.types import Chat as TgChat
from aiogram.types import User as TgUser

from bots.actions import Pressed, pressed
from bots.answers import OutboxAnswer, Receipts
from bots.commands import REGISTRY, AlreadyAnswered, Answer, Chat, Deps, Invocation, execute
from bots.commands.basics import group_intro
from bots.commands.format import unreachable
from bots.commands.registry import Command
from bots.commands.usage import answer_slot
from bots.notify import Progress
from bots.parsing import parse_text
from bots.reply import Action, Reply
from bots.telegram.admins import AdminCache
from bots.telegram.callbacks import ASK_MARK, keyboard
from bots.telegram.delivery import NO_PREVIEW, send_reply
from bots.telegram.group_day import GroupDays
from bots.telegram.notifier import classify
from bots.telegram.render import chunks
from core.groups.service import move_group, set_group_reachable
from core.messaging.replies import remember, target
from core.users.accounts import set_private_chat_reachable
from scheduler.limits import Limiter

log = logging.getLogger("habitbot.telegram")

PLATFORM = "telegram"
GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
EXPIRED = "This button has expired."
OPEN_CHAT = "🔒 Open a private chat with me"
ALERT_LIMIT = 200  # characters of a callback query's pop-up
START_PAYLOAD = "go"  # t.me/<bot>?start=go: the deep link that opens a private chat
# "/name", "/name@bot", then arguments; Telegram command names are [A-Za-z0-9_].
_COMMAND = re.compile(r"/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?=\s|$)(.*)", re.DOTALL)

# A reply the Bot API refuses for now is tried again at once if Telegram asks for a short wait,
# then left to the outbox; and never held on to longer than this, so that the outbox, which
# takes it over when its lease ends, cannot send it a second time.
WAIT_AT_MOST = 3.0
SEND_TIMEOUT = 10.0

Execute = Callable[..., Awaitable[Reply]]  # (deps, inv, answer=...) as bots.commands.execute


@dataclass
class Services:
    """What the handlers need, injected through the Dispatcher's workflow data."""

    deps: Deps
    admins: AdminCache = field(default_factory=AdminCache)
    receipts: Receipts | None = None  # None: replies are sent without being recorded first
    limiter: Limiter | None = None  # paces direct replies with the outbox's sends
    execute: Execute = execute  # tests may wrap it to watch Invocations
    group_days: GroupDays | None = None  # None: check-ins in groups are answered in full

    def answer(self, update: Update | None, chat: TgChat, user: TgUser) -> OutboxAnswer | None:
        """The durable answer to this update: recorded with the command's effects, keyed by
        the update, so a replay or a second process given the same update changes nothing."""
        if self.receipts is None or update is None:
            return None
        group = chat.type in GROUP_TYPES

        def chat_for(reply: Reply) -> str:
            return str(user.id) if reply.private and group else str(chat.id)

        return OutboxAnswer(PLATFORM, f"{PLATFORM}:{update.update_id}", chat_for)

    async def run(self, inv: Invocation, answer: Answer | None) -> Reply | None:
        """The command's reply, or None when the update was answered already."""
        try:
            if answer is None:
                return await self.execute(self.deps, inv)
            return await self.execute(self.deps, inv, answer=answer)
        except AlreadyAnswered:
            return None


def command_for_us(text: str, bot_username: str) -> str | None:
    """'/habit@ThisBot add Read' -> '/habit add Read'; None for another bot's command or text
    that is not a command."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    name, addressed, rest = match.groups()
    if addressed and addressed.lower() != bot_username.lower():
        return None
    if name.lower() == "start":
        rest = ""  # a deep-link payload (?start=go) is not an argument
    return f"/{name}{rest}"


def to_chat(chat: TgChat) -> Chat:
    if chat.type in GROUP_TYPES:
        return Chat("group", str(chat.id), title=chat.title or "")
    return Chat("private", str(chat.id))


async def invocation(
    bot: Bot,
    services: Services,
    chat: TgChat,
    user: TgUser,
    text: str,
    button: Pressed | None = None,
    plain: bool = False,
) -> Invocation:
    where = to_chat(chat)
    admin = where.kind == "group" and await services.admins.is_admin(bot, chat.id, user.id)
    return Invocation(
        PLATFORM,
        str(user.id),
        user.first_name,
        where,
        text=text,
        is_admin=admin,
        button=button is not None,
        button_owner=button.owner if button is not None else None,
        username=user.username,
        plain=plain,
    )


async def deliver(
    bot: Bot,
    services: Services,
    chat: TgChat,
    user: TgUser,
    reply: Reply,
    reply_to: int | None = None,
    answer: OutboxAnswer | None = None,
) -> None:
    """Answer where the command came from; private replies asked for in a group go to the
    user's private chat, with a short note (or a deep link) left in the group. Reminders set
    by someone the bot cannot write to privately come with the deep link too."""
    await _deliver(bot, services, chat, user, reply, reply_to, answer)
    if reply.reach == "missing":
        notice = unreachable().add("Open a private chat with me, and they will:")
        await bot.send_message(
            chat.id,
            chunks(notice)[0].html,
            parse_mode=ParseMode.HTML,
            reply_markup=await open_chat_button(bot),
            reply_parameters=_quote(reply_to),
        )


async def _deliver(
    bot: Bot,
    services: Services,
    chat: TgChat,
    user: TgUser,
    reply: Reply,
    reply_to: int | None,
    answer: OutboxAnswer | None,
) -> None:
    deps = services.deps
    if (
        reply.ack
        and reply_to
        and chat.type in GROUP_TYPES
        and await _react(bot, services, chat.id, reply_to, reply.ack)
    ):
        _delivered(services, answer)
        return
    if not (reply.private and chat.type in GROUP_TYPES):
        await _send(bot, services, chat.id, reply, reply_to, answer)
        return
    try:
        await _send(bot, services, user.id, reply, None, answer)
        note = Reply.text("🔒 I sent you the answer in our private chat.")
    except (TelegramForbiddenError, TelegramBadRequest) as error:
        if isinstance(error, TelegramBadRequest) and "chat not found" not in error.message:
            raise
        await bot.send_message(
            chat.id,
            "🔒 That answer is private, and I can't message you yet. Open a chat with me, "
            "then send the command again.",
            reply_markup=await open_chat_button(bot),
            reply_parameters=_quote(reply_to),
        )
        return
    await send_reply(bot, deps, chat.id, note, reply_to=reply_to)


async def _react(bot: Bot, services: Services, chat_id: int, message_id: int, emoji: str) -> bool:
    """Acknowledge a check-in in a group with a reaction on it, not a message, and bring the
    group's day message up to date soon. False when that is not possible: answer in full."""
    if services.group_days is None:
        return False
    if services.limiter is not None:  # a request like any other, but no message to the group
        await services.limiter.acquire(f"reaction:{chat_id}")
    try:
        await bot.set_message_reaction(chat_id, message_id, [ReactionTypeEmoji(emoji=emoji)])
    except (TimeoutError, TelegramAPIError, aiohttp.ClientError) as error:
        log.info("no reaction in %s (%s): answering with a message", chat_id, type(error).__name__)
        return False
    services.group_days.touch(chat_id)
    return True


async def _send(
    bot: Bot,
    services: Services,
    chat_id: int,
    reply: Reply,
    reply_to: int | None,
    answer: OutboxAnswer | None,
) -> None:
    """Send at once. A recorded answer that Telegram refuses for now (429, 5xx, a timeout) is
    tried again within a short retry_after, then handed to the outbox, which sends the parts
    that did not arrive; one refused for good is closed and the error raised."""
    receipts = services.receipts
    if answer is None or answer.outbox_id is None or receipts is None:
        await send_reply(bot, services.deps, chat_id, reply, reply_to=reply_to)
        return
    progress = Progress()
    wait, reason = 0.0, ""
    limiter = services.limiter
    try:
        if limiter is not None:
            wait = max(limiter.chat_wait(str(chat_id)), limiter.global_wait())
            if wait > WAIT_AT_MOST:  # this chat is asked to wait: the outbox will send it
                await receipts.hand_over(answer.outbox_id, wait, "waiting for the rate limit", 0)
                return
            await asyncio.sleep(wait)
            await limiter.acquire(str(chat_id))
        for _ in range(2):
            if not await receipts.keep(answer):
                return
            try:
                await asyncio.wait_for(
                    send_reply(bot, services.deps, chat_id, reply, reply_to, progress),
                    SEND_TIMEOUT,
                )
            except (TimeoutError, TelegramAPIError, aiohttp.ClientError) as error:
                failure = classify(error, bot.token)
                if failure.failure == "permanent":
                    await receipts.failed(answer.outbox_id, failure.reason)
                    raise
                wait, reason = failure.retry_after or 1.0, failure.reason
                if wait > WAIT_AT_MOST:
                    break
                await asyncio.sleep(wait)
            else:
                receipts.sent(answer.outbox_id)
                return
    except asyncio.CancelledError:  # stopping: the next start sends it, without waiting
        await asyncio.shield(receipts.hand_over(answer.outbox_id, 0, "stopped", progress.parts))
        raise
    log.info("reply to update %s left to the outbox: %s", answer.key, reason)
    await receipts.hand_over(answer.outbox_id, wait, reason, progress.parts)


async def open_chat_button(bot: Bot) -> InlineKeyboardMarkup:
    """The deep link that opens the user's private chat with the bot, as a button."""
    me = await bot.me()
    url = f"https://t.me/{me.username}?start={START_PAYLOAD}"
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=OPEN_CHAT, url=url)]])


def _quote(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def answer_press(
    bot: Bot,
    services: Services,
    query: CallbackQuery,
    message: Message,
    reply: Reply,
    answer: OutboxAnswer | None = None,
) -> None:
    """A pressed button's result replaces the message it sat on, keyboard included, when it
    fits one text message; an error is a pop-up and leaves the message as it was."""
    if reply.error:
        await query.answer(reply.plain()[:ALERT_LIMIT], show_alert=True)
        _delivered(services, answer)
        return
    await query.answer()
    private_elsewhere = reply.private and message.chat.type in GROUP_TYPES
    parts = chunks(reply)
    if private_elsewhere or reply.image or reply.files or len(parts) != 1 or message.text is None:
        await deliver(bot, services, message.chat, query.from_user, reply, answer=answer)
        if not private_elsewhere:  # the old keyboard would act on a stale list
            await bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
            )
        return
    await bot.edit_message_text(
        parts[0].html,
        chat_id=message.chat.id,
        message_id=message.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=await keyboard(services.deps, reply),
        link_preview_options=NO_PREVIEW,
    )
    _delivered(services, answer)


def _delivered(services: Services, answer: OutboxAnswer | None) -> None:
    """A recorded answer that reached the user some other way than as a new message."""
    if services.receipts is not None and answer is not None and answer.outbox_id is not None:
        services.receipts.sent(answer.outbox_id)


def build_router() -> Router:
    """A fresh router per Dispatcher (a router can belong to one parent only)."""
    router = Router(name="habitbot-telegram")

    # One message handler without filters: aiogram runs synchronous (magic) filters in a
    # thread each, which costs more than this whole routing.
    @router.message()
    async def on_message(
        message: Message, bot: Bot, services: Services, event_update: Update | None = None
    ) -> None:
        if message.migrate_to_chat_id is not None:  # the old group's last word
            await _move(services, message.chat.id, message.migrate_to_chat_id)
        elif message.migrate_from_chat_id is not None:  # the same move, seen from the new one
            await _move(services, message.migrate_from_chat_id, message.chat.id)
        elif message.text is not None:
            await _on_text(message, bot, services, event_update)
        elif message.reply_to_message is not None and message.chat.type == ChatType.PRIVATE:
            await _non_text_reply(message, bot, services)

    @router.callback_query()
    async def on_button(
        query: CallbackQuery, bot: Bot, services: Services, event_update: Update | None = None
    ) -> None:
        message = query.message
        button = await pressed(services.deps, query.data) if message is not None else None
        if not isinstance(message, Message) or button is None or query.from_user.is_bot:
            await query.answer(EXPIRED)
            return
        if button.text.endswith(ASK_MARK):  # a button asking for text: Telegram's ForceReply
            await _ask(bot, services, query, message, button)
            return
        inv = await invocation(bot, services, message.chat, query.from_user, button.text, button)
        answer = services.answer(event_update, message.chat, query.from_user)
        reply = await services.run(inv, answer)
        if reply is not None:
            await answer_press(bot, services, query, message, reply, answer)

    @router.my_chat_member()
    async def membership_changed(event: ChatMemberUpdated, bot: Bot, services: Services) -> None:
        """The bot was removed from or added to a group, or a user blocked or unblocked it in
        their private chat ("kicked" / "member"). Added to a group, it says what it does."""
        reachable = event.new_chat_member.status not in ("left", "kicked")
        joined = reachable and event.old_chat_member.status in ("left", "kicked")
        chat, group = str(event.chat.id), event.chat.type in GROUP_TYPES
        async with services.deps.db.session() as session:
            if group:
                await set_group_reachable(session, PLATFORM, chat, reachable)
            else:
                now = services.deps.clock.now()
                await set_private_chat_reachable(session, PLATFORM, chat, reachable, now)
        if group and not reachable:
            services.admins.forget(event.chat.id)
        if group and joined:
            await send_reply(bot, services.deps, event.chat.id, group_intro())

    @router.errors()
    async def on_error(event: ErrorEvent, bot: Bot) -> None:
        """Rendering or sending failed (command errors are already Replies): log with a
        reference and apologise where the update came from, if we still can."""
        ref = secrets.token_hex(3)
        update = event.update
        error = event.exception
        if isinstance(error, TelegramForbiddenError):
            log.info(
                "update %s: cannot write back (%s) (ref %s)", update.update_id, error.message, ref
            )
            return
        log.error("update %s failed (ref %s)", update.update_id, ref, exc_info=error)
        chat_id = None
        if update.message is not None:
            chat_id = update.message.chat.id
        elif update.callback_query is not None and update.callback_query.message is not None:
            chat_id = update.callback_query.message.chat.id
        if chat_id is None:
            return
        try:
            await bot.send_message(chat_id, f"Something went wrong (ref {ref}). Please try again.")
        except Exception as again:  # the apology is best effort; never loop on it
            log.warning("apology for ref %s not sent: %s", ref, type(again).__name__)

    return router


async def _move(services: Services, old: int | None, new: int | None) -> None:
    if old is None or new is None:
        return
    async with services.deps.db.session() as session:
        moved = await move_group(session, PLATFORM, str(old), str(new))
    services.admins.forget(old)
    if moved:
        log.info("group %s moved to %s", old, new)


async def _on_text(message: Message, bot: Bot, services: Services, update: Update | None) -> None:
    user = message.from_user
    if user is None or user.is_bot or message.sender_chat is not None:
        return  # other bots, anonymous admins and channels speaking in a group
    text = message.text or ""
    me = await bot.me()
    command = command_for_us(text, me.username or "")
    private = message.chat.type == ChatType.PRIVATE
    plain = False
    if command is None and private:
        # Not a command: an answer to the bot's question (/plan), or the executor explains
        # what commands look like; malformed ("/über"): the executor explains that too.
        if not text.startswith("/"):
            plain, command = True, text
        elif not _COMMAND.match(text):
            command = text
    if command is None:
        return  # in groups, only well-formed commands addressed to us get an answer
    inv = await invocation(bot, services, message.chat, user, command, plain=plain)
    if plain and message.reply_to_message is not None:  # a reply to a relayed DM, a prompt
        inv = await _answering(bot, services, message, inv) or inv
    answer = services.answer(update, message.chat, user)
    reply = await services.run(inv, answer)
    if reply is None:
        return
    quote = None if private else message.message_id
    await deliver(bot, services, message.chat, user, reply, reply_to=quote, answer=answer)


# ---------------------------------------------------------------- replies to the bot's messages

ASK_PROMPT = "✍️ Write your reply to this message."
TEXT_ONLY = "Only text can be sent for now: write your reply as text."


async def _target(
    bot: Bot, services: Services, message: Message
) -> tuple[Command, dict[str, str]] | None:
    """What a reply to one of the bot's messages runs: the message's recorded action (a
    relayed DM continues its conversation), with its own values; None for other messages."""
    quoted = message.reply_to_message
    me = await bot.me()
    if quoted is None or quoted.from_user is None or quoted.from_user.id != me.id:
        return None
    async with services.deps.db.session() as session:
        found = await target(session, PLATFORM, str(message.chat.id), str(quoted.message_id))
    if found is None:
        return None
    action = Action.decode(found[0])
    command = REGISTRY.get(action.command)
    if command is None:
        return None
    return command, parse_text(command, action.args)


async def _answering(
    bot: Bot, services: Services, message: Message, inv: Invocation
) -> Invocation | None:
    found = await _target(bot, services, message)
    if found is None:
        return None
    command, values = found
    slot = answer_slot(command, values)
    return replace(
        inv,
        text=None,
        plain=False,
        command=command.name,
        values={**values, slot: message.text or ""},
    )


async def _non_text_reply(message: Message, bot: Bot, services: Services) -> None:
    """A photo, sticker or file sent as a reply to a relayed message: refused, clearly."""
    if message.from_user is None or message.from_user.is_bot:
        return
    if await _target(bot, services, message) is not None:
        await bot.send_message(
            message.chat.id, TEXT_ONLY, reply_parameters=_quote(message.message_id)
        )


async def _ask(
    bot: Bot, services: Services, query: CallbackQuery, message: Message, button: Pressed
) -> None:
    """The person pressed a button that asks for text (Reply): a ForceReply prompt, whose
    reply runs the button's action with the text."""
    await query.answer()
    chat = message.chat.id if message.chat.type == ChatType.PRIVATE else query.from_user.id
    prompt = await bot.send_message(
        chat, ASK_PROMPT, reply_markup=ForceReply(input_field_placeholder="Your reply")
    )
    if button.owner is None:
        return
    text = button.text[: -len(ASK_MARK)].lstrip("/")
    found, used = REGISTRY.resolve(text.split())
    if found is None:
        return
    rest = text.split(None, used)
    action = Action(found.name, rest[used] if len(rest) > used else "")
    deps = services.deps
    async with deps.db.session() as session:
        await remember(
            session,
            PLATFORM,
            str(chat),
            [str(prompt.message_id)],
            action.encode(),
            button.owner,
            deps.clock.now(),
        )
