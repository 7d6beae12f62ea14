"""The verified mark, granted and taken away by the bot's operators (who they are is the
adapters' and settings' business: the commands layer only lets operators reach this)."""

from __future__ import annotations

from core.errors import Conflict
from core.social.lookup import Person


def set_verified(person: Person, verified: bool) -> None:
    if person.user.verified == verified:
        state = "verified already" if verified else "not verified"
        raise Conflict(f"@{person.handle} is {state}.")
    person.user.verified = verified
