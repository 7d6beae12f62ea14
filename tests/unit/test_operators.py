"""OPERATORS names the bot's operators as platform:id pairs; the registry as a non-operator
sees it has none of their commands."""

from __future__ import annotations

from bots.commands import REGISTRY
from habitbot.settings import Settings


def test_operators_setting_is_read_as_platform_id_pairs() -> None:
    settings = Settings(operators=" telegram:123, discord:456 ,console:Boss,nonsense,")
    assert settings.operator_ids() == {"telegram:123", "discord:456", "console:boss"}
    assert Settings().operator_ids() == frozenset()


def test_a_non_operator_registry_has_no_operator_commands() -> None:
    public = REGISTRY.visible(False)
    assert {"verify", "unverify", "reports list", "reports close"} <= set(REGISTRY.commands)
    assert not {"verify", "unverify", "reports list", "reports close"} & set(public.commands)
    assert "reports" not in public.tops() and "verify" not in public.text_names()
    assert public.resolve(["reports"]) == (None, 0)
    assert REGISTRY.visible(True) is REGISTRY and REGISTRY.visible(False) is public
