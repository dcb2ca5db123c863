"""One line per finding: ``path:row:col: LL001 [*] message``."""

from __future__ import annotations

from collections.abc import Iterable

from leaklint.model import Diagnostic
from leaklint.output import OutputContext
from leaklint.settings import Settings


def format_diagnostic(diagnostic: Diagnostic, settings: Settings) -> str:
    """A finding as one line; ``[*]`` marks a fix that ``--fix`` (with the given flags) applies."""
    fix = diagnostic.fix
    marker = " [*]" if fix is not None and settings.allows(fix.applicability) else ""
    location = diagnostic.location
    return (
        f"{diagnostic.filename}:{location.row}:{location.column}: "
        f"{diagnostic.code}{marker} {diagnostic.message}"
    )


def format_lines(diagnostics: Iterable[Diagnostic], settings: Settings) -> list[str]:
    """Every finding as a line, in the order given."""
    return [format_diagnostic(diagnostic, settings) for diagnostic in diagnostics]


def render(context: OutputContext) -> str:
    """The ``concise`` format: one line per finding."""
    return "".join(f"{line}\n" for line in format_lines(context.diagnostics, context.settings))


def summary(
    remaining: int, fixed: int, fixable: int, hidden_unsafe: int, fixing: bool
) -> list[str]:
    """The closing lines, worded as ruff words them."""
    if remaining == 0 and fixed == 0:
        return ["All checks passed!"]
    noun = "error" if remaining + fixed == 1 else "errors"
    lines = []
    if fixing:
        lines.append(f"Found {remaining + fixed} {noun} ({fixed} fixed, {remaining} remaining).")
    else:
        lines.append(f"Found {remaining} {noun}.")
        if fixable:
            lines.append(f"[*] {fixable} fixable with the `--fix` option.")
    if hidden_unsafe:
        hidden = f"{hidden_unsafe} hidden fix{'es' if hidden_unsafe != 1 else ''} can be enabled"
        lines.append(
            f"No fixes available ({hidden} with the `--unsafe-fixes` option)."
            if not fixable and not fixing
            else f"{hidden} with the `--unsafe-fixes` option."
        )
    return lines
