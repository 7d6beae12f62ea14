"""The registry sweep, checked for what its replies claim: every example typed as a new user
would, then the coins and gems the replies announced are the ledger's, the wallet shows the
stored balances, and no image draws a character its font lacks (a box)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import ImageDraw
from sqlalchemy import select

from bots import charts
from core.rewards.claims import format_gems
from core.rewards.ledger import balances
from core.storage.models import User
from tests.sweep import SETUP, examples, problems


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every text drawn into an image while the test runs."""
    texts: list[str] = []
    original = ImageDraw.ImageDraw.text

    def text(self: ImageDraw.ImageDraw, xy: Any, content: Any, *args: Any, **kwargs: Any) -> Any:
        texts.append(str(content))
        return original(self, xy, content, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    yield texts


async def test_the_sweep_shows_only_figures_the_data_backs(say, deps, drawn):
    # Names outside ASCII and with emoji, as people type them, so images have to cope.
    typed = [
        *SETUP,
        "/habit add Zähne putzen 🦷",
        "/done Zähne",
        "/habit add Läufer",
        "/join 1",
        "/done Read",
        "/leaderboard 1",
        "/stats Zähne",
    ]
    announced_coins = 0
    images = 0
    for text in [*typed, *examples()]:
        reply = await say(text, user="ann")
        answer = reply.plain()
        assert answer.strip() and not problems(answer), (text, answer)
        announced_coins += sum(int(n) for n in re.findall(r"\+(\d+) coins", answer))
        announced_coins -= sum(int(n) for n in re.findall(r"−(\d+) coins", answer))
        images += reply.image is not None
    async with deps.db.session() as session:
        ann = await session.scalar(select(User).where(User.name == "Ann"))
        assert ann is not None
        money = await balances(session, ann.id)
    assert images >= 3 and drawn  # the board and /stats twice at least
    assert money.coins == announced_coins > 0  # every coin a reply announced, and no other

    wallet = (await say("/wallet", user="ann")).plain()
    assert f"coins: {money.coins}" in wallet and f"gems: {format_gems(money.gems)}" in wallet
    font = charts._font()
    for text in drawn:
        boxes = [c for c in text if not c.isspace() and not charts._covered(font, c)]
        assert not boxes, (text, boxes)
