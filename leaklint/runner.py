"""The pipeline: discover, prefilter, parse, index, analyse, check, fix, in that order."""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from leaklint import forked, records
from leaklint.analysis import reads
from leaklint.analysis.flow import analyse_module, noreturn_functions
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase
from leaklint.analysis.sieve import Sieve
from leaklint.analysis.targets import (
    EnteredNames,
    ProjectIndex,
    index_module,
    module_name,
    registration_words,
    registrations_suffice,
)
from leaklint.discover import MissingPath, discover, read_bytes
from leaklint.model import Diagnostic, FileError, FileWarning, Location
from leaklint.noqa import unsuppressed
from leaklint.parse import (
    ParsedModule,
    ParseFailure,
    may_feed_index,
    may_have_targets,
    parse,
    parse_registrations,
    reparse,
    source_lines,
)
from leaklint.records import field, record
from leaklint.rules import RULES
from leaklint.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    import concurrent.futures
    from typing import Any, Optional, Union

    from leaklint.analysis.collector import Oracle
    from leaklint.analysis.declared import ProjectSource
    from leaklint.analysis.inference import TypeOracle
    from leaklint.cache import Entry, ResultsCache

    _ReadAnswer = tuple[Optional[FileError], list[tuple[int, Entry]], Optional["_Pending"]]
    """A worker's reading of one file: its error, what the cache keeps, the file to check."""

INFERENCE_CACHE = "inference-v1.json"
MAX_FIX_PASSES = 10
"""Fixes that touch one function are applied one per pass; this bounds the passes per file."""


@record
class FileOutcome:
    """What happened to one file in a run."""

    filename: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: Optional[FileError] = None
    warning: Optional[FileWarning] = None
    """Statements the interpreter could not parse: the rest of the file was checked."""
    fixed: int = 0
    diff: str = ""
    source: bytes = b""
    fixed_codes: Counter[str] = field(default_factory=Counter)


@record
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
    yield_rows: Optional[Iterable[int]] = None,
    *,
    same_run: bool = False,
) -> list[Diagnostic]:
    """Run the selected rules over every generator of one parsed module; ``types`` answers for
    the calls the knowledge base does not know; ``yield_rows`` (rows holding ``yield``, found
    in the text when not given) spares a walk over the whole tree. With ``same_run`` the
    project's layout (which module each file is) is taken as the run's earlier checks read it;
    otherwise files may have come and gone since, and it is read again."""
    if not parsed.tree.body:
        return []  # every generator was left out, or there is none
    if yield_rows is None:
        yield_rows = parsed.yield_rows
    if yield_rows is None:
        yield_rows = [row for row, line in enumerate(parsed.lines, start=1) if "yield" in line]
    codes = settings.codes_for(parsed.filename)
    rules = [rule for rule in RULES if rule.code in codes]
    found: dict[tuple[str, int, int], Diagnostic] = {}
    if types is not None:
        answers: Union[TypeOracle, ProjectSource] = types
    else:
        answers = project_source(settings.knowledge)
        if not same_run:
            answers.forget_layout()
    oracle: Oracle = functools.partial(answers.resource_type, parsed.filename, parsed.text)
    facts_of_module = analyse_module(
        parsed.tree,
        parsed.imports,
        index,
        settings.knowledge,
        oracle,
        yield_rows,
        module_name(parsed.filename),
        noreturn_functions(parsed.text),
        EnteredNames(parsed.text),
    )
    for facts in facts_of_module:
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
    if not found:
        return []  # most files: their lines are not split for suppression comments
    return unsuppressed(sorted(found.values(), key=lambda d: (d.location, d.code)), parsed.lines)


def skipped_warning(parsed: ParsedModule) -> Optional[FileWarning]:
    """The warning for a file whose statements did not all parse, if any were left out."""
    if not parsed.skipped:
        return None
    from leaklint.salvage import warning_for

    location, message = warning_for(parsed.skipped)
    return FileWarning(parsed.filename, message, location)


