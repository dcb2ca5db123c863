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


def read_bytes(path: Union[str, os.PathLike[str]]) -> bytes:
    """The bytes of a file, as ``Path.read_bytes`` gives them, read with the system calls
    alone: the buffered file object ``Path.read_bytes`` builds around them cost as much as
    the reading itself on msgraph-sdk's 16,700 files. Raises ``OSError`` as it does."""
    descriptor = os.open(path, _READ_FLAGS)
    try:
        size = os.fstat(descriptor).st_size
        data = os.read(descriptor, size + 1)
        if len(data) == size:
            return data  # the whole file: asked for a byte more than it holds
        chunks = [data]  # it grew, was read short, or its size says nothing (a pipe)
        while chunks[-1]:
            chunks.append(os.read(descriptor, 1 << 16))
        return b"".join(chunks)
    finally:
        os.close(descriptor)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _listing(folder: Path) -> Optional[tuple[list[str], list[str], set[str]]]:
    """The names of the folders and of the other entries in ``folder``, and which of the
    folders are links; ``None`` when it cannot be listed (it is skipped, as by os.walk)."""
    folders: list[str] = []
    files: list[str] = []
    links: set[str] = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    is_folder = entry.is_dir()
                except OSError:
                    is_folder = False
                if not is_folder:
                    files.append(entry.name)
                    continue
                folders.append(entry.name)
                try:
                    if entry.is_symlink():
                        links.add(entry.name)
                except OSError:
                    pass
    except OSError:
        return None
    return folders, files, links


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
        """The Python files under ``start``, folders first to last in name order, as a
        top-down ``os.walk`` gives them, without its cost on deep trees: a generator per
        level that every name passes through, and a ``stat`` of every folder to tell a link
        (msgraph-sdk's 10,000 folders, ten deep, took 0.4 s)."""
        skip_defaults = self.exclusions.skip_defaults
        stack = [(start, os.path.abspath(start), True)]
        while stack:
            here, absolute, top = stack.pop()
            listing = _listing(here)
            if listing is None:
                continue
            folders, files, links = listing
            if not top and skip_defaults and "pyvenv.cfg" in files:
                # a virtual environment: known by its listing here, not by a look into every
                # folder before entering it
                continue
            if absolute not in self.repositories:
                self.repositories[absolute] = ".git" in folders or ".git" in files
            if ".gitignore" not in files:
                self.ignores.setdefault(absolute, None)
            # most folders have no pattern that could exclude what is in them
            patterns = self._patterns(absolute)
            for name in sorted(files):
                if name.endswith(PYTHON_SUFFIXES) and not (patterns and _matched(patterns, name)):
                    yield here / name
            entered = sorted(
                name
                for name in folders
                if not (skip_defaults and (name in DEFAULT_EXCLUDES or name.endswith(".egg-info")))
                and not (patterns and _matched(patterns, name + "/"))
                and name not in links  # not followed, as os.walk does not
            )
            stack.extend(
                (here / name, os.path.join(absolute, name), False) for name in reversed(entered)
            )

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
    return any(spec.match_in(prefix, name) for prefix, spec in patterns)


def _spec(lines: Iterable[str]) -> Optional[Patterns]:
    lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return None
    return Patterns(lines)


