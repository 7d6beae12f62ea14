"""Offline Discord emulator for discord.py 2.7: feed gateway payloads in, capture HTTP out.

Why it hooks where it does:

* Every request discord.py makes goes through ONE object, ``client.http._HTTPClient__session``:
  ``HTTPClient.request`` (REST) uses it, and so does ``AsyncWebhookAdapter.request`` (interaction
  callbacks, followups, @original edits) because ``Interaction._session`` and
  ``Webhook.from_state`` borrow the HTTP client's session. A fake aiohttp session there keeps all
  of discord.py's request code live (JSON/multipart encoding, status -> exception mapping, the
  429/5xx retry loops), per client, without patching the process-wide webhook adapter.
* ``start()`` runs the real ``Client.login`` (only ``static_login`` is swapped, on the instance, to
  install the fake session), so ``setup_hook`` runs; then READY goes through ``parse_ready``.
* Interactions go through ``ConnectionState.parse_interaction_create``: types 2/4 ->
  ``CommandTree._from_interaction`` (the tree registers itself as ``_connection._command_tree``),
  type 3 -> ``ViewStore.dispatch_view`` (+ DynamicItem patterns), type 5 -> ``dispatch_modal``.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import logging
import mimetypes
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.http
import discord.webhook.async_
from discord.http import Route
from multidict import CIMultiDict

Payload = dict[str, Any]
Options = Sequence[Payload] | Mapping[str, Any] | None
Files = Sequence[tuple[str, bytes]]

_SEQ = itertools.count(1)  # process-wide: ids never collide across harness "restarts"
CDN = "https://cdn.discordapp.com"
ATTACHMENT_LIMIT = 10 * 1024 * 1024


def snowflake() -> int:
    """Fresh snowflake stamped 'now' (Interaction.is_expired/created_at read the timestamp)."""
    return discord.utils.time_snowflake(discord.utils.utcnow()) + next(_SEQ) % 4096


def _now() -> str:
    return discord.utils.utcnow().isoformat()


class _RetryClock:
    """Replaces the ``asyncio`` name inside discord.http and discord.webhook.async_ so their retry
    sleeps (429 ``retry_after``, 5xx backoff ``1 + 2*try`` s) are scaled; the rest is asyncio."""

    scale = 0.0
    users = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        return await asyncio.sleep(delay * _RetryClock.scale, result)


_CLOCK = _RetryClock()
_CLOCK_MODULES = (discord.http, discord.webhook.async_)


class _FakeResponse:
    """The part of aiohttp.ClientResponse discord.py reads (json_or_text, HTTPException)."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.reason = http.HTTPStatus(status).phrase if status in _STATUSES else ""
        self.headers: CIMultiDict[str] = CIMultiDict(headers or {})
        if body is None or isinstance(body, bytes):
            self._raw = body or b""
        else:
            self._raw = json.dumps(body).encode()
            self.headers.setdefault("content-type", "application/json")

    async def text(self, encoding: str = "utf-8") -> str:
        return self._raw.decode(encoding)

    async def read(self) -> bytes:
        return self._raw


_STATUSES = {s.value for s in http.HTTPStatus}


class _FakeCall:
    def __init__(self, harness: DiscordHarness, method: str, url: str, kw: dict[str, Any]) -> None:
        self._harness, self._args = harness, (method, str(url), kw)

    async def __aenter__(self) -> _FakeResponse:
        return await self._harness._handle(*self._args)

    async def __aexit__(self, *exc: object) -> None:
        return None


class _FakeSession:
    """Stands in for HTTPClient's aiohttp.ClientSession; nothing reaches the network."""

    def __init__(self, harness: DiscordHarness) -> None:
        self._harness = harness
        self.closed = False

    def request(self, method: str, url: str, **kw: Any) -> _FakeCall:
        return _FakeCall(self._harness, method, url, kw)

    def get(self, url: str, **kw: Any) -> _FakeCall:  # get_from_cdn, i.e. Attachment.read()
        return _FakeCall(self._harness, "GET", url, kw)

    async def ws_connect(self, *_: Any, **__: Any) -> Any:
        raise RuntimeError("DiscordHarness does not emulate the gateway websocket")

    async def close(self) -> None:
        self.closed = True


class _ErrorLog(logging.Handler):
    def __init__(self, sink: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record)