def fix_module(
    parsed: ParsedModule,
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle] = None,
    *,
    same_run: bool = False,
) -> tuple[ParsedModule, list[Diagnostic], Counter[str]]:
    """Apply the allowed fixes until none is left; return the fixed module (its ``data`` are the
    new bytes), the findings left and how many findings of each code the fixes removed.

    Raises ``leaklint.fixes.FixError`` when a fix cannot be applied or would not parse.
    """
    from leaklint.fixes import FixError, apply_plans

    diagnostics = check_module(parsed, index, settings, types, same_run=same_run)
    initial = diagnostics
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
            new_data = apply_plans(current.data, plans)
        except FixError as error:
            raise FixError(f"the fix for {codes}: {error}") from error
        if new_data == current.data:
            break
        reparsed = reparse(parsed, new_data)
        if isinstance(reparsed, ParseFailure):
            raise FixError(f"the fix for {codes}: {reparsed.message}")
        current = reparsed
        # the whole fixed file was parsed to prove it parses; the rules need its generators only
        rows = [row for row, line in enumerate(current.lines, start=1) if "yield" in line]
        diagnostics = check_module(current, index, settings, types, rows, same_run=True)
    fixed = Counter(d.code for d in initial) - Counter(d.code for d in diagnostics)
    return current, diagnostics, fixed


def build_index(
    modules: Iterable[ParsedModule], knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE
) -> ProjectIndex:
    """The project-wide index over every parsed module."""
    index = ProjectIndex()
    for module in modules:
        index.merge(
            index_module(
                module.tree,
                module.imports,
                knowledge,
                module_name(module.filename),
                module.text,
            )
        )
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
    outcome.warning = skipped_warning(parsed)
    index = build_index([parsed], settings.knowledge)
    types = _type_oracle(settings)
    if settings.fix or diff:
        from leaklint.fixes import FixError

        try:
            fixed_module, remaining, fixed = fix_module(
                parsed, index, records.replace(settings, fix=True), types
            )
        except FixError as error:
            outcome.error = _fix_failure(filename, error)
            outcome.diagnostics = check_module(parsed, index, settings, types)
            return report
        outcome.fixed_codes, outcome.fixed = fixed, sum(fixed.values())
        if diff:
            outcome.diagnostics = check_module(parsed, index, settings, types)
            if fixed_module.data != data:
                outcome.diff = _unified_diff(filename, data, fixed_module.data)
        else:
            outcome.diagnostics, outcome.source = remaining, fixed_module.data
            outcome.warning = skipped_warning(fixed_module)  # rows of the printed source
    else:
        outcome.diagnostics = check_module(parsed, index, settings, types)
    if types is not None:
        types.save()
    return report


PARALLEL_THRESHOLD = 1_000_000
"""Bytes of generator-holding source above which checking is spread over a pool of worker
processes where ``fork`` cannot be used (:data:`FORKED_THRESHOLD` where it can): below it,
starting the workers costs more than they save. At 4 MB, fides (201 files, 4.0 MB)
was checked in one process in 1.4 s of its 2.3 s run; from 1 MB it takes 0.55 times as long,
while projects under 1 MB (datasette, alembic, mitmproxy: 25 to 61 files) gained nothing."""


READ_SAMPLE = 64
"""Files read in this process before deciding whether reading the rest is worth workers."""
PARALLEL_READ_BYTES = 8_000_000
PARALLEL_READ_INDEXED = 200
"""Reading (and indexing the files that feed the project index) is spread over worker
processes when the files still to read are estimated, from those read first, to hold this
many bytes or this many files that feed the index: below both, starting the workers costs
more than they save."""


@record
class _Pending:
    """A file waiting to be checked: parsed already (it feeds the index), or only read."""

    outcome: FileOutcome
    path: Path
    data: bytes
    parsed: Optional[ParsedModule] = None
    contribution: Optional[ProjectIndex] = None
    whole: bool = False
    """It was parsed whole to feed the index (in a worker, which kept no tree): its findings
    come from a whole parse too, syntax errors anywhere in it included."""
    size: int = -1
    """How many bytes it held when read; ``data`` is empty when it was read in a worker, and
    is read again where it is checked, rather than sent here and back."""

    @property
    def unread(self) -> bool:
        """Read in a worker: its bytes are not here."""
        return self.size >= 0 and not self.data

    @property
    def has_targets(self) -> bool:
        """It holds a generator to check."""
        return self.unread or may_have_targets(self.data)


