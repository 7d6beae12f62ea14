"""The console adapter: a terminal chat with the bot, no token needed.

Lines become Invocations exactly like platform updates; `:` lines steer the demo
(who you are, which chat, what time it is).
"""

from __future__ import annotations

import asyncio
import io
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bots.commands import Chat, Deps, Invocation, execute
from bots.commands.format import unreachable
from bots.console.render import render
from bots.reply import Button, Reply
from core.clock import FakeClock
from core.text import unstorable

PLATFORM = "console"
_STEP = re.compile(r"^\+(\d{1,15})([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
# One jump runs the ticks for every due instant on the way: a year is quick, a millennium
# would not finish. Jump again for more.
MAX_JUMP = timedelta(days=366)
CLOCK_FILE = "console-clock.txt"

HELP = """Console commands:
  :as <name>            talk as another user (created on first use), as a member
  :group <name> [admin] talk in a group chat, as an admin or a member
  :private              back to your private chat
  :time +1d|+3h|+15m    move the clock forward, up to 366 days (or :time 2026-03-29T08:00)
  :quit                 leave
Bot commands start with / — try /help."""
UNREADABLE = (
    "That line holds a NUL or bytes that are not UTF-8 (is the terminal set to UTF-8?); "
    "nothing was done."
)


def restore_clock(path: Path, now: datetime) -> datetime:
    """Where :time left the console's clock, or `now` if that is later: the data was written
    on the clock's time, so starting from the real time again would put it in the future."""
    try:
        saved = datetime.fromisoformat(path.read_text().strip())
    except (OSError, ValueError):
        return now
    return max(saved, now) if saved.tzinfo is not None else now


class Console:
    def __init__(
        self,
        deps: Deps,
        clock: FakeClock,
        out: TextIO | None = None,
        color: bool = False,
        image_dir: Path | None = None,
        on_time: Callable[[datetime], Awaitable[None]] | None = None,
        clock_file: Path | None = None,
        file_dir: Path | None = None,
    ) -> None:
        self.deps, self.clock, self.color = deps, clock, color
        self.out = out or sys.stdout  # looked up now, not when this module was imported
        self.image_dir = image_dir
        self.clock_file = clock_file  # where :time leaves the clock for the next start
        self.file_dir = file_dir  # where a reply's files are written (a temporary one if None)
        self.on_time = on_time  # the scheduler's catch-up after :time
        self.user = "me"
        self.group: str | None = None
        self.admin = False
        self.buttons: list[Button] = []
        self.buttons_owner: int | None = None  # whose buttons they are, as a platform's signature

    def prompt(self) -> str:
        where = f"#{self.group}{'*' if self.admin else ''}" if self.group else "private"
        return f"{self.user}@{where}> "

    async def handle(self, line: str) -> bool:
        """Handle one line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":"):
            return await self._meta(line)
        if line.isascii() and line.isdigit() and self.buttons:  # "²" is a digit, not a number
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                count = len(self.buttons)
                pick = "there is only 1" if count == 1 else f"pick 1-{count}"
                self.write(f"No button {line}; {pick}.")
                return True
            action = self.buttons[index].action
            # The terminal is its user's own: a typed number is a press of that button.
            await self.send(f"/{action.command} {action.args}".strip(), pressed=True)
            return True
        if not line.startswith("/"):
            if self.group:
                self.write("Commands start with / (try /help); :help lists console commands.")
                return True
            # In a private chat, an answer to the bot's question (/plan); with none asked,
            # the bot says what commands look like.
            await self.send(line, plain=True)
            return True
        await self.send(line)
        return True

    async def send(self, text: str, pressed: bool = False, plain: bool = False) -> Reply:
        """Run a typed line, or (`pressed`) the action of a button shown: like a platform's
        button, it acts only for the person it was shown to."""
        chat = (
            Chat("group", self.group, title=self.group)
            if self.group
            else Chat("private", self.user)
        )
        inv = Invocation(
            PLATFORM,
            self.user,
            self.user.capitalize(),
            chat,
            text=text,
            is_admin=self.admin,
            username=self.user,
            button=pressed,
            button_owner=self.buttons_owner if pressed else None,
            plain=plain,
        )
        reply = await execute(self.deps, inv)
        if reply.reach == "missing":  # a group-only console user has no private chat yet
            reply.extend(unreachable().add("Type :private and send any command; then they will."))
        self.show(reply)
        return reply

    def show(self, reply: Reply, header: str | None = None) -> None:
        text, buttons = render(reply, self.color)
        if header is None:
            self.buttons, self.buttons_owner = buttons, reply.owner
        if reply.image and self.image_dir is not None:
            self.image_dir.mkdir(parents=True, exist_ok=True)
            path = self.image_dir / reply.image_name
            path.write_bytes(reply.image)
            text += f"\n(image saved to {path})"
        for file in reply.files:
            path = self._file_path(file.name)
            path.write_bytes(file.data)
            text += f"\n(file saved to {path})"
        self.write(f"{header}\n{text}" if header else text)

    def _file_path(self, name: str) -> Path:
        if self.file_dir is None:
            self.file_dir = Path(tempfile.mkdtemp(prefix="habitbot-"))
        self.file_dir.mkdir(parents=True, exist_ok=True)
        return self.file_dir / Path(name).name  # never outside the folder

    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def _meta(self, line: str) -> bool:
        word, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        match word.lower():
            case "quit" | "q" | "exit":
                return False
            case "as" if rest:
                self.user = rest.split()[0].lower()[:32]
                # Being an admin belongs to the person, not the chat: the new one is a member.
                self.admin = False
                where = f" (in group {self.group}, a member)" if self.group else ""
                self.write(f"You are now {self.user}{where}.")
            case "group" if rest:
                parts = rest.split()
                self.group, self.admin = parts[0][:64], "admin" in parts[1:]
                self.write(f"In group {self.group}" + (" as an admin." if self.admin else "."))
            case "private":
                self.group, self.admin = None, False
                self.write("Back in your private chat.")
            case "time":
                await self._time(rest)
            case _:
                self.write(HELP)
        return True

    async def _time(self, rest: str) -> None:
        now = self.clock.now()
        step = _STEP.match(rest)
        if step:
            # Capped before timedelta() sees it: +99999999999d would overflow; too far anyway.
            amount = min(int(step.group(1)), 10**6)
            target = now + timedelta(**{_UNITS[step.group(2)]: amount})
        else:
            try:
                target = datetime.fromisoformat(rest)
            except ValueError:
                self.write(f"It is {now:%Y-%m-%d %H:%M} UTC. Use :time +1d, +3h, +15m or ISO.")
                return
            if target.tzinfo is None:
                target = target.replace(tzinfo=now.tzinfo)
        if target < now:
            self.write("The clock only moves forward.")
            return
        if target - now > MAX_JUMP:
            self.write(
                f"The clock moves at most {MAX_JUMP.days} days at a time; it is "
                f"{now:%Y-%m-%d %H:%M} UTC."
            )
            return
        if self.on_time is not None:
            await self.on_time(target)  # runs the ticks for the time passed
        self.clock.set(target)
        if self.clock_file is not None:
            self.clock_file.parent.mkdir(parents=True, exist_ok=True)
            self.clock_file.write_text(target.isoformat())
        self.write(f"It is now {target:%Y-%m-%d %H:%M} UTC.")

    async def run(self, stdin: TextIO | None = None) -> None:
        stdin = stdin or sys.stdin  # read at call time, so a replaced sys.stdin is the one read
        interactive = stdin.isatty()
        if interactive:
            self.write("Habitbot console. /start to begin, :help for console commands.")
        if isinstance(stdin, io.TextIOWrapper):
            # Bad bytes then arrive as lone surrogates, refused below, instead of a
            # UnicodeDecodeError that ends the console.
            stdin.reconfigure(errors="surrogateescape")
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.out.write(self.prompt())
                self.out.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if unstorable(line):  # neither printable nor storable: say so, change nothing
                self.write(UNREADABLE)
                continue
            if not interactive and line.strip():
                self.write(f"{self.prompt()}{line.strip()}")
            if not await self.handle(line):
                break
