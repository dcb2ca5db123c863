"""Parse what the running Python can of a file it cannot parse whole.

leaklint parses with the interpreter it runs on. A module written for a newer Python (PEP 758's
``except A, B:`` from 3.14, ``type`` aliases and generic classes from 3.12, ``match`` from 3.10)
would otherwise be dropped whole, findings and all, for one statement no rule reads. LibCST's
parser knows the newest grammar.

The file is cut where a line starts a top-level statement (at column 0, not a comment, a
closing bracket or the ``else``/``except``/``finally`` of a statement above) and ``ast`` parses
each piece at its real rows; a piece that stops inside an open bracket or string is parsed
together with the next. Only a statement ``ast`` rejects goes to LibCST, alone: when LibCST
accepts it, the interpreter is older than the code and the statement is left out (a class's
members are parsed one by one, so a generic class keeps its methods); when LibCST rejects it
too, the file is broken rather than newer, and the caller reports the syntax error. Cutting
keeps the cost near one plain parse: LibCST's Python-side tree and positions for a whole module
cost some thirty times that. When the cuts do not settle (a piece never parses), the whole file
goes to LibCST as before.

LibCST is imported only here, and this runs only for files ``ast`` could not parse.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
from collections.abc import Iterable, Sequence

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
    starts = _statement_starts(lines)
    body: list[ast.stmt] = []
    skipped: list[SkippedStatement] = []
    at = 0
    alone_until = 0
    """Pieces before this one are parsed one by one (their group did not parse)."""
    while at < len(starts):
        first = starts[at]
        if at >= alone_until:
            # most pieces parse: a group at a time saves calls and padding
            group_end = min(at + GROUPED, len(starts))
            group_last = (starts[group_end] - 1) if group_end < len(starts) else len(lines)
            parsed = _parse_rows(lines, first, group_last, in_class=False)
            if isinstance(parsed, list):
                body.extend(parsed)
                at = group_end
                continue
            alone_until = group_end
            # the pieces above the one the error is in parsed: take them in one more call
            failing = bisect.bisect_right(starts, parsed[0].row, at, group_end) - 1
            if failing > at:
                parsed = _parse_rows(lines, first, starts[failing] - 1, in_class=False)
                if isinstance(parsed, list):
                    body.extend(parsed)
                    at = failing
                    continue
        ahead = at + 1
        while True:
            last = (starts[ahead] - 1) if ahead < len(starts) else len(lines)
            parsed = _parse_rows(lines, first, last, in_class=False)
            if isinstance(parsed, list) or not _unfinished(parsed[1]):
                break
            if ahead >= len(starts) or ahead - at > MERGED:
                return _salvage_whole(lines)  # the cuts do not settle: LibCST reads it all
            ahead += 1
        if isinstance(parsed, list):
            body.extend(parsed)
        else:
            newer = _newer_statement(lines, first, last, parsed)
            if newer is None:
                return _salvage_whole(lines)
            member_body, left_out = newer
            body.extend(member_body)
            skipped.extend(left_out)
        at = ahead
    return Salvage(body, tuple(skipped))


GROUPED = 32
"""Pieces parsed in one call while they parse."""
MERGED = 200
"""Pieces parsed together before the cuts are given up for LibCST's reading of the file."""

_CONTINUATIONS = ("else", "elif", "except", "finally")
"""Keywords that, at column 0, continue the statement above rather than start one."""


def _statement_starts(lines: Sequence[str]) -> list[int]:
    """The rows (1-based) where a top-level statement may start: a line at column 0 that is
    not blank, a comment, a closing bracket or a continuing keyword, and not the line under a
    decorator. A row inside a string or brackets may be among them: the parse says."""
    return _piece_starts(
        (row, line)
        for row, line in enumerate(lines, 1)
        if line[:1] and line[:1] not in " \t\f\r\n#)]}\\"
    )


def _piece_starts(candidates: Iterable[tuple[int, str]]) -> list[int]:
    """Of the ``candidates`` (a row and its code, at the indentation of the statements
    sought), the rows that may start a statement: a decorator starts the definition under
    it, and ``else``, ``elif``, ``except`` and ``finally`` continue the statement above."""
    starts: list[int] = []
    decorated = False
    for row, code in candidates:
        if code[:1] == "@":
            if not decorated:
                starts.append(row)
            decorated = True
            continue
        if decorated:
            decorated = False
            continue
        if code.split(None, 1)[0].split(":", 1)[0] not in _CONTINUATIONS:
            starts.append(row)
    return starts


def _unfinished(message: str) -> bool:
    """The piece stopped inside a bracket, a string or a block: the next one continues it."""
    return any(
        sign in message
        for sign in (
            "was never closed",
            "unterminated",
            "unexpected EOF",
            "expected an indented block",
            "unexpected indent",
            "unindent does not match",
            "EOF while scanning",
        )
    )


