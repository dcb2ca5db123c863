"""Find the Python files to check under the paths a user names."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_EXCLUDES = frozenset(
    {
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".git-rewrite",
        ".hg",
        ".ipynb_checkpoints",
        ".leaklint_cache",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pyenv",
        ".pytest_cache",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tox",
        ".venv",
        ".vscode",
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
    }
)
"""Folders never entered while walking a directory (ruff's defaults, plus caches)."""

PYTHON_SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class MissingPath:
    """A path the user named that does not exist."""

    path: str


def discover(paths: Iterable[str]) -> Iterator[Path | MissingPath]:
    """Every Python file under ``paths``, in a stable order.

    Files named explicitly are always included, whatever their suffix; directories are walked
    for ``*.py`` and ``*.pyi`` files, skipping virtualenvs, build output and VCS folders.
    """
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _walk(path):
                if found not in seen:
                    seen.add(found)
                    yield found
        elif path.exists() or path.is_symlink():
            if path not in seen:
                seen.add(path)
                yield path
        else:
            yield MissingPath(raw)


def _walk(root: Path) -> Iterator[Path]:
    for directory, folders, files in os.walk(root):
        folders[:] = sorted(
            name
            for name in folders
            if name not in DEFAULT_EXCLUDES
            and not name.endswith(".egg-info")
            and not (Path(directory, name) / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            if name.endswith(PYTHON_SUFFIXES):
                yield Path(directory, name)
