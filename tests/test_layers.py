"""Which module may import which: the dependency directions the code is built on."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at run time or for type checking alone."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_cogs_depend_on_an_interface_not_on_the_client_that_loads_them():
    for cog in sorted((ROOT / "bot" / "cogs").glob("*.py")):
        assert "bot.client" not in _imports(cog), cog.name


def test_no_import_circle_between_metrics_health_and_runtime():
    assert "bot.runtime" not in _imports(ROOT / "bot" / "metrics.py")
    assert "bot.runtime" not in _imports(ROOT / "bot" / "health.py")


def test_handlers_and_storage_never_import_the_bot():
    for package in ("handlers", "storage"):
        for module in sorted((ROOT / package).rglob("*.py")):
            bad = {m for m in _imports(module) if m == "bot" or m.startswith(("bot.", "discord"))}
            assert not bad, f"{module.relative_to(ROOT)} imports {sorted(bad)}"