def _newer_statement(
    lines: Sequence[str], first: int, last: int, failure: tuple[Location, str]
) -> Optional[tuple[list[ast.stmt], list[SkippedStatement]]]:
    """Rows ``first..last``, one statement ``ast`` rejects: what of it parses (a class's
    members) and what is left out; ``None`` when LibCST rejects it too (the file is broken)."""
    class_row = _class_row(lines, first, last)
    if class_row is not None:
        members = _class_by_cuts(lines, first, class_row, _last_code_row(lines, first, last))
        if members is not None:
            return [members[0]], members[1]
    name = _accepted(lines, first, last)
    if name is None:
        return None
    return [], [_skipped_rows(first, _last_code_row(lines, first, last), name[0], failure)]


def _accepted(
    lines: Sequence[str], first: int, last: int, *, in_class: bool = False
) -> Optional[tuple[Optional[str]]]:
    """Whether LibCST accepts rows ``first..last`` as one statement (a class member under a
    stand-in header), with the name it defines; ``None`` when it does not."""
    text = "".join(lines[first - 1 : last])
    if in_class:
        text = "class _:\n" + text
    generic = _generic_checked(text)
    if generic is not None:
        return generic
    import libcst as cst

    try:
        module = cst.parse_module(text)
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return None
    if len(module.body) != 1:
        return None
    statement: Any = module.body[0]
    if in_class:
        if not isinstance(statement, cst.ClassDef) or not isinstance(
            statement.body, cst.IndentedBlock
        ):
            return None
        if len(statement.body.body) != 1:
            return None
        statement = statement.body.body[0]
    name = getattr(statement, "name", None)
    return (name.value if name is not None else None,)


_GENERIC = re.compile(r"^[ \t]*(?:async[ \t]+def|def|class|(type))[ \t]+(\w+)[ \t]*\[", re.M)
"""A PEP 695 definition: a function, class or ``type`` alias with type parameters."""
_ALIAS = re.compile(r"(?:class _:\n)?[ \t]*(type[ \t]+)\w+[ \t]*=")
"""A ``type`` alias without type parameters."""


def _generic_checked(text: str) -> Optional[tuple[Optional[str]]]:
    """Whether ``ast`` accepts ``text``, a statement that uses PEP 695 type parameters (a
    generic function or class, a ``type`` alias), once they are taken out, and accepts each
    list as a function's parameters (``T: int``, ``*Ts``, ``**P``, ``T = int``); then the name
    it defines (``None`` for an alias, as LibCST gives). ``None`` when it has none or that does
    not settle it (LibCST then reads it). Most statements a 3.11 or older interpreter rejects
    are these, and this costs a plain parse of them rather than LibCST's tree."""
    found = list(_GENERIC.finditer(text))
    if not found:
        alias = _ALIAS.match(text)
        if alias is None:
            return None
        text = text[: alias.start(1)] + text[alias.end(1) :]
    checks: list[str] = []
    for match in reversed(found):  # from the end: earlier offsets stay where they are
        opening = match.end() - 1
        closing = _closing_bracket(text, opening)
        if closing is None or not text[opening + 1 : closing].strip():
            return None
        # each parameter alone: `**P` may come before others in a type-parameter list
        checks.extend(f"def _({part}): pass\n" for part in _split(text[opening + 1 : closing]))
        if match.group(1):  # `type X[T] = value` is checked as `X = value`
            text = text[: match.start(1)] + text[match.start(2) : opening] + text[closing + 1 :]
        else:
            text = text[:opening] + text[closing + 1 :]
    try:
        for check in (text, *checks):
            ast.parse(check)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return (_own_name(text),)


_HEADER = re.compile(r"[ \t]*(?:async[ \t]+def|def|class)[ \t]+(\w+)")


def _own_name(text: str) -> Optional[str]:
    """The name the statement in ``text`` defines (past its decorators), if it is a function
    or a class; a class member's stand-in header is passed over."""
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        if depth > 0 or not stripped or stripped[:1] in "@#" or stripped == "class _:":
            depth += sum(map(stripped.count, "([{")) - sum(map(stripped.count, ")]}"))
            continue
        header = _HEADER.match(line)
        return header.group(1) if header is not None else None
    return None


def _split(parameters: str) -> list[str]:
    """The comma-separated parts of ``parameters`` outside brackets."""
    parts: list[str] = []
    depth = begun = 0
    for at, character in enumerate(parameters):
        if character in "([{":
            depth += 1
        elif character in ")]}":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append(parameters[begun:at])
            begun = at + 1
    parts.append(parameters[begun:])
    return [part for part in parts if part.strip()]


def _closing_bracket(text: str, opening: int) -> Optional[int]:
    depth = 0
    for at in range(opening, len(text)):
        if text[at] in "([{":
            depth += 1
        elif text[at] in ")]}":
            depth -= 1
            if depth == 0:
                return at
    return None


_CLASS_NAME = re.compile(r"class[ \t]+(\w+)")


