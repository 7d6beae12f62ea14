"""Badge codes and their human titles."""

from __future__ import annotations

STREAK_MILESTONES = (3, 7, 14, 21, 30, 50, 100, 365)

BADGE_TITLES: dict[str, str] = {
    **{f"streak_{n}": f"{n}-day streak" for n in STREAK_MILESTONES},
    "challenge_finished": "Challenge finisher",
    "challenge_won": "Challenge winner",
}


def streak_badges(streak: int) -> list[str]:
    """Every streak badge earned by a streak of this length, smallest first."""
    return [f"streak_{n}" for n in STREAK_MILESTONES if n <= streak]


def badge_title(code: str) -> str:
    # Unknown codes (e.g. from a newer version) still render as something readable.
    return BADGE_TITLES.get(code, code.replace("_", " ").capitalize())
