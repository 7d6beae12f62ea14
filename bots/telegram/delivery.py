"""Sending one rendered Reply to one chat: text chunks, an optional photo, an inline keyboard."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.types import (
    BufferedInputFile,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)

from bots.commands import Deps
from bots.reply import Reply
from bots.telegram.callbacks import keyboard
from bots.telegram.render import CAPTION_LIMIT, chunks

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
EMPTY_TEXT = "👇"  # Telegram rejects empty messages; a keyboard alone needs some text


async def send_reply(
    bot: Bot,
    deps: Deps,
    chat_id: int | str,
    reply: Reply,
    reply_to: int | None = None,
) -> list[Message]:
    """Send `reply`; the first message quotes `reply_to`, the keyboard rides on the last one.

    With an image, the first text chunk becomes its caption when it fits; otherwise the photo
    goes first and the text follows.
    """
    markup = await keyboard(deps, reply)
    parts = chunks(reply)
    texts = [c.html for c in parts]
    quote = (
        ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        if reply_to is not None
        else None
    )
    sent: list[Message] = []
    if reply.image:
        caption = texts.pop(0) if parts and parts[0].length <= CAPTION_LIMIT else None
        sent.append(
            await bot.send_photo(
                chat_id,
                BufferedInputFile(reply.image, reply.image_name),
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                reply_markup=markup if not texts else None,
                reply_parameters=quote,
            )
        )
        quote = None
    elif not texts and markup is not None:
        texts = [EMPTY_TEXT]
    for i, text in enumerate(texts):
        sent.append(
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if i == len(texts) - 1 else None,
                reply_parameters=quote,
                link_preview_options=NO_PREVIEW,
            )
        )
        quote = None
    return sent
