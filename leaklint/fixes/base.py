"""What every fix kind shares: the error that refuses a fix, the view of the file a rewrite gets,
and the LibCST pieces the rewrites build with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import libcst as cst


class FixError(Exception):
    """A fix could not be applied, or produced code that does not parse: nothing is written."""


class Source(Protocol):
    """What a rewrite may ask about the code it rewrites."""

    def row(self, node: cst.CSTNode) -> int:
        """The line a node of the original tree starts on."""
        ...

    def statement(self, code: str) -> cst.BaseStatement:
        """One statement parsed with the module's own newline and Python version."""
        ...


def try_finally(
    protected: Sequence[cst.BaseStatement], released: Sequence[cst.BaseStatement]
) -> cst.Try:
    """``try: <protected> finally: <released>``, the comments above the first statement kept
    above ``try``."""
    first = protected[0]
    leading = leading_lines(first)
    protected = [first.with_changes(leading_lines=()), *protected[1:]]
    released = [without_leading_blank_lines(released[0]), *released[1:]]
    return cst.Try(
        body=cst.IndentedBlock(body=protected),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=released)),
        leading_lines=leading,
    )


def leading_lines(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    """Comments and blank lines above a statement (every concrete statement has them)."""
    assert isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    return statement.leading_lines


def without_leading_blank_lines(statement: cst.BaseStatement) -> cst.BaseStatement:
    """The statement with the blank lines above it dropped, its comments kept."""
    lines = list(leading_lines(statement))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return statement.with_changes(leading_lines=lines)


def awaited(small: cst.BaseSmallStatement) -> cst.BaseSmallStatement:
    """A bare call as ``await <call>``; anything else unchanged."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return small.with_changes(value=cst.Await(expression=small.value))
    return small
