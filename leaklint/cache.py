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

import enum
import hashlib
import json
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from leaklint import __version__, records
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
from leaklint.records import record
from leaklint.settings import Settings
from leaklint.write import replace_file

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, TypeVar

    from leaklint.analysis.resources import ResourceType
    from leaklint.analysis.targets import Factory

FORMAT = 8


@record
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
    diagnostics: list[Diagnostic] = records.field(default_factory=list)
    error: Optional[FileError] = None
    warning: Optional[FileWarning] = None
    depends: dict[str, list[int]] = records.field(default_factory=dict)
    """Other files of the project the check read (a factory or a class the file imports), by
    path: their size and modification time then."""

    def findings_valid_for(self, digest: str) -> bool:
        """Whether the stored findings hold under a project index with this digest, and with
        the other files they were read from as they were."""
        if not self.has_targets or self.error is not None:
            return True
        return self.index_digest == digest and all(
            stamp(path) == stamped for path, stamped in self.depends.items()
        )


def stamp(path: str) -> Optional[list[int]]:
    """A file's size and modification time (``None`` when it is gone)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return [status.st_size, status.st_mtime_ns]


class ResultsCache:
    """Entries by path, loaded at the start of a run and saved at its end.

    The file holds a header line and one line per file: its path (as a JSON string), size,
    modification time, index contribution (JSON, or ``-``) and the rest of its entry (JSON),
    separated by tabs (which JSON escapes). A line is decoded only as far as a run needs it,
    and an entry that still holds is written back as the very line it was read from: a run
    over 20 changed files of a large project decodes the others' index contributions alone
    and encodes nothing of theirs."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.path = folder / f"results-{FORMAT}-{_settings_digest(settings)}.json"
        self._loaded: dict[str, str] = {}
        """Each file's line, after its path."""
        self._kept: dict[str, str] = {}
        """Loaded lines that still hold, to be written back unchanged."""
        self._fresh: dict[str, Entry] = {}
        """What this run found: the file does not hold it yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return
        header, _, body = text.partition("\n")
        if header != _header():
            return  # another version's, or no cache at all
        for line in body.split("\n"):
            quoted, tab, rest = line.partition("\t")
            if not tab or len(quoted) < 2:
                continue
            try:
                name = quoted[1:-1] if "\\" not in quoted else json.loads(quoted)
            except ValueError:
                continue
            self._loaded[name] = rest

    def lookup(self, path: Path) -> Optional[Entry]:
        """The entry for ``path`` if the file still has the size and time it had."""
        name = str(path)
        fields = self._unchanged(name)
        if fields is None:
            return None
        entry = _entry_from_fields(fields)
        if entry is not None:
            self._kept[name] = self._loaded[name]
        return entry

    def _unchanged(self, name: str) -> Optional[list[str]]:
        """The fields of the file's line (size, time, index, the rest), if it is unchanged."""
        line = self._loaded.get(name)
        if line is None:
            return None
        fields = line.split("\t", 3)
        if len(fields) != 4:
            return None
        try:
            status = os.stat(name)
        except OSError:
            return None
        if (str(status.st_size), str(status.st_mtime_ns)) != (fields[0], fields[1]):
            return None
        return fields

    def elsewhere(self, paths: Sequence[str], seen: Collection[str], into: IndexMerger) -> None:
        """Merge ``into`` the index contributions of the unchanged files outside ``paths``;
        their entries are kept. Entries under ``paths`` that this run did not see (deleted, now
        excluded) go."""
        files = {os.path.normpath(path) for path in paths if not os.path.isdir(path)}
        folders = [os.path.normpath(path) for path in paths if os.path.isdir(path)]
        for name, line in self._loaded.items():
            if name in seen:
                continue
            normal = os.path.normpath(name)
            if normal in files or any(_within(normal, folder) for folder in folders):
                continue
            if line.split("\t", 3)[2:3] == ["-"]:
                self._kept[name] = line  # a file outside the run: nothing to read from it
                continue
            fields = self._unchanged(name)
            if fields is not None:
                try:
                    into.add_text(fields[2])
                except (KeyError, TypeError, ValueError):
                    continue
                self._kept[name] = line

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
        self._kept.pop(str(path), None)

    def save(self) -> None:
        """Write the entries seen in this run, atomically; a cache that cannot be written only
        costs time. A run that found every file as the cache holds it writes nothing."""
        if not self._fresh and self._kept.keys() == self._loaded.keys():
            return
        lines = [_header()]
        lines += [f"{_quoted(name)}\t{line}" for name, line in self._kept.items()]
        lines += [f"{_quoted(name)}\t{_entry_line(entry)}" for name, entry in self._fresh.items()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.path.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by leaklint\n*\n", encoding="utf-8")
            replace_file(self.path, ("\n".join(lines) + "\n").encode("utf-8"))
        except OSError:
            pass


def _header() -> str:
    return json.dumps({"leaklint": __version__, "format": FORMAT})


def _quoted(name: str) -> str:
    return json.dumps(name)


def _entry_line(entry: Entry) -> str:
    """The fields of an entry's line after its path (see :class:`ResultsCache`)."""
    index = "-" if entry.index is None else json.dumps(entry.index, separators=(",", ":"))
    rest = {
        "has_targets": entry.has_targets,
        "index_digest": entry.index_digest,
        "diagnostics": [records.asdict(d) for d in entry.diagnostics],
        "error": None if entry.error is None else records.asdict(entry.error),
        "warning": None if entry.warning is None else records.asdict(entry.warning),
        "depends": entry.depends,
    }
    encoded = json.dumps(rest, separators=(",", ":"), default=_json_default)
    return f"{entry.size}\t{entry.mtime_ns}\t{index}\t{encoded}"


def _entry_from_fields(fields: list[str]) -> Optional[Entry]:
    size, mtime_ns, index, rest = fields
    if rest == _NOTHING and index == "-":  # most files: no generator, nothing for the index
        try:
            return Entry(size=int(size), mtime_ns=int(mtime_ns))
        except ValueError:
            return None
    try:
        raw = json.loads(rest)
        raw.update(size=int(size), mtime_ns=int(mtime_ns))
        raw["index"] = None if index == "-" else json.loads(index)
    except (ValueError, TypeError, AttributeError):
        return None
    return _entry_from_json(raw)


def _within(name: str, folder: str) -> bool:
    """Whether the file ``name`` lies in ``folder`` (both normalised, as discovery spells
    them: relative to the working folder when the run's paths are)."""
    if folder == ".":
        return not os.path.isabs(name) and not name.startswith("..")
    return name.startswith(folder.rstrip(os.sep) + os.sep)


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
        "session_factories": _factories_to_json(index.session_factories),
        "engines": _factories_to_json(index.engines),
    }


