"""A local OpenAI-compatible chat-completions server (aiohttp, 127.0.0.1) for /plan's tests.

It answers the intake request (the goal's kind and questions) well unless told otherwise, and
plan requests from a script: each entry is what one request gets (an answer's text, an HTTP
status, a delay, or text only in a reasoning field). An empty script answers a good plan.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]
MODEL = "test-model"


@dataclass
class Turn:
    content: str | None = None  # the answer's text (None: a good plan)
    status: int = 200
    delay: float = 0.0  # seconds before answering (a timeout, when longer than the client's)
    reasoning: str | None = None  # text in the reasoning field only (content left blank)


def good_plan(days: int = 21, kind: str = "build", habit: str = "Reading") -> JsonDict:
    return {
        "kind": kind,
        "habit": habit,
        "days": [
            {"day": d, "tasks": [f"Read {d * 2} pages of a novel", f"AI tip number {d}",
                                 f"Write one line about day {d}"]}
            for d in range(1, days + 1)
        ],
    }


GOOD_INTAKE = {
    "kind": "build",
    "habit": "Reading",
    "language": "en",
    "questions": ["What draws you to books?", "What stops you reading?", "When could you read?"],
}


class ChatApi:
    def __init__(self) -> None:
        self.script: list[Turn] = []
        self.intake: list[Turn] = []
        self.requests: list[JsonDict] = []  # every request body, in order
        self.headers: list[dict[str, str]] = []
        self.days = 21  # the length of the default good plan
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def __aenter__(self) -> ChatApi:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def plan_requests(self) -> list[JsonDict]:
        return [r for r in self.requests if not _is_intake(r)]

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        intake = _is_intake(body)
        queue = self.intake if intake else self.script
        turn = queue.pop(0) if queue else Turn()
        if turn.delay:
            await asyncio.sleep(turn.delay)
        if turn.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=turn.status)
        content = turn.content
        if content is None and turn.reasoning is None:
            content = json.dumps(GOOD_INTAKE if intake else good_plan(self.days))
        message: JsonDict = {"role": "assistant", "content": content or ""}
        if turn.reasoning is not None:
            message["reasoning_content"] = turn.reasoning
        return web.json_response({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", MODEL),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        })


def _is_intake(body: JsonDict) -> bool:
    return str(body["messages"][0]["content"]).startswith("You help people")
