"""The registry's own examples, for the sweep each adapter runs: every example a reply or
/help shows must work as typed."""

from __future__ import annotations

from bots.commands import REGISTRY

# What a new user has done before trying the examples: a habit and a challenge to point at.
SETUP = ("/start", "/habit add Read every=day", "/challenge new Setup Week days=7 habits=Read")


def examples() -> list[str]:
    """Every command's examples; a command without one is typed bare."""
    return [e for c in REGISTRY.commands.values() for e in (c.examples or (f"/{c.name}",))]


def problems(answer: str) -> list[str]:
    """What no answer to a registry example may contain."""
    lowered = answer.lower()
    found = [w for w in ("something went wrong", "traceback", "sorry") if w in lowered]
    # The example's syntax is the command's: no usage error, no refused option.
    found += [w for w in ("Usage:", "There is no option", "did not understand") if w in answer]
    return found
