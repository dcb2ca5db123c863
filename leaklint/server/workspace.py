"""What the language server knows about a project, independent of the protocol: its settings,
the project index kept current file by file, and the checks and fixes of a buffer's text.

Checking and fixing are the CLI's own functions (``check_module``, ``fix_module``, the noqa
helpers); this module only decides which text and which index they see.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Optional, Union

from leaklint import records
from leaklint.analysis.targets import ProjectIndex, index_module, module_name
from leaklint.config import Config, ConfigError, find_config, load_config
from leaklint.discover import MissingPath, discover
from leaklint.fixes import FixError, fixed_bytes, line_edit
from leaklint.model import Diagnostic, Edit
from leaklint.noqa import with_noqa_comments
from leaklint.parse import ParsedModule, ParseFailure, may_feed_index, may_have_targets, parse
from leaklint.records import field, record
from leaklint.runner import check_module, fix_module, registrations_of
from leaklint.settings import Settings

MAX_INDEXED_BYTES = 2_000_000
"""A file or buffer larger than this is left out of the project index (a 20 MB module takes a
minute and gigabytes to parse whole); it is still checked."""


@record(frozen=True)
class Options:
    """What the editor asks for, on top of the project's ``[tool.leaklint]``."""

    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    type_inference: bool = False
    """Off unless asked: astroid costs more than an editor's keystroke allows."""

    @classmethod
    def from_client(cls, raw: object) -> Options:
        """Options from ``initializationOptions`` or ``workspace/didChangeConfiguration``
        (camelCase keys, optionally under ``leaklint``); unknown keys are ignored."""
        if not isinstance(raw, dict):
            return cls()
        table = raw.get("leaklint", raw)
        if not isinstance(table, dict):
            return cls()

        def codes(key: str) -> tuple[str, ...]:
            value = table.get(key, ())
            return tuple(str(code) for code in value) if isinstance(value, list) else ()

        return cls(
            select=codes("select"),
            extend_select=codes("extendSelect"),
            ignore=codes("ignore"),
            unsafe_fixes=bool(table.get("unsafeFixes", False)),
            type_inference=bool(table.get("typeInference", False)),
        )


@record
class Checked:
    """One check of a buffer: its findings, or why it could not be checked."""

    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: Optional[str] = None
    parsed: Optional[ParsedModule] = None


