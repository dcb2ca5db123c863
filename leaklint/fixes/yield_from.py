"""LL011: ``for db in get_session(): yield db`` becomes ``yield from get_session()``, which
throws the caller's exception on into the inner generator."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source
from leaklint.model import FixPlan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union


def rewrite(
    source: Source, loop: cst.For, row: int, plan: FixPlan
) -> Union[cst.For, cst.BaseStatement]:
    """One ``yield from`` statement in place of the loop, its comments kept."""
    if loop.asynchronous is not None or loop.orelse is not None:
        raise FixError(f"the loop at line {row} cannot delegate with `yield from`")
    delegate = cst.Expr(value=cst.Yield(value=cst.From(item=loop.iter)))
    trailing = (
        loop.body.header if isinstance(loop.body, cst.IndentedBlock) else cst.TrailingWhitespace()
    )
    return cst.SimpleStatementLine(
        body=[delegate], leading_lines=loop.leading_lines, trailing_whitespace=trailing
    )
