"""A small Discord API emulator (aiohttp, REST + gateway websocket) on 127.0.0.1, for tests that
run real `habitbot run` processes with DISCORD_API_BASE pointed at it.

Just complete enough for start-up and sending: the REST routes discord.py calls to log in,
sync the slash commands, open DMs and post messages (anything else is answered 404 and logged
as an error, so a new route shows up), and a gateway speaking plain JSON text frames: HELLO,
IDENTIFY (with its shard [id, count]) -> READY, heartbeats ACKed, RESUME -> RESUMED.

Discord's global limit (50 requests/s per bot token) is enforced when a request arrives:
over it the answer is 429 with retry_after, `global: true` and X-RateLimit-Global, counted in
`stats["429"]`. Every request is kept in `requests` with its arrival time and the endpoint it
came through: each process under test gets its own endpoint (`await emu.endpoint("a")`, its
own port), so the emulator tells the processes apart without anything from the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
log = logging.getLogger("tests.discord_api")

API = "/api/v10"
HEARTBEAT_MS = 41_250
_ids = itertools.count(1)


def snowflake() -> str:
    """Unique ids stamped "now" (discord.py reads created_at from them)."""
    ms = int(time.time() * 1000) - 1_420_070_400_000  # Discord's epoch
    return str((ms << 22) + next(_ids) % (1 << 22))


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


@dataclass
class Request:
    at: float  # time.monotonic() on arrival
    endpoint: str  # which process: the label of the port it came through
    method: str
    path: str  # under /api/v10
    status: int = 0
    body: Any = None


@dataclass
class Delivered:
    user_id: int  # the DM's recipient
    content: str
    embeds: list[JsonDict]
    endpoint: str

    @property
    def shown(self) -> str:
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title") or "", embed.get("description") or ""]
            parts += [f.get("value") or "" for f in embed.get("fields") or []]
        return "\n".join(p for p in parts if p)


@dataclass
class Identified:
    endpoint: str
    shard: list[int]
    at: float = field(default_factory=time.monotonic)


class DiscordEmulator:
    def __init__(
        self,
        token: str,
        *,
        bot_id: int = 424242,
        bot_name: str = "habitbot",
        global_per_sec: int = 50,
        rate_limits: bool = True,
    ) -> None:
        self.token = token
        self.global_per_sec, self.rate_limits = global_per_sec, rate_limits
        self.application_id = str(bot_id)
        self.bot_user: JsonDict = {
            "id": str(bot_id), "username": bot_name, "discriminator": "0",
            "global_name": bot_name, "avatar": None, "bot": True, "system": False,
            "public_flags": 0, "flags": 0,
        }  # fmt: skip
        # Test-readable state.
        self.requests: list[Request] = []
        self.delivered: list[Delivered] = []
        self.identified: list[Identified] = []
        self.unknown: list[str] = []  # "METHOD path" of routes this emulator does not know
        self.commands: list[JsonDict] = []  # the last synced global command list
        self.stats: Counter[str] = Counter()
        # Internal.
        self._window: deque[float] = deque()  # arrival times of accepted requests, last 1 s
        self._dm_users: dict[str, int] = {}  # DM channel id -> recipient user id
        self._dm_channels: dict[int, str] = {}  # recipient user id -> DM channel id
        self._ports: dict[int, str] = {}  # local port -> endpoint label
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()

    async def endpoint(self, label: str) -> str:
        """A new port on 127.0.0.1 for one process; its requests are tagged `label`.
        Returns the base URL to give that process as DISCORD_API_BASE."""
        assert self._runner is not None, "start() first"
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        self._ports[port] = label
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test-side helpers
    def max_per_second(self, *, window: float = 1.0) -> int:
        """The most requests that arrived (whatever their answer) in any `window` seconds."""
        times = sorted(r.at for r in self.requests)
        most, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            most = max(most, end - start + 1)
        return most

    def _label(self, request: web.BaseRequest) -> str:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        return self._ports.get(int(sockname[1]) if sockname else -1, "?")

    # ------------------------------------------------------------------ REST
    def _over_limit(self, now: float) -> float | None:
        """Seconds until the oldest request in the last second leaves it, when it is full."""
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.global_per_sec:
            return 1.0 - (now - self._window[0])
        self._window.append(now)
        return None

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        path = request.path.removeprefix(API) if request.path.startswith(API) else request.path
        rec = Request(now, self._label(request), request.method, path)
        self.requests.append(rec)
        if request.headers.get("Authorization") != f"Bot {self.token}":
            rec.status = 401
            self.stats["401"] += 1
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        exempt = path.startswith(("/interactions/", "/webhooks/"))  # not bound to the limit
        if self.rate_limits and not exempt:
            wait = self._over_limit(now)
            if wait is not None:
                rec.status = 429
                self.stats["429"] += 1
                retry = round(max(wait, 0.001), 3)
                headers = {
                    "Retry-After": str(retry), "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global", "Via": "1.1 google",
                }  # fmt: skip
                body = {"message": "You are being rate limited.", "retry_after": retry,
                        "global": True, "code": 0}
                return _json(body, 429, headers)
        rec.body = await self._body(request)
        status, out = self._answer(request.method, path, rec.body, rec.endpoint)
        rec.status = status
        self.stats[str(status)] += 1
        if status == 204:
            return web.Response(status=204)
        return _json(out, status)

    @staticmethod
    async def _body(request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        if request.content_type.startswith("multipart/"):
            body: Any = None
            reader = await request.multipart()
            async for part in reader:
                if getattr(part, "name", None) == "payload_json":
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    await part.read()  # type: ignore[union-attr]  # files: not kept
            return body
        raw = await request.read()
        return json.loads(raw) if raw else None

    def _answer(self, method: str, path: str, body: Any, endpoint: str) -> tuple[int, Any]:
        seg = path.strip("/").split("/")
        data = body if isinstance(body, dict) else {}
        match method, seg:
            case "GET", ["users", "@me"]:
                return 200, self.bot_user
            case "GET", ["oauth2", "applications", "@me"]:
                return 200, self._app_info()
            case "GET", ["gateway"]:
                return 200, {"url": self._ws_url(endpoint)}
            case "GET", ["gateway", "bot"]:
                limit = {"total": 1000, "remaining": 1000, "reset_after": 0,
                         "max_concurrency": 1}
                return 200, {"url": self._ws_url(endpoint), "shards": 1,
                             "session_start_limit": limit}
            case "PUT", ["applications", _, *rest] if rest[-1:] == ["commands"]:
                self.commands = [self._command_echo(c) for c in body or []]
                return 200, self.commands
            case "GET", ["applications", _, *rest] if rest[-1:] == ["commands"]:
                return 200, self.commands
            case "POST", ["users", "@me", "channels"]:
                return 200, self._dm_channel(int(data["recipient_id"]))
            case "POST", ["channels", cid, "messages"]:
                return self._message(cid, data, endpoint)
        self.unknown.append(f"{method} {path}")
        log.error("discord emulator: unknown route %s %s (from %s)", method, path, endpoint)
        return 404, {"message": "404: Not Found", "code": 0}

    def _dm_channel(self, user_id: int) -> JsonDict:
        cid = self._dm_channels.setdefault(user_id, snowflake())
        self._dm_users[cid] = user_id
        user = {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0",
                "global_name": None, "avatar": None, "bot": False, "public_flags": 0}
        return {"id": cid, "type": 1, "recipients": [user], "last_message_id": None, "flags": 0}

    def _message(self, cid: str, body: JsonDict, endpoint: str) -> tuple[int, Any]:
        user_id = self._dm_users.get(cid)
        if user_id is None:
            return 404, {"message": "Unknown Channel", "code": 10003}
        content, embeds = body.get("content") or "", body.get("embeds") or []
        self.delivered.append(Delivered(user_id, content, embeds, endpoint))
        return 200, {
            "id": snowflake(), "channel_id": cid, "author": self.bot_user, "content": content,
            "timestamp": _now(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": embeds, "components": body.get("components") or [], "pinned": False,
            "type": 0, "flags": int(body.get("flags") or 0),
        }  # fmt: skip

    def _command_echo(self, cmd: JsonDict) -> JsonDict:
        return {**cmd, "id": snowflake(), "application_id": self.application_id,
                "version": snowflake()}

    def _app_info(self) -> JsonDict:
        return {
            "id": self.application_id, "name": self.bot_user["username"], "icon": None,
            "description": "", "bot_public": True, "bot_require_code_grant": False,
            "owner": {**self.bot_user, "id": "1", "username": "owner", "bot": False},
            "verify_key": "0" * 64, "flags": 0, "summary": "", "team": None,
            "bot": self.bot_user,
        }  # fmt: skip

    def _ws_url(self, endpoint: str) -> str:
        port = next(p for p, label in self._ports.items() if label == endpoint)
        return f"ws://127.0.0.1:{port}/gateway"

    # ------------------------------------------------------------------ gateway
    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return await self._rest(request)  # GET /gateway without /api/v10: unknown route
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        endpoint = self._label(request)
        seq = itertools.count(1)
        try:
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}))
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op, data = frame.get("op"), frame.get("d")
                if op == 1:  # heartbeat
                    self.stats["heartbeat"] += 1
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:  # identify
                    if data.get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    shard = list(data.get("shard") or [0, 1])
                    self.identified.append(Identified(endpoint, shard))
                    ready = {
                        "v": 10, "user": self.bot_user, "guilds": [], "shard": shard,
                        "session_id": f"s{snowflake()}", "private_channels": [],
                        "resume_gateway_url": self._ws_url(endpoint),
                        "application": {"id": self.application_id, "flags": 0},
                    }  # fmt: skip
                    await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(seq),
                                                  "d": ready}))
                elif op == 6:  # resume
                    await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(seq),
                                                  "d": {}}))
                else:
                    log.info("discord emulator: gateway op %s from %s ignored", op, endpoint)
        finally:
            self._sockets.discard(ws)
        return ws


def _json(body: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: discord.py parses a body only when the Content-Type is
    exactly application/json (aiohttp's json_response adds "; charset=utf-8")."""
    return web.Response(
        body=json.dumps(body).encode(), status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


async def wait_until(check: Any, timeout: float, step: float = 0.2) -> bool:
    """Poll `check()` until true or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return bool(check())
        await asyncio.sleep(step)
    return True
