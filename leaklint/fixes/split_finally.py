"""LL004, for the second of two resources: ``try: cur = acquire(); <rest> finally:
cur.close(); conn.close()`` becomes ``try: cur = acquire(); try: <rest> finally: cur.close()
finally: conn.close()``, so each ``finally`` releases only what was bound before it."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source, try_finally

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

    from leaklint.model import FixPlan


def rewrite(
    source: Source, original: cst.Try, updated: cst.Try, row: int, plan: FixPlan
) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
    """The ``try`` with the statements after the acquisition (row ``plan.anchor_row`` of its
    body is the ``try``; the acquisition is the one statement at ``plan.release_rows[0]``)
    wrapped in an inner ``try`` whose ``finally`` takes the first statements of the outer one
    (the rest of ``plan.release_rows``)."""
    final = updated.finalbody
    if (
        final is None
        or original.finalbody is None
        or not isinstance(final.body, cst.IndentedBlock)
        or not isinstance(original.finalbody.body, cst.IndentedBlock)
        or not isinstance(updated.body, cst.IndentedBlock)
        or not isinstance(original.body, cst.IndentedBlock)
    ):
        raise FixError(f"no indented `try` and `finally` at line {row}")
    acquisition_row, *release_rows = plan.release_rows
    rows = [source.row(statement) for statement in original.body.body]
    if acquisition_row not in rows:
        raise FixError(f"the acquisition is not in the `try` at line {row}")
    split = rows.index(acquisition_row) + 1
    body = list(updated.body.body)
    if split >= len(body):
        raise FixError(f"nothing follows the acquisition in the `try` at line {row}")
    final_rows = [source.row(statement) for statement in original.finalbody.body.body]
    count = len(release_rows)
    if final_rows[:count] != release_rows or count >= len(final_rows):
        raise FixError(f"the release does not open the `finally` at line {row}")
    released = list(final.body.body)
    inner = try_finally(body[split:], released[:count])
    return updated.with_changes(
        body=updated.body.with_changes(body=[*body[:split], inner]),
        finalbody=final.with_changes(body=final.body.with_changes(body=released[count:])),
    )
