"""The ``leaklint`` command: ``leaklint [PATHS]`` checks, ``--fix`` fixes, ``rule`` explains."""

from __future__ import annotations

import io
import os
import sys
import tokenize
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional

import click

from leaklint import __version__, records
from leaklint.output import FORMATS, TEXT_FORMATS
from leaklint.rules import RULES, RULES_BY_CODE
from leaklint.settings import Settings

if TYPE_CHECKING:
    from leaklint.config import Config
    from leaklint.output import OutputContext
    from leaklint.runner import RunReport

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _DefaultCheckGroup(click.Group):
    """``leaklint PATHS`` means ``leaklint check PATHS``; ``leaklint rule LL001`` explains."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")
        ):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultCheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="leaklint", message="%(prog)s %(version)s"
)
def main() -> None:
    """Find and fix resource leaks in generator-based dependencies and context managers."""


def _codes(values: tuple[str, ...]) -> list[str]:
    return [code for value in values for code in value.split(",") if code.strip()]


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (and count) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--show-fixes", is_flag=True, help="With --fix, list what was fixed in each file.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes to enable on top of --select.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option(
    "--output-format",
    type=click.Choice(FORMATS),
    help="How findings are printed (default: full on a terminal, concise otherwise).",
)
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule.")
@click.option(
    "--force-exclude",
    is_flag=True,
    help="Apply the exclusions to files named on the command line too (for pre-commit).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are left.")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: LLxxx` to every line with a finding.")
@click.option(
    "--stdin-filename",
    metavar="PATH",
    help="The name of the file read from standard input (`-`): for messages and configuration.",
)
@click.option(
    "--no-type-inference",
    is_flag=True,
    help="Do not ask astroid about calls the knowledge base does not know.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write .leaklint_cache.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    help="Worker processes (default: one per core, and only for large trees).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The pyproject.toml to read [tool.leaklint] from (default: the nearest one).",
)
@click.option("--explain", metavar="CODE", help="Print a rule's documentation and exit.")
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
    no_type_inference: bool,
    no_cache: bool,
    jobs: Optional[int],
    config_path: Optional[str],
    explain: Optional[str],
) -> None:
    """Check PATHS (default: the current folder; `-` for standard input) for leaking
    generators."""
    if explain:
        _print_rule(explain)
        return
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
        type_inference=not no_type_inference,
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
        sys.exit(EXIT_ERROR if report.errors or report.missing else EXIT_CLEAN)
    if diff:
        for outcome in report.outcomes:
            click.echo(outcome.diff, nl=False)
        if report.fixed:
            click.echo(f"Would fix {_errors(report.fixed)}.", err=True)
    elif not (reading_stdin and settings.fix):
        format_name = output_format or ("full" if sys.stdout.isatty() else "concise")
        _print_findings(report, settings, format_name, statistics, show_fixes)
    sys.exit(_exit_code(report, diff=diff, exit_zero=exit_zero))


def _settings(
    config: Config,
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    **options: bool,
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
        click.echo(f"leaklint: error: {missing}: no such file or directory", err=True)
    for outcome in report.outcomes:
        if outcome.error is not None:
            click.echo(f"leaklint: error: {outcome.error.line()}", err=True)
        if outcome.warning is not None:
            click.echo(f"leaklint: warning: {outcome.warning.line()}", err=True)


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
        click.echo(render(format_name, context), nl=False)
    if format_name not in TEXT_FORMATS:
        return
    from leaklint.output.concise import summary

    if show_fixes and report.fixed:
        _print_fixed(report)
    fixable = sum(1 for d in diagnostics if context.fix_available(d))
    hidden = sum(1 for d in diagnostics if d.fix is not None) - fixable
    for line in summary(len(diagnostics), report.fixed, fixable, hidden, fixing=settings.fix):
        click.echo(line)


def _print_statistics(context: OutputContext) -> None:
    """One line per rule, most frequent first: ``count  code  [*] name``."""
    counts = Counter(d.code for d in context.diagnostics)
    fixable = {d.code for d in context.diagnostics if context.fix_available(d)}
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        marker = "[*] " if code in fixable else ""
        click.echo(f"{count:>5}\t{code}\t{marker}{RULES_BY_CODE[code].name}")


def _print_fixed(report: RunReport) -> None:
    click.echo(f"Fixed {_errors(report.fixed)}:")
    for outcome in report.outcomes:
        if outcome.fixed_codes:
            click.echo(f"- {outcome.filename}:")
            for code, count in sorted(outcome.fixed_codes.items()):
                click.echo(f"    {count} × {code} ({RULES_BY_CODE[code].name})")  # noqa: RUF001


def _fixed_source_to_stdout(report: RunReport, settings: Settings) -> None:
    """``--fix -``: the fixed source on stdout (as an editor expects), findings on stderr."""
    from leaklint.output.concise import format_lines

    [outcome] = report.outcomes
    sys.stdout.buffer.write(outcome.source)
    sys.stdout.flush()
    for line in format_lines(outcome.diagnostics, settings):
        click.echo(line, err=True)


def _add_noqa(report: RunReport) -> None:
    """Write ``# noqa: LLxxx`` on every reported line: how a team adopts the linter."""
    from leaklint.noqa import with_noqa_comments
    from leaklint.write import ChangedOnDisk, write_atomically

    added = 0
    for outcome in report.outcomes:
        if not outcome.diagnostics or outcome.filename == "-":
            continue
        encoding = tokenize.detect_encoding(io.BytesIO(outcome.source).readline)[0]
        text, changed = with_noqa_comments(outcome.source.decode(encoding), outcome.diagnostics)
        new = text.encode(encoding)
        try:
            _check_still_parses(outcome.filename, outcome.source, new)
            write_atomically(Path(outcome.filename), outcome.source, new)
        except (SyntaxError, ChangedOnDisk, OSError) as error:
            click.echo(f"leaklint: error: {outcome.filename}: noqa not added: {error}", err=True)
            continue
        added += changed
    click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.")


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


@main.command("server")
def server_command() -> None:
    """Run the language server over standard input and output (needs the ``server`` extra)."""
    from leaklint.server import missing_dependency

    problem = missing_dependency()
    if problem is not None:
        click.echo(problem, err=True)
        sys.exit(2)
    from leaklint.server.protocol import run

    run()


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the documentation of the rule CODE (e.g. LL001 or unprotected-cleanup)."""
    _print_rule(code)


def _print_rule(code: str) -> None:
    wanted = code.strip()
    rule = RULES_BY_CODE.get(wanted.upper()) or next(
        (rule for rule in RULES if rule.name == wanted.lower()), None
    )
    if rule is None:
        _fail(f"unknown rule: {code} (known: {', '.join(RULES_BY_CODE)})")
    click.echo(f"# {rule.name} ({rule.code})\n\n{rule.docs}")


def _fail(message: str) -> NoReturn:
    click.echo(f"leaklint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)
