"""The results cache: a re-run reads only the files that changed.

One JSON file per combination of leaklint version and effective settings, in
``.leaklint_cache/`` at the project root. An entry is reused when the file's size and
modification time are unchanged, so a warm run stats files instead of reading them. Findings
depend on the project-wide index (a ``Depends(get_db)`` in one file makes ``get_db`` in another
a target), so each entry also keeps the file's contribution to the index, and findings are
reused only while the index as a whole is the same as when they were computed. Writes are
atomic (temporary file and rename): two runs sharing the folder leave a valid cache behind.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import os
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar

from leaklint import __version__
from leaklint.analysis.targets import ProjectIndex
from leaklint.model import (
    Applicability,
    Diagnostic,
    FileError,
    FileWarning,
    FixKind,
    FixPlan,
    Location,
    Severity,
)
from leaklint.settings import Settings

FORMAT = 4


@dataclass
class Entry:
    """What is known about one file at a given size and modification time."""

    size: int = 0
    mtime_ns: int = 0
    has_targets: bool = False
    """It holds a ``yield``: its findings depend on the project index."""
    index: Optional[dict[str, Any]] = None
    """The file's contribution to the project index, when it has one."""
    index_digest: str = ""
    """The project index the findings were computed with."""
    diagnostics: list[Diagnostic] = dataclasses.field(default_factory=list)
    error: Optional[FileError] = None
    warning: Optional[FileWarning] = None

    def findings_valid_for(self, digest: str) -> bool:
        """Whether the stored findings hold under a project index with this digest."""
        return not self.has_targets or self.error is not None or self.index_digest == digest


class ResultsCache:
    """Entries by path, loaded at the start of a run and saved at its end."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.path = folder / f"results-{FORMAT}-{_settings_digest(settings)}.json"
        self.entries: dict[str, Entry] = {}
        self._fresh: dict[str, Entry] = {}
        self._stored = False
        """Whether this run found anything the file does not hold yet."""
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(document, dict) and document.get("version") == __version__:
            for path, raw in document.get("files", {}).items():
                entry = _entry_from_json(raw)
                if entry is not None:
                    self.entries[path] = entry

    def lookup(self, path: Path) -> Optional[Entry]:
        """The entry for ``path`` if the file still has the size and time it had."""
        entry = self.entries.get(str(path))
        if entry is None:
            return None
        try:
            status = path.stat()
        except OSError:
            return None
        if (status.st_size, status.st_mtime_ns) != (entry.size, entry.mtime_ns):
            return None
        self._fresh[str(path)] = entry
        return entry

    def elsewhere(self, paths: Sequence[str], seen: Collection[str]) -> list[ProjectIndex]:
        """The index contributions of the unchanged files outside ``paths``; their entries are
        kept. Entries under ``paths`` that this run did not see (deleted, now excluded) go."""
        contributions: list[ProjectIndex] = []
        for name, entry in self.entries.items():
            if name in seen or any(_within(name, path) for path in paths):
                continue
            if entry.index is None:
                self._fresh.setdefault(name, entry)
            elif self.lookup(Path(name)) is not None:
                contributions.append(index_from_json(entry.index))
        return contributions

    def store(self, path: Path, data_size: int, entry: Entry) -> None:
        """Remember what was found for ``path`` (its time is read now, after reading it)."""
        try:
            status = path.stat()
        except OSError:
            return
        if status.st_size != data_size:
            return  # it changed while it was being read: do not vouch for it
        entry.size, entry.mtime_ns = status.st_size, status.st_mtime_ns
        self._fresh[str(path)] = entry
        self._stored = True

    def save(self) -> None:
        """Write the entries seen in this run, atomically; a cache that cannot be written only
        costs time. A run that found every file as the cache holds it writes nothing."""
        if not self._stored and self._fresh.keys() == self.entries.keys():
            return
        document = {
            "version": __version__,
            "files": {path: _entry_to_json(entry) for path, entry in self._fresh.items()},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by leaklint\n*\n", encoding="utf-8")
            descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"), default=_json_default)
            os.replace(temporary, self.path)
        except OSError:
            pass


def _within(name: str, path: str) -> bool:
    """Whether the file ``name`` (as discovery spells it) lies under the run's ``path``."""
    name, path = os.path.normpath(name), os.path.normpath(path)
    if path == ".":
        return not os.path.isabs(name) and not name.startswith("..")
    return name == path or name.startswith(path.rstrip(os.sep) + os.sep)