@dataclass
class InteractionResult:
    """What one fed interaction produced while its handler tasks ran."""

    payload: Payload  # the INTERACTION_CREATE payload that was fed
    interaction: discord.Interaction | None  # the object discord.py built from it
    responses: list[Payload] = field(default_factory=list)
    errors: list[logging.LogRecord] = field(default_factory=list)  # 'discord.*' ERROR logs
    done: bool = True  # False: handler tasks were still running at the timeout

    @property
    def response(self) -> Payload | None:
        """The interaction callback record (callback types 4-9), if one was sent."""
        return next((r for r in self.responses if r["kind"] == "interaction_response"), None)

    @property
    def type(self) -> int | None:
        return self.response["type"] if self.response else None

    @property
    def content(self) -> str | None:
        return self.response["content"] if self.response else None

    @property
    def embeds(self) -> list[Payload]:
        return list((self.response or {}).get("embeds") or [])

    @property
    def shown(self) -> str:
        """What a person reads: the content and each embed's title, body and fields."""
        parts = [self.content or ""]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
        return "\n".join(p for p in parts if p)

    @property
    def followups(self) -> list[Payload]:
        return [r for r in self.responses if r["kind"] == "followup"]


@dataclass
class _Failure:
    status: int
    body: Any
    headers: dict[str, str]
    times: int
    path: re.Pattern[str] | None
    include_webhooks: bool


