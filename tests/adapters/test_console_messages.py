"""Direct messages in the console: four people talk (`:as`), 1:1 and in a group, one blocks
another and one deletes a message the other still sees. A /dm wakes the dispatcher at once:
its poll is set far beyond the test's wait, so only the doorbell can deliver in time."""

from __future__ import annotations

import asyncio
import io

from bots.commands import Deps
from bots.console.repl import Console
from core.clock import FakeClock
from scheduler.console import ConsoleScheduler


class Term:
    def __init__(self, deps: Deps, clock: FakeClock) -> None:
        self.out = io.StringIO()
        self.console = Console(deps, clock, out=self.out)
        self.delivery = ConsoleScheduler(self.console, deps.db, clock)
        self.delivery.dispatcher.poll = 60.0  # only a wake delivers within the test
        deps.doorbell.listen(self.delivery.dispatcher.wake)
        self._read = 0

    async def __call__(self, *lines: str) -> str:
        for line in lines:
            await self.console.handle(line)
        return self.new()

    def new(self) -> str:
        text = self.out.getvalue()[self._read :]
        self._read = len(self.out.getvalue())
        return text

    async def until(self, needle: str, seconds: float = 3.0) -> str:
        """What was printed up to `needle` showing, waiting at most `seconds`."""
        seen = ""
        for _ in range(int(seconds / 0.01)):
            seen += self.new()
            if needle in seen:
                return seen
            await asyncio.sleep(0.01)
        raise AssertionError(f"{needle!r} not printed; got {seen!r}")


async def test_four_people_talk_in_the_console(deps: Deps, clock: FakeClock) -> None:
    term = Term(deps, clock)
    background = asyncio.create_task(term.delivery.background())
    try:
        for name in ("bob", "cat", "dan", "ann"):
            await term(f":as {name}", "/start")
        assert "Sent to @bob" in await term("/dm @bob lunch at noon?")
        got = await term.until("lunch at noon?")
        assert "[to bob]" in got and "💬 @ann" in got

        await term(":as bob")
        assert "1 unread" in await term("/inbox")
        page = await term("/chat 1")
        assert "lunch at noon?" in page
        await term("/chat 1 yes please")
        assert "[to ann]" in await term.until("yes please")

        await term(":as ann")
        assert "Sent to @bob, @cat, @dan" in await term("/dm @bob @cat @dan team run on Sunday")
        got = await term.until("[to dan]")
        assert got.count("team run on Sunday") == 3

        # Cat deletes it for herself; Dan still sees it. Then Dan blocks Ann.
        await term(":as cat")
        message = next(w for w in (await term("/chat 2")).split() if w.startswith("#3"))
        assert "deleted for you" in await term(f"/dm delete {message}")
        assert "team run" not in await term("/chat 2")
        await term(":as dan")
        assert "team run on Sunday" in await term("/chat 2")
        await term("/block @ann")
        await term(":as ann")
        assert "No one is called @dan" in await term("/dm @dan hello?")
        await term("/chat 2 still on?")
        got = await term.until("[to cat]")
        await asyncio.sleep(0.05)
        got += term.new()
        assert "[to dan]" not in got and "[to bob]" in got
    finally:
        background.cancel()
        await asyncio.gather(background, return_exceptions=True)
        await term.delivery.dispatcher.close()
