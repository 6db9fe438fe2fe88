"""The layer rules, as failing tests. The import-linter contracts in pyproject.toml declare
them (imports point down only, nothing below the console imports textual, the console
reaches the rest only through services, the domain does no I/O); these tests run them, prove
they catch a violation, and check at run time that importing everything below the UI never
loads textual."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tui_trader"
BELOW_UI = ["domain", "db", "live", "security", "brokers", "strategies", "analytics", "risk",
            "engine", "backtest", "services"]
ROOT = PACKAGE.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package under `root` with `root/pyproject.toml`."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"),
                           "--no-cache"], cwd=root, env=env, capture_output=True, text=True)


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_import_contracts_catch_a_violation(tmp_path):
    """The contracts are not vacuous: a copy of the package with an engine module importing
    the console, a domain module importing textual and redis, and console modules importing
    the database and (for type hints only) the engine, breaks all four."""
    shutil.copytree(PACKAGE, tmp_path / "tui_trader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "tui_trader" / "engine" / "leak.py").write_text(
        "from ..ui import app  # noqa: F401\n")
    (tmp_path / "tui_trader" / "domain" / "leak.py").write_text(
        "import redis  # noqa: F401\nimport textual  # noqa: F401\n")
    (tmp_path / "tui_trader" / "ui" / "leak.py").write_text(
        "from ..db.models import Instrument  # noqa: F401\n")
    (tmp_path / "tui_trader" / "ui" / "hint.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from ..engine.events import EngineEvent  # noqa: F401\n")
    (tmp_path / "tui_trader" / "risk" / "leak.py").write_text(
        "from ..db import models  # noqa: F401\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The risk rules import the domain only BROKEN" in result.stdout
    assert "tui_trader.engine.leak -> tui_trader.ui" in result.stdout, result.stdout
    assert "Nothing below the console imports textual BROKEN" in result.stdout
    assert "The domain does no I/O BROKEN" in result.stdout
    assert "The console reaches the rest only through services BROKEN" in result.stdout
    assert "tui_trader.ui.leak -> tui_trader.db.models" in result.stdout, result.stdout
    assert "tui_trader.ui.hint -> tui_trader.engine.events" in result.stdout, result.stdout


def test_no_textual_loaded_by_importing_every_lower_module():
    modules = sorted(
        "tui_trader." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for layer in BELOW_UI for p in (PACKAGE / layer).rglob("*.py")
        if p.name != "__main__.py")
    modules = [m.removesuffix(".__init__") for m in modules]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_no_naive_now_anywhere():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now()", "datetime.utcnow()", "date.today()"):
            if needle in text:
                bad.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert bad == []


