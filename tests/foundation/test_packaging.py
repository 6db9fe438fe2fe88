"""A regular (non-editable) build ships the top-level `themes/` and the Alembic tree `schema/`
inside the wheel, and the installed package finds them when run from outside the repository:
its themes load and `tui-trader db upgrade` migrates a fresh database to the head revision."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]
THEMES = sorted(p.name for p in (ROOT / "themes").glob("*.toml"))
MIGRATIONS = sorted(p.name for p in (ROOT / "schema" / "versions").glob("*.py"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel offline from a copy of the sources (the shared checkout stays clean)."""
    pytest.importorskip("setuptools.command.bdist_wheel",
                        reason="needs setuptools>=70.1 (the dev extra) to build offline")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "themes", src / "themes", ignore=ignore)
    shutil.copytree(ROOT / "schema", src / "schema", ignore=ignore)
    shutil.copytree(ROOT / "tui_trader", src / "tui_trader", ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(src)],
                   check=True, timeout=120, capture_output=True)
    (built,) = out.glob("tui_trader-*.whl")
    return built


def test_wheel_contains_the_themes(wheel):
    assert THEMES, "the repository has no themes/*.toml"
    names = set(zipfile.ZipFile(wheel).namelist())
    for theme in THEMES:
        assert f"tui_trader/themes/{theme}" in names


def test_wheel_contains_the_migrations(wheel):
    assert MIGRATIONS, "the repository has no schema/versions/*.py"
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ["env.py", "script.py.mako", *(f"versions/{m}" for m in MIGRATIONS)]:
        assert f"tui_trader/_schema/{name}" in names


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed into a bare directory (dependencies come from this venv)."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, timeout=120, capture_output=True)
    return target


def _env(installed: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TUI_TRADER_THEMES", "TUI_TRADER_DATABASE_URL", "TUI_TRADER_REDIS_URL")}
    env["PYTHONPATH"] = str(installed)  # ahead of the editable install of the checkout
    env.update(extra)
    return env


def test_installed_package_finds_its_themes_outside_the_repo(installed, tmp_path):
    code = ("import tui_trader.ui.themes as t; print(t.__file__); "
            "print(' '.join(sorted(x.name for x in t.load_themes())))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(installed),
                            check=True, timeout=60, capture_output=True, text=True)
    module_file, names = result.stdout.strip().splitlines()
    assert Path(module_file).is_relative_to(installed)
    assert names.split() == [theme.removesuffix(".toml") for theme in THEMES]


def test_installed_package_migrates_outside_the_repo(installed, tmp_path):
    code = "from tui_trader.db import migrate; print(migrate.SCHEMA_DIR)"
    env = _env(installed, TUI_TRADER_KEYSTORE="file", TUI_TRADER_DATA_DIR=str(tmp_path),
               TUI_TRADER_CONFIG=str(tmp_path / "config.toml"),
               TUI_TRADER_DATABASE_URL=f"sqlite:///{tmp_path / 'installed.db'}")
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                           check=True, timeout=60, capture_output=True, text=True)
    assert Path(found.stdout.strip()) == installed / "tui_trader" / "_schema"

    head = ScriptDirectory(str(ROOT / "schema")).get_current_head()
    cli = installed / "bin" / "tui-trader"
    result = subprocess.run([sys.executable, str(cli), "db", "upgrade"], cwd=tmp_path, env=env,
                            timeout=60, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"migrated empty -> {head}" in result.stdout
    with closing(sqlite3.connect(tmp_path / "installed.db")) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"users", "orders", "order_history", "positions", "position_history"} <= tables
    assert version == head