def _class_row(lines: Sequence[str], first: int, last: int) -> Optional[int]:
    """The row of the ``class`` line of rows ``first..last`` (decorators above it), if they
    are a class."""
    for row in range(first, last + 1):
        line = lines[row - 1]
        if line[:1] == "@" or line[:1] in " \t\r\n\f#)]}":
            continue
        return row if _CLASS_NAME.match(line) else None
    return None


def _class_by_cuts(
    lines: Sequence[str], first: int, class_row: int, last: int
) -> Optional[tuple[ast.ClassDef, list[SkippedStatement]]]:
    """A class that does not parse whole, cut into its members where a line starts at the
    body's indentation; ``None`` when the cuts do not settle (LibCST then reads it whole)."""
    matched = _CLASS_NAME.match(lines[class_row - 1])
    assert matched is not None
    name = matched.group(1)
    candidates: list[tuple[int, str]] = []
    indent = None
    for row in range(class_row + 1, last + 1):
        line = lines[row - 1]
        stripped = line.lstrip(" \t")
        if not stripped.strip() or stripped[:1] in "#)]}\\":
            continue
        prefix = line[: len(line) - len(stripped)]
        if indent is None:
            if not prefix:
                return None
            indent = prefix
        if prefix == indent:
            candidates.append((row, stripped))
    starts = _piece_starts(candidates)
    # the header runs to the first member that makes it whole: a long header's own lines may
    # sit at the body's indentation
    for at in range(len(starts)):
        body_row = starts[at]
        header_text = "".join(lines[first - 1 : body_row - 1])
        if sum(map(header_text.count, "([{")) != sum(map(header_text.count, ")]}")):
            continue  # a line of a long header, at the body's indentation
        header = _parse("\n" * (first - 1) + header_text + " pass\n", first)
        if isinstance(header, list) or _accepted_header(header_text):
            break
    else:
        return None
    members: list[ast.stmt] = []
    skipped: list[SkippedStatement] = []
    at_member = at
    while at_member < len(starts):
        member_first = starts[at_member]
        ahead = at_member + 1
        while True:
            member_last = (starts[ahead] - 1) if ahead < len(starts) else last
            parsed = _parse_rows(lines, member_first, member_last, in_class=True)
            if isinstance(parsed, list) or not _unfinished(parsed[1]):
                break
            if ahead >= len(starts) or ahead - at_member > MERGED:
                return None
            ahead += 1
        if isinstance(parsed, list):
            members.extend(parsed)
        else:
            accepted = _accepted(lines, member_first, member_last, in_class=True)
            if accepted is None:
                return None
            member_last = _last_code_row(lines, member_first, member_last)
            skipped.append(_skipped_rows(member_first, member_last, accepted[0], parsed))
        at_member = ahead
    node = _class_node(header, name, first, body_row, class_row, last, members, skipped)
    return node, skipped


def _accepted_header(text: str) -> bool:
    """Whether LibCST accepts a class header (decorators included) with a body of ``pass``."""
    if _generic_checked(text + " pass\n") is not None:
        return True
    import libcst as cst

    try:
        cst.parse_module(text + " pass\n")
    except (cst.ParserSyntaxError, RecursionError, MemoryError, ValueError):
        return False
    return True


def _skipped_rows(
    first: int, last: int, name: Optional[str], failure: tuple[Location, str]
) -> SkippedStatement:
    return SkippedStatement(first, last, name, failure[0], failure[1])


def _last_code_row(lines: Sequence[str], first: int, last: int) -> int:
    """The last row of ``first..last`` that is not blank or a comment."""
    while last > first and (not lines[last - 1].strip() or lines[last - 1].lstrip()[:1] == "#"):
        last -= 1
    return last


def _salvage_whole(lines: Sequence[str]) -> Optional[Salvage]:
    """The file read whole by LibCST, its statements parsed one by one at LibCST's rows."""
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


def _rows(node: Any, positions: Any) -> tuple[int, int]:
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
    lines: Sequence[str], statement: Any, positions: Any, first: int, last: int
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
    node = _class_node(header, name, first, body_row, class_row, last, members, skipped)
    return node, skipped


def _class_node(
    header: _Parsed,
    name: str,
    first: int,
    body_row: int,
    class_row: int,
    last: int,
    members: list[ast.stmt],
    skipped: list[SkippedStatement],
) -> ast.ClassDef:
    """The class at rows ``first..last`` with the ``members`` that parsed: under its own
    header when that parsed, else under a plain ``class Name:`` at its row, the header then
    added to ``skipped``."""
    if not isinstance(header, list):
        skipped.insert(0, SkippedStatement(first, body_row - 1, name, *header, header_only=True))
        header = _parse("\n" * (class_row - 1) + f"class {name}: pass\n", class_row)
    assert isinstance(header, list)
    [node] = header
    assert isinstance(node, ast.ClassDef)
    if members:
        node.body = members
    node.end_lineno = last
    return node


def _skipped(
    statement: Any, first: int, last: int, failure: tuple[Location, str]
) -> SkippedStatement:
    name = getattr(statement, "name", None)
    return SkippedStatement(
        first, last, name.value if name is not None else None, failure[0], failure[1]
    )
