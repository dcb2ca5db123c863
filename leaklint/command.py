"""The check command: its options as data, what it does, and a reader for plain command lines.

``leaklint PATHS`` is what pre-commit, editors and CI run, many times a day, and click (with
``typing`` and ``inspect``, which nothing else on the path needs) costs about 23 ms to import
after the rest of a check: one small file takes 1.46 times as long through click (measured side
by side, forcing click with ``--``), and the start-up budget is missed even without it. A
command line made only of paths and the options below is read here and run without click; help,
subcommands, and every line with an error go to click (``leaklint.cli``), which builds the same
options from the same table, so both read a command line alike.
"""

from __future__ import annotations

import errno
import functools
import gc
import io
import os
import sys
from collections import Counter
from pathlib import Path

from leaklint import records
from leaklint.output import FORMATS, TEXT_FORMATS
from leaklint.records import record
from leaklint.rules import RULES, RULES_BY_CODE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn, Optional

    from leaklint.config import Config
    from leaklint.output import OutputContext
    from leaklint.runner import RunReport
    from leaklint.settings import Settings

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@record(frozen=True)
class Option:
    """One option of the check command."""

    flags: tuple[str, ...]
    help: str
    takes: str = "flag"
    """``flag``, ``value`` (the last one given counts) or ``values`` (each one given counts)."""
    metavar: Optional[str] = None
    choices: Optional[tuple[str, ...]] = None
    minimum: Optional[int] = None
    """An integer option's least value."""
    file: bool = False
    """A path that must not be a folder."""
    name: Optional[str] = None
    """The parameter's name, when it is not the long flag's."""

    @property
    def parameter(self) -> str:
        """The keyword ``check`` takes this option's value as."""
        return self.name or self.flags[0].lstrip("-").replace("-", "_")


OPTIONS = (
    Option(("--fix",), "Apply the safe fixes in place."),
    Option(("--unsafe-fixes",), "Also apply (and count) unsafe fixes."),
    Option(("--diff",), "Print the fixes as a unified diff; write nothing."),
    Option(("--show-fixes",), "With --fix, list what was fixed in each file."),
    Option(("--select",), "Rule codes or prefixes to enable (comma-separated).", "values"),
    Option(("--extend-select",), "Codes to enable on top of --select.", "values"),
    Option(("--ignore",), "Rule codes or prefixes to disable.", "values"),
    Option(
        ("--output-format",),
        "How findings are printed (default: full on a terminal, concise otherwise).",
        "value",
        choices=FORMATS,
    ),
    Option(("--statistics",), "Print the number of findings per rule."),
    Option(
        ("--force-exclude",),
        "Apply the exclusions to files named on the command line too (for pre-commit).",
    ),
    Option(("--exit-zero",), "Exit 0 even when findings are left."),
    Option(("--add-noqa",), "Add `# noqa: LLxxx` to every line with a finding."),
    Option(
        ("--stdin-filename",),
        "The name of the file read from standard input (`-`): for messages and configuration.",
        "value",
        metavar="PATH",
    ),
    Option(
        ("--type-inference",),
        "Ask astroid about calls the knowledge base does not know (slower; off by default).",
    ),
    Option(("--no-type-inference",), "Do not ask astroid, whatever the configuration says."),
    Option(("--no-cache",), "Neither read nor write .leaklint_cache."),
    Option(
        ("--jobs", "-j"),
        "Worker processes (default: one per core, and only for large trees).",
        "value",
        minimum=1,
    ),
    Option(
        ("--config",),
        "The pyproject.toml to read [tool.leaklint] from (default: the nearest one).",
        "value",
        file=True,
        name="config_path",
    ),
    Option(("--explain",), "Print a rule's documentation and exit.", "value", metavar="CODE"),
)
SUBCOMMANDS = ("check", "server", "rule")
_BY_FLAG = {flag: option for option in OPTIONS for flag in option.flags}


def plain_check_options(arguments: Sequence[str]) -> Optional[dict[str, Any]]:
    """``check``'s keyword arguments for a command line of paths and well-formed options, or
    ``None`` for anything else (help, another subcommand, ``--``, an unknown option or a bad
    value): click reads those, and explains the errors."""
    if arguments and arguments[0] in SUBCOMMANDS:
        if arguments[0] != "check":
            return None
        arguments = arguments[1:]
    values: dict[str, Any] = {
        option.parameter: {"flag": False, "value": None, "values": ()}[option.takes]
        for option in OPTIONS
    }
    paths = []
    remaining = iter(arguments)
    for argument in remaining:
        if argument == "-" or not argument.startswith("-"):
            paths.append(argument)
            continue
        flag, equals, value = argument.partition("=")
        option = _BY_FLAG.get(flag)
        if option is None or (option.takes == "flag" and equals):
            return None
        if option.takes == "flag":
            values[option.parameter] = True
            continue
        if not equals:
            value = next(remaining, "-")
            if value.startswith("-"):  # a missing value, or one click may read otherwise
                return None
        converted = _converted(option, value)
        if converted is None:
            return None
        if option.takes == "values":
            values[option.parameter] += (converted,)
        else:
            values[option.parameter] = converted
    values["paths"] = tuple(paths)
    return values


