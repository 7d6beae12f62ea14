"""The layer rule: core/ imports nothing from the adapters, the scheduler, the app or platform
libraries (DESIGN.md, "Layers and who may import whom")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = {"bots", "scheduler", "habitbot", "aiogram", "discord", "apscheduler", "httpx"}


def imported_roots(path: Path) -> set[str]:
    """Top-level packages a module imports, including imports inside functions."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            roots.add(node.args[0].value.split(".")[0])
    return roots


MODULES = sorted(CORE.rglob("*.py"))


def test_core_has_modules() -> None:
    assert len(MODULES) > 10
    assert CORE / "habits" / "service.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CORE.parent)))
def test_core_module_imports_no_outer_layer(path: Path) -> None:
    bad = imported_roots(path) & FORBIDDEN
    assert not bad, f"{path.relative_to(CORE.parent)} imports {sorted(bad)}"


def test_the_checker_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom bots.reply import Reply\n"
        "def f():\n    import httpx\n    return __import__('aiogram')\n"
    )
    assert imported_roots(sample) & FORBIDDEN == {"bots", "httpx", "aiogram"}
