"""Private files and directories: what the app keeps on disk (the database and its WAL, the
master-key file, logs) is readable by its own user only, whatever the umask.

A directory is made 0700 and a file 0600 when created here, and an existing one of ours that
is looser is tightened. On systems without POSIX modes these do nothing beyond creating.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_POSIX = os.name == "posix"


def private_dir(path: Path | str, *, tighten: bool = True) -> Path:
    """Create `path` (and missing parents) as 0700; with `tighten`, also take group and
    other access away from it if it already existed."""
    path = Path(path)
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    if _POSIX and (tighten or not existed):
        _restrict(path, PRIVATE_DIR)
    return path


def private_file(path: Path | str) -> Path:
    """Create `path` empty as 0600 unless it exists (never truncated); an existing one is
    made 0600. Call before anything else (SQLite, a log handler) opens it."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    try:
        if _POSIX and stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)  # the umask may have kept bits; an old file may be 0644
    finally:
        os.close(fd)
    return path


def tighten_if_present(path: Path | str) -> None:
    """Make an existing file 0600 (e.g. a WAL a looser earlier run left); absent is fine."""
    if not _POSIX:
        return
    try:
        _restrict(Path(path), PRIVATE_FILE)
    except FileNotFoundError:
        pass


def _restrict(path: Path, mode: int) -> None:
    if stat.S_IMODE(path.stat().st_mode) != mode:
        os.chmod(path, mode)