def run(paths: Sequence[str], settings: Settings, *, diff: bool = False) -> RunReport:
    """Check every Python file under ``paths``; with ``settings.fix`` fix them in place, with
    ``diff`` compute the fixes as diffs without writing."""
    report = RunReport()
    for _, source in _SOURCES.values():
        source.forget_layout()  # the files may have changed since an earlier run
    cache: Optional[ResultsCache] = None
    known: Optional[ResultsCache] = None
    if settings.cache_dir is not None:
        # loaded only here: hashing and JSON cost a run without a cache for nothing
        from leaklint.cache import Entry, IndexMerger, ResultsCache, index_digest, index_to_json

        known = ResultsCache(settings.cache_dir, settings)
        # a fix run reads the index of the files it does not touch, and writes nothing
        cache = None if settings.fix or diff else known
    pending: list[_Pending] = []
    cached: list[tuple[FileOutcome, Path, Entry]] = []
    contributions: list[ProjectIndex] = []
    index = ProjectIndex()
    merger = None if known is None else IndexMerger(index)
    with _Reads(settings, cache) as reads:
        for found in discover(paths, settings.exclusions):
            if isinstance(found, MissingPath):
                report.missing.append(found.path)
                continue
            outcome = FileOutcome(str(found))
            report.outcomes.append(outcome)
            entry = cache.lookup(found) if cache is not None else None
            if entry is not None:
                if entry.index is not None and merger is not None:
                    merger.add(entry.index)
                cached.append((outcome, found, entry))
                continue
            reads.add(outcome, found)
        read_files = reads.results()
    for read in read_files:
        if read is not None:
            if read.contribution is not None:
                contributions.append(read.contribution)
            if read.has_targets:
                pending.append(read)
    if known is not None and merger is not None:
        # pre-commit passes the changed files alone: the rest of the project's index comes
        # from the cache of an earlier run over the whole project, where the files are unchanged
        seen = {outcome.filename for outcome in report.outcomes}
        known.elsewhere(paths, seen, merger)
    for contribution in contributions:
        index.merge(contribution)
    digest = index_digest(index) if cache is not None else ""
    for outcome, found, entry in cached:
        if entry.findings_valid_for(digest):
            outcome.diagnostics, outcome.error = list(entry.diagnostics), entry.error
            outcome.warning = entry.warning
            continue
        # the index changed (a Depends was added or removed somewhere): check it again
        read = _read(found, outcome, settings, None)
        if read is not None:
            pending.append(read)
    if settings.fix or diff:
        _fix_all(pending, index, settings, diff=diff)
        return report
    checked = _check_all(pending, index, settings)
    for item, (diagnostics, error, warning, depends) in zip(pending, checked):
        item.outcome.source = item.data  # read again by a worker when it has findings
        item.outcome.diagnostics, item.outcome.error = diagnostics, error
        item.outcome.warning = warning
        if cache is not None:
            from leaklint.cache import stamp

            own = item.contribution
            entry = Entry(
                has_targets=True,
                index=index_to_json(own) if own is not None else None,
                index_digest=digest,
                diagnostics=diagnostics,
                error=error,
                warning=warning,
                depends={path: list(stamp(path) or []) for path in sorted(depends)},
            )
            cache.store(item.path, item.size if item.unread else len(item.data), entry)
    if cache is not None:
        cache.save()
    return report


