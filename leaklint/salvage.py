"""Parse what the running Python can of a file it cannot parse whole.

leaklint parses with the interpreter it runs on. A module written for a newer Python (PEP 758's
``except A, B:`` from 3.14, ``type`` aliases and generic classes from 3.12, ``match`` from 3.10)
would otherwise be dropped whole, findings and all, for one statement no rule reads. LibCST's
parser knows the newest grammar: when it accepts the file, its statement boundaries let ``ast``
parse each top-level statement, and each statement of a class body, on its own at its real
rows, and only what the interpreter cannot parse is left out. When LibCST rejects the file
too, the file is broken rather than newer, and the caller reports the syntax error.

LibCST is imported only here, and this runs only for files ``ast`` could not parse.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping, Sequence

from leaklint.model import Location
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Union


@record(frozen=True)
class SkippedStatement:
    """A statement the running interpreter cannot parse: left out of the analysis."""

    first_row: int
    """Its first row, decorators included."""
    last_row: int
    name: Optional[str]
    """The function or class it defines, if it defines one."""
    error_location: Location
    error_message: str
    header_only: bool = False
    """Only the ``class`` line is left out (generic parameters, say); its body was parsed."""

    def describe(self) -> str:
        """``get_user`` (rows 30-46), the header of class ``Box`` (row 3), rows 5-6."""
        rows = (
            f"line {self.first_row}"
            if self.first_row == self.last_row
            else f"lines {self.first_row}-{self.last_row}"
        )
        if self.header_only:
            return f"the header of class `{self.name}` ({rows})"
        if self.name is not None:
            return f"`{self.name}` ({rows})"
        return rows


@record(frozen=True)
class Salvage:
    """The statements that parsed, at their real rows, and those that did not."""

    body: list[ast.stmt]
    skipped: tuple[SkippedStatement, ...]


def salvage(lines: Sequence[str]) -> Optional[Salvage]:
    """Parse ``lines`` (with their line endings) statement by statement; ``None`` when LibCST
    cannot parse them either."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    try:
        module = cst.parse_module("".join(lines))
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    body: list[ast.stmt] = []
    skipped: list[SkippedStatement] = []
    for statement in module.body:
        first, last = _rows(statement, positions)
        parsed = _parse_rows(lines, first, last, in_class=False)
        if isinstance(parsed, list):
            body.extend(parsed)
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            class_node, left_out = _salvage_class(lines, statement, positions, first, last)
            body.append(class_node)
            skipped.extend(left_out)
        else:
            skipped.append(_skipped(statement, first, last, parsed))
    return Salvage(body, tuple(skipped))


def warning_for(skipped: Sequence[SkippedStatement]) -> tuple[Location, str]:
    """One line for a file's skipped statements: where the first error is, and what was not
    checked, naming the interpreter that could not parse it."""
    version = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
    parts = [statement.describe() for statement in skipped[:LISTED]]
    if len(skipped) > LISTED:
        parts.append(f"{len(skipped) - LISTED} more statements")
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    first = skipped[0]
    return first.error_location, (
        f"{version} cannot parse {listed}: {first.error_message}; the rest of the file was"
        " checked (leaklint parses with the Python it runs on)"
    )


LISTED = 3
"""Skipped statements named in the warning; the rest are counted."""

if TYPE_CHECKING:
    _Parsed = Union[list[ast.stmt], tuple[Location, str]]
    """Statements, or where and why they did not parse."""


def _rows(node: Any, positions: Mapping[Any, Any]) -> tuple[int, int]:
    """The first (decorators included) and last row of a LibCST statement."""
    first = positions[node].start.line
    for decorator in getattr(node, "decorators", ()):
        first = min(first, positions[decorator].start.line)
    return first, positions[node].end.line


def _parse_rows(lines: Sequence[str], first: int, last: int, *, in_class: bool) -> _Parsed:
    """``ast`` over rows ``first..last`` alone, padded with blank lines so every node keeps its
    real row and column; a class member is parsed under a stand-in ``class`` header."""
    text = "".join(lines[first - 1 : last])
    if not in_class:
        return _parse("\n" * (first - 1) + text, first)
    # a member is never on row 1: its class's header is above it, so the stand-in fits there
    parsed = _parse("\n" * (first - 2) + "class _:\n" + text, first)
    if not isinstance(parsed, list):
        return parsed
    [stand_in] = parsed
    assert isinstance(stand_in, ast.ClassDef)
    return list(stand_in.body)


def _parse(source: str, row: int) -> _Parsed:
    try:
        return list(ast.parse(source).body)
    except SyntaxError as error:
        return Location(error.lineno or row, error.offset or 1), f"SyntaxError: {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return Location(row, 1), f"{type(error).__name__}: {error}"


def _salvage_class(
    lines: Sequence[str], statement: Any, positions: Mapping[Any, Any], first: int, last: int
) -> tuple[ast.ClassDef, list[SkippedStatement]]:
    """A class that does not parse whole: its members one by one, under its own header when
    that parses, else under a plain ``class Name:`` at the same row."""
    name = statement.name.value
    members: list[ast.stmt] = []
    skipped: list[SkippedStatement] = []
    for member in statement.body.body:
        member_first, member_last = _rows(member, positions)
        parsed = _parse_rows(lines, member_first, member_last, in_class=True)
        if isinstance(parsed, list):
            members.extend(parsed)
        else:
            skipped.append(_skipped(member, member_first, member_last, parsed))
    class_row = positions[statement].start.line
    body_row = _rows(statement.body.body[0], positions)[0]
    # the header's own lines (decorators, bases, type parameters) with a body of `pass`
    header = _parse(
        "\n" * (first - 1) + "".join(lines[first - 1 : body_row - 1]) + " pass\n", first
    )
    if not isinstance(header, list):
        skipped.insert(0, SkippedStatement(first, body_row - 1, name, *header, header_only=True))
        header = _parse("\n" * (class_row - 1) + f"class {name}: pass\n", class_row)
    assert isinstance(header, list)
    [node] = header
    assert isinstance(node, ast.ClassDef)
    if members:
        node.body = members
    node.end_lineno = last
    return node, skipped


def _skipped(
    statement: Any, first: int, last: int, failure: tuple[Location, str]
) -> SkippedStatement:
    name = getattr(statement, "name", None)
    return SkippedStatement(
        first, last, name.value if name is not None else None, failure[0], failure[1]
    )
