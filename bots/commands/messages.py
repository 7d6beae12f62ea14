"""/dm, /dm delete, /inbox, /chat: direct messages relayed through the bot, and how a
relayed message reads (the outbox's "dm" rows) on every platform."""

from __future__ import annotations

import re
from typing import Any

from bots.commands.context import Ctx
from bots.commands.registry import Arg, command
from bots.commands.usage import cmd
from bots.notifications import renders
from bots.reply import Action, Button, Reply, bold, italic
from core.clock import local_now
from core.errors import NotFound
from core.messaging import service
from core.messaging.rules import MAX_PEOPLE, MAX_TEXT
from core.storage import cipher

CONVERSATION = Arg(
    "conversation",
    "the conversation's number, as /inbox shows it",
    "word",
    required=True,
    max_length=24,
)
TEXT = Arg("text", f"your message (at most {MAX_TEXT:,} characters)", "text", max_length=MAX_TEXT)
PAGE = Arg("page", "page number (1 is the newest)", "int", keyword=True, min=1, max=1000)
REPLY_ASK = "Your reply"

# Chat text as typed: "/dm[@bot] [send] <to> <message...>" and "/chat <id> <message...>".
_DM_TYPED = re.compile(r"^\s*/\S+(?:\s+send(?=\s))?\s+\S+(?:\s+|$)(.*)$", re.DOTALL | re.I)
_CHAT_TYPED = re.compile(r"^\s*/\S+\s+\S+(?:\s+|$)(.*)$", re.DOTALL)
_HANDLE_WORD = re.compile(r"@[A-Za-z0-9_]+")


def _typed(ctx: Ctx, pattern: re.Pattern[str]) -> str | None:
    """The message exactly as written (line breaks, quotes, "=" and all): chat text is read
    again from what was typed, a typed platform's option is taken as sent."""
    inv = ctx.inv
    if inv.command is None and inv.text and not inv.button:
        found = pattern.match(inv.text)
        return found.group(1) if found else None
    return ctx.raw.get("text")


def _number(text: str, what: str = "conversation") -> int:
    bare = text.strip().lstrip("#")
    if not (bare.isascii() and bare.isdigit()) or len(bare) > 18:
        raise NotFound(f"There is no {what} #{bare[:20]}.")
    return int(bare)


def _sent_reply(sent: service.Sent) -> Reply:
    names = ", ".join(f"@{h}" for h in sent.delivered)
    reply = Reply()
    if sent.delivered:
        where = f" (conversation #{sent.conversation_id})" if sent.group else ""
        reply.add(f"✉️ Sent to {names}{where}.")
    for handle in sent.waiting:
        reply.add(
            f"⏳ @{handle} can't be reached yet: they'll get it when they next open the bot. "
            "I'll tell you when it arrives."
        )
    if sent.refused:
        reply.add(
            f"It could not be delivered to {sent.refused} member"
            f"{'s' if sent.refused != 1 else ''} of the conversation."
        )
    return reply.button_row(
        Button("💬 Conversation", Action("chat", str(sent.conversation_id))),
        Button("🗑 Delete for me", Action("dm delete", f"#{sent.message_id}")),
    )


@command(
    "dm send",
    f"Message someone privately through the bot; name up to {MAX_PEOPLE - 1} for a group",
    Arg(
        "to",
        "their @handle (several for a group: @ann @bob)",
        "word",
        required=True,
        max_length=400,
        complete="person",
    ),
    Arg(
        "text",
        f"your message (at most {MAX_TEXT:,} characters)",
        "text",
        required=True,
        max_length=MAX_TEXT,
    ),
    default=True,
    private=True,
    examples=("/dm @ann Morning run tomorrow?", "/dm @ann @bob Who is in for Saturday?"),
    details=(
        "They get it in their private chat with the bot, on Telegram and Discord alike, "
        "with a Reply button; on Telegram, replying to it answers too.",
        "Who may start one with you: the dms setting (everyone, following: people you follow, "
        "or nobody). People you blocked, or who blocked you, can't.",
    ),
)
async def dm_send(ctx: Ctx, args: dict[str, Any]) -> Reply:
    handles = args["to"].replace(",", " ").split()
    text = _typed(ctx, _DM_TYPED)
    text = args["text"] if text is None else text
    # "/dm @ann @bob hi": the handles after the first are at the start of the message.
    while match := _HANDLE_WORD.match(text.lstrip()):
        handles.append(match.group(0))
        text = text.lstrip()[match.end() :]
    sent = await service.start(ctx.session, ctx.user, handles, text, ctx.now)
    ctx.queued = bool(sent.delivered)
    return _sent_reply(sent)


@command(
    "dm delete",
    "Delete a message for yourself (the others keep it)",
    Arg("message", "the message's number (#12)", "word", required=True, max_length=24),
    private=True,
    examples=("/dm delete #12",),
)
async def dm_delete(ctx: Ctx, args: dict[str, Any]) -> Reply:
    message_id = _number(args["message"], "message")
    conversation_id = await service.hide(ctx.session, ctx.user.id, message_id)
    return Reply.text(
        f"🗑 Message #{message_id} deleted for you; the others in the conversation keep it."
    ).button_row(Button("💬 Conversation", Action("chat", str(conversation_id))))