class DiscordHarness:
    """Drive a real discord.Client / commands.Bot offline (see the module docstring)."""

    def __init__(
        self,
        client: discord.Client,
        *,
        application_id: int = 1000,
        bot_user_id: int = 1000,
        bot_name: str = "Habitbot",
        retry_delay_scale: float = 0.0,
    ) -> None:
        self.client = client
        self.application_id = application_id
        self.retry_delay_scale = retry_delay_scale
        self.responses: list[Payload] = []  # every outgoing call, in order (see _handle)
        self.errors: list[logging.LogRecord] = []
        self.messages: dict[int, Payload] = {}  # messages the fake API created/edited
        self.channels: dict[int, Payload] = {}
        self.users: dict[int, Payload] = {}  # served by GET /users/{id}
        self.stubs: list[tuple[str, re.Pattern[str], Any]] = []
        self.bot_user: Payload = self.user(bot_user_id, bot_name)
        self.bot_user |= {"bot": True, "verified": True, "mfa_enabled": False, "flags": 0}
        self._failures: list[_Failure] = []
        self._interactions: dict[str, Payload] = {}  # token -> fed payload
        self._live: dict[int, discord.Interaction] = {}  # interaction id -> discord.py object
        self._original: dict[str, int] = {}  # token -> @original message id
        self._dm_by_user: dict[int, int] = {}
        self._command_ids: dict[tuple[str, int | None], int] = {}
        self._files: dict[str, bytes] = {}  # attachment url -> bytes (Attachment.read())
        self._unseen: list[Payload] = []  # records not yet handed out by feed()/wait_responses()
        self._changed = asyncio.Event()
        self._quiet = False
        self._log_handler = _ErrorLog(self.errors)
        self._orig_dispatch: Callable[..., Any] | None = None
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    async def start(self, *, run_setup_hook: bool = True, timeout: float = 5.0) -> None:
        client, state = self.client, self.client._connection
        logging.getLogger("discord").addHandler(self._log_handler)
        _RetryClock.scale = self.retry_delay_scale
        if _RetryClock.users == 0:
            for mod in _CLOCK_MODULES:
                mod.asyncio = _CLOCK  # type: ignore[attr-defined]
        _RetryClock.users += 1
        self._started = True

        async def static_login(token: str) -> Any:  # HTTPClient.static_login minus aiohttp
            client.http._HTTPClient__session = _FakeSession(self)  # type: ignore[attr-defined]
            client.http._global_over = asyncio.Event()
            client.http._global_over.set()
            client.http.token = token
            return await client.http.request(Route("GET", "/users/@me"))

        client.http.static_login = static_login  # type: ignore[method-assign]
        state._chunk_guilds = False  # GUILD_CREATE must never ask the gateway for member chunks
        if not run_setup_hook:
            client.setup_hook = _noop  # type: ignore[method-assign]
        self._quiet = True  # login's GET /users/@me + /oauth2/applications/@me go unrecorded
        try:
            await client.login("harness.bot.token")
        finally:
            self._quiet = False
            client.__dict__.pop("setup_hook", None)
        self.application_id = client.application_id or self.application_id

        orig = self._orig_dispatch = state.dispatch

        def dispatch(event: str, *args: Any, **kwargs: Any) -> Any:  # keep Interaction objects
            if event == "interaction" and args:
                self._live[args[0].id] = args[0]
            return orig(event, *args, **kwargs)

        state.dispatch = dispatch
        ready = {
            "v": 10, "user": self.bot_user, "guilds": [], "session_id": "harness",
            "resume_gateway_url": "wss://gateway.invalid", "private_channels": [],
            "application": {"id": str(self.application_id), "flags": 0},
        }  # fmt: skip
        # _delay_ready waits guild_ready_timeout (2 s) for GUILD_CREATEs; READY has no guilds here.
        saved, state.guild_ready_timeout = state.guild_ready_timeout, 0.0
        try:
            await self._feed(lambda: state.parse_ready(ready), timeout)  # + on_ready tasks
            await asyncio.wait_for(client.wait_until_ready(), timeout)
        finally:
            state.guild_ready_timeout = saved
        self._unseen.clear()  # setup_hook/on_ready calls stay in .responses / .calls()

    async def close(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            await self.client.close()
        finally:
            if self._orig_dispatch is not None:
                self.client._connection.dispatch = self._orig_dispatch
            logging.getLogger("discord").removeHandler(self._log_handler)
            _RetryClock.users -= 1
            if _RetryClock.users == 0:
                for mod in _CLOCK_MODULES:
                    mod.asyncio = asyncio  # type: ignore[attr-defined]

    async def __aenter__(self) -> DiscordHarness:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ payload builders
    def user(self, user_id: int, name: str) -> Payload:
        """A USER object; also registered so GET /users/{id} (client.fetch_user) finds it."""
        data = {
            "id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": False, "system": False, "public_flags": 0,
        }  # fmt: skip
        self.users[user_id] = data
        return data

    def add_guild(
        self,
        guild_id: int,
        name: str,
        owner_id: int,
        channel_ids: Sequence[int] | None = None,
        *,
        joined: bool = False,
        everyone: int | None = None,
        system_channel: int | None = None,
    ) -> Payload:
        """Feed GUILD_CREATE; text channels 'chan-<id>', by default one with id guild_id + 1.
        ``joined``: the bot was just added (no "unavailable" key: discord.py's guild_join);
        ``everyone``: the @everyone role's permissions (default: the general ones)."""
        ids = channel_ids or [guild_id + 1]
        channels = [self._guild_channel(cid, guild_id, i) for i, cid in enumerate(ids)]
        self.channels |= {int(ch["id"]): ch for ch in channels}
        everyone = {
            "id": str(guild_id), "name": "@everyone", "position": 0, "color": 0, "hoist": False,
            "managed": False, "mentionable": False, "flags": 0,
            "permissions": str(
                discord.Permissions.general().value if everyone is None else everyone
            ),
        }  # fmt: skip
        me = {"user": self.bot_user, "roles": [], "joined_at": _now(), "flags": 0}
        data: Payload = {
            "id": str(guild_id), "name": name, "icon": None, "owner_id": str(owner_id),
            "features": [], "roles": [everyone], "emojis": [], "stickers": [],
            "channels": channels, "threads": [], "members": [me], "member_count": 2,
            "large": False, "unavailable": False, "joined_at": _now(), "preferred_locale": "en-US",
            "afk_timeout": 300, "verification_level": 0, "mfa_level": 0, "premium_tier": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "nsfw_level": 0,
            "system_channel_flags": 0, "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        }  # fmt: skip
        if joined:
            del data["unavailable"]
        if system_channel is not None:
            data["system_channel_id"] = str(system_channel)
        self.client._connection.parse_guild_create(data)
        return data

    def _guild_channel(self, channel_id: int, guild_id: int, position: int = 0) -> Payload:
        known = self.channels.get(channel_id)
        if known is not None and known.get("guild_id") == str(guild_id):
            return known
        return {
            "id": str(channel_id), "type": 0, "guild_id": str(guild_id), "position": position,
            "name": f"chan-{channel_id}", "permission_overwrites": [], "nsfw": False,
            "topic": None, "rate_limit_per_user": 0, "parent_id": None, "last_message_id": None,
            "flags": 0,
        }  # fmt: skip

    def _dm_channel(self, user: Payload, channel_id: int | None = None) -> Payload:
        uid = int(user["id"])
        cid = self._dm_by_user.setdefault(uid, channel_id or snowflake())
        ch = {"id": str(cid), "type": 1, "recipients": [user], "last_message_id": None, "flags": 0}
        self.channels[cid] = ch
        return ch

    def _default_channel(self, guild_id: int) -> int:
        guild = self.client.get_guild(guild_id)
        return guild.text_channels[0].id if guild and guild.text_channels else guild_id + 1

    def interaction_payload(
        self,
        itype: int,
        user: Payload,
        data: Payload | None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int = 0,
        app_permissions: int | None = None,
        locale: str = "en-US",
        message: Payload | None = None,
    ) -> Payload:
        """A raw INTERACTION_CREATE payload (guild: ``member``; DM: ``user``)."""
        iid = snowflake()
        perms = discord.Permissions.all().value if app_permissions is None else app_permissions
        p: Payload = {
            "id": str(iid), "application_id": str(self.application_id), "type": itype,
            "token": f"harness-interaction-token-{iid}", "version": 1, "locale": locale,
            "entitlements": [], "attachment_size_limit": ATTACHMENT_LIMIT,
            "app_permissions": str(perms),
        }  # fmt: skip
        if data is not None:
            p["data"] = data
        if guild_id is not None:
            channel = self._guild_channel(channel_id or self._default_channel(guild_id), guild_id)
            # Discord resolves roles + channel overwrites server-side; discord.py only reads
            # member.permissions into Interaction.permissions.
            member = {
                "user": user, "roles": [], "permissions": str(member_permissions),
                "joined_at": _now(), "deaf": False, "mute": False, "flags": 0, "pending": False,
                "nick": None, "avatar": None, "premium_since": None,
                "communication_disabled_until": None,
            }  # fmt: skip
            p |= {
                "guild_id": str(guild_id), "guild_locale": "en-US", "context": 0, "member": member,
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "authorizing_integration_owners": {"0": str(guild_id)},
            }  # fmt: skip
        else:
            known = self.channels.get(channel_id) if channel_id else None
            channel = known or self._dm_channel(user, channel_id)
            p |= {"user": user, "context": 1, "authorizing_integration_owners": {"0": "0"}}
        p |= {"channel_id": channel["id"], "channel": channel}
        if message is not None:
            p["message"] = message
        return p

    def message(
        self,
        channel_id: int,
        content: str = "",
        *,
        custom_ids: Sequence[str] = (),
        author: Payload | None = None,
        **extra: Any,
    ) -> Payload:
        """A MESSAGE object, e.g. one 'sent before a restart' carrying buttons with custom_ids."""
        buttons = [
            {"type": 2, "style": 1, "label": cid[:80], "custom_id": cid, "disabled": False}
            for cid in custom_ids
        ]
        rows = [{"type": 1, "components": buttons}] if buttons else []
        body = {"content": content, "components": rows, **extra}
        return self._make_message(channel_id, body, author=author)

    def _make_message(
        self,
        channel_id: int | str,
        body: Mapping[str, Any],
        files: Files = (),
        *,
        author: Payload | None = None,
        msg_type: int = 0,
        message_id: int | None = None,
    ) -> Payload:
        mid = message_id or snowflake()
        attachments = []
        for name, data in files:
            aid = snowflake()
            url = f"{CDN}/attachments/{channel_id}/{aid}/{name}"
            self._files[url] = data
            ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
            attachments.append({
                "id": str(aid), "filename": name, "size": len(data), "url": url,
                "proxy_url": url, "content_type": ctype,
            })  # fmt: skip
        msg: Payload = {
            "id": str(mid), "channel_id": str(channel_id), "author": author or self.bot_user,
            "content": body.get("content") or "", "timestamp": _now(), "edited_timestamp": None,
            "tts": bool(body.get("tts")), "mention_everyone": False, "mentions": [],
            "mention_roles": [], "attachments": attachments, "embeds": body.get("embeds") or [],
            "components": body.get("components") or [], "pinned": False, "type": msg_type,
            "flags": int(body.get("flags") or 0),
        }  # fmt: skip
        skip = {"allowed_mentions", "attachments", "poll"}
        msg |= {k: v for k, v in body.items() if k not in msg and k not in skip}
        self.messages[mid] = msg
        return msg

    # ------------------------------------------------------------------ interactions
    async def slash(
        self,
        user: Payload,
        name: str,
        options: Options = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int = 0,
        command_id: int | None = None,
        resolved: Payload | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,
    ) -> InteractionResult:
        """Type 2 APPLICATION_COMMAND; "habit add" nests SUB_COMMAND(_GROUP) options."""
        data = self._command_data(name, options, guild_id, command_id, resolved)
        payload = self.interaction_payload(
            2, user, data, guild_id=guild_id, channel_id=channel_id, locale=locale,
            member_permissions=member_permissions, app_permissions=app_permissions,
        )  # fmt: skip
        return await self.feed(payload, timeout=timeout)

    async def autocomplete(
        self,
        user: Payload,
        name: str,
        options: Options,
        *,
        focused: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int = 0,
        command_id: int | None = None,
        timeout: float = 5.0,
    ) -> list[Payload]:
        """Type 4 APPLICATION_COMMAND_AUTOCOMPLETE -> the choices of the type-8 callback.
        Mark the option being typed with ``focused=name`` or ``{"focused": True}``."""
        opts = self._options(options, {})
        for o in opts:
            if o["name"] == focused:
                o["focused"] = True
        data = self._command_data(name, opts, guild_id, command_id, None)
        payload = self.interaction_payload(
            4, user, data, guild_id=guild_id, channel_id=channel_id,
            member_permissions=member_permissions,
        )  # fmt: skip
        result = await self.feed(payload, timeout=timeout)
        if result.response is None or result.type != 8:
            raise AssertionError(f"no autocomplete result: {result.responses} {result.errors}")
        return result.response["payload"]["data"]["choices"]

    async def click(
        self,
        user: Payload,
        custom_id: str,
        *,
        message: Payload | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int = 0,
        component_type: int = 2,
        values: Sequence[str] | None = None,
        timeout: float = 5.0,
    ) -> InteractionResult:
        """Type 3 MESSAGE_COMPONENT. Without ``message`` a bot message holding that button is
        made up; DynamicItems only fire if ``message['components']`` has the component."""
        payload = self.interaction_payload(
            3, user, None, guild_id=guild_id, channel_id=channel_id,
            member_permissions=member_permissions,
        )  # fmt: skip
        if message is None:
            ids = [custom_id] if component_type == 2 else []
            message = self.message(int(payload["channel_id"]), custom_ids=ids)
        data: Payload = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = list(values)
        payload |= {"data": data, "message": message}
        return await self.feed(payload, timeout=timeout)

    async def select(
        self, user: Payload, custom_id: str, values: Sequence[str], **kw: Any
    ) -> InteractionResult:
        """Type 3 with component_type 3 (string select)."""
        return await self.click(user, custom_id, component_type=3, values=values, **kw)

    async def submit_modal(
        self,
        user: Payload,
        custom_id: str,
        fields: Mapping[str, str],
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int = 0,
        message: Payload | None = None,
        timeout: float = 5.0,
    ) -> InteractionResult:
        """Type 5 MODAL_SUBMIT; fields = {text input custom_id: value}. discord.py only routes
        modals this client object sent (ViewStore._modals, filled by send_modal)."""
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]}
            for k, v in fields.items()
        ]
        payload = self.interaction_payload(
            5, user, {"custom_id": custom_id, "components": rows}, guild_id=guild_id,
            channel_id=channel_id, member_permissions=member_permissions, message=message,
        )  # fmt: skip
        return await self.feed(payload, timeout=timeout)

    async def feed(self, payload: Payload, *, timeout: float = 5.0) -> InteractionResult:
        """Dispatch a raw INTERACTION_CREATE payload, wait (<= timeout) for its handler tasks."""
        self._interactions[payload["token"]] = payload
        start, err_start = len(self.responses), len(self.errors)
        state = self.client._connection
        done = await self._feed(lambda: state.parse_interaction_create(payload), timeout)
        # Ours: this token's calls + untokened REST/CDN calls made meanwhile. Calls of OTHER
        # interactions that resumed meanwhile stay queued for wait_responses().
        iid = int(payload["id"])
        mine = [r for r in self.responses[start:] if r.get("interaction_id") in (None, iid)]
        taken = {id(r) for r in mine}
        self._unseen = [r for r in self._unseen if id(r) not in taken]
        return InteractionResult(payload, self._live.get(iid), mine, self.errors[err_start:], done)

    async def _feed(self, fn: Callable[[], None], timeout: float) -> bool:
        # parse_* schedules every handler synchronously as a task (CommandTree-invoker,
        # view/modal/dynamic-item dispatch, on_* events): wait for exactly those.
        before = asyncio.all_tasks()
        fn()
        new = asyncio.all_tasks() - before
        pending: set[asyncio.Task[Any]] = set()
        if new:
            _, pending = await asyncio.wait(new, timeout=timeout)
        await asyncio.sleep(0)
        return not pending

    def _command_data(
        self,
        name: str,
        options: Options,
        guild_id: int | None,
        command_id: int | None,
        resolved: Payload | None,
    ) -> Payload:
        root, *subs = name.split()
        res: Payload = dict(resolved or {})
        opts = self._options(options, res, guild_id)
        if len(subs) > 2:
            raise ValueError(f"at most 'group sub command': {name!r}")
        for i, sub in enumerate(reversed(subs)):  # innermost SUB_COMMAND (1), then GROUP (2)
            opts = [{"type": 1 + i, "name": sub, "options": opts}]
        tree = self.client._connection._command_tree
        scoped = bool(guild_id and tree and tree.get_command(root, guild=discord.Object(guild_id)))
        key = (root, guild_id if scoped else None)
        cid = command_id or self._command_ids.setdefault(key, snowflake())
        data: Payload = {"id": str(cid), "name": root, "type": 1, "options": opts}
        if scoped:
            data["guild_id"] = str(guild_id)  # only guild-registered commands carry it
        if res:
            data["resolved"] = res
        return data

    def _options(
        self, options: Options, resolved: Payload, guild_id: int | None = None
    ) -> list[Payload]:
        if isinstance(options, Mapping):
            options = [{"name": k, "value": v} for k, v in options.items()]
        out = []
        for o in map(dict, options or []):
            v = o.get("value")
            if "type" not in o:  # bool is an int, so test it first
                kinds = ((bool, 5), (int, 4), (float, 10), (dict, 6))
                o["type"] = next((t for cls, t in kinds if isinstance(v, cls)), 3)
            if o["type"] in (6, 9) and isinstance(v, dict):  # USER payload -> id + resolved
                resolved.setdefault("users", {})[v["id"]] = v
                if guild_id is not None:
                    member = {"roles": [], "joined_at": _now(), "flags": 0, "permissions": "0"}
                    resolved.setdefault("members", {})[v["id"]] = member
                o["value"] = v["id"]
            out.append(o)
        return out

    # ------------------------------------------------------------------ capture API
    async def wait_responses(
        self, n: int = 1, timeout: float = 5.0, *, kind: str | None = None
    ) -> list[Payload]:
        """Wait for n records (of ``kind``, if given) not yet handed out by an interaction's
        result or an earlier wait_responses(); returns them in arrival order."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        def ready() -> list[Payload]:
            return [r for r in self._unseen if kind is None or r["kind"] == kind][:n]

        while len(ready()) < n:
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"wanted {n} new responses, have {self._unseen}")
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass
        got = ready()
        taken = {id(r) for r in got}
        self._unseen = [r for r in self._unseen if id(r) not in taken]
        return got

    def fail_next_http(
        self,
        status: int,
        json: Any = None,
        times: int = 1,
        *,
        headers: Mapping[str, str] | None = None,
        path: str | None = None,
        include_webhooks: bool = False,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``; discord.py's own code maps
        it: 403 Forbidden, 404 NotFound, other 4xx HTTPException; 5xx is retried (5 tries) then
        DiscordServerError; 429 sleeps retry_after and retries (5 tries) then HTTPException, or
        raises RateLimited at once if retry_after > client.http.max_ratelimit_timeout.
        ``path``: regex searched in "METHOD /path". REST only, unless include_webhooks
        (then also interaction callbacks, followups/webhook routes and CDN reads)."""
        body = json if json is not None else {"message": http.HTTPStatus(status).phrase, "code": 0}
        hdrs = dict(headers or {})
        if status == 429 and isinstance(body, dict):
            body = {"message": "You are being rate limited.", "retry_after": 1.0, **body}
            body.setdefault("global", False)
            if headers is None:  # no Via header = Cloudflare ban to discord.py: no retry
                hdrs = {"Via": "1.1 google", "Retry-After": str(body["retry_after"])}
        pattern = re.compile(path) if path else None
        self._failures.append(_Failure(status, body, hdrs, times, pattern, include_webhooks))

    def stub(self, method: str, path: str, response: Any) -> None:
        """Override the fake API: METHOD + path regex -> JSON, or callable(record) -> JSON."""
        self.stubs.insert(0, (method.upper(), re.compile(path), response))

    def calls(
        self, kind: str | None = None, method: str | None = None, path: str | None = None
    ) -> list[Payload]:
        """Filter ``responses`` (path is a regex)."""
        return [
            r
            for r in self.responses
            if (kind is None or r["kind"] == kind)
            and (method is None or r["method"] == method)
            and (path is None or re.search(path, r["path"]))
        ]

    # ------------------------------------------------------------------ fake Discord API
    async def _handle(self, method: str, url: str, kw: dict[str, Any]) -> _FakeResponse:
        path = url.removeprefix(Route.BASE)
        body, files = _decode(kw.get("data"))
        kind = "cdn" if url.startswith(CDN) else _kind(method, path)
        rec: Payload = {
            "kind": kind, "method": method, "path": path, "params": kw.get("params"),
            "payload": body, "files": files, "type": None,
        }  # fmt: skip
        data = body if isinstance(body, dict) else {}
        if kind == "interaction_response":  # {"type": callback type, "data": message-ish}
            rec["type"] = data.get("type")
            data = data.get("data") or {}
        for k in ("content", "embeds", "components", "flags"):
            rec[k] = data.get(k)
        inter = self._interactions.get(_token(path) or "")
        if inter is not None:
            rec["interaction_id"] = int(inter["id"])

        failure = self._take_failure(kind, method, path)
        headers: dict[str, str] = {}
        if failure is not None:
            status, out, headers = failure.status, failure.body, failure.headers
        elif kind == "cdn":  # Attachment.read() of a file uploaded through the fake API
            status, out = (200, self._files[url]) if url in self._files else (404, b"")
        else:
            status, out = self._answer(method, path, body, files, rec)
        rec |= {"status": status, "response": out, "message": None}
        if isinstance(out, dict) and "author" in out and "channel_id" in out and status < 300:
            rec["message"] = out
        elif isinstance(out, dict) and isinstance(out.get("resource"), dict):
            rec["message"] = out["resource"].get("message")
        if not (self._quiet and method == "GET"):
            self.responses.append(rec)
            self._unseen.append(rec)
            self._changed.set()
        await asyncio.sleep(0)  # a real request yields to the loop too
        return _FakeResponse(status, out, headers)

    def _take_failure(self, kind: str, method: str, path: str) -> _Failure | None:
        for f in self._failures:
            if (kind == "http" or f.include_webhooks) and (
                f.path is None or f.path.search(f"{method} {path}")
            ):
                f.times -= 1
                if f.times <= 0:
                    self._failures.remove(f)
                return f
        return None

    def _answer(
        self, method: str, path: str, body: Any, files: Files, rec: Payload
    ) -> tuple[int, Any]:
        for m, pattern, resp in self.stubs:
            if m == method and pattern.search(path):
                return 200, resp(rec) if callable(resp) else resp
        raw, body = body, body if isinstance(body, dict) else {}
        seg = path.strip("/").split("/")
        if method == "DELETE" or (method == "PUT" and "reactions" in seg) or seg[-1] == "typing":
            return 204, None
        if seg[0] == "interactions" and seg[-1] == "callback":
            return self._callback(seg[1], seg[2], body, files)
        if seg[0] == "webhooks":
            return self._webhook(method, seg, body, files)
        match method, seg:
            case "GET", ["users", "@me"]:
                return 200, self.bot_user
            case "GET", ["oauth2", "applications", "@me"]:
                return 200, self._app_info()
            case "GET", ["users", uid]:
                user = self.users.get(int(uid))
                return (200, user) if user else (404, {"message": "Unknown User", "code": 10013})
            case "POST", ["users", "@me", "channels"]:
                uid = int(body["recipient_id"])
                return 200, self._dm_channel(self.users.get(uid) or self.user(uid, f"user{uid}"))
            case "GET", ["channels", cid]:
                ch = self.channels.get(int(cid))
                return (200, ch) if ch else (404, {"message": "Unknown Channel", "code": 10003})
            case "POST", ["channels", cid, "messages"]:
                return 200, self._make_message(cid, body, files)
            case ("GET" | "PATCH"), ["channels", _, "messages", mid]:
                return self._edit(int(mid), body if method == "PATCH" else None, files)
            case "PUT", ["applications", _, *rest] if rest[-1:] == ["commands"]:
                gid = int(rest[1]) if rest[:1] == ["guilds"] else None
                return 200, [self._command_echo(c, gid) for c in raw or []]
            case "GET", ["applications", _, *rest] if rest[-1:] == ["commands"]:
                return 200, []
        return 200, {}

    def _callback(self, iid: str, token: str, body: Payload, files: Files) -> tuple[int, Any]:
        inter = self._interactions.get(token)
        if inter is None or inter["id"] != iid:
            return 404, {"message": "Unknown interaction", "code": 10062}
        cb, data = int(body.get("type", 0)), body.get("data") or {}
        flags = int(data.get("flags") or 0)
        info: Payload = {
            "id": iid, "type": inter["type"], "response_message_loading": cb == 5,
            "response_message_ephemeral": bool(flags & 64),
        }  # fmt: skip
        resource: Payload = {"type": cb}
        msg: Payload | None = None
        if cb in (4, 5):  # new message: the reply, or a LOADING ("thinking") placeholder
            meta = {
                "id": iid, "type": inter["type"], "user": inter.get("member", inter)["user"],
                "authorizing_integration_owners": inter["authorizing_integration_owners"],
            }  # fmt: skip
            if cb == 5:
                data = {"content": "", "flags": flags | 128}
            app = str(self.application_id)
            extra = {"webhook_id": app, "application_id": app, "interaction_metadata": meta}
            mtype = 20 if inter["type"] == 2 else 0  # CHAT_INPUT_COMMAND / DEFAULT
            msg = self._make_message(inter["channel_id"], {**data, **extra}, files, msg_type=mtype)
        elif cb in (6, 7) and "message" in inter:  # the clicked message is the original
            mid = int(inter["message"]["id"])
            self.messages.setdefault(mid, inter["message"])
            self._original[token] = mid
            if cb == 7:
                msg = self._edit(mid, data, files)[1]
        if msg is not None:
            self._original[token] = int(msg["id"])
            info["response_message_id"] = msg["id"]
            resource["message"] = msg
        return 200, {"interaction": info, "resource": resource}

    def _webhook(self, method: str, seg: list[str], body: Payload, files: Files) -> tuple[int, Any]:
        inter = self._interactions.get(seg[2] if len(seg) > 2 else "")
        if inter is None:
            return 404, {"message": "Unknown Webhook", "code": 10015}
        if method == "POST" and len(seg) == 3:  # followup
            app = str(self.application_id)
            body = {**body, "webhook_id": app, "application_id": app}
            return 200, self._make_message(inter["channel_id"], body, files)
        if len(seg) == 5 and seg[3] == "messages":
            mid = self._original.get(seg[2]) if seg[4] == "@original" else int(seg[4])
            if mid is None:
                return 404, {"message": "Unknown Message", "code": 10008}
            return self._edit(mid, body if method == "PATCH" else None, files)
        return 200, {}

    def _edit(self, mid: int, body: Payload | None, files: Files) -> tuple[int, Any]:
        msg = self.messages.get(mid)
        if msg is None:
            return 404, {"message": "Unknown Message", "code": 10008}
        if body is not None:  # PATCH: sent keys replace; kept attachments are listed by id
            fresh = self._make_message(msg["channel_id"], body, files, message_id=mid)
            attachments = msg["attachments"]
            if "attachments" in body:
                keep = {str(a.get("id")) for a in body["attachments"]}
                attachments = [a for a in attachments if a["id"] in keep]
            # editing a deferred response clears LOADING (128); ephemeral (64) sticks
            flags = int(body["flags"] or 0) if "flags" in body else msg["flags"] & ~128
            msg = {
                **msg, **{k: fresh[k] for k in body if k in fresh}, "edited_timestamp": _now(),
                "attachments": attachments + fresh["attachments"],
                "flags": flags | msg["flags"] & 64,
            }  # fmt: skip
            self.messages[mid] = msg
        return 200, msg

    def _command_echo(self, cmd: Payload, guild_id: int | None) -> Payload:
        cid = self._command_ids.setdefault((cmd["name"], guild_id), snowflake())
        app = str(self.application_id)
        out = {**cmd, "id": str(cid), "application_id": app, "version": str(snowflake())}
        return out | ({"guild_id": str(guild_id)} if guild_id is not None else {})

    def _app_info(self) -> Payload:
        return {
            "id": str(self.application_id), "name": self.bot_user["username"], "icon": None,
            "description": "", "bot_public": True, "bot_require_code_grant": False,
            "owner": {**self.bot_user, "id": "1", "username": "owner", "bot": False},
            "verify_key": "0" * 64, "flags": 0, "summary": "", "team": None, "bot": self.bot_user,
        }  # fmt: skip