class Patterns:
    """A ``.gitignore`` (or the configured exclusions), which most paths match nowhere.

    pathspec tries each pattern in turn, in Python (a 200-line ``.gitignore`` cost 60 ms on a
    700-file project), and importing it costs about 35 ms (it brings ``typing``,
    ``dataclasses`` and ``inspect``), a sixth of a small project's run. So a path is first
    searched with one loose expression made of every pattern that can exclude (negations
    cannot): a wildcard, a bracket or a ``/`` stands for anything there, so whatever pathspec
    matches, it matches too. Only a path it matches is left to pathspec, imported then, which
    decides what the matches mean (anchoring, directory patterns, negation, the last match
    winning). Most projects never need it: ``*.py[cod]`` and ``build/`` match no ``.py`` file
    in a folder that is walked."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._spec: Optional[pathspec.GitIgnoreSpec] = None
        self._anchored, self._anywhere = _loosely(lines)
        self._firsts = _first_components(lines)
        negated = any(line.rstrip(" ").startswith("!") for line in lines)
        self._plain = None if negated else _Plain(lines)
        self._folders: dict[str, tuple[bool, Optional[re.Pattern[str]]]] = {}
        self._named: dict[str, bool] = {}

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
        return self.match_in("", path)

    def match_in(self, folder: str, name: str) -> bool:
        """Whether ``folder + name`` is excluded, where ``folder`` is ``""`` or ends with
        ``/``: what the folder's own components need is looked up once for all its entries,
        and what a name needs once for every folder that has it (``__init__.py``)."""
        kept = self._folders.get(folder)
        if kept is None:
            kept = self._folders[folder] = self._folder(folder)
        inside, anchored = kept
        path = folder + name
        if (
            anchored is None
            and not folder
            and self._anchored is not None
            and (self._firsts is None or name.split("/", 1)[0] in self._firsts)
        ):
            anchored = self._anchored
        if anchored is not None and anchored.match(path) is not None:
            return self._decide(path)
        if inside:
            return self._decide(path)
        named = self._named.get(name)
        if named is None:
            anywhere = self._anywhere
            named = anywhere is not None and any(map(anywhere.matches, name.split("/")))
            self._named[name] = named
        return named and self._decide(path)

    def _decide(self, path: str) -> bool:
        """Whether a path some pattern may exclude is excluded: said here when the file has
        no negation and a name, suffix or prefix pattern matches a component of the path
        (what most exclusions are: ``generated/``, ``*.log``); else by pathspec, whose import
        alone cost a small project a third of its run."""
        if self._plain is not None and self._plain.excludes(path):
            return True
        if self._plain is not None and self._plain.complete:
            return False  # every pattern is one of those, and none matches
        return bool(self.spec.match_file(path))

    def _folder(self, folder: str) -> tuple[bool, Optional[re.Pattern[str]]]:
        """Whether a component of ``folder`` matches a pattern without ``/``, and the
        expression of the anchored patterns if one may match under it: most cannot, as their
        first component is a name that ``folder`` does not start with."""
        anywhere, anchored = self._anywhere, self._anchored
        inside = anywhere is not None and any(map(anywhere.matches, folder.split("/")[:-1]))
        if folder and self._firsts is not None and folder.split("/", 1)[0] not in self._firsts:
            anchored = None
        return inside, anchored if folder else None


def _loosely(lines: list[str]) -> tuple[Optional[re.Pattern[str]], Optional[_Component]]:
    """What a path needs for some pattern of ``lines`` that can exclude it: an expression
    matched from the path's start (the patterns anchored at their file's folder) and what a
    whole component of the path matches (the others, which hold no ``/``). Whatever pathspec
    matches, one of them matches too; ``None`` for one that nothing needs."""
    patterns = [line.rstrip(" ") for line in lines]  # trailing spaces are not the pattern's
    loose = {_loose(pattern) for pattern in patterns if not pattern.startswith("!")}
    if any(body is None for _, body in loose):
        return re.compile(""), None  # pathspec decides every path
    anchored = "|".join(sorted(body for at_top, body in loose if at_top and body))
    anywhere = [
        pattern.rstrip("/").lstrip("/")
        for pattern in patterns
        if not pattern.startswith("!") and not _loose(pattern)[0]
    ]
    return (
        re.compile(f"(?:{anchored})(?:/|$)") if anchored else None,
        _Component(anywhere) if anywhere else None,
    )


def _first_components(lines: list[str]) -> Optional[frozenset[str]]:
    """The first component of every anchored pattern that can exclude, when each is a plain
    name (``dist`` of ``/dist``, ``docs`` of ``docs/_build/``); ``None`` when one is not."""
    firsts = set()
    for line in lines:
        pattern = line.rstrip(" ")
        if pattern.startswith("!"):
            continue
        anchored, body = _loose(pattern)
        if body is None:
            return None
        if not anchored:
            continue
        first = pattern.lstrip("/").split("/", 1)[0]
        if not first or _WILD.search(first):
            return None
        firsts.add(first)
    return frozenset(firsts)


class _Plain:
    """The patterns of a ``.gitignore`` without negations that are a plain name, ``*`` and a
    name, or a name and ``*`` (``build/``, ``*.log``, ``tmp*``), and exactly when they match a
    path: a component equal to the name (ending or starting with it), a folder's when the
    pattern ends with ``/``. Without negations, a path one of them matches is excluded
    whatever the other patterns say, and when they are all the patterns, a path none of them
    matches is not."""

    def __init__(self, lines: list[str]) -> None:
        kinds: dict[tuple[str, bool], set[str]] = {}
        self.complete = True
        """Every pattern is one of those: what they do not match is not excluded."""
        for line in lines:
            pattern = line.rstrip(" ")
            folders_only = pattern.endswith("/")
            body = pattern[:-1] if folders_only else pattern
            plain = None if body[:1].isspace() or "/" in body else _plain_kind(body)
            if plain is None:  # anchored, `/` alone, leading space, wildcards: pathspec's
                self.complete = False
                continue
            kind, text = plain
            kinds.setdefault((kind, folders_only), set()).add(text)
        self.names = {only: frozenset(kinds.get(("name", only), ())) for only in (False, True)}
        self.suffixes = {
            only: tuple(sorted(kinds.get(("suffix", only), ()))) for only in (False, True)
        }
        self.prefixes = {
            only: tuple(sorted(kinds.get(("prefix", only), ()))) for only in (False, True)
        }

    def excludes(self, path: str) -> bool:
        parts = path.rstrip("/").split("/")
        last = len(parts) - 1
        for at, part in enumerate(parts):
            folder = at < last or path.endswith("/")
            for only in (False, True) if folder else (False,):
                if (
                    part in self.names[only]
                    or part.endswith(self.suffixes[only])
                    or part.startswith(self.prefixes[only])
                ):
                    return True
        return False


class _Component:
    """Whether one component of a path (a folder's or a file's name) matches one of the
    patterns that hold no ``/``, loosely as :func:`_loose` reads them. Most are a name or a
    suffix (``node_modules``, ``*.log``), looked up as such: one expression of them all, tried
    at every component, cost a 270-line ``.gitignore`` most of the walk."""

    def __init__(self, patterns: list[str]) -> None:
        kinds: dict[str, set[str]] = {"name": set(), "suffix": set(), "prefix": set()}
        others = set()
        for pattern in patterns:
            plain = _plain_kind(pattern)
            if plain is None:  # `/` alone is read as `.*`: pathspec says what it means
                others.add(_loose(pattern)[1] or ".*")
            else:
                kinds[plain[0]].add(plain[1])
        self.names = frozenset(kinds["name"])
        self.suffixes = tuple(sorted(kinds["suffix"]))
        self.prefixes = tuple(sorted(kinds["prefix"]))
        self.others = re.compile("|".join(sorted(others))) if others else None

    def matches(self, name: str) -> bool:
        return (
            name in self.names
            or name.endswith(self.suffixes)
            or name.startswith(self.prefixes)
            or (self.others is not None and self.others.fullmatch(name) is not None)
        )


def _plain_kind(body: str) -> Optional[tuple[str, str]]:
    """A pattern without ``/`` that is a name, ``*`` and a name, or a name and ``*``: which
    (``name``, ``suffix``, ``prefix``) and the name; ``None`` for any other."""
    if not _WILD.search(body):
        return ("name", body) if body else None
    if body[0] == "*" and body[1:] and not _WILD.search(body[1:]):
        return "suffix", body[1:]
    if body[-1] == "*" and body[:-1] and not _WILD.search(body[:-1]):
        return "prefix", body[:-1]
    return None


_WILD = re.compile(r"[*?\\[]")
"""What makes a pattern more than a name: a wildcard, a bracket, an escape."""


def _loose(pattern: str) -> tuple[bool, Optional[str]]:
    """The pattern as gitignore reads it, made looser where that is simpler: a bracket
    stands for any one character, and a pattern may end a path or a folder of it. Whether it
    is anchored at the folder of its file (a ``/`` before its end), and the expression for
    what follows; ``None`` for one that pathspec is left to read on every path."""
    if pattern[:1].isspace():
        return False, None  # leading white space: whether it is the pattern's is pathspec's
    body = pattern.rstrip("/")
    anchored = "/" in body
    components = body.lstrip("/").split("/")
    parts: list[str] = []
    for at, component in enumerate(components):
        last = at == len(components) - 1
        if component == "**":
            parts.append(".*" if last else "(?:.*/)?")
            continue
        parts.append(_loose_component(component))
        if not last:
            parts.append("/")
    return anchored, "".join(parts) or ".*"


def _loose_component(component: str) -> str:
    """One component of a pattern: ``*`` and ``?`` within it, a bracket for one character, an
    escaped character as itself."""
    parts: list[str] = []
    at = 0
    while at < len(component):
        character = component[at]
        at += 1
        if character == "\\":
            if at < len(component):
                parts.append(re.escape(component[at]))
                at += 1
        elif character == "[":
            closing = component.find("]", at + 1)  # `[]a]`: the first `]` is in the class
            at = closing + 1 if closing >= 0 else at
            parts.append("[^/]")
        elif character == "*":
            parts.append("[^/]*")
        elif character == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(character))
    return "".join(parts)


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
