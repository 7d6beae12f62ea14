"""Outbox rows carry a kind and plain data; this turns them into Replies at delivery time.

Core decides what to say and to whom (kind + data); wording lives here with the other replies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bots.reply import Reply

Renderer = Callable[[dict[str, Any]], Reply]
RENDERERS: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        RENDERERS[kind] = fn
        return fn

    return register


def render(kind: str, data: dict[str, Any]) -> Reply:
    renderer = RENDERERS.get(kind)
    if renderer is None:
        raise KeyError(f"no renderer for outbox kind {kind!r}")
    return renderer(data)