@command(
    "inbox",
    "Your conversations, newest first, with unread counts",
    Arg("page", "page number", "int", min=1, max=1000),
    private=True,
)
async def inbox(ctx: Ctx, args: dict[str, Any]) -> Reply:
    page = int(args.get("page", 1))
    items, more = await service.inbox(ctx.session, ctx.user.id, page)
    if not items:
        if page > 1:
            return Reply.text(f"There is no page {page}. ", cmd("inbox"), error=True)
        return Reply.text("No conversations yet. Start one: ", cmd("dm send", "@handle", "<text>"))
    reply = Reply.text(bold(f"📥 Conversations (page {page})"))
    for item in items:
        who = ", ".join(f"@{n}" for n in item.names) or "nobody else"
        when = local_now(item.last_at, ctx.user.timezone).strftime("%d %b %H:%M")
        unread = f" · {item.unread} unread" if item.unread else ""
        left = " · you left" if item.left else ""
        reply.bullet(
            bold(f"#{item.conversation_id}"), f" {who}", italic(f" · {when}{unread}{left}")
        )
        label = f"💬 #{item.conversation_id} {who}"[:38] + (
            f" ({item.unread})" if item.unread else ""
        )
        reply.button_row(Button(label, Action("chat", str(item.conversation_id))))
    reply.add("Open one: ", cmd("chat", "<conversation>"))
    nav = []
    if page > 1:
        nav.append(Button("◀ Newer", Action("inbox", str(page - 1))))
    if more:
        nav.append(Button("Older ▶", Action("inbox", str(page + 1))))
    return reply.button_row(*nav)


@command(
    "chat",
    "Read a conversation (marks it read), write to it, or leave it",
    CONVERSATION,
    TEXT,
    PAGE,
    private=True,
    examples=("/chat 12", "/chat 12 See you at 7!", "/chat 12 leave", "/chat 12 delete"),
    details=(
        "leave: you get no more of its messages; delete: it is gone for you, the others keep it.",
    ),
)
async def chat(ctx: Ctx, args: dict[str, Any]) -> Reply:
    conversation_id = _number(args["conversation"])
    text = _typed(ctx, _CHAT_TYPED) if "text" in args else None
    word = (text or "").strip().lower()
    if word == "leave":
        await service.leave(ctx.session, ctx.user.id, conversation_id, ctx.now)
        return Reply.text(f"You left conversation #{conversation_id}; its messages stop coming.")
    if word == "delete":
        hidden = await service.clear(ctx.session, ctx.user.id, conversation_id)
        return Reply.text(
            f"🗑 Conversation #{conversation_id} deleted for you ({hidden} message"
            f"{'s' if hidden != 1 else ''}); the others keep it."
        )
    if text is not None and text.strip():
        sent = await service.write(ctx.session, conversation_id, ctx.user, text, ctx.now)
        ctx.queued = bool(sent.delivered)
        return _sent_reply(sent)
    return _page(
        ctx, await service.read(ctx.session, ctx.user.id, conversation_id, int(args.get("page", 1)))
    )


def _page(ctx: Ctx, shown: service.ChatPage) -> Reply:
    cid = shown.conversation_id
    who = ", ".join(f"@{n}" for n in shown.names) or "nobody else"
    reply = Reply.text(bold(f"💬 #{cid} with {who}"), *([" (you left)"] if shown.left else []))
    reply.sealed = True  # the messages: its recorded copy is encrypted too
    if not shown.messages:
        reply.add("No messages here." if shown.page == 1 else "No older messages.")
    for message in shown.messages:
        when = local_now(message.at, ctx.user.timezone).strftime("%d %b %H:%M")
        sender = "you" if message.mine else f"@{message.sender}"
        reply.add(bold(sender), italic(f" · {when} · #{message.id}"))
        for line in message.text.split("\n"):
            reply.add(line)
    if not shown.left:
        reply.button_row(Button("↩️ Reply", Action("chat", str(cid)), ask=REPLY_ASK))
        reply.answer_to = Action("chat", str(cid))  # Telegram: reply to this message to answer
        reply.add("Write: ", cmd("chat", cid, "<text>"))
    nav = []
    if shown.more:
        nav.append(Button("◀ Older", Action("chat", f"{cid} page={shown.page + 1}")))
    if shown.page > 1:
        nav.append(Button("Newer ▶", Action("chat", f"{cid} page={shown.page - 1}")))
    return reply.button_row(*nav)


# ------------------------------------------------------------------ what the outbox sends


@renders(service.KIND)
def _relayed(data: dict[str, Any]) -> Reply:
    """A relayed message, decrypted only now, on its way out (the row holds the token)."""
    text = cipher.current().decrypt(data["body"], f"message {data['message_id']}")
    cid = data["conversation_id"]
    reader = data.get("reader")
    others = [m for m in data.get("members") or [] if m not in (data["sender"], reader)]
    head = [bold(f"💬 @{data['sender']}")]
    if others:
        head.append(f" in #{cid} with you, " + ", ".join(f"@{m}" for m in others))
    reply = Reply(private=True).add(*head, italic(f" · #{data['message_id']}"))
    for line in text.split("\n"):
        reply.add(line)
    reply.answer_to = Action("chat", str(cid))
    reply.button_row(
        Button("↩️ Reply", Action("chat", str(cid)), ask=REPLY_ASK),
        Button("💬 Conversation", Action("chat", str(cid))),
    )
    return reply.button_row(
        Button("🗑 Delete for me", Action("dm delete", f"#{data['message_id']}")),
        Button("🚩 Report", Action("report", f"@{data['sender']}")),
    )


@renders("dm_delivered")
def _delivered(data: dict[str, Any]) -> Reply:
    return Reply.text(
        f"✉️ @{data['handle']} got your message #{data['message_id']} now."
    ).button_row(Button("💬 Conversation", Action("chat", str(data["conversation_id"]))))