async def _noop() -> None:
    return None


def _token(path: str) -> str | None:
    seg = path.strip("/").split("/")
    return seg[2] if len(seg) > 2 and seg[0] in ("interactions", "webhooks") else None


def _kind(method: str, path: str) -> str:
    seg = path.strip("/").split("/")
    if seg[0] == "interactions" and seg[-1] == "callback":
        return "interaction_response"
    if seg[0] == "webhooks" and len(seg) >= 3:
        if method == "POST" and len(seg) == 3:
            return "followup"
        return "edit_original" if method == "PATCH" and seg[-1] == "@original" else "webhook"
    return "http"


def _decode(data: Any) -> tuple[Any, list[tuple[str, bytes]]]:
    """JSON text -> object; aiohttp.FormData (payload_json + files[n]) -> object + files."""
    if data is None:
        return None, []
    if isinstance(data, str | bytes):
        return json.loads(data), []
    body: Any = None
    files: list[tuple[str, bytes]] = []
    for opts, _headers, value in data._fields:  # aiohttp.FormData internals (3.x)
        if opts.get("name") == "payload_json":
            body = json.loads(value)
        elif "filename" in opts:
            raw = value.read() if hasattr(value, "read") else value
            files.append((opts["filename"], raw if isinstance(raw, bytes) else str(raw).encode()))
    return body, files