def _factories_to_json(bindings: Mapping[str, set[Factory]]) -> dict[str, Any]:
    return {
        name: sorted(
            ([list(f.module), _resource_type_to_json(f.resource_type)] for f in factories),
            key=repr,
        )
        for name, factories in bindings.items()
    }


def _resource_type_to_json(resource_type: ResourceType) -> dict[str, Any]:
    fields: dict[str, Any] = records.asdict(resource_type)
    fields["with_form"] = resource_type.with_form.value
    return fields


def _resource_type_from_json(fields: Mapping[str, Any]) -> ResourceType:
    from leaklint.analysis.resources import ResourceType, WithForm

    # JSON has lists where the record has tuples (`ends_with`, `opened_by`): records hash
    values: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in fields.items()
    }
    values["with_form"] = WithForm(fields["with_form"])
    return ResourceType(**values)


def index_from_json(raw: Mapping[str, Any]) -> ProjectIndex:
    """The inverse of :func:`index_to_json`."""
    from leaklint.analysis.targets import Reference

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
        session_factories=_factories_from_json(raw["session_factories"]),
        engines=_factories_from_json(raw["engines"]),
    )


def _factories_from_json(raw: Mapping[str, Any]) -> dict[str, set[Factory]]:
    from leaklint.analysis.targets import Factory

    return {
        name: {Factory(tuple(module), _resource_type_from_json(kind)) for module, kind in items}
        for name, items in raw.items()
    }


class IndexMerger:
    """Merges contributions kept as JSON into one project index, building each distinct
    reference once: the route modules of an application repeat ``Depends(get_db)``, and a
    reference is a record whose hash is computed in Python."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._seen: set[tuple[Any, ...]] = set()
        self._texts: set[str] = set()

    def add_text(self, text: str) -> None:
        """Add one contribution as its JSON text; a text added already adds nothing (most
        route modules of an application contribute the same ``Depends(get_db)``)."""
        if text not in self._texts:
            self._texts.add(text)
            self.add(json.loads(text))

    def add(self, raw: Mapping[str, Any]) -> None:
        """Add one contribution in the shape :func:`index_to_json` gives."""
        from leaklint.analysis.targets import Reference

        references = self.index.references
        for name, items in raw["references"].items():
            for module, exact, driver, owner in items:
                key = (name, tuple(module), exact, driver, owner)
                if key not in self._seen:
                    self._seen.add(key)
                    reference = Reference(key[1], exact, driver, owner)
                    references.setdefault(name, set()).add(reference)
        for name, drivers in raw["method_references"].items():
            self.index.method_references.setdefault(name, set()).update(drivers)
        if raw["session_factories"] or raw["engines"]:
            rest: dict[str, Any] = {"references": {}, "method_references": {}}
            self.index.merge(index_from_json({**raw, **rest}))


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
            depends=dict(raw["depends"]),
        )
    except (KeyError, TypeError, ValueError):
        return None  # an entry from another shape of cache: recompute it


if TYPE_CHECKING:
    FileMessage = TypeVar("FileMessage", FileError, FileWarning)


def _file_message(kind: type[FileMessage], raw: Optional[dict[str, Any]]) -> Optional[FileMessage]:
    if raw is None:
        return None
    raw = dict(raw)  # the loaded entry is written back as it is
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


_NOTHING = _entry_line(Entry()).split("\t", 3)[3]
"""The rest of the line of a file that holds nothing for any check."""
