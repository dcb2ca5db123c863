"""LL014: ``finally: <step>; <release>`` becomes ``finally: try: <step> finally: <release>``,
so a failing step no longer skips the release."""

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
    """The ``try`` at ``row`` with the statements of its ``finally`` from the first step
    (``plan.release_rows[0]``) up to the release (``plan.release_rows[1]``) in a ``try`` of
    their own, whose ``finally`` takes the release and everything after it."""
    final = updated.finalbody
    if (
        final is None
        or original.finalbody is None
        or not isinstance(final.body, cst.IndentedBlock)
        or not isinstance(original.finalbody.body, cst.IndentedBlock)
    ):
        raise FixError(f"no indented `finally` in the `try` at line {row}")
    step_row, release_row = plan.release_rows
    rows = [source.row(statement) for statement in original.finalbody.body.body]
    if step_row not in rows or release_row not in rows:
        raise FixError(f"the step or the release is not in the `finally` at line {row}")
    first, release = rows.index(step_row), rows.index(release_row)
    if first >= release:
        raise FixError(f"the release comes before the step in the `finally` at line {row}")
    statements = list(final.body.body)
    inner = try_finally(statements[first:release], statements[release:])
    return updated.with_changes(
        finalbody=final.with_changes(
            body=final.body.with_changes(body=[*statements[:first], inner])
        )
    )
