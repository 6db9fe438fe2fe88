"""`make run` / `make test` check the Python first: an interpreter older than 3.11 is refused
with what to do, before a `.venv` is made; a `.venv` made by another interpreter is rebuilt.

The Makefile runs in a copy of the project with fake interpreters (shell scripts answering
the one question it asks, `-c` for "major.minor", and making a stub venv), on a PATH holding
only them and the basic tools: nothing is installed and the real `.venv` is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("sh", "rm", "mkdir", "touch", "cat", "chmod")

STUB_VENV = """
mkdir -p "$3/bin"
# Like the real `venv` over an existing directory: what is there is left as it was.
[ -e "$3/bin/python" ] || printf '#!/bin/sh\\necho %(version)s\\n' > "$3/bin/python"
printf '#!/bin/sh\\nexit 0\\n' > "$3/bin/pip"
printf '#!/bin/sh\\necho tui-trader started\\n' > "$3/bin/tui-trader"
chmod +x "$3/bin/python" "$3/bin/pip" "$3/bin/tui-trader"
"""


def fake_python(folder: Path, name: str, version: str, *, venv_works: bool = True) -> Path:
    script = folder / name
    venv = STUB_VENV % {"version": version} if venv_works else \
        'mkdir -p "$3/bin"; echo "Error: ensurepip is not available" >&2; exit 1'
    script.write_text(f"#!/bin/sh\n"
                      f'if [ "$1" = "-c" ]; then echo {version}; exit 0; fi\n'
                      f'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n{venv}\nexit $?\nfi\n'
                      f"exit 2\n")
    script.chmod(0o755)
    return script


@pytest.fixture
def project(tmp_path) -> Path:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, folder / name)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in TOOLS:  # the only programs on PATH besides the fake interpreters
        os.symlink(shutil.which(tool), bin_dir / tool)
    return folder


def make(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": str(project.parent / "bin"), "HOME": str(project.parent)}
    return subprocess.run([shutil.which("make"), "--no-print-directory", *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=60)


def test_an_old_python_is_refused_with_what_to_do_and_no_venv_is_made(project):
    fake_python(project.parent / "bin", "python3", "3.10")
    done = make(project, "run")
    assert done.returncode != 0
    assert "make: python3 is Python 3.10; tui-trader needs Python 3.11 or newer." \
        in done.stderr
    assert "install Python 3.11+ (with its venv module), then run: make run " \
           "PYTHON=python3.11" in done.stderr
    assert not (project / ".venv").exists()


def test_an_old_python_names_a_newer_one_that_is_installed(project):
    fake_python(project.parent / "bin", "python3", "3.10")
    fake_python(project.parent / "bin", "python3.12", "3.12")
    done = make(project, "test")
    assert done.returncode != 0
    assert "make: python3.12 is installed; run: make test PYTHON=python3.12" in done.stderr
    assert not (project / ".venv").exists()


def test_a_venv_made_by_another_python_is_rebuilt(project):
    """What an older Makefile left behind: a .venv made by 3.10, never installed."""
    fake_python(project.parent / "bin", "python3", "3.10")
    make(project, "run")
    old = project / ".venv" / "bin"
    old.mkdir(parents=True)
    (old / "python").write_text("#!/bin/sh\necho 3.10\n")
    (old / "python").chmod(0o755)
    right = fake_python(project.parent / "bin", "python3.11", "3.11")
    done = make(project, "run", f"PYTHON={right}")
    assert done.returncode == 0, done.stderr
    assert f"make: .venv was made by Python 3.10, not {right} (3.11): rebuilding it" \
        in done.stdout
    assert "tui-trader started" in done.stdout
    python = subprocess.run([str(old / "python"), "-c", "x"], capture_output=True, text=True)
    assert python.stdout.strip() == "3.11"
    assert (project / ".venv" / ".installed").exists()
    again = make(project, "run", f"PYTHON={right}")  # made now: used as it is
    assert "rebuilding" not in again.stdout and "tui-trader started" in again.stdout


def test_a_venv_that_could_not_be_made_is_not_left_behind(project):
    no_venv = fake_python(project.parent / "bin", "python3.11", "3.11", venv_works=False)
    done = make(project, "run", f"PYTHON={no_venv}")
    assert done.returncode != 0
    assert "install Python 3.11's venv module (e.g. apt install python3.11-venv)" \
        in done.stderr
    assert not (project / ".venv").exists()
