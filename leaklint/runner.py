"""The pipeline: discover, prefilter, parse, index, analyse, check, fix, in that order."""

from __future__ import annotations

import dataclasses
import difflib
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from leaklint.analysis.flow import Oracle, analyse_module
from leaklint.analysis.inference import TypeOracle
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase
from leaklint.analysis.targets import ProjectIndex, index_module
from leaklint.cache import Entry, ResultsCache, index_digest, index_from_json, index_to_json
from leaklint.discover import MissingPath, discover
from leaklint.model import Diagnostic, FileError, Location
from leaklint.noqa import unsuppressed
from leaklint.parse import ParsedModule, ParseFailure, may_feed_index, may_have_targets, parse
from leaklint.rules import RULES
from leaklint.settings import Settings

INFERENCE_CACHE = "inference-v1.json"
MAX_FIX_PASSES = 10
"""Fixes that touch one function are applied one per pass; this bounds the passes per file."""


@dataclass
class FileOutcome:
    """What happened to one file in a run."""

    filename: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: Optional[FileError] = None
    fixed: int = 0
    diff: str = ""
    source: bytes = b""
    fixed_codes: Counter[str] = field(default_factory=Counter)


@dataclass
class RunReport:
    """Every file's outcome, plus the paths that did not exist."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """All findings left, in file order."""
        return [diagnostic for outcome in self.outcomes for diagnostic in outcome.diagnostics]

    @property
    def errors(self) -> list[FileError]:
        """Files that could not be checked or fixed."""
        return [outcome.error for outcome in self.outcomes if outcome.error is not None]

    @property
    def fixed(self) -> int:
        """How many findings the fixes removed."""
        return sum(outcome.fixed for outcome in self.outcomes)


def check_module(
    parsed: ParsedModule,
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle] = None,
) -> list[Diagnostic]:
    """Run the selected rules over every generator of one parsed module; ``types`` answers for
    the calls the knowledge base does not know."""
    codes = settings.codes_for(parsed.filename)
    rules = [rule for rule in RULES if rule.code in codes]
    found: dict[tuple[str, int, int], Diagnostic] = {}
    oracle: Optional[Oracle] = None
    if types is not None:
        oracle = functools.partial(types.resource_type, parsed.filename, parsed.text)
    for facts in analyse_module(parsed.tree, parsed.imports, index, settings.knowledge, oracle):
        for rule in rules:
            for finding in rule.check(facts):
                node = finding.node
                row = getattr(node, "lineno", 1)
                end_row = getattr(node, "end_lineno", None) or row
                location = Location(row, parsed.column(row, getattr(node, "col_offset", 0)))
                end = Location(
                    end_row, parsed.column(end_row, getattr(node, "end_col_offset", 0) or 0)
                )
                key = (rule.code, location.row, location.column)
                found.setdefault(
                    key,
                    Diagnostic(
                        code=rule.code,
                        name=rule.name,
                        message=finding.message,
                        filename=parsed.filename,
                        location=location,
                        end_location=end,
                        fix=finding.fix,
                    ),
                )
    return unsuppressed(sorted(found.values(), key=lambda d: (d.location, d.code)), parsed.lines)


def fix_module(
    parsed: ParsedModule,
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle] = None,
) -> tuple[bytes, list[Diagnostic], Counter[str]]:
    """Apply the allowed fixes until none is left; return the new bytes, the findings left and
    how many findings of each code the fixes removed.

    Raises ``leaklint.fixes.FixError`` when a fix cannot be applied or would not parse.
    """
    from leaklint.fixes import FixError, apply_plans

    diagnostics = check_module(parsed, index, settings, types)
    initial = diagnostics
    data = parsed.data
    current = parsed
    for _ in range(MAX_FIX_PASSES):
        plans = [
            diagnostic.fix
            for diagnostic in diagnostics
            if diagnostic.fix is not None and settings.allows(diagnostic.fix.applicability)
        ]
        if not plans:
            break
        codes = ", ".join(sorted({d.code for d in diagnostics if d.fix in plans}))
        try:
            new_data = apply_plans(data, plans)
        except FixError as error:
            raise FixError(f"the fix for {codes}: {error}") from error
        if new_data == data:
            break
        reparsed = parse(parsed.filename, new_data)
        if isinstance(reparsed, ParseFailure):
            raise FixError(
                f"the fix for {codes} gives code that does not parse: {reparsed.message}"
            )
        data, current = new_data, reparsed
        diagnostics = check_module(current, index, settings, types)
    fixed = Counter(d.code for d in initial) - Counter(d.code for d in diagnostics)
    return data, diagnostics, fixed


def build_index(
    modules: Iterable[ParsedModule], knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE
) -> ProjectIndex:
    """The project-wide index over every parsed module."""
    index = ProjectIndex()
    for module in modules:
        index.merge(index_module(module.tree, module.imports, knowledge))
    return index


def run_source(data: bytes, filename: str, settings: Settings, *, diff: bool = False) -> RunReport:
    """Check (or fix, without writing) one source read from standard input."""
    report = RunReport()
    outcome = FileOutcome(filename, source=data)
    report.outcomes.append(outcome)
    parsed = parse(filename, data)
    if isinstance(parsed, ParseFailure):
        outcome.error = FileError(filename, parsed.message, parsed.location)
        return report
    index = build_index([parsed], settings.knowledge)
    types = _type_oracle(settings)
    if settings.fix or diff:
        from leaklint.fixes import FixError

        try:
            new_data, remaining, fixed = fix_module(
                parsed, index, dataclasses.replace(settings, fix=True), types
            )
        except FixError as error:
            outcome.error = _fix_failure(filename, error)
            outcome.diagnostics = check_module(parsed, index, settings, types)
            return report
        outcome.fixed_codes, outcome.fixed = fixed, sum(fixed.values())
        if diff:
            outcome.diagnostics = check_module(parsed, index, settings, types)
            if new_data != data:
                outcome.diff = _unified_diff(filename, data, new_data)
        else:
            outcome.diagnostics, outcome.source = remaining, new_data
    else:
        outcome.diagnostics = check_module(parsed, index, settings, types)
    if types is not None:
        types.save()
    return report


def run(paths: Sequence[str], settings: Settings, *, diff: bool = False) -> RunReport:
    """Check every Python file under ``paths``; with ``settings.fix`` fix them in place, with
    ``diff`` compute the fixes as diffs without writing."""
    report = RunReport()
    cache = None
    if settings.cache_dir is not None and not (settings.fix or diff):
        cache = ResultsCache(settings.cache_dir, settings)
    fresh: list[tuple[FileOutcome, Path, ParsedModule, Optional[ProjectIndex]]] = []
    cached: list[tuple[FileOutcome, Path, Entry]] = []
    contributions: list[ProjectIndex] = []
    for found in discover(paths, settings.exclusions):
        if isinstance(found, MissingPath):
            report.missing.append(found.path)
            continue
        outcome = FileOutcome(str(found))
        report.outcomes.append(outcome)
        entry = cache.lookup(found) if cache is not None else None
        if entry is not None:
            if entry.index is not None:
                contributions.append(index_from_json(entry.index))
            cached.append((outcome, found, entry))
            continue
        read = _read_and_parse(found, outcome, settings, cache)
        if read is not None:
            parsed, contribution = read
            if contribution is not None:
                contributions.append(contribution)
            if may_have_targets(parsed.data):
                fresh.append((outcome, found, parsed, contribution))
    index = ProjectIndex()
    for contribution in contributions:
        index.merge(contribution)
    digest = index_digest(index) if cache is not None else ""
    for outcome, found, entry in cached:
        if entry.findings_valid_for(digest):
            outcome.diagnostics, outcome.error = list(entry.diagnostics), entry.error
            continue
        # the index changed (a Depends was added or removed somewhere): check it again
        read = _read_and_parse(found, outcome, settings, None)
        if read is not None:
            fresh.append((outcome, found, read[0], read[1]))
    types = _type_oracle(settings)
    for outcome, found, parsed, contribution in fresh:
        if settings.fix or diff:
            _fix_one(parsed, index, settings, types, outcome, diff=diff)
            continue
        outcome.source = parsed.data
        outcome.diagnostics = check_module(parsed, index, settings, types)
        if cache is not None:
            index_json = index_to_json(contribution) if contribution is not None else None
            entry = Entry(
                has_targets=True,
                index=index_json,
                index_digest=digest,
                diagnostics=outcome.diagnostics,
            )
            cache.store(found, len(parsed.data), entry)
    if types is not None:
        types.save()
    if cache is not None:
        cache.save()
    return report


def _read_and_parse(
    path: Path, outcome: FileOutcome, settings: Settings, cache: Optional[ResultsCache]
) -> Optional[tuple[ParsedModule, Optional[ProjectIndex]]]:
    """Read, prefilter and parse one file; its contribution to the project index too.

    ``None`` when there is nothing to analyse (no ``yield``, no index marker) or the file could
    not be read or parsed (the outcome then carries the error). Files with nothing to analyse
    are remembered in ``cache`` right away; the others once they are checked.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        outcome.error = FileError(
            outcome.filename, f"cannot read the file: {error.strerror or error}"
        )
        return None
    has_targets = may_have_targets(data)
    feeds_index = may_feed_index(data, settings.knowledge.dependency_markers)
    if not has_targets and not feeds_index:
        if cache is not None:
            cache.store(path, len(data), Entry())
        return None
    # only files that feed the project index are parsed whole; the rest, only their
    # generators (and imports): most of a file is code no rule reads
    parsed = parse(outcome.filename, data, whole=feeds_index)
    if isinstance(parsed, ParseFailure):
        if has_targets:
            outcome.error = FileError(outcome.filename, parsed.message, parsed.location)
        if cache is not None:
            cache.store(path, len(data), Entry(has_targets=True, error=outcome.error))
        return None
    contribution = None
    if feeds_index:
        contribution = index_module(parsed.tree, parsed.imports, settings.knowledge)
        if not has_targets and cache is not None:
            cache.store(path, len(data), Entry(index=index_to_json(contribution)))
    return parsed, contribution


