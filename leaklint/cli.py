"""The ``leaklint`` command: ``leaklint [PATHS]`` checks, ``--fix`` fixes, ``rule`` explains.

click reads every command line that ``leaklint.command`` leaves to it: help, the subcommands, and
the lines with an error. The check command's options come from the table in ``leaklint.command``.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from leaklint import __version__
from leaklint.command import OPTIONS, Option, print_rule
from leaklint.command import check as run_check


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


def _click_option(option: Option) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    kind: Any = None
    if option.choices is not None:
        kind = click.Choice(option.choices)
    elif option.minimum is not None:
        kind = click.IntRange(min=option.minimum)
    elif option.file:
        kind = click.Path(dir_okay=False)
    names = (*option.flags, option.name) if option.name else option.flags
    return click.option(
        *names,
        is_flag=option.takes == "flag",
        multiple=option.takes == "values",
        type=kind,
        metavar=option.metavar,
        help=option.help,
    )


def _check(**options: Any) -> None:
    sys.exit(run_check(**options))


_check.__doc__ = run_check.__doc__
for _option in reversed(OPTIONS):
    _check = _click_option(_option)(_check)
main.command("check")(click.argument("paths", nargs=-1)(_check))


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
    print_rule(code)
