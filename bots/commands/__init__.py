"""The command layer: importing it registers every command."""

from bots.commands import basics, challenges, feed, habits, identity, people, plans, rewards  # noqa: F401
from bots.commands.context import Chat, Deps, Invocation
from bots.commands.executor import AlreadyAnswered, Answer, execute
from bots.commands.registry import REGISTRY

__all__ = ["REGISTRY", "AlreadyAnswered", "Answer", "Chat", "Deps", "Invocation", "execute"]