class _Reads:
    """The files to read, read as discovery finds them once there are enough of them to be
    worth workers (:data:`PIPELINE_FILES`): the workers read and index while this process is
    still listing folders, which on the largest trees took a third of the run on its own.
    Where fork is safe the workers are forked copies of this process fed through a pipe
    (:class:`leaklint.forked.Stream`), and this process reads what they have not been sent
    once discovery is done; elsewhere they are a pool, sent batches. Fewer files are read
    after discovery, as :func:`_read_all` decides."""

    def __init__(self, settings: Settings, cache: Optional[ResultsCache]) -> None:
        self.settings, self.cache = settings, cache
        self.files: list[tuple[FileOutcome, Path]] = []
        self.jobs = settings.jobs or os.cpu_count() or 1
        self.pool: Optional[concurrent.futures.ProcessPoolExecutor] = None
        self.stream: Optional[forked.Stream] = None
        self.batches: list[tuple[int, concurrent.futures.Future[list[_ReadAnswer]]]] = []
        self.sent = 0

    def add(self, outcome: FileOutcome, path: Path) -> None:
        self.files.append((outcome, path))
        if self.pool is None and self.stream is None:
            if self.jobs <= 1 or len(self.files) < (2 if self.settings.jobs else PIPELINE_FILES):
                return
            self._start()
        if self.stream is not None:
            self.stream.put(len(self.files) - 1, os.fsencode(outcome.filename))
            if len(self.files) % STREAM_FLUSH == 0:
                self.stream.flush()
        elif len(self.files) - self.sent >= PIPELINE_BATCH:
            self._send()

    def _start(self) -> None:
        if forked.available():
            _READER.update(settings=self.settings, caching=self.cache is not None)
            self.stream = forked.Stream(_read_sent, self.jobs - 1)
            for at, (outcome, _) in enumerate(self.files[:-1]):  # the last is put by `add`
                self.stream.put(at, os.fsencode(outcome.filename))
            return
        import concurrent.futures

        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.jobs,
            initializer=_start_reader,
            initargs=(self.settings, self.cache is not None),
        )

    def _send(self) -> None:
        assert self.pool is not None
        batch = [outcome.filename for outcome, _ in self.files[self.sent :]]
        self.batches.append((self.sent, self.pool.submit(_read_batch, batch)))
        self.sent = len(self.files)

    def results(self) -> list[Optional[_Pending]]:
        """What :func:`_read` gives for each file, in the files' order."""
        if self.stream is not None:
            return self._streamed(self.stream)
        if self.pool is None:
            return _read_all(self.files, self.settings, self.cache)
        if self.sent < len(self.files):
            self._send()
        results: list[Optional[_Pending]] = [None] * len(self.files)
        for start, batch in self.batches:
            for at, answer in enumerate(batch.result(), start):
                results[at] = _apply(answer, *self.files[at], self.cache)
        return results

    def _streamed(self, stream: forked.Stream) -> list[Optional[_Pending]]:
        """Read here what the copies were not sent, sending them more while they take it;
        then their answers, and here again what a copy failed to answer."""
        results: list[Optional[_Pending]] = [None] * len(self.files)
        done = [False] * len(self.files)
        while True:
            stream.flush()
            taken = stream.take()
            if taken is None:
                break
            at = taken[0]
            outcome, path = self.files[at]
            results[at], done[at] = _read(path, outcome, self.settings, self.cache), True
        for at, answer in stream.close().items():
            results[at], done[at] = _apply(answer, *self.files[at], self.cache), True
        self.stream = None
        for at, (outcome, path) in enumerate(self.files):
            if not done[at]:
                results[at] = _read(path, outcome, self.settings, self.cache)
        return results

    def __enter__(self) -> _Reads:
        return self

    def __exit__(self, *failure: object) -> None:
        if self.stream is not None:  # failing: the copies' answers are not waited for
            self.stream.stop()
        if self.pool is not None:  # on a failure, what the workers have not begun is dropped
            self.pool.shutdown(cancel_futures=failure[0] is not None)


PIPELINE_FILES = 1000
"""Files found still to read from which reading starts in workers while discovery goes on."""
STREAM_FLUSH = 32
"""Files found between two sends to the forked readers."""
PIPELINE_BATCH = 256
"""Files sent to a reading worker at a time."""


def _read_sent(name: bytes) -> _ReadAnswer:
    """A forked reader's reading of a file sent by name."""
    filename = os.fsdecode(name)
    return _read_in_worker((filename, Path(filename)))


def _read_batch(filenames: list[str]) -> list[_ReadAnswer]:
    return [_read_in_worker((filename, Path(filename))) for filename in filenames]


def _apply(
    answer: _ReadAnswer, outcome: FileOutcome, path: Path, cache: Optional[ResultsCache]
) -> Optional[_Pending]:
    """A worker's reading of one file, applied here: the outcome's error, what the cache
    keeps, and the file to check (with this process's outcome and path)."""
    error, stored, read = answer
    outcome.error = error
    if cache is not None:
        for size, entry in stored:
            cache.store(path, size, entry)
    if read is not None:
        read.outcome, read.path = outcome, path
    return read


