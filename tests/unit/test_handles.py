"""Handle rules as pure functions: what a typed handle becomes, what a username suggests."""

from __future__ import annotations

import re

import pytest

from core.errors import InvalidInput
from core.users.handles import base_handle, candidates, normalize


@pytest.mark.parametrize(
    ("typed", "handle"),
    [("@Ann_Reads", "ann_reads"), ("ann", "ann"), (" BOB42 ", "bob42"), ("a" * 32, "a" * 32)],
)
def test_normalize_accepts_handles_in_any_case(typed: str, handle: str) -> None:
    assert normalize(typed) == handle


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("@", "after the @"),
        ("ab", "3–32"),
        ("a" * 33, "too long (33)"),
        ("ann b", "3–32"),
        ("<b>ann</b>", "3–32"),
        ("ann\u200b", "3–32"),
        ("änn", "3–32"),
        ("@@ann", "3–32"),
    ],
)
def test_normalize_refuses_what_is_no_handle(typed: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(says)):
        normalize(typed)


def test_base_handle_from_usernames_and_names() -> None:
    assert base_handle("Ann_Reads", "Ann") == "ann_reads"
    assert base_handle("alice.b", "Alice") == "alice_b"  # Discord allows dots
    assert base_handle(None, "Ann Marie") == "ann_marie"
    assert base_handle(None, "Анна") == "user"  # nothing handle-shaped: a neutral start
    assert base_handle("deleted", "Deleted") == "user"  # reserved words are not given out
    assert re.fullmatch(r"al_[0-9a-f]{4}", base_handle("al"))  # too short: padded
    assert len(base_handle("x" * 60)) == 20


def test_candidates_stay_within_the_limit() -> None:
    base = base_handle("x" * 60)
    assert all(3 <= len(c) <= 32 and re.fullmatch(r"[a-z0-9_]+", c) for c in candidates(base))
