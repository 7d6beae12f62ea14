"""The console's Notifier: what the bot sends on its own shows up in the REPL as
"[to <chat>]" followed by the message, and its buttons can be pressed by number."""

from __future__ import annotations

from bots.console.repl import PLATFORM, Console
from bots.notify import Progress
from bots.reply import Reply


class ConsoleNotifier:
    platform = PLATFORM

    def __init__(self, console: Console) -> None:
        self.console = console
        # Printed once before the next message: time travel says when things were sent.
        self.stamp: str | None = None

    async def send(self, chat: str, reply: Reply, progress: Progress | None = None) -> None:
        # A reply is printed whole and never fails halfway, so `progress` has nothing to skip.
        if self.stamp is not None:
            self.console.write(self.stamp)
            self.stamp = None
        self.console.show(reply, header=f"[to {chat}]")
        if chat == self.console.user and self.console.group is None:
            # Typing "1" presses the reminder's Done button, as tapping it would.
            self.console.buttons = [b for row in reply.buttons for b in row]
