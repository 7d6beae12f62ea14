"""Text from outside (platform names, typed words) made storable whole on either database.

PostgreSQL refuses NUL in text and SQLite's text functions stop at it; a lone surrogate (JSON
can carry one as an escape, bad bytes decoded leniently become one) has no UTF-8 form at all,
so the driver fails before the database sees it. Either would fail every command that writes
the value, so they are dropped on the way in.
"""

from __future__ import annotations

import re

_DROPPED = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\x7f]")  # shown as a space


def storable(text: str) -> str:
    """`text` without NUL and lone surrogates, other control characters and runs of
    whitespace as one space, trimmed."""
    return " ".join(_CONTROL.sub(" ", _DROPPED.sub("", text)).split())


def unstorable(text: str) -> bool:
    """Whether `text` holds something `storable` would have to drop."""
    return _DROPPED.search(text) is not None