def index_to_json(index: ProjectIndex) -> dict[str, Any]:
    """A file's contribution to the project index, as JSON."""
    return {
        "references": {
            name: sorted([list(r.module), r.exact, r.driver, r.owner] for r in references)
            for name, references in index.references.items()
        },
        "method_references": {
            name: sorted(drivers) for name, drivers in index.method_references.items()
        },
        "session_factories": {
            name: sorted(
                ([list(f.module), dataclasses.asdict(f.resource_type)] for f in factories),
                key=repr,
            )
            for name, factories in index.session_factories.items()
        },
    }


def index_from_json(raw: Mapping[str, Any]) -> ProjectIndex:
    """The inverse of :func:`index_to_json`."""
    from leaklint.analysis.resources import ResourceType
    from leaklint.analysis.targets import Factory, Reference

    return ProjectIndex(
        references={
            name: {
                Reference(tuple(module), exact, driver, owner)
                for module, exact, driver, owner in items
            }
            for name, items in raw["references"].items()
        },
        method_references={
            name: set(drivers) for name, drivers in raw["method_references"].items()
        },
        session_factories={
            name: {
                Factory(
                    tuple(module),
                    ResourceType(**{**kind, "ends_with": tuple(kind.get("ends_with", ()))}),
                )
                for module, kind in items
            }
            for name, items in raw["session_factories"].items()
        },
    )


def index_digest(index: ProjectIndex) -> str:
    """A fingerprint of the whole project index."""
    return _digest(index_to_json(index))


def _settings_digest(settings: Settings) -> str:
    return _digest(
        {
            "select": sorted(settings.select),
            "knowledge": _knowledge_fingerprint(settings),
            "type_inference": settings.type_inference,
            "per_file_ignores": [[p, sorted(c)] for p, c in settings.per_file_ignores],
        }
    )[:16]


def _knowledge_fingerprint(settings: Settings) -> list[Any]:
    """The knowledge base in a stable order (sets are not, across runs)."""
    knowledge = settings.knowledge
    return [
        sorted((name, repr(kind)) for name, kind in knowledge.factories.items()),
        [(pattern, repr(kind)) for pattern, kind in knowledge.factory_patterns],
        sorted(knowledge.release_methods),
        sorted(knowledge.coroutine_release_methods),
        sorted(knowledge.dependency_markers),
        [
            [
                driver.name,
                driver.finalization.value,
                driver.role.value,
                *(sorted(group) for group in (driver.decorators, driver.decorator_names)),
                *(sorted(group) for group in (driver.calls, driver.call_names, driver.keywords)),
                sorted(driver.methods),
                sorted(driver.markers),
                driver.positional,
                driver.requires_import,
            ]
            for driver in knowledge.drivers.drivers
        ],
    ]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"cannot store {type(value).__name__} in the cache")


def _entry_to_json(entry: Entry) -> dict[str, Any]:
    return {
        "size": entry.size,
        "mtime_ns": entry.mtime_ns,
        "has_targets": entry.has_targets,
        "index": entry.index,
        "index_digest": entry.index_digest,
        "diagnostics": [dataclasses.asdict(d) for d in entry.diagnostics],
        "error": None if entry.error is None else dataclasses.asdict(entry.error),
        "warning": None if entry.warning is None else dataclasses.asdict(entry.warning),
    }


def _entry_from_json(raw: Any) -> Optional[Entry]:
    try:
        diagnostics = [_diagnostic(item) for item in raw["diagnostics"]]
        error = _file_message(FileError, raw["error"])
        warning = _file_message(FileWarning, raw["warning"])
        return Entry(
            size=raw["size"],
            mtime_ns=raw["mtime_ns"],
            has_targets=raw["has_targets"],
            index=raw["index"],
            index_digest=raw["index_digest"],
            diagnostics=diagnostics,
            error=error,
            warning=warning,
        )
    except (KeyError, TypeError, ValueError):
        return None  # an entry from another shape of cache: recompute it


FileMessage = TypeVar("FileMessage", FileError, FileWarning)


def _file_message(kind: type[FileMessage], raw: Optional[dict[str, Any]]) -> Optional[FileMessage]:
    if raw is None:
        return None
    location = raw.pop("location")
    return kind(**raw, location=Location(**location) if location else None)


def _diagnostic(raw: dict[str, Any]) -> Diagnostic:
    fix = raw["fix"]
    plan = None
    if fix is not None:
        plan = FixPlan(
            **{
                **fix,
                "kind": FixKind(fix["kind"]),
                "applicability": Applicability(fix["applicability"]),
                "release_rows": tuple(fix["release_rows"]),
                "await_rows": tuple(fix["await_rows"]),
            }
        )
    return Diagnostic(
        code=raw["code"],
        name=raw["name"],
        message=raw["message"],
        filename=raw["filename"],
        location=Location(**raw["location"]),
        end_location=Location(**raw["end_location"]),
        fix=plan,
        severity=Severity(raw["severity"]),
    )
