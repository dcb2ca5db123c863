"""LL002: ``with Factory() as x: ... yield x`` becomes ``x = Factory()`` and a ``try`` whose
``finally`` releases ``x`` explicitly (inside the kept ``with x:`` when the plan asks)."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.fixes.base import FixError, Source
from leaklint.model import FixPlan


def rewrite(
    source: Source,
    body: list[cst.BaseStatement],
    originals: Sequence[cst.BaseStatement],
    anchor: int,
    plan: FixPlan,
) -> list[cst.BaseStatement]:
    """The ``with`` at the anchor as a binding and a ``try``/``finally``."""
    statement = body[anchor]
    if not isinstance(statement, cst.With) or len(statement.items) != 1:
        raise FixError(f"no single-item `with` at line {plan.anchor_row}")
    item = statement.items[0]
    if item.asname is None or not isinstance(item.asname.name, cst.Name):
        raise FixError(f"the `with` at line {plan.anchor_row} binds no name")
    name = item.asname.name
    header = statement.body.header if isinstance(statement.body, cst.IndentedBlock) else None
    # a comment after `with X() as x:` (a suppression, say) stays with the call of X()
    binding = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(target=name)], value=item.item)],
        leading_lines=statement.leading_lines,
        trailing_whitespace=header or cst.TrailingWhitespace(),
    )
    release = source.statement(plan.release_code)
    suite = statement.body
    if isinstance(suite, cst.IndentedBlock):
        suite = suite.with_changes(header=cst.TrailingWhitespace())
    if plan.keep_with:
        inner = statement.with_changes(
            items=[cst.WithItem(item=name)], leading_lines=(), body=suite
        )
        protected: cst.BaseSuite = cst.IndentedBlock(body=[inner])
    else:
        protected = suite
    if not isinstance(protected, cst.IndentedBlock):
        raise FixError(f"the `with` at line {plan.anchor_row} has its body on one line")
    rewritten = cst.Try(
        body=protected,
        finalbody=cst.Finally(body=cst.IndentedBlock(body=[release])),
    )
    return [*body[:anchor], binding, rewritten, *body[anchor + 1 :]]