def _converted(option: Option, value: str) -> Any:
    """The value as ``check`` takes it, or ``None`` when click would refuse it."""
    if option.choices is not None and value not in option.choices:
        return None
    if option.file and os.path.isdir(value):
        return None
    if option.minimum is None:
        return value
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number >= option.minimum else None


def run_plain(options: dict[str, Any]) -> NoReturn:
    """Run ``check`` and exit with its code, as click would (a closed pipe or ^C included)."""
    try:
        code = check(**options)
        sys.stdout.flush()
    except KeyboardInterrupt:
        _echo("Aborted!", err=True)
        code = 1
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        # Nothing more can reach the reader; point stdout at nothing so exiting does not flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)


GC_THRESHOLD = 100_000
"""Allocations between two collections of the youngest generation during a check (Python's
default: 700)."""


def _few_collections(function: Callable[..., int]) -> Callable[..., int]:
    """Run ``function`` with the cyclic collector's first threshold raised. A run builds many
    syntax trees and keeps most of them to its end, and the default thresholds walk that
    growing heap hundreds of times for cycles that are not there: 0.37 s of onyx's 2.3 s in
    one process, 0.05 s with this threshold, at the same peak memory. Worker processes
    inherit it."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        thresholds = gc.get_threshold()
        gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
        try:
            return function(*args, **kwargs)
        finally:
            gc.set_threshold(*thresholds)

    return wrapper


@_few_collections
def check(
    paths: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: Optional[str],
    statistics: bool,
    force_exclude: bool,
    exit_zero: bool,
    add_noqa: bool,
    stdin_filename: Optional[str],
    type_inference: bool,
    no_type_inference: bool,
    no_cache: bool,
    jobs: Optional[int],
    config_path: Optional[str],
    explain: Optional[str],
) -> int:
    """Check PATHS (default: the current folder; `-` for standard input) for leaking
    generators."""
    if explain:
        print_rule(explain)
        return EXIT_CLEAN
    reading_stdin = paths == ("-",)
    config_start = (stdin_filename if reading_stdin else None) or (paths[0] if paths else None)
    config = _load_config(config_path, config_start)
    settings = _settings(
        config,
        select,
        extend_select,
        ignore,
        fix=fix and not diff and not add_noqa,
        unsafe_fixes=unsafe_fixes,
        type_inference=False if no_type_inference else (True if type_inference else None),
        cache=not no_cache,
        force_exclude=force_exclude,
    )
    settings = records.replace(settings, jobs=jobs)
    from leaklint import runner

    if reading_stdin:
        filename = stdin_filename or "-"
        report = runner.run_source(sys.stdin.buffer.read(), filename, settings, diff=diff)
        if settings.fix:
            _fixed_source_to_stdout(report, settings)
    else:
        report = runner.run(list(paths) or ["."], settings, diff=diff)
    _print_errors(report)
    if add_noqa:
        _add_noqa(report)
        return EXIT_ERROR if report.errors or report.missing else EXIT_CLEAN
    if diff:
        for outcome in report.outcomes:
            _echo(outcome.diff, nl=False)
        if report.fixed:
            _echo(f"Would fix {_errors(report.fixed)}.", err=True)
    elif not (reading_stdin and settings.fix):
        format_name = output_format or ("full" if sys.stdout.isatty() else "concise")
        _print_findings(report, settings, format_name, statistics, show_fixes)
    return _exit_code(report, diff=diff, exit_zero=exit_zero)


def _settings(
    config: Config,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    **options: Any,
) -> Settings:
    """The run's settings: the file's, with the flags on top (--extend-select and --ignore
    add to the file's lists, --select replaces it)."""
    from leaklint.config import ConfigError

    try:
        return config.settings(_codes(select), _codes(extend_select), _codes(ignore), **options)
    except ConfigError as error:
        _fail(str(error))


def _print_errors(report: RunReport) -> None:
    for missing in report.missing:
        _echo(f"leaklint: error: {missing}: no such file or directory", err=True)
    for outcome in report.outcomes:
        if outcome.error is not None:
            _echo(f"leaklint: error: {outcome.error.line()}", err=True)
        if outcome.warning is not None:
            _echo(f"leaklint: warning: {outcome.warning.line()}", err=True)


def _print_findings(
    report: RunReport, settings: Settings, format_name: str, statistics: bool, show_fixes: bool
) -> None:
    from leaklint.output import OutputContext, render

    diagnostics = report.diagnostics
    sources = {outcome.filename: outcome.source for outcome in report.outcomes}
    context = OutputContext(diagnostics, settings, sources, color=_use_color())
    if statistics:
        _print_statistics(context)
    else:
        _echo(render(format_name, context), nl=False)
    if format_name not in TEXT_FORMATS:
        return
    from leaklint.output.concise import summary

    if show_fixes and report.fixed:
        _print_fixed(report)
    fixable = sum(1 for d in diagnostics if context.fix_available(d))
    hidden = sum(1 for d in diagnostics if d.fix is not None) - fixable
    for line in summary(len(diagnostics), report.fixed, fixable, hidden, fixing=settings.fix):
        _echo(line)


def _print_statistics(context: OutputContext) -> None:
    """One line per rule, most frequent first: ``count  code  [*] name``."""
    counts = Counter(d.code for d in context.diagnostics)
    fixable = {d.code for d in context.diagnostics if context.fix_available(d)}
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        marker = "[*] " if code in fixable else ""
        _echo(f"{count:>5}\t{code}\t{marker}{RULES_BY_CODE[code].name}")


def _print_fixed(report: RunReport) -> None:
    _echo(f"Fixed {_errors(report.fixed)}:")
    for outcome in report.outcomes:
        if outcome.fixed_codes:
            _echo(f"- {outcome.filename}:")
            for code, count in sorted(outcome.fixed_codes.items()):
                _echo(f"    {count} × {code} ({RULES_BY_CODE[code].name})")  # noqa: RUF001


def _fixed_source_to_stdout(report: RunReport, settings: Settings) -> None:
    """``--fix -``: the fixed source on stdout (as an editor expects), findings on stderr."""
    from leaklint.output.concise import format_lines

    [outcome] = report.outcomes
    sys.stdout.buffer.write(outcome.source)
    sys.stdout.flush()
    for line in format_lines(outcome.diagnostics, settings):
        _echo(line, err=True)


def _add_noqa(report: RunReport) -> None:
    """Write ``# noqa: LLxxx`` on every reported line: how a team adopts the linter."""
    from leaklint.noqa import with_noqa_comments
    from leaklint.write import ChangedOnDisk, write_atomically

    added = 0
    for outcome in report.outcomes:
        if not outcome.diagnostics or outcome.filename == "-":
            continue
        import tokenize

        encoding = tokenize.detect_encoding(io.BytesIO(outcome.source).readline)[0]
        text, changed = with_noqa_comments(outcome.source.decode(encoding), outcome.diagnostics)
        new = text.encode(encoding)
        try:
            _check_still_parses(outcome.filename, outcome.source, new)
            write_atomically(Path(outcome.filename), outcome.source, new)
        except (SyntaxError, ChangedOnDisk, OSError) as error:
            _echo(f"leaklint: error: {outcome.filename}: noqa not added: {error}", err=True)
            continue
        added += changed
    _echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.")


def _check_still_parses(filename: str, old: bytes, new: bytes) -> None:
    """Raise ``SyntaxError`` unless ``new`` parses as ``old`` did (see ``parse.reparse``)."""
    from leaklint.parse import ParseFailure, parse, reparse

    before = parse(filename, old)
    after = reparse(before, new) if not isinstance(before, ParseFailure) else parse(filename, new)
    if isinstance(after, ParseFailure):
        raise SyntaxError(after.message)


def _exit_code(report: RunReport, *, diff: bool, exit_zero: bool) -> int:
    if report.missing or any(error.internal for error in report.errors):
        return EXIT_ERROR
    if exit_zero:
        return EXIT_CLEAN
    if diff:
        return EXIT_FINDINGS if report.fixed else EXIT_CLEAN
    return EXIT_FINDINGS if report.diagnostics or report.errors else EXIT_CLEAN


def _errors(count: int) -> str:
    return f"{count} error{'s' if count != 1 else ''}"


def _use_color() -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _load_config(config_path: Optional[str], start: Optional[str]) -> Config:
    from leaklint.config import Config, ConfigError, find_config, load_config

    try:
        if config_path is not None:
            return load_config(Path(config_path))
        found = find_config(Path(start) if start else Path.cwd())
        return load_config(found) if found is not None else Config()
    except ConfigError as error:
        _fail(str(error))


def print_rule(code: str) -> None:
    """Print the documentation of the rule ``code`` (its code or its name)."""
    wanted = code.strip()
    rule = RULES_BY_CODE.get(wanted.upper()) or next(
        (rule for rule in RULES if rule.name == wanted.lower()), None
    )
    if rule is None:
        _fail(f"unknown rule: {code} (known: {', '.join(RULES_BY_CODE)})")
    _echo(f"# {rule.name} ({rule.code})\n\n{rule.docs}")


def _fail(message: str) -> NoReturn:
    _echo(f"leaklint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _echo(message: str, *, err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n" if nl else message)
    stream.flush()


def _codes(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]