def _read_all(
    files: list[tuple[FileOutcome, Path]], settings: Settings, cache: Optional[ResultsCache]
) -> list[Optional[_Pending]]:
    """:func:`_read` each file, the results in the files' order; shared with forked copies of
    this process, or where fork cannot be used in a pool of workers, when a sample read first
    says the rest is worth it (see :func:`_worth_forking`, :func:`_worth_workers`), or when
    the number of jobs is set. Reading, the text searches and the index's parses are most of a
    cold run, and the checks cannot start before the index is whole. What the workers would
    have kept in the cache and the outcomes' errors come back and are applied here."""
    jobs = settings.jobs or os.cpu_count() or 1
    results: list[Optional[_Pending]] = [None] * len(files)
    # a sample spread over the files (discovery's order groups alike files together)
    stride = max(1, len(files) // READ_SAMPLE)
    sampled = [] if settings.jobs else list(range(0, len(files), stride))
    for at in sampled:
        outcome, path = files[at]
        results[at] = _read(path, outcome, settings, cache)
    rest = sorted(set(range(len(files))).difference(sampled))
    sample = [(files[at], results[at]) for at in sampled]
    if jobs > 1 and len(rest) > 1:
        forking = forked.available()
        worth = _worth_workers(sample, len(rest)) or (forking and _worth_forking(sample, len(rest)))
        if settings.jobs or worth:
            return _read_elsewhere(files, results, rest, settings, cache, jobs, forking)
    for at in rest:
        outcome, path = files[at]
        results[at] = _read(path, outcome, settings, cache)
    return results


def _read_elsewhere(
    files: list[tuple[FileOutcome, Path]],
    results: list[Optional[_Pending]],
    rest: list[int],
    settings: Settings,
    cache: Optional[ResultsCache],
    jobs: int,
    forking: bool,
) -> list[Optional[_Pending]]:
    """Read the files at ``rest`` here and in forked copies of this process (``forking``,
    see :mod:`leaklint.forked`), or in a pool of worker processes. What this process reads it
    keeps whole (bytes and tree); the others send back what a reading worker does."""
    _READER.update(settings=settings, caching=cache is not None)
    if forking:

        def here(at: int) -> tuple[bool, Any]:
            outcome, path = files[at]
            return True, _read(path, outcome, settings, cache)

        def there(at: int) -> tuple[bool, Any]:
            return False, _read_in_worker((files[at][0].filename, files[at][1]))

        answers = forked.map_shared(here, rest, [0] * len(rest), jobs, in_copies=there)
    else:
        import concurrent.futures

        tasks = [(files[at][0].filename, files[at][1]) for at in rest]
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, initializer=_start_reader, initargs=(settings, cache is not None)
        ) as pool:
            answers = [(False, answer) for answer in pool.map(_read_in_worker, tasks, chunksize=32)]
    for at, (read_here, answer) in zip(rest, answers):
        results[at] = answer if read_here else _apply(answer, *files[at], cache)
    return results


FORKED_READ_INDEXED = 24
"""Files that feed the index (estimated from the sample) from which reading is shared with
forked copies of this process, where a process pool is not worth its start (see
:data:`PARALLEL_READ_INDEXED`)."""


def _worth_forking(
    sample: list[tuple[tuple[FileOutcome, Path], Optional[_Pending]]], remaining: int
) -> bool:
    """Whether the ``remaining`` files, estimated from the ``sample``, hold enough files that
    feed the index to be worth reading in forked copies."""
    if not sample:
        return False
    indexed = sum(read is not None and read.contribution is not None for _, read in sample)
    return indexed * remaining / len(sample) >= FORKED_READ_INDEXED


def _worth_workers(
    sample: list[tuple[tuple[FileOutcome, Path], Optional[_Pending]]], remaining: int
) -> bool:
    """Whether the ``remaining`` files, estimated from the ``sample`` read first, hold enough
    bytes or files that feed the index to be worth reading in workers."""
    if not sample:
        return False
    size = indexed = 0
    for (_, path), read in sample:
        indexed += read is not None and read.contribution is not None
        try:
            size += os.stat(path).st_size
        except OSError:
            continue
    scale = remaining / len(sample)
    return size * scale >= PARALLEL_READ_BYTES or indexed * scale >= PARALLEL_READ_INDEXED


