"""IANA time zone names, with suggestions for near misses."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones

from core.errors import InvalidInput

_ALIASES = {"utc": "UTC", "gmt": "UTC", "z": "UTC"}


@cache
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if "/" in name or name == "UTC"}


def resolve_timezone(text: str) -> str:
    """'europe/berlin' -> 'Europe/Berlin'; a wrong name raises with the closest suggestions."""
    key = text.strip().lower().replace(" ", "_")
    if key in _ALIASES:
        return _ALIASES[key]
    zones = _zones()
    if key in zones:
        return zones[key]
    # A bare city ("berlin") matches the zone ending in it.
    by_city = [name for low, name in zones.items() if low.rsplit("/", 1)[-1] == key]
    if len(by_city) == 1:
        return by_city[0]
    close = difflib.get_close_matches(key, zones, n=3, cutoff=0.6)
    close += [low for low, name in zones.items() if key and key in low and low not in close][:3]
    hint = ", ".join(zones[c] for c in close[:3])
    shown = text.strip()[:40]
    if hint:
        raise InvalidInput(f"Unknown time zone {shown!r}. Did you mean: {hint}?")
    raise InvalidInput(f"Unknown time zone {shown!r}. Use an IANA name like Europe/Berlin.")
