"""Find the Python files to check under the paths a user names."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    import pathspec

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


@record(frozen=True)
class MissingPath:
    """A path the user named that does not exist."""

    path: str


@record(frozen=True)
class Exclusions:
    """What a directory walk skips besides the default folders."""

    patterns: tuple[str, ...] = ()
    """gitignore-style patterns from ``exclude``/``extend-exclude``, relative to ``root``."""
    root: Path = Path(".")
    respect_gitignore: bool = True
    skip_defaults: bool = True
    """``exclude`` set in the configuration replaces the default folders, as in ruff."""
    force: bool = False
    """Apply the exclusions to files named explicitly too (pre-commit names every file)."""


def discover(
    paths: Iterable[str], exclusions: Exclusions = Exclusions()
) -> Iterator[Union[Path, MissingPath]]:
    """Every Python file under ``paths``, in a stable order.

    Files named explicitly are always included, whatever their suffix; directories are walked
    for ``*.py`` and ``*.pyi`` files, skipping virtualenvs, build output, VCS folders, the
    configured exclusions and what ``.gitignore`` files ignore.
    """
    paths = list(paths)
    # one folder yields each file once: only several paths can name a file twice (hashing a
    # Path costs more than finding it)
    seen: Optional[set[str]] = set() if len(paths) > 1 else None
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for found in _Walker(exclusions).walk(path):
                if seen is None:
                    yield found
                elif str(found) not in seen:
                    seen.add(str(found))
                    yield found
        elif path.exists() or path.is_symlink():
            if exclusions.force and _Walker(exclusions).excluded_file(path):
                continue
            if seen is None:
                yield path
            elif str(path) not in seen:
                seen.add(str(path))
                yield path
        else:
            yield MissingPath(raw)


class _Walker:
    """Walks folders on ``str`` paths: a ``Path`` per folder and per file cost a 16,000-file
    tree most of its walk. What a folder holds (``.gitignore``, ``.git``) is read from its
    listing as the walk passes; folders above the walk's start are asked on disk."""

    def __init__(self, exclusions: Exclusions) -> None:
        self.exclusions = exclusions
        self.root = os.fspath(exclusions.root.resolve())
        self.excluded = _spec(exclusions.patterns)
        self.ignores: dict[str, Optional[Patterns]] = {}
        self.repositories: dict[str, bool] = {}
        self.applicable: dict[str, list[tuple[str, Patterns]]] = {}
        """For a folder, the ``.gitignore`` specs that apply to what is in it."""

    def walk(self, start: Path) -> Iterator[Path]:
        top = True
        skip_defaults = self.exclusions.skip_defaults
        for directory, folders, files in os.walk(start):
            if not top and skip_defaults and "pyvenv.cfg" in files:
                # a virtual environment: known by its listing here, not by a look into every
                # folder before entering it
                folders[:] = []
                continue
            top = False
            absolute = os.path.abspath(directory)
            if absolute not in self.repositories:
                self.repositories[absolute] = ".git" in folders or ".git" in files
            if ".gitignore" not in files:
                self.ignores.setdefault(absolute, None)
            # most folders have no pattern that could exclude what is in them
            patterns = self._patterns(absolute)
            folders[:] = sorted(
                name
                for name in folders
                if not (skip_defaults and (name in DEFAULT_EXCLUDES or name.endswith(".egg-info")))
                and not (patterns and _matched(patterns, name + "/"))
            )
            here = Path(directory)
            for name in sorted(files):
                if name.endswith(PYTHON_SUFFIXES) and not (patterns and _matched(patterns, name)):
                    yield here / name

    def excluded_file(self, path: Path) -> bool:
        """Whether a file, or any folder above it, is excluded (for ``--force-exclude``)."""
        absolute = path.absolute()
        root = Path(self.root)
        folders = [folder for folder in absolute.parents if folder != root]
        for folder in folders:
            if root in folder.parents and not self._enter(folder):
                return True
        return _matched(self._patterns(os.fspath(absolute.parent)), absolute.name)

    def _enter(self, folder: Path) -> bool:
        name = folder.name
        if self.exclusions.skip_defaults and (
            name in DEFAULT_EXCLUDES
            or name.endswith(".egg-info")
            or (folder / "pyvenv.cfg").exists()
        ):
            return False
        return not _matched(self._patterns(os.fspath(folder.parent)), name + "/")

    def _patterns(self, folder: str) -> list[tuple[str, Patterns]]:
        """The patterns that may exclude an entry of ``folder`` (absolute), each with the
        folder's path relative to where the patterns are read from (``""`` there, else ending
        in ``/``): an entry's is that and its name (with ``/`` for a folder)."""
        patterns: list[tuple[str, Patterns]] = []
        if self.excluded is not None:
            relative = _relative(folder, self.root)
            if relative is not None:
                patterns.append((relative, self.excluded))
            patterns.append(("", self.excluded))  # the name alone matches too
        if self.exclusions.respect_gitignore:
            for where, spec in self._applicable(folder):
                relative = _relative(folder, where)
                if relative is not None:
                    patterns.append((relative, spec))
        return patterns

    def _applicable(self, folder: str) -> list[tuple[str, Patterns]]:
        """The ``.gitignore`` specs of ``folder`` and of the folders above it, up to the
        repository's top (the files above it do not apply)."""
        known = self.applicable.get(folder)
        if known is None:
            spec = self._gitignore(folder)
            known = [(folder, spec)] if spec is not None else []
            parent = os.path.dirname(folder)
            if not self._is_repository(folder) and parent != folder:
                known = known + self._applicable(parent)  # the parent's, asked once
            self.applicable[folder] = known
        return known

    def _is_repository(self, folder: str) -> bool:
        """Whether ``folder`` holds ``.git`` (asked once per folder, not once per file)."""
        known = self.repositories.get(folder)
        if known is None:
            known = self.repositories[folder] = os.path.exists(os.path.join(folder, ".git"))
        return known

    def _gitignore(self, folder: str) -> Optional[Patterns]:
        if folder not in self.ignores:
            try:
                with open(os.path.join(folder, ".gitignore"), encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except (OSError, UnicodeDecodeError):
                lines = []
            self.ignores[folder] = _spec(lines)
        return self.ignores[folder]


def _matched(patterns: list[tuple[str, Patterns]], name: str) -> bool:
    return any(spec.match_file(prefix + name) for prefix, spec in patterns)


def _spec(lines: Iterable[str]) -> Optional[Patterns]:
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return None
    return Patterns(lines)


class Patterns:
    """A ``.gitignore`` (or the configured exclusions), which most paths match nowhere.

    pathspec tries each pattern in turn, in Python: a 200-line ``.gitignore`` cost 60 ms on a
    700-file project, a quarter of its check. One expression made of every pattern answers
    "no pattern matches" at once; a path that some pattern matches is left to pathspec, which
    decides what the matches mean (negation, directory patterns, the last match winning).
    pathspec's own patterns are compiled only for such a path (one expression each: about
    7 ms for that ``.gitignore``, and most projects never need them)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._spec: Optional[pathspec.GitIgnoreSpec] = None
        self._any = _any_of(lines)

    @property
    def spec(self) -> pathspec.GitIgnoreSpec:
        """pathspec's reading of the lines, built at the first path it must decide."""
        if self._spec is None:
            import pathspec

            self._spec = pathspec.GitIgnoreSpec.from_lines(self.lines)
        return self._spec

    def match_file(self, path: str) -> bool:
        """Whether ``path`` (relative, ``/``-separated, with a trailing ``/`` for a folder) is
        excluded."""
        if self._any is not None and self._any.match(path) is None:
            return False
        return bool(self.spec.match_file(path))


def _any_of(lines: list[str]) -> Optional[re.Pattern[str]]:
    """One expression matching where any of the lines' patterns matches, or ``None`` when the
    patterns are not all plain ones (which pathspec then matches itself). Each pattern's
    expression is pathspec's own, translated but not compiled."""
    import pathspec  # only once there is a pattern to match: it costs 10 ms to import

    kind = type(pathspec.GitIgnoreSpec.from_lines(["x"]).patterns[0])
    translate = getattr(kind, "pattern_to_regex", None)
    if translate is None:
        return None
    alternatives = []
    anywhere = []  # most patterns name a path component at any depth: one prefix for them all
    for line in lines:
        try:
            regex, include = translate(line)
        except (ValueError, TypeError):
            return None  # pathspec refuses it too: let it say so
        if include is None:
            continue  # a blank line or comment: it matches nothing
        if not isinstance(regex, str) or "(?P=" in regex:
            return None  # a back-reference: not one of the plain shapes
        # the patterns name the same groups; unnamed, they can share one expression
        expression = _NAMED_GROUP.sub("(?:", regex)
        if expression.startswith(_ANY_DEPTH):
            anywhere.append(expression[len(_ANY_DEPTH) :])
        else:
            alternatives.append(expression)
    if anywhere:
        alternatives.append(_ANY_DEPTH + "(?:" + "|".join(f"(?:{e})" for e in anywhere) + ")")
    if not alternatives:
        return None
    try:
        combined = re.compile("|".join(f"(?:{e})" for e in alternatives))
    except re.error:
        return None
    return combined if combined.flags == re.UNICODE else None  # inline flags change them all


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_DEPTH = "^(?:.+/)?"


def _relative(path: str, base: str) -> Optional[str]:
    """``path`` (absolute) relative to ``base``, ``/``-separated and ending in ``/`` (``""``
    for ``base`` itself); ``None`` when it is not under ``base``."""
    if path == base:
        return ""
    prefix = base if base.endswith(os.sep) else base + os.sep
    if not path.startswith(prefix):
        return None
    relative = path[len(prefix) :]
    if os.sep != "/":
        relative = relative.replace(os.sep, "/")
    return relative + "/"