class _Stored:
    """Stands in for the results cache in a worker: what would be stored, to store later."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, Entry]] = []

    def store(self, path: Path, data_size: int, entry: Entry) -> None:
        self.entries.append((data_size, entry))


_READER: dict[str, Any] = {}


def _start_reader(settings: Settings, caching: bool) -> None:
    _READER.update(settings=settings, caching=caching)


def _read_in_worker(task: tuple[str, Path]) -> _ReadAnswer:
    filename, path = task
    outcome = FileOutcome(filename)
    stored = _Stored()
    read = _read(path, outcome, _READER["settings"], stored if _READER["caching"] else None)
    if read is not None:
        # the tree and the bytes stay here: the file is read and parsed again where it is
        # checked (sending megabytes of source back and forth costs more than reading it)
        size = len(read.data) if may_have_targets(read.data) else -1
        whole = read.parsed is not None
        read = _Pending(outcome, _NO_PATH, b"", None, read.contribution, whole, size)
    return outcome.error, stored.entries, read


_NO_PATH = Path()
"""The path a worker sends back: the file's own is put back where the answer is applied."""


def _read(
    path: Path,
    outcome: FileOutcome,
    settings: Settings,
    cache: Union[ResultsCache, _Stored, None],
) -> Optional[_Pending]:
    """Read and prefilter one file; a file that feeds the project index is parsed whole now,
    for its contribution.

    ``None`` when there is nothing to analyse (no ``yield``, no index marker) or the file could
    not be read or parsed (the outcome then carries the error). Files with nothing to analyse
    are remembered in ``cache`` right away; the others once they are checked.
    """
    if cache is not None:
        from leaklint.cache import Entry, index_to_json
    try:
        data = read_bytes(path)
    except OSError as error:
        outcome.error = FileError(outcome.filename, _unreadable(error))
        return None
    has_targets = may_have_targets(data)
    feeds_index = may_feed_index(data, settings.knowledge.index_markers)
    if not has_targets and not feeds_index:
        if cache is not None:
            cache.store(path, len(data), Entry())
        return None
    if not feeds_index:
        return _Pending(outcome, path, data)
    if not has_targets:
        contribution = registrations_of(outcome.filename, data, settings.knowledge)
        if contribution is not None:
            if cache is not None:
                cache.store(path, len(data), Entry(index=index_to_json(contribution)))
            return _Pending(outcome, path, data, None, contribution)
    parsed = parse(outcome.filename, data)
    if isinstance(parsed, ParseFailure):
        if has_targets:
            outcome.error = FileError(outcome.filename, parsed.message, parsed.location)
        if cache is not None:
            cache.store(path, len(data), Entry(has_targets=True, error=outcome.error))
        return None
    contribution = index_module(
        parsed.tree, parsed.imports, settings.knowledge, module_name(parsed.filename), parsed.text
    )
    if not has_targets and cache is not None:
        cache.store(path, len(data), Entry(index=index_to_json(contribution)))
    return _Pending(outcome, path, data, parsed, contribution)


def registrations_of(
    filename: str, data: bytes, knowledge: KnowledgeBase
) -> Optional[ProjectIndex]:
    """A file's part of the project index read from its imports and registering statements
    alone, without parsing the rest (a route module is mostly code no index reads); ``None``
    when only the whole file can tell (it makes session factories, refers to a method of a
    module-level object, or a statement does not parse alone)."""
    if not registrations_suffice(data):
        return None
    parsed = parse_registrations(
        filename, data, lambda imports: registration_words(imports, knowledge)
    )
    if parsed is None:
        return None
    # the tree holds the registering statements alone: no need to pick them out again
    contribution = index_module(parsed.tree, parsed.imports, knowledge, module_name(filename))
    # `Depends(db.session)` resolves through the module's instances and classes: whole parse
    return None if contribution.method_references else contribution


def _parsed(item: _Pending, sieve: Optional[Sieve] = None) -> Union[ParsedModule, ParseFailure]:
    """The file's parse: done already, or of its generators only (most of a file is code no
    rule reads), and of those the ``sieve`` keeps."""
    if item.parsed is not None:
        return item.parsed
    if item.unread:
        try:
            item.data = read_bytes(item.path)
        except OSError as error:
            return ParseFailure(item.outcome.filename, _unreadable(error))
        item.size = len(item.data)
    return parse(item.outcome.filename, item.data, whole=item.whole, sieve=sieve)