def _type_oracle(settings: Settings) -> Optional[TypeOracle]:
    if not settings.type_inference:
        return None
    cache = settings.cache_dir / INFERENCE_CACHE if settings.cache_dir is not None else None
    return TypeOracle(cache)


def _fix_one(
    parsed: ParsedModule,
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle],
    outcome: FileOutcome,
    *,
    diff: bool,
) -> None:
    """Fix one file: show the change (``diff``) or write it; on any failure keep the file."""
    from leaklint.fixes import FixError
    from leaklint.write import ChangedOnDisk, write_atomically

    fix_settings = dataclasses.replace(settings, fix=True)
    try:
        new_data, remaining, fixed = fix_module(parsed, index, fix_settings, types)
    except FixError as error:
        outcome.error = _fix_failure(parsed.filename, error)
        outcome.diagnostics = check_module(parsed, index, settings, types)
        return
    outcome.fixed_codes = fixed
    if diff:
        # nothing is written: findings are reported as they are on disk
        outcome.diagnostics = check_module(parsed, index, settings, types)
        outcome.fixed = sum(fixed.values())
        if new_data != parsed.data:
            outcome.diff = _unified_diff(parsed.filename, parsed.data, new_data)
        return
    outcome.diagnostics, outcome.fixed = remaining, sum(fixed.values())
    if new_data == parsed.data:
        return
    try:
        write_atomically(Path(parsed.filename), parsed.data, new_data)
    except (ChangedOnDisk, OSError) as error:
        outcome.error = FileError(parsed.filename, f"not written: {error}")
        outcome.diagnostics = check_module(parsed, index, settings, types)
        outcome.fixed = 0
        outcome.fixed_codes = Counter()
        return
    outcome.source = new_data


def _fix_failure(filename: str, error: Exception) -> FileError:
    return FileError(
        filename,
        f"internal error, nothing was written: {error}; please report it",
        internal=True,
    )


def _unified_diff(filename: str, old: bytes, new: bytes) -> str:
    from leaklint.parse import decode

    return "".join(
        difflib.unified_diff(
            decode(old).splitlines(keepends=True),
            decode(new).splitlines(keepends=True),
            fromfile=filename,
            tofile=filename,
        )
    )
