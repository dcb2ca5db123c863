"""LL009: a commit in ``finally`` moves to the end of the ``try`` body, so a failed request is
not committed; a ``try`` left with nothing to protect is taken apart."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source, leading_lines, without_leading_blank_lines
from leaklint.model import FixPlan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union


def rewrite(
    source: Source, original: cst.Try, updated: cst.Try, row: int, plan: FixPlan
) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
    """The ``try`` with its commits moved from ``finally`` to the end of its body."""
    final = updated.finalbody
    if (
        final is None
        or original.finalbody is None
        or not isinstance(final.body, cst.IndentedBlock)
        or not isinstance(original.finalbody.body, cst.IndentedBlock)
        or not isinstance(updated.body, cst.IndentedBlock)
    ):
        raise FixError(f"no indented `finally` in the `try` at line {row}")
    moved: list[cst.BaseStatement] = []
    kept: list[cst.BaseStatement] = []
    for before, after in zip(original.finalbody.body.body, final.body.body):
        (moved if source.row(before) in plan.release_rows else kept).append(after)
    if len(moved) != len(plan.release_rows):
        raise FixError(f"the commit of the `try` at line {row} was not found")
    body = [*updated.body.body, *(without_leading_blank_lines(m) for m in moved)]
    if kept:
        new_final = final.with_changes(body=final.body.with_changes(body=kept))
        return updated.with_changes(body=updated.body.with_changes(body=body), finalbody=new_final)
    if updated.handlers:
        return updated.with_changes(body=updated.body.with_changes(body=body), finalbody=None)
    # `try: yield db finally: db.commit()`: nothing left to protect
    first = body[0].with_changes(leading_lines=[*updated.leading_lines, *leading_lines(body[0])])
    return cst.FlattenSentinel([first, *body[1:]])
