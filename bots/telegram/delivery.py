"""Sending one rendered Reply to one chat: text chunks, an optional photo, an inline keyboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.types import (
    BufferedInputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)

from bots.commands import Deps
from bots.notify import Progress
from bots.reply import Reply
from bots.telegram.callbacks import keyboard
from bots.telegram.render import CAPTION_LIMIT, chunks
from core.messaging.replies import remember

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
EMPTY_TEXT = "👇"  # Telegram rejects empty messages; a keyboard alone needs some text


async def send_reply(
    bot: Bot,
    deps: Deps,
    chat_id: int | str,
    reply: Reply,
    reply_to: int | None = None,
    progress: Progress | None = None,
) -> list[Message]:
    """Send `reply`; the first message quotes `reply_to`, the keyboard rides on the last one.

    With an image, the first text chunk becomes its caption when it fits; otherwise the photo
    goes first and the text follows; files follow as documents. With `progress`, the first
    `progress.parts` messages are taken as delivered already and each one sent is counted there.
    """
    progress = progress or Progress()
    markup = await keyboard(deps, reply)
    parts = chunks(reply)
    texts = [c.html for c in parts]
    calls: list[Callable[..., Awaitable[Message]]] = []
    if reply.image:
        caption = texts.pop(0) if parts and parts[0].length <= CAPTION_LIMIT else None
        photo = BufferedInputFile(reply.image, reply.image_name)
        calls.append(
            partial(
                bot.send_photo,
                chat_id,
                photo,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup if not texts else None,
            )
        )
    elif not texts and markup is not None:
        texts = [EMPTY_TEXT]
    for i, text in enumerate(texts):
        calls.append(
            partial(
                bot.send_message,
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if i == len(texts) - 1 else None,
                link_preview_options=NO_PREVIEW,
            )
        )
    for file in reply.files:  # documents after the text they belong to
        document = BufferedInputFile(file.data, file.name)
        calls.append(partial(bot.send_document, chat_id, document))
    quote = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    sent: list[Message] = []
    for call in calls[progress.parts :]:
        sent.append(await call(reply_parameters=quote if progress.parts == 0 else None))
        progress.parts += 1
    if reply.answer_to is not None and reply.owner is not None and sent:
        # A reply to any of these messages runs the action (a relayed DM: its conversation).
        async with deps.db.session() as session:
            await remember(
                session,
                "telegram",
                str(chat_id),
                [str(m.message_id) for m in sent],
                reply.answer_to.encode(),
                reply.owner,
                deps.clock.now(),
            )
    return sent
