"""The ``leaklint`` command: ``leaklint [PATHS]`` checks, ``--fix`` fixes, ``rule`` explains."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, Optional

import click

from leaklint import __version__
from leaklint.output import FORMATS, TEXT_FORMATS
from leaklint.rules import RULES, RULES_BY_CODE
from leaklint.settings import Settings, selected_codes, unknown_selectors

if TYPE_CHECKING:
    from leaklint.config import Config

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
CACHE_DIR = ".leaklint_cache"


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
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (and count) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes to enable on top of --select.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option(
    "--output-format",
    type=click.Choice(FORMATS),
    help="How findings are printed (default: full on a terminal, concise otherwise).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings are left.")
@click.option(
    "--no-type-inference",
    is_flag=True,
    help="Do not ask astroid about calls the knowledge base does not know.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write .leaklint_cache.")
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
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: Optional[str],
    exit_zero: bool,
    no_type_inference: bool,
    no_cache: bool,
    config_path: Optional[str],
    explain: Optional[str],
) -> None:
    """Check PATHS (default: the current folder) for leaking generators."""
    if explain:
        _print_rule(explain)
        return
    config = _load_config(config_path, paths)
    # flags override the file; --extend-select and --ignore add to it
    chosen = {
        "select": _codes(select) or list(config.select),
        "extend_select": [*config.extend_select, *_codes(extend_select)],
        "ignore": [*config.ignore, *_codes(ignore)],
    }
    all_codes = [rule.code for rule in RULES]
    unknown = unknown_selectors(all_codes, [code for codes in chosen.values() for code in codes])
    if unknown:
        _fail(f"unknown rule selector: {', '.join(unknown)}")
    settings = Settings(
        select=selected_codes(all_codes, **chosen),
        fix=fix and not diff,
        unsafe_fixes=unsafe_fixes,
        knowledge=config.knowledge(),
        type_inference=config.type_inference and not no_type_inference,
        cache_dir=None if no_cache else _project_root(config) / CACHE_DIR,
    )
    if output_format is None:
        output_format = "full" if sys.stdout.isatty() else "concise"
    from leaklint.runner import run

    report = run(list(paths) or ["."], settings, diff=diff)
    for missing in report.missing:
        click.echo(f"leaklint: error: {missing}: no such file or directory", err=True)
    for error in report.errors:
        click.echo(f"leaklint: error: {error.filename}: {error.message}", err=True)

    diagnostics = report.diagnostics
    if diff:
        for outcome in report.outcomes:
            if outcome.diff:
                click.echo(outcome.diff, nl=False)
    if not diff or output_format not in TEXT_FORMATS:
        from leaklint.output import OutputContext, render

        sources = {outcome.filename: outcome.source for outcome in report.outcomes}
        context = OutputContext(diagnostics, settings, sources, color=_use_color())
        click.echo(render(output_format, context), nl=False)
    if not diff and output_format in TEXT_FORMATS:
        from leaklint.output.concise import summary

        fixable = sum(1 for d in diagnostics if context.fix_available(d))
        hidden = sum(1 for d in diagnostics if d.fix is not None) - fixable
        for line in summary(len(diagnostics), report.fixed, fixable, hidden, fixing=settings.fix):
            click.echo(line)
    elif diff and report.fixed:
        click.echo(f"Would fix {report.fixed} error{'s' if report.fixed != 1 else ''}.", err=True)

    if report.missing:
        sys.exit(EXIT_ERROR)
    if diff:
        sys.exit(EXIT_FINDINGS if report.fixed else EXIT_CLEAN)
    if report.errors and not exit_zero:
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_FINDINGS if diagnostics and not exit_zero else EXIT_CLEAN)


def _use_color() -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _project_root(config: Config) -> Path:
    return config.path.parent if config.path is not None else Path.cwd()


def _load_config(config_path: Optional[str], paths: tuple[str, ...]) -> Config:
    from leaklint.config import Config, ConfigError, find_config, load_config

    try:
        if config_path is not None:
            return load_config(Path(config_path))
        found = find_config(Path(paths[0]) if paths else Path.cwd())
        return load_config(found) if found is not None else Config()
    except ConfigError as error:
        _fail(str(error))


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
