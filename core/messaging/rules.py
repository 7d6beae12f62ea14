"""What a message may be and who may be messaged: pure rules, no database."""

from __future__ import annotations

import re

from core.errors import InvalidInput

_DROPPED = re.compile(r"[\x00\ud800-\udfff]")  # as core.text: no UTF-8 form, or NUL
_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\x7f]")  # line breaks stay

MAX_TEXT = 2000  # characters; one Discord message, half a Telegram one with the header
MAX_PEOPLE = 10  # in a conversation, the sender included
FLOOD_WINDOW = 60  # seconds
FLOOD_LIMIT = 20  # messages a sender may send in any FLOOD_WINDOW (a burst of 20 is fine)


def clean_text(text: str) -> str:
    cleaned = _CONTROL.sub(" ", _DROPPED.sub("", text or "")).strip()
    if not cleaned:
        raise InvalidInput("A message needs some text.")
    if len(cleaned) > MAX_TEXT:
        raise InvalidInput(
            f"A message takes at most {MAX_TEXT:,} characters ({len(cleaned):,} given)."
        )
    return cleaned


def pair_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def may_start(policy: str, they_follow_me: bool) -> bool:
    """Whether someone with DM policy `policy` accepts a new conversation from me."""
    if policy == "nobody":
        return False
    if policy == "following":
        return they_follow_me
    return True
