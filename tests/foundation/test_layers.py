"""The layer rules, as failing tests: nothing below the UI imports textual, and the domain
does no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "tui_trader"
BELOW_UI = ["domain", "db", "live", "security", "brokers", "strategies", "engine", "backtest",
            "services"]
IO_MODULES = {"sqlalchemy", "sqlmodel", "redis", "fakeredis", "psycopg", "requests", "socket",
              "kiteconnect", "keyring", "aiohttp", "textual"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_textual_below_ui_statically():
    offenders = [str(p.relative_to(PACKAGE)) for layer in BELOW_UI
                 for p in (PACKAGE / layer).rglob("*.py") if "textual" in _imports(p)]
    assert offenders == []


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


def test_domain_does_no_io():
    offenders = {str(p.relative_to(PACKAGE)): sorted(_imports(p) & IO_MODULES)
                 for p in (PACKAGE / "domain").rglob("*.py") if _imports(p) & IO_MODULES}
    assert offenders == {}


def test_no_naive_now_anywhere():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("datetime.now()", "datetime.utcnow()", "date.today()"):
            if needle in text:
                bad.append(f"{path.relative_to(PACKAGE)}: {needle}")
    assert bad == []


# Imports point down only: a module may import its own layer or any layer below it.
RANK = {"domain": 0, "config": 0, "db": 1, "live": 1, "security": 1, "brokers": 2,
        "strategies": 2, "engine": 3, "backtest": 3, "services": 4, "ui": 5, "cli": 5}


def _internal_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = path.relative_to(PACKAGE).parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(parts[:-node.level]) if node.level <= len(parts) else []
                target = (base + (node.module or "").split("."))[0] if base or node.module \
                    else ""
                if node.level == len(parts):  # from the package root: `from ..x import`
                    target = (node.module or "").split(".")[0]
                found.add(target)
            elif node.module and node.module.startswith("tui_trader."):
                found.add(node.module.split(".")[1])
    return {name.removesuffix(".py") for name in found if name}


def test_imports_point_down_only():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if layer not in RANK:
            continue
        text = path.read_text(encoding="utf-8")
        for target in _internal_imports(path):
            if target in RANK and RANK[target] > RANK[layer]:
                if "TYPE_CHECKING" in text and target == "services":
                    continue  # annotations only, never imported at run time
                offenders.append(f"{path.relative_to(PACKAGE)} -> {target}")
    assert offenders == []