def _unreadable(error: OSError) -> str:
    return f"cannot read the file: {error.strerror or error}"


if TYPE_CHECKING:
    CheckResult = tuple[
        list[Diagnostic], Optional[FileError], Optional[FileWarning], frozenset[str]
    ]
    """Findings, the error or warning of the file, and the other files the check read."""


def _check_all(
    pending: list[_Pending], index: ProjectIndex, settings: Settings
) -> list[CheckResult]:
    """Check every pending file, in worker processes when the work is big enough; the results
    come back in the order of ``pending`` whatever the workers' order."""
    jobs = settings.jobs or os.cpu_count() or 1
    sizes = [max(item.size, len(item.data)) for item in pending]
    size = sum(size for item, size in zip(pending, sizes) if item.parsed is None)
    if (
        jobs > 1
        and (settings.jobs or size >= FORKED_THRESHOLD)
        and len(pending) > 1
        and forked.available()
    ):
        return _check_forked(pending, sizes, index, settings, jobs)
    if jobs > 1 and (settings.jobs or size >= PARALLEL_THRESHOLD) and len(pending) > 1:
        import concurrent.futures

        tasks = [
            (item.outcome.filename, item.path, item.data, item.whole)
            for item in pending
            if item.parsed is None
        ]
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, initializer=_start_worker, initargs=(index, settings)
        ) as pool:
            answered = iter(list(pool.map(_check_in_worker, tasks, chunksize=8)))
        types = _type_oracle(settings)
        results = [
            _check(item.parsed, index, settings, types)
            if item.parsed is not None
            else _taken(item, next(answered), types)
            for item in pending
        ]
    else:
        types = _type_oracle(settings)
        sieve = Sieve(settings.knowledge, index)
        results = [_check(_parsed(item, sieve), index, settings, types) for item in pending]
    if types is not None:
        types.save()
    return results


FORKED_THRESHOLD = 100_000
"""Bytes of generator-holding source from which checking is shared with forked copies of
this process (see :mod:`leaklint.forked`), where ``fork`` is safe."""


def _check_forked(
    pending: list[_Pending],
    sizes: list[int],
    index: ProjectIndex,
    settings: Settings,
    jobs: int,
) -> list[CheckResult]:
    """Check the pending files here and in ``jobs - 1`` forked copies of this process, the
    largest first. A file read in a reading worker is read again where it is checked, and its
    bytes come back when it has something to show."""
    types = _type_oracle(settings)
    sieve = Sieve(settings.knowledge, index)

    def check_one(item: _Pending) -> CheckAnswer:
        return _check_item(item, sieve, index, settings, types)

    answered = forked.map_shared(check_one, pending, sizes, jobs)
    results = [_taken(item, answer, types) for item, answer in zip(pending, answered)]
    if types is not None:
        types.save()
    return results


if TYPE_CHECKING:
    CheckAnswer = tuple[CheckResult, Optional[dict[str, Any]], bytes, int]
    """A file checked in another process: its result, what that process's inference learnt
    since its last answer, and (when the file was read there) its bytes if anything is
    reported (the output shows its lines) and its size."""


def _check_item(
    item: _Pending,
    sieve: Sieve,
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle],
) -> CheckAnswer:
    """Check a pending file in a worker or a forked copy (see :data:`CheckAnswer`)."""
    unread = item.unread
    result = _check(_parsed(item, sieve), index, settings, types)
    diagnostics, _, warning, _ = result
    back = item.data if unread and (diagnostics or warning) else b""
    return result, types.hand_over() if types is not None else None, back, item.size


def _taken(item: _Pending, answer: CheckAnswer, types: Optional[TypeOracle]) -> CheckResult:
    """The result of a file checked in another process, what it learnt kept with this
    process's inference, and its bytes (when they came back) kept for the output."""
    result, learnt, back, size = answer
    if types is not None and learnt:
        types.learn(learnt)
    if item.unread:
        item.data, item.size = back, size
    return result


def _check(
    parsed: Union[ParsedModule, ParseFailure],
    index: ProjectIndex,
    settings: Settings,
    types: Optional[TypeOracle],
) -> CheckResult:
    if isinstance(parsed, ParseFailure):
        failure = FileError(parsed.filename, parsed.message, parsed.location)
        return [], failure, None, frozenset()
    reads.take()  # what an earlier check read is not this one's
    diagnostics = check_module(parsed, index, settings, types, same_run=True)
    return diagnostics, None, skipped_warning(parsed), reads.take()


