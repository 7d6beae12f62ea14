"""Who is asking: Telegram Mini App initData, login-link tokens, session cookies, CSRF tokens.

Everything is an HMAC under keys derived from the bot's secret (Settings.button_key): a
restart or another process behind the same URL accepts the same links and cookies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

INIT_DATA_MAX_AGE = timedelta(hours=1)
SESSION_TTL = timedelta(days=7)
COOKIE = "hb_session"


def derive(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, f"habitbot web\0{purpose}".encode(), hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


# ------------------------------------------------------------------ Telegram initData
@dataclass(frozen=True)
class TelegramLogin:
    user_id: str  # Telegram's user id, as the accounts table keeps it
    name: str
    username: str | None
    hash: str  # the signature: what a replay repeats


class BadInitData(Exception):
    """Forged, malformed or stale: answered 401."""


def check_init_data(init_data: str, bot_token: str, now: datetime) -> TelegramLogin:
    """Telegram's Mini App check: the data-check-string (every field but hash, sorted, as
    key=value lines) signed with HMAC-SHA256 under HMAC-SHA256("WebAppData", bot token);
    compared in constant time; auth_date at most INIT_DATA_MAX_AGE old."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=False))
    given = fields.pop("hash", "")
    if not given or not fields:
        raise BadInitData("no signature")
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given.lower()):
        raise BadInitData("bad signature")
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = str(int(user["id"]))
    except (KeyError, ValueError, TypeError) as error:
        raise BadInitData("malformed") from error
    age = now.timestamp() - auth_date
    if not -60 <= age <= INIT_DATA_MAX_AGE.total_seconds():
        raise BadInitData("stale")
    name = " ".join(str(user.get(k, "")) for k in ("first_name", "last_name")).strip()
    return TelegramLogin(user_id, name or user_id, user.get("username"), expected)


def sign_init_data(fields: dict[str, str], bot_token: str) -> str:
    """initData as Telegram would send it (tests and the benchmark)."""
    from urllib.parse import urlencode

    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    digest = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode({**fields, "hash": digest})


# ------------------------------------------------------------------ sessions and CSRF
@dataclass(frozen=True)
class WebSession:
    user_id: int
    expires: int  # unix seconds
    sid: str  # random per login: the CSRF token is bound to it

    def csrf(self, key: bytes) -> str:
        return _mac(derive(key, "csrf"), self.sid)[:32]


def new_session(user_id: int, now: datetime) -> WebSession:
    return WebSession(user_id, int((now + SESSION_TTL).timestamp()), secrets.token_urlsafe(12))


def session_cookie(key: bytes, s: WebSession) -> str:
    body = f"{s.user_id}.{s.expires}.{s.sid}"
    return f"{body}.{_mac(derive(key, 'session'), body)}"


def read_session(key: bytes, value: str | None, now: datetime) -> WebSession | None:
    if not value or value.count(".") != 3:
        return None
    body, _, mac = value.rpartition(".")
    if not hmac.compare_digest(mac.encode(), _mac(derive(key, "session"), body).encode()):
        return None
    user, expires, sid = body.split(".")
    try:
        s = WebSession(int(user), int(expires), sid)
    except ValueError:
        return None
    return s if s.expires > now.timestamp() else None


def csrf_ok(key: bytes, s: WebSession, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), s.csrf(key).encode())
