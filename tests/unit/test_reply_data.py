"""A reply recorded in the outbox (an answer kept for after a crash) comes back as it was."""

from __future__ import annotations

import json

from bots.commands.usage import cmd, usage
from bots.reply import Action, Button, Reply, Span, bold


def test_a_reply_survives_the_outbox_round_trip() -> None:
    reply = Reply.text("✅ ", bold("Read"), " done. Next: ", cmd("habit add", "Run", every="day"))
    reply.add("See ", usage("settings"))
    reply.lines.append((Span("also: /habits", chat_only=True),))
    reply.button_row(Button("Undo", Action("undo", "#3")))
    reply.button_row(Button("Answer", Action("plan answer"), ask="Your answer"))  # a form
    reply.image, reply.image_alt, reply.private, reply.owner = b"\x89PNG..", "grid", True, 7
    back = Reply.from_data(json.loads(json.dumps(reply.to_data())))
    assert back == reply
