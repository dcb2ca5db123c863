"""The ``full`` format: each finding with the source lines around it, ruff's default look.

::

    app/deps.py:7:5: LL001 [*] `db.close()` is skipped when ...
      |
    5 |     db = SessionLocal()
    6 |     yield db
    7 |     db.close()
      |     ^^^^^^^^^^
      |
      = help: Move the release into a `finally` around the `yield`
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from leaklint.model import Diagnostic
from leaklint.output import OutputContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

CONTEXT_LINES = 1
"""Source lines shown before and after the finding's own rows."""
TAB_SIZE = 8
"""Tab stops as a terminal sets them, so expanded lines look as they do in ``cat``."""

BOLD = "\x1b[1m"
RED = "\x1b[31m"
BLUE = "\x1b[34m"
CYAN = "\x1b[36m"
RESET = "\x1b[0m"


def paint(text: str, style: str, color: bool) -> str:
    """``text`` wrapped in the ANSI ``style`` when colouring, else unchanged."""
    return f"{style}{text}{RESET}" if color and text else text


def header(diagnostic: Diagnostic, fixable: bool, color: bool) -> str:
    """The first line of a finding: ``path:row:col: CODE [*] message``."""
    location = diagnostic.location
    path = paint(diagnostic.filename, BOLD, color)
    code = paint(diagnostic.code, BOLD + RED, color)
    marker = f" {paint('[*]', CYAN, color)}" if fixable else ""
    return f"{path}:{location.row}:{location.column}: {code}{marker} {diagnostic.message}"


def display_width(text: str, start: int = 0) -> int:
    """Screen columns ``text`` takes when it begins at column ``start`` (0-based).

    Tabs jump to the next tab stop, and East Asian wide characters take two columns, so
    carets placed by this count sit under the characters they mark.
    """
    column = start
    for character in text:
        if character == "\t":
            column += TAB_SIZE - column % TAB_SIZE
        elif unicodedata.east_asian_width(character) in ("W", "F"):
            column += 2
        elif not unicodedata.combining(character):
            column += 1
    return column - start


def expand_tabs(line: str) -> str:
    """``line`` with each tab replaced by the spaces that reach the same tab stop."""
    pieces: list[str] = []
    column = 0
    for character in line:
        if character == "\t":
            spaces = TAB_SIZE - column % TAB_SIZE
            pieces.append(" " * spaces)
            column += spaces
        else:
            pieces.append(character)
            column += display_width(character, column)
    return "".join(pieces)


def source_lines(filename: str, context: OutputContext) -> Optional[list[str]]:
    """The file's lines (without line ends): the run's bytes, else the file on disk."""
    from leaklint.parse import decode

    data = context.sources.get(filename)
    if data is None:
        try:
            data = Path(filename).read_bytes()
        except OSError:
            return None
    try:
        # decode() applies universal newlines, so "\n" is the only line end left
        return decode(data).split("\n")
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None


def caret_span(diagnostic: Diagnostic, line: str) -> tuple[int, int]:
    """Screen columns before the finding on ``line``, and how many carets underline it."""
    start = diagnostic.location.column - 1
    end = diagnostic.end_location.column - 1
    if diagnostic.end_location.row != diagnostic.location.row:
        end = len(line)
    indent = display_width(line[:start])
    return indent, max(display_width(line[start:end], indent), 1)


def shown_rows(diagnostic: Diagnostic, lines: list[str]) -> range:
    """The rows of the excerpt: the finding's own, with context lines either side."""
    first = max(diagnostic.location.row - CONTEXT_LINES, 1)
    last = min(diagnostic.end_location.row + CONTEXT_LINES, len(lines))
    # a file ending in a newline splits into a last empty string that is no line of the file
    if last == len(lines) and last > diagnostic.end_location.row and not lines[-1]:
        last -= 1
    return range(first, last + 1)


def excerpt(diagnostic: Diagnostic, lines: list[str], width: int, color: bool) -> list[str]:
    """The shown rows in a gutter ``width`` digits wide, carets under the first finding row."""
    blank_gutter = paint(" " * width + " |", BOLD + BLUE, color)
    shown = [blank_gutter]
    for row in shown_rows(diagnostic, lines):
        line = lines[row - 1]
        gutter = paint(f"{row:>{width}} |", BOLD + BLUE, color)
        shown.append(f"{gutter} {expand_tabs(line)}".rstrip())
        if row == diagnostic.location.row:
            indent, carets = caret_span(diagnostic, line)
            shown.append(f"{blank_gutter} {' ' * indent}{paint('^' * carets, RED, color)}")
    shown.append(blank_gutter)
    return shown


def format_finding(diagnostic: Diagnostic, context: OutputContext) -> list[str]:
    """Every line printed for one finding: header, source excerpt and the fix's help."""
    color = context.color
    lines = [header(diagnostic, context.fix_available(diagnostic), color)]
    source = source_lines(diagnostic.filename, context)
    if source is None or diagnostic.location.row > len(source):
        return lines
    width = len(str(shown_rows(diagnostic, source)[-1]))
    lines.extend(excerpt(diagnostic, source, width, color))
    if diagnostic.fix is not None:
        help_text = paint(f"help: {diagnostic.fix.title}", CYAN, color)
        lines.append(f"{' ' * width} {paint('=', BOLD + BLUE, color)} {help_text}")
    return lines


def render(context: OutputContext) -> str:
    """The ``full`` format: every finding's lines, each finding followed by a blank line."""
    return "".join(
        "".join(f"{line}\n" for line in format_finding(diagnostic, context)) + "\n"
        for diagnostic in context.diagnostics
    )
