"""LL001: ``acquire; <uses>; yield; release`` becomes ``acquire; try: <uses>; yield finally:
release``, the release statements moved whole (an ``await`` added where LL007 asks for one)."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.fixes.base import FixError, Source, awaited, try_finally
from leaklint.model import FixPlan


def rewrite(
    source: Source,
    body: list[cst.BaseStatement],
    originals: Sequence[cst.BaseStatement],
    anchor: int,
    plan: FixPlan,
) -> list[cst.BaseStatement]:
    """The block with everything from the anchor to the last release inside the ``try``."""
    rows = [source.row(statement) for statement in originals]
    release_indices = [rows.index(row) for row in plan.release_rows if row in rows]
    if len(release_indices) != len(plan.release_rows) or min(release_indices) <= anchor:
        raise FixError(f"release statements moved away from line {plan.anchor_row}")
    last = max(release_indices)
    kept = [body[i] for i in range(anchor, last + 1) if i not in release_indices]
    bounds = [*rows[1:], 1 << 30]
    released = [_with_awaits(body[i], plan.await_rows, rows[i], bounds[i]) for i in release_indices]
    return [*body[:anchor], try_finally(kept, released), *body[last + 1 :]]


def _with_awaits(
    statement: cst.BaseStatement, await_rows: Sequence[int], start: int, end: int
) -> cst.BaseStatement:
    """Add ``await`` to the release calls of a moved statement that spans rows start..end."""
    if not any(start <= row < end for row in await_rows):
        return statement
    return statement.visit(_AwaitAdder())  # type: ignore[return-value]


class _AwaitAdder(cst.CSTTransformer):
    """Adds ``await`` to the bare calls of a release statement (it holds nothing else)."""

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return updated_node.with_changes(body=[awaited(small) for small in updated_node.body])