class Project:
    """One workspace folder (or the folder of a file outside every workspace)."""

    def __init__(self, root: Path, options: Options = Options()) -> None:
        self.root = root
        self.options = options
        self.config = Config()
        self.settings = Settings(select=frozenset())
        self.problem: Optional[str] = None
        """Why the configuration could not be used (the defaults are used instead)."""
        self.contributions: dict[str, ProjectIndex] = {}
        self._index: Optional[ProjectIndex] = None
        self._lock = threading.Lock()
        """Checks read the index in the server's worker thread while messages update it."""
        self.configure(options)

    def configure(self, options: Options) -> None:
        """Read ``[tool.leaklint]`` again and combine it with the editor's options."""
        self.options = options
        self.problem = None
        try:
            found = find_config(self.root)
            self.config = load_config(found) if found is not None else Config()
        except ConfigError as error:
            self.problem, self.config = str(error), Config()
        try:
            settings = self.config.settings(
                options.select,
                options.extend_select,
                options.ignore,
                unsafe_fixes=options.unsafe_fixes,
                type_inference=options.type_inference,
            )
        except ConfigError as error:
            self.problem = str(error)
            settings = Config().settings(unsafe_fixes=options.unsafe_fixes)
        self.settings = records.replace(
            settings, exclusions=records.replace(settings.exclusions, root=self.root)
        )

    def contains(self, path: Path) -> bool:
        """Whether ``path`` lies under this project's folder."""
        try:
            path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        return True

    # the project index ----------------------------------------------------------------------
    def scan(self) -> int:
        """Index every Python file of the folder (as the CLI discovers them); how many."""
        self.contributions.clear()
        self._index = None
        count = 0
        for found in discover([str(self.root)], self.settings.exclusions):
            if isinstance(found, MissingPath):
                continue
            try:
                data = found.read_bytes()
            except OSError:
                continue
            self.contribute(str(found), data)
            count += 1
        return count

    def contribute(self, filename: str, data: Union[bytes, str, None]) -> bool:
        """Take one file's part of the index from ``data`` (``None``: the file is gone);
        whether the index changed."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data is None or not self._feeds_index(data):
            return self._store(filename, None)
        if not may_have_targets(data):  # read from its registering statements alone
            contribution = registrations_of(filename, data, self.settings.knowledge)
            if contribution is not None:
                empty = contribution == ProjectIndex()
                return self._store(filename, None if empty else contribution)
        parsed = parse(filename, data)
        if isinstance(parsed, ParseFailure):
            return False  # keep what the file gave while it last parsed
        return self._store(filename, self._contribution(parsed))

    def _feeds_index(self, data: bytes) -> bool:
        if len(data) > MAX_INDEXED_BYTES:
            return False  # too large to parse whole in an editor's time
        return may_feed_index(data, self.settings.knowledge.index_markers)

    def _contribution(self, parsed: ParsedModule) -> Optional[ProjectIndex]:
        contribution = index_module(
            parsed.tree,
            parsed.imports,
            self.settings.knowledge,
            module_name(parsed.filename),
            parsed.text,
        )
        return None if contribution == ProjectIndex() else contribution

    def _store(self, filename: str, contribution: Optional[ProjectIndex]) -> bool:
        """Keep ``filename``'s part of the index; whether the index changed."""
        with self._lock:
            before = self.contributions.get(filename)
            if contribution is None:
                self.contributions.pop(filename, None)
            else:
                self.contributions[filename] = contribution
            changed = before != contribution
            if changed:
                self._index = None
        return changed

    @property
    def index(self) -> ProjectIndex:
        """The project-wide index over every file's latest contribution."""
        with self._lock:
            if self._index is None:
                index = ProjectIndex()
                for contribution in self.contributions.values():
                    index.merge(contribution)
                self._index = index
            return self._index

    # checks and fixes of a buffer ------------------------------------------------------------
    def check(self, filename: str, text: str, index: Optional[ProjectIndex] = None) -> Checked:
        """The findings in ``text``, the buffer of ``filename``, under the project's index.

        As the CLI does, a buffer without ``yield`` is not parsed at all, and only the functions
        that yield (and the imports) are parsed in the others."""
        data = text.encode("utf-8")
        if not may_have_targets(data):
            return Checked(text)
        parsed = parse(filename, data, whole=False)
        if isinstance(parsed, ParseFailure):
            return Checked(text, error=parsed.message)
        index = self.index if index is None else index
        return Checked(text, check_module(parsed, index, self.settings), parsed=parsed)

    def refresh(self, filename: str, text: str) -> tuple[Checked, bool]:
        """Take the buffer's part of the index and check it, from one parse (as the CLI does
        for a file that feeds the index); the check, and whether the index changed (the
        project's other open buffers then need a check too)."""
        data = text.encode("utf-8")
        if not self._feeds_index(data):
            changed = self._store(filename, None)
            return self.check(filename, text), changed
        if not may_have_targets(data):  # nothing to check: its part of the index alone
            return Checked(text), self.contribute(filename, data)
        parsed = parse(filename, data)
        if isinstance(parsed, ParseFailure):
            # the index keeps the last text that parsed; the generators that parse on their
            # own are still checked, so a typo elsewhere does not blank the file's findings
            return self.check(filename, text), False
        changed = self._store(filename, self._contribution(parsed))
        return Checked(
            text, check_module(parsed, self.index, self.settings), parsed=parsed
        ), changed

    def fix_all(self, checked: Checked) -> Optional[Edit]:
        """``leaklint --fix`` on the buffer (safe fixes), as one edit; ``None``: nothing."""
        if checked.parsed is None:
            return None
        settings = records.replace(self.settings, fix=True, unsafe_fixes=False)
        try:
            fixed, _, _ = fix_module(checked.parsed, self.index, settings)
        except FixError:
            return None  # as `--fix` writes nothing then
        return line_edit(checked.text, fixed.data.decode("utf-8"))

    @staticmethod
    def fix_one(checked: Checked, diagnostic: Diagnostic) -> Optional[Edit]:
        """The fix of one finding, as one edit."""
        if diagnostic.fix is None:
            return None
        try:
            fixed = fixed_bytes(checked.text.encode("utf-8"), [diagnostic.fix], diagnostic.filename)
        except FixError:
            return None  # what `--fix` would refuse is not offered either
        return line_edit(checked.text, fixed.decode("utf-8"))

    @staticmethod
    def suppress(checked: Checked, diagnostics: Iterable[Diagnostic]) -> Optional[Edit]:
        """``# noqa: CODE`` on each finding's row, merged as ``--add-noqa`` does."""
        text, _ = with_noqa_comments(checked.text, diagnostics)
        return line_edit(checked.text, text)
