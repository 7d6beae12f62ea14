"""A small, faithful Telegram Bot API emulator (aiohttp) for end-to-end tests and benchmarks.

The bot under test talks plain HTTP to it (``/bot<TOKEN>/<method>``) exactly as it would to
api.telegram.org; the test drives users in-process through :class:`TelegramEmulator`.
Deliberately aiogram-free so it also catches client-side serialisation bugs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

# Form fields arrive as strings; these carry JSON-serialised objects (aiogram json-dumps them).
_JSON_KEYS = {"reply_markup", "reply_parameters", "entities", "caption_entities", "scope",
              "commands", "allowed_updates", "link_preview_options", "menu_button"}
_INT_KEYS = {"message_id", "user_id", "offset", "limit", "timeout", "reply_to_message_id",
             "message_thread_id", "cache_time"}
# Methods whose target chat must exist and must not have blocked/kicked the bot.
_CHAT_METHODS = {"sendmessage", "sendphoto", "senddocument", "editmessagetext",
                 "editmessagereplymarkup", "deletemessage", "sendchataction"}
_DEFAULT_EXCLUDED = {"chat_member", "message_reaction", "message_reaction_count"}
_ADMIN_RIGHTS = dict.fromkeys(
    ["can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
     "can_change_info", "can_invite_users", "can_pin_messages"], True) | dict.fromkeys(
    ["can_be_edited", "is_anonymous", "can_promote_members", "can_post_stories",
     "can_edit_stories", "can_delete_stories", "can_send_welcome_messages"], False)
_RESTRICTED = dict.fromkeys(
    ["can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
     "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
     "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
     "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages",
     "can_manage_topics"], False) | {"is_member": True, "until_date": 0}
_MEMBER_EXTRA: dict[str, JsonDict] = {
    "creator": {"is_anonymous": False}, "administrator": _ADMIN_RIGHTS, "member": {},
    "restricted": _RESTRICTED, "left": {}, "kicked": {"until_date": 0}}
_HTML_ENTITIES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic",
                  "u": "underline", "ins": "underline", "s": "strikethrough",
                  "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
                  "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
                  "blockquote": "blockquote"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


def _u16(s: str) -> int:  # Telegram entity offsets/lengths are in UTF-16 code units
    return len(s.encode("utf-16-le")) // 2


class _HtmlToEntities(HTMLParser):
    """Telegram's HTML parse_mode: visible text + entities; rejects what Telegram rejects."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[JsonDict] = []
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_ENTITIES:
            raise ApiError(400, "Bad Request: can't parse entities: "
                                f'Unsupported start tag "{tag}"')
        self.stack.append((tag, _u16(self.text), dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        _, start, attrs = self.stack.pop()
        ent: JsonDict = {"type": _HTML_ENTITIES[tag], "offset": start,
                         "length": _u16(self.text) - start}
        if tag == "a":
            ent["url"] = attrs.get("href") or ""
        if ent["length"]:
            self.entities.append(ent)

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(raw: str) -> tuple[str, list[JsonDict]]:
    if re.search(r"<(?![A-Za-z/])", raw):
        raise ApiError(400, "Bad Request: can't parse entities: Unsupported start tag")
    p = _HtmlToEntities()
    p.feed(raw)
    p.close()
    if p.stack:
        raise ApiError(400, "Bad Request: can't parse entities: Can't find end tag "
                            f'corresponding to start tag "{p.stack[-1][0]}"')
    return p.text, sorted(p.entities, key=lambda e: e["offset"])


def _png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return 320, 240


class TelegramEmulator:
    def __init__(self, token: str = "123456:TEST", bot_username: str = "habit_test_bot", *,
                 rate_limits: bool = False, global_per_sec: int = 30,
                 per_chat_interval: float = 1.0, group_per_min: int = 20,
                 rate_slack: float = 0.05, strict_chats: bool = True) -> None:
        self.token = token
        self.bot_user: JsonDict = {
            "id": int(token.split(":")[0]), "is_bot": True, "first_name": "Habitbot",
            "username": bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.rate_limits, self.global_per_sec = rate_limits, global_per_sec
        self.per_chat_interval, self.group_per_min = per_chat_interval, group_per_min
        self.rate_slack = rate_slack  # seconds forgiven for network/scheduler jitter
        self.strict_chats = strict_chats  # False: any chat_id is accepted (fan-out benchmarks)
        self.send_delay = 0.0  # seconds each send takes to answer: a slow Bot API
        self.base_url = ""
        # Public, test-readable state.
        self.sent: list[JsonDict] = []
        self.calls: list[tuple[str, JsonDict]] = []
        self.commands: dict[str, list[JsonDict]] = {}
        self.menu_buttons: dict[str, JsonDict] = {}  # chat id ("" for the default) -> button
        self.callback_answers: list[JsonDict] = []
        self.received: dict[int, list[JsonDict]] = {}  # accepted sends per chat id
        self.deleted: list[tuple[int, int]] = []
        self.files: dict[str, bytes] = {}
        self.stats: Counter[str] = Counter()
        self.users: dict[int, JsonDict] = {self.bot_user["id"]: self.bot_user}
        self.chats: dict[int, JsonDict] = {}
        self.webhook_url = ""
        # Internal state.
        self._updates: list[JsonDict] = []
        self._update_ids = itertools.count(1)
        self._msg_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._blocked: set[int] = set()
        self._left: set[int] = set()
        self._callbacks: set[str] = set()
        # Per method, what its next calls do: an error to return, or None to answer normally.
        self._faults: dict[str, list[tuple[int, str, int | None] | None]] = {}
        self._allowed: set[str] | None = None
        self._down_until = -math.inf  # monotonic time an outage ends (see outage())
        self._down_status = 500
        self._poll_gen = 0
        self._wake = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._closing = False
        self.reactions: list[JsonDict] = []  # setMessageReaction calls that succeeded
        self._global_win: deque[float] = deque()
        self._chat_last: dict[int, float] = {}
        self._group_win: dict[int, deque[float]] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ---------------------------------------------------------------- lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client abandoning a long poll must not leave a zombie waiter.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        self._closing = True
        self._notify_pollers()
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---------------------------------------------------------------- test-side API
    def user(self, user_id: int, first_name: str, username: str | None = None) -> JsonDict:
        u: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            u["username"] = username
        self.users[user_id] = u
        self.chats.setdefault(user_id, {"id": user_id, "type": "private", "first_name": first_name,
                                        **({"username": username} if username else {})})
        return u

    def add_chat(self, chat: JsonDict) -> JsonDict:
        self.chats[chat["id"]] = chat
        return chat

    def send_text(self, user: JsonDict, text: str, chat: JsonDict | None = None,
                  reply_to: int | None = None) -> JsonDict:
        chat = chat or self.chats.get(user["id"]) or self.user(user["id"], user["first_name"])
        self.add_chat(chat)
        msg = self._new_message(chat, user, text=text)
        if m := re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": _u16(m.group())}]
        if reply_to is not None:
            msg["reply_to_message"] = self._messages.get(
                (chat["id"], reply_to), {"message_id": reply_to, "date": msg["date"], "chat": chat})
        return self.push_update({"message": msg})

    def press_button(self, user: JsonDict, message: JsonDict, callback_data: str) -> JsonDict:
        # Accept a `sent` record or a Message dict; always deliver the message's current state.
        chat_id = message.get("chat_id") or message["chat"]["id"]
        msg = self._messages.get((chat_id, message["message_id"]), message.get("message", message))
        qid = str(next(self._ids) * 7919 + 10**15)
        self._callbacks.add(qid)
        return self.push_update({"callback_query": {
            "id": qid, "from": user, "message": msg, "data": callback_data,
            "chat_instance": str(abs(hash((chat_id, self.token))))}})

    def push_update(self, update: JsonDict) -> JsonDict:
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        else:  # keep ids monotonic if the test supplies its own
            self._update_ids = itertools.count(max(update["update_id"] + 1, next(self._update_ids)))
        for value in update.values():  # remember chats/users/messages so replies work
            if isinstance(value, dict):
                for obj in (value, value.get("message")):
                    if isinstance(obj, dict) and isinstance(obj.get("chat"), dict):
                        self.chats.setdefault(obj["chat"]["id"], obj["chat"])
                        if "message_id" in obj:
                            self._messages.setdefault((obj["chat"]["id"], obj["message_id"]), obj)
                if isinstance(value.get("from"), dict):
                    self.users.setdefault(value["from"]["id"], value["from"])
        self._updates.append(update)
        self._notify_pollers()
        return update

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        if status not in _MEMBER_EXTRA:
            raise ValueError(f"unknown ChatMember status {status!r}")
        self._members[(chat_id, user_id)] = status

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def fail_next(self, method: str, status: int, description: str,
                  retry_after: int | None = None, times: int = 1, after: int = 0) -> None:
        """Fail the next `times` calls of `method`, once `after` more have gone through."""
        self._faults.setdefault(method.lower(), []).extend(
            [None] * after + [(status, description, retry_after)] * times)

    def outage(self, seconds: float, status: int = 500) -> None:
        """Answer every request with `status` for the next `seconds` (the API is down);
        stats["outage"] counts the requests that arrived meanwhile."""
        self._down_until, self._down_status = time.monotonic() + seconds, status

    def reset_stats(self) -> None:
        self.stats.clear()
        self.received.clear()
        self._global_win.clear()
        self._chat_last.clear()
        self._group_win.clear()
        self.reactions.clear()

    @property
    def pending_updates(self) -> list[JsonDict]:
        return list(self._updates)

    async def wait_for(self, predicate: Callable[[JsonDict], bool], timeout: float = 10,
                       *, start: int = 0) -> JsonDict:
        """First `sent` record (from index `start`) matching predicate, waiting if needed."""
        deadline = time.monotonic() + timeout
        i = start
        while True:
            for rec in self.sent[i:]:
                if predicate(rec):
                    return rec
            i = max(i, len(self.sent))  # a start beyond what was sent stays where it is
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = "\n".join(f"  {r['method']} chat={r.get('chat_id')} "
                                 f"{(r.get('text') or r.get('caption') or '')[:80]!r}"
                                 for r in self.sent[start:]) or "  (nothing)"
                raise TimeoutError(f"no matching message within {timeout}s; bot sent:\n{seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_event.wait(), remaining)

    # ---------------------------------------------------------------- HTTP layer
    async def _handle(self, request: web.Request) -> web.Response:
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", request.path)
        if not m:
            return self._error(ApiError(404, "Not Found"))
        if time.monotonic() < self._down_until:
            self.stats["outage"] += 1
            return self._error(ApiError(self._down_status, "Internal Server Error"))
        if m.group(1) != self.token:
            return self._error(ApiError(401, "Unauthorized"))
        method = m.group(2)
        try:
            params = await self._read_params(request)
        except (ValueError, json.JSONDecodeError) as e:
            return self._error(ApiError(400, f"Bad Request: can't parse request: {e}"))
        self.calls.append((method, {k: v for k, v in params.items() if k != "_files"}))
        self.stats["calls"] += 1
        try:
            if (faults := self._faults.get(method.lower())) and (fault := faults.pop(0)):
                status, desc, retry = fault
                raise ApiError(status, desc, retry)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method.lower() in _CHAT_METHODS:
                if self.send_delay and method.lower().startswith("send"):
                    await asyncio.sleep(self.send_delay)
                params["chat_id"] = self._check_chat(params.get("chat_id"))
            result = await handler(params)
        except ApiError as e:
            return self._error(e)
        return web.json_response({"ok": True, "result": result})

    def _error(self, e: ApiError) -> web.Response:
        body: JsonDict = {"ok": False, "error_code": e.code, "description": e.description}
        if e.retry_after is not None:
            body["parameters"] = {"retry_after": e.retry_after}
        if e.code == 429:
            self.stats["429"] += 1
        return web.json_response(body, status=e.code)

    async def _read_params(self, request: web.Request) -> JsonDict:
        raw: JsonDict = dict(request.query)
        if request.content_type == "application/json":
            raw.update(await request.json() if request.can_read_body else {})
        elif request.can_read_body:
            files: dict[str, bytes] = {}
            names: dict[str, str] = {}
            for k, v in (await request.post()).items():
                if isinstance(v, web.FileField):  # multipart upload part
                    files[k] = v.file.read()
                    names[k] = v.filename
                else:
                    raw[k] = v
            raw["_files"], raw["_filenames"] = files, names
        out: JsonDict = {}
        for k, v in raw.items():
            if isinstance(v, str):
                if k in _JSON_KEYS:
                    v = json.loads(v)
                elif k in _INT_KEYS or (k == "chat_id" and re.fullmatch(r"-?\d+", v)):
                    v = int(v)
                elif v in ("true", "false"):
                    v = v == "true"
            out[k] = v
        return out

    # ---------------------------------------------------------------- helpers
    def _notify_pollers(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _check_chat(self, chat_id: Any) -> int:
        if isinstance(chat_id, str):  # "@username" addressing
            found = [c for c in self.chats.values() if "@" + str(c.get("username")) == chat_id]
            if not found:
                raise ApiError(400, "Bad Request: chat not found")
            chat_id = found[0]["id"]
        if chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if chat_id not in self.chats:
            if self.strict_chats:
                raise ApiError(400, "Bad Request: chat not found")
            self.chats[chat_id] = ({"id": chat_id, "type": "private", "first_name": f"U{chat_id}"}
                                   if chat_id > 0 else
                                   {"id": chat_id, "type": "supergroup", "title": f"G{chat_id}"})
        kind = self.chats[chat_id]["type"]
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user" if kind == "private"
                           else f"Forbidden: bot was kicked from the {kind} chat")
        if chat_id in self._left:
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat_id

    def _rate_check(self, chat_id: int, message: bool = True) -> None:
        """Telegram's limits: about 30 requests a second overall, and for messages (sent or
        edited) one a second per private chat and 20 a minute per group."""
        now, slack = time.monotonic(), self.rate_slack
        win = self._global_win
        while win and win[0] <= now - (1.0 - slack):
            win.popleft()
        waits: list[float] = []
        if len(win) >= self.global_per_sec:
            waits.append(win[0] + 1.0 - now)
            self.stats["429 overall"] += 1
        if not message:
            pass
        elif chat_id > 0:
            last = self._chat_last.get(chat_id)
            if last is not None and now - last < self.per_chat_interval - slack:
                waits.append(last + self.per_chat_interval - now)
                self.stats["429 chat"] += 1
        else:
            gw = self._group_win.setdefault(chat_id, deque())
            while gw and gw[0] <= now - (60.0 - slack):
                gw.popleft()
            if len(gw) >= self.group_per_min:
                waits.append(gw[0] + 60.0 - now)
                self.stats["429 group"] += 1
        if waits:
            n = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {n}", n)
        win.append(now)
        if not message:
            return
        self._chat_last[chat_id] = now
        if chat_id < 0:
            self._group_win[chat_id].append(now)

    def _new_message(self, chat: JsonDict, sender: JsonDict, **fields: Any) -> JsonDict:
        counter = self._msg_ids.setdefault(chat["id"], itertools.count(1))
        msg = {"message_id": next(counter), "from": sender, "chat": chat,
               "date": int(time.time()), **fields}
        self._messages[(chat["id"], msg["message_id"])] = msg
        return msg

    def _record(self, method: str, msg: JsonDict, params: JsonDict, **extra: Any) -> None:
        rec = {"method": method, "chat_id": msg["chat"]["id"], "message_id": msg["message_id"],
               "text": msg.get("text"), "caption": msg.get("caption"),
               "reply_markup": params.get("reply_markup"), "parse_mode": params.get("parse_mode"),
               "time": time.monotonic(), "message": msg, **extra}
        self.sent.append(rec)
        if method.startswith("send"):
            self.stats["sent"] += 1
            self.received.setdefault(rec["chat_id"], []).append(rec)
        self._sent_event.set()
        self._sent_event = asyncio.Event()

    def _formatted(self, params: JsonDict, key: str, ent_key: str) -> JsonDict:
        raw = params.get(key)
        if raw is None or raw == "":
            return {}
        if (params.get("parse_mode") or "").lower() == "html":
            text, entities = parse_html(raw)
        else:  # Markdown modes are passed through unparsed
            text, entities = raw, params.get(ent_key) or []
        out: JsonDict = {key: text}
        if entities:
            out[ent_key] = entities
        return out

    def _reply_fields(self, chat_id: int, params: JsonDict) -> JsonDict:
        rp = params.get("reply_parameters") or {}
        reply_id = rp.get("message_id") or params.get("reply_to_message_id")
        out: JsonDict = {}
        if reply_id:
            target = self._messages.get((rp.get("chat_id", chat_id), reply_id))
            if target:
                out["reply_to_message"] = {k: v for k, v in target.items()
                                           if k != "reply_to_message"}
            elif not (rp.get("allow_sending_without_reply")
                      or params.get("allow_sending_without_reply")):
                raise ApiError(400, "Bad Request: message to be replied not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            for button in (b for row in markup["inline_keyboard"] for b in row):
                kinds = [k for k in ("callback_data", "url", "web_app") if k in button]
                if len(kinds) != 1:
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
                if kinds == ["web_app"] and (
                    chat_id < 0 or not button["web_app"].get("url", "").startswith("https://")
                ):  # Mini App buttons: private chats and https only
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
            out["reply_markup"] = markup  # Message.reply_markup only ever echoes inline keyboards
        return out

    def _bot_message(self, params: JsonDict) -> JsonDict:
        key = (params["chat_id"], params.get("message_id"))
        msg = self._messages.get(key)
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    # ---------------------------------------------------------------- Bot API methods
    async def _m_getme(self, p: JsonDict) -> JsonDict:
        return self.bot_user

    async def _m_getupdates(self, p: JsonDict) -> list[JsonDict]:
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active;"
                                " use deleteWebhook to delete the webhook first")
        if "allowed_updates" in p:  # persists across calls, like Telegram
            self._allowed = set(p["allowed_updates"]) or None
        self._poll_gen += 1
        self._notify_pollers()  # a newer getUpdates terminates the older one with 409
        gen, offset = self._poll_gen, p.get("offset", 0)
        limit = min(max(p.get("limit", 100), 1), 100)
        deadline = time.monotonic() + p.get("timeout", 0)
        while True:
            if offset > 0:  # confirm everything below offset
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            batch = self._updates[offset:] if offset < 0 else self._updates
            if batch or self._closing:
                return batch[:limit]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            wake = self._wake
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), remaining)
            if gen != self._poll_gen:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")

    def _is_allowed(self, update: JsonDict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        return kind in self._allowed if self._allowed else kind not in _DEFAULT_EXCLUDED

    async def _m_setwebhook(self, p: JsonDict) -> bool:
        self.webhook_url = p.get("url", "")
        self._notify_pollers()
        return True

    async def _m_deletewebhook(self, p: JsonDict) -> bool:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getwebhookinfo(self, p: JsonDict) -> JsonDict:
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    @staticmethod
    def _scope_key(p: JsonDict) -> str:
        scope = p.get("scope") or {"type": "default"}
        key = ":".join(str(scope[k]) for k in ("type", "chat_id", "user_id") if k in scope)
        return key + (f"/{p['language_code']}" if p.get("language_code") else "")

    async def _m_setmycommands(self, p: JsonDict) -> bool:
        cmds = p.get("commands") or []
        for c in cmds:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", c.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(c.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        self.commands[self._scope_key(p)] = cmds
        return True

    async def _m_setchatmenubutton(self, p: JsonDict) -> bool:
        button = p.get("menu_button") or {"type": "default"}
        if button.get("type") == "web_app":
            url = (button.get("web_app") or {}).get("url", "")
            if not url.startswith("https://"):  # Telegram opens Mini Apps from https only
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            if not 1 <= len(button.get("text", "")) <= 64:
                raise ApiError(400, "Bad Request: menu button text is empty")
        self.menu_buttons[str(p.get("chat_id") or "")] = button
        return True

    async def _m_deletemycommands(self, p: JsonDict) -> bool:
        self.commands.pop(self._scope_key(p), None)
        return True

    async def _m_getmycommands(self, p: JsonDict) -> list[JsonDict]:
        return self.commands.get(self._scope_key(p), [])

    async def _m_sendmessage(self, p: JsonDict) -> JsonDict:
        body = self._formatted(p, "text", "entities")
        if not body.get("text", "").strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(body["text"]) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        extra = self._reply_fields(p["chat_id"], p)
        if self.rate_limits:
            self._rate_check(p["chat_id"])
        msg = self._new_message(self.chats[p["chat_id"]], self.bot_user, **body, **extra)
        self._record("sendMessage", msg, p)
        return msg

    async def _m_sendphoto(self, p: JsonDict) -> JsonDict:
        photo, files = p.get("photo"), p.get("_files", {})
        if isinstance(photo, str) and photo.startswith("attach://"):
            photo = files.get(photo[len("attach://"):])
        elif photo is None:
            photo = files.get("photo")  # raw Bot API convention: file part named "photo"
        if isinstance(photo, bytes):
            fid = f"AgAC{next(self._ids):08d}"
            self.files[fid] = photo
            w, h = _png_size(photo)
            scale = min(1.0, 90 / max(w, h, 1))
            sizes = [{"file_id": fid + s, "file_unique_id": f"AQAD{fid}{s}", "width": sw,
                      "height": sh, "file_size": len(photo)}
                     for s, sw, sh in (("t", max(1, int(w * scale)), max(1, int(h * scale))),
                                       ("", w, h))]
        elif isinstance(photo, str) and photo:
            known = [m["photo"] for m in self._messages.values()
                     if m.get("photo") and m["photo"][-1]["file_id"] == photo]
            if not known and not photo.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
            sizes = known[0] if known else [{"file_id": f"AgAU{next(self._ids):08d}",
                                             "file_unique_id": photo[-16:], "width": 320,
                                             "height": 240}]
        else:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        body = self._formatted(p, "caption", "caption_entities")
        extra = self._reply_fields(p["chat_id"], p)
        if self.rate_limits:
            self._rate_check(p["chat_id"])
        msg = self._new_message(self.chats[p["chat_id"]], self.bot_user, photo=sizes,
                                **body, **extra)
        self._record("sendPhoto", msg, p, photo=sizes[-1]["file_id"])
        return msg

    async def _m_senddocument(self, p: JsonDict) -> JsonDict:
        document, files = p.get("document"), p.get("_files", {})
        key = "document"
        if isinstance(document, str) and document.startswith("attach://"):
            key = document[len("attach://"):]
        document = files.get(key)
        if not isinstance(document, bytes):
            raise ApiError(400, "Bad Request: there is no document in the request")
        if len(document) > 50 * 1024 * 1024:
            raise ApiError(400, "Bad Request: file is too big")
        fid = f"BQAC{next(self._ids):08d}"
        self.files[fid] = document
        name = p.get("_filenames", {}).get(key) or "document"
        body = self._formatted(p, "caption", "caption_entities")
        extra = self._reply_fields(p["chat_id"], p)
        if self.rate_limits:
            self._rate_check(p["chat_id"])
        doc = {"file_id": fid, "file_unique_id": f"AgAD{fid}", "file_name": name,
               "file_size": len(document)}
        msg = self._new_message(self.chats[p["chat_id"]], self.bot_user, document=doc,
                                **body, **extra)
        self._record("sendDocument", msg, p, document=fid, file_name=name)
        return msg

    async def _m_editmessagetext(self, p: JsonDict) -> JsonDict:
        msg = self._bot_message(p)
        body = self._formatted(p, "text", "entities")
        if not body.get("text", "").strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._reply_fields(p["chat_id"], {"reply_markup": p.get("reply_markup")})
        if (body.get("text"), body.get("entities"), markup.get("reply_markup")) == (
                msg.get("text"), msg.get("entities"), msg.get("reply_markup")):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        if self.rate_limits:
            self._rate_check(p["chat_id"])
        # Omitting reply_markup on edit removes the inline keyboard, as on real Telegram.
        for k in ("entities", "reply_markup"):
            msg.pop(k, None)
        msg.update(body, **markup, edit_date=int(time.time()))
        self._record("editMessageText", msg, p)
        return msg

    async def _m_editmessagereplymarkup(self, p: JsonDict) -> JsonDict:
        msg = self._bot_message(p)
        markup = self._reply_fields(p["chat_id"], {"reply_markup": p.get("reply_markup")})
        if markup.get("reply_markup") == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        msg.pop("reply_markup", None)
        msg.update(markup, edit_date=int(time.time()))
        self._record("editMessageReplyMarkup", msg, p)
        return msg

    # The reactions a bot may set (Telegram's ReactionTypeEmoji list, in part).
    REACTIONS = frozenset("👍 👎 ❤ 🔥 🥰 👏 😁 🤔 🤯 😱 🎉 🤩 🙏 👌 💯 🏆 ⚡ 🤝 ✍ 🫡 😎 👀".split())

    async def _m_setmessagereaction(self, p: JsonDict) -> bool:
        chat_id = self._check_chat(p.get("chat_id"))
        if (chat_id, p.get("message_id")) not in self._messages:
            raise ApiError(400, "Bad Request: message to react not found")
        reaction = p.get("reaction") or []
        if isinstance(reaction, str):
            reaction = json.loads(reaction)
        for r in reaction:
            if r.get("type") != "emoji" or r.get("emoji") not in self.REACTIONS:
                raise ApiError(400, "Bad Request: REACTION_INVALID")
        if self.rate_limits:
            self._rate_check(chat_id, message=False)
        self.reactions.append(
            {"chat_id": chat_id, "message_id": p["message_id"], "reaction": reaction,
             "time": time.monotonic()})
        return True

    async def _m_deletemessage(self, p: JsonDict) -> bool:
        if self._messages.pop((p["chat_id"], p.get("message_id")), None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append((p["chat_id"], p["message_id"]))
        return True

    async def _m_answercallbackquery(self, p: JsonDict) -> bool:
        if str(p.get("callback_query_id")) not in self._callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        self._callbacks.discard(str(p["callback_query_id"]))
        self.callback_answers.append(p)
        return True

    async def _m_sendchataction(self, p: JsonDict) -> bool:
        return True

    async def _m_getchat(self, p: JsonDict) -> JsonDict:
        chat = self.chats[self._check_chat_exists(p.get("chat_id"))]
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": dict.fromkeys(
                    ["unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                     "gifts_from_channels"], False)}

    def _check_chat_exists(self, chat_id: Any) -> int:
        if isinstance(chat_id, str) or chat_id not in self.chats:
            return self._check_chat(chat_id)  # resolves @username / raises chat not found
        return chat_id

    async def _m_getchatmember(self, p: JsonDict) -> JsonDict:
        chat_id, uid = self._check_chat_exists(p.get("chat_id")), p.get("user_id")
        if not isinstance(uid, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        user = self.users.get(uid) or {"id": uid, "is_bot": False, "first_name": f"User{uid}"}
        status = self._members.get((chat_id, uid), "member")
        return {"status": status, "user": user, **_MEMBER_EXTRA[status]}

    async def _m_leavechat(self, p: JsonDict) -> bool:
        self._left.add(self._check_chat_exists(p.get("chat_id")))
        return True
