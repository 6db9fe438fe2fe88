"""Setuptools build hook; every other piece of packaging metadata lives in pyproject.toml.

Two trees live at the top of the repository, outside the package, and a regular
(non-editable) build copies them into the wheel as package data:

- `themes/*.toml` -> `tui_trader/themes/`, where `tui_trader.ui.themes.theme_dirs` finds them;
- the Alembic tree `schema/` (env.py, script.py.mako, versions/*.py) -> `tui_trader/_schema/`,
  where `tui_trader.db.migrate` finds it when there is no `schema/` beside the package.

An editable install reads both in the checkout directly.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
THEMES = ROOT / "themes"
SCHEMA = ROOT / "schema"
SCHEMA_PATTERNS = ("env.py", "script.py.mako", "versions/*.py")


class BuildPyWithData(build_py):
    def _data_files(self) -> list[tuple[Path, Path]]:
        if getattr(self, "editable_mode", False):
            return []
        package = Path(self.build_lib) / "tui_trader"
        files = [(src, package / "themes" / src.name) for src in sorted(THEMES.glob("*.toml"))]
        for pattern in SCHEMA_PATTERNS:
            files += [(src, package / "_schema" / src.relative_to(SCHEMA))
                      for src in sorted(SCHEMA.glob(pattern))]
        return files

    def run(self) -> None:
        super().run()
        for src, dst in self._data_files():
            self.mkpath(str(dst.parent))
            self.copy_file(str(src), str(dst))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [
            str(dst) for _, dst in self._data_files()]


setup(cmdclass={"build_py": BuildPyWithData})
