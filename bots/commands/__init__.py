"""The command layer: importing it registers every command."""

from bots.commands import (  # noqa: F401
    basics,
    challenges,
    feed,
    habits,
    identity,
    messages,
    people,
    plans,
    rewards,
    web,
)
from bots.commands.context import Chat, Deps, Invocation
from bots.commands.executor import AlreadyAnswered, Answer, execute
from bots.commands.registry import REGISTRY

__all__ = ["REGISTRY", "AlreadyAnswered", "Answer", "Chat", "Deps", "Invocation", "execute"]
