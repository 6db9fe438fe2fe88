"""A regular (non-editable) build ships the top-level `themes/` inside the wheel, and the
installed package finds them when run from outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THEMES = sorted(p.name for p in (ROOT / "themes").glob("*.toml"))


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


def test_installed_package_finds_its_themes_outside_the_repo(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(target), str(wheel)],
                   check=True, timeout=120, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "TUI_TRADER_THEMES"}
    env["PYTHONPATH"] = str(target)  # ahead of the editable install of the checkout
    code = ("import tui_trader.ui.themes as t; print(t.__file__); "
            "print(' '.join(sorted(x.name for x in t.load_themes())))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            check=True, timeout=60, capture_output=True, text=True)
    module_file, names = result.stdout.strip().splitlines()
    assert Path(module_file).is_relative_to(target)
    assert names.split() == [theme.removesuffix(".toml") for theme in THEMES]