_WORKER: dict[str, Any] = {}
"""What a worker process was started with: the project index, the settings, its inference."""


def _start_worker(index: ProjectIndex, settings: Settings) -> None:
    _WORKER.update(
        index=index,
        settings=settings,
        types=_type_oracle(settings),
        sieve=Sieve(settings.knowledge, index),
    )


def _check_in_worker(task: tuple[str, Path, bytes, bool]) -> CheckAnswer:
    """A pool worker's check of a file sent by name (and bytes, when they were read here)."""
    filename, path, data, whole = task
    item = _Pending(FileOutcome(filename), path, data, whole=whole, size=len(data))
    return _check_item(
        item, _WORKER["sieve"], _WORKER["index"], _WORKER["settings"], _WORKER["types"]
    )


def _fix_all(
    pending: list[_Pending], index: ProjectIndex, settings: Settings, *, diff: bool
) -> None:
    """Fix (or show the fixes of) every pending file, one after the other: writes stay in
    one process."""
    types = _type_oracle(settings)
    for item in pending:
        parsed = _parsed(item)
        if isinstance(parsed, ParseFailure):
            item.outcome.error = FileError(parsed.filename, parsed.message, parsed.location)
            continue
        _fix_one(parsed, index, settings, types, item.outcome, diff=diff)
    if types is not None:
        types.save()


_SOURCES: dict[int, tuple[KnowledgeBase, ProjectSource]] = {}


def project_source(knowledge: KnowledgeBase) -> ProjectSource:
    """The project's source as an oracle (one per knowledge base, kept for the process: a
    module it read is not read again)."""
    kept = _SOURCES.get(id(knowledge))
    if kept is not None and kept[0] is knowledge:
        return kept[1]
    from leaklint.analysis.declared import ProjectSource

    source = ProjectSource(knowledge)
    _SOURCES[id(knowledge)] = (knowledge, source)
    return source


def _type_oracle(settings: Settings) -> Optional[TypeOracle]:
    if not settings.type_inference:
        return None
    from leaklint.analysis.inference import TypeOracle

    cache = settings.cache_dir / INFERENCE_CACHE if settings.cache_dir is not None else None
    return TypeOracle(cache, settings.knowledge)


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

    outcome.warning = skipped_warning(parsed)
    fix_settings = records.replace(settings, fix=True)
    try:
        fixed_module, remaining, fixed = fix_module(
            parsed, index, fix_settings, types, same_run=True
        )
    except FixError as error:
        outcome.error = _fix_failure(parsed.filename, error)
        outcome.diagnostics = check_module(parsed, index, settings, types, same_run=True)
        return
    outcome.fixed_codes = fixed
    if diff:
        # nothing is written: findings are reported as they are on disk
        outcome.diagnostics = check_module(parsed, index, settings, types, same_run=True)
        outcome.fixed = sum(fixed.values())
        if fixed_module.data != parsed.data:
            outcome.diff = _unified_diff(parsed.filename, parsed.data, fixed_module.data)
        return
    outcome.diagnostics, outcome.fixed = remaining, sum(fixed.values())
    if fixed_module.data == parsed.data:
        return
    try:
        write_atomically(Path(parsed.filename), parsed.data, fixed_module.data)
    except (ChangedOnDisk, OSError) as error:
        outcome.error = FileError(parsed.filename, f"not written: {error}")
        outcome.diagnostics = check_module(parsed, index, settings, types, same_run=True)
        outcome.fixed = 0
        outcome.fixed_codes = Counter()
        return
    outcome.source = fixed_module.data
    outcome.warning = skipped_warning(fixed_module)  # where the skipped statements are now


def _fix_failure(filename: str, error: Exception) -> FileError:
    return FileError(
        filename,
        f"internal error, nothing was written: {error}; please report it",
        internal=True,
    )


def _unified_diff(filename: str, old: bytes, new: bytes) -> str:
    import difflib

    from leaklint.parse import decode

    return "".join(
        difflib.unified_diff(
            source_lines(decode(old), keepends=True),
            source_lines(decode(new), keepends=True),
            fromfile=filename,
            tofile=filename,
        )
    )
