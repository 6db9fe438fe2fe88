"""Setuptools build hook; every other piece of packaging metadata lives in pyproject.toml.

The console's themes live in the repository's top-level `themes/` directory. A regular
(non-editable) build copies them into the wheel as package data at `tui_trader/themes/`,
where `tui_trader.ui.themes.theme_dirs` finds them; an editable install reads `themes/`
in the checkout directly.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

THEMES = Path(__file__).resolve().parent / "themes"


class BuildPyWithThemes(build_py):
    def _theme_files(self) -> list[tuple[Path, Path]]:
        if getattr(self, "editable_mode", False):
            return []
        target = Path(self.build_lib) / "tui_trader" / "themes"
        return [(src, target / src.name) for src in sorted(THEMES.glob("*.toml"))]

    def run(self) -> None:
        super().run()
        for src, dst in self._theme_files():
            self.mkpath(str(dst.parent))
            self.copy_file(str(src), str(dst))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [
            str(dst) for _, dst in self._theme_files()]


setup(cmdclass={"build_py": BuildPyWithThemes})
