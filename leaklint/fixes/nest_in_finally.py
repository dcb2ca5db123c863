"""LL014: ``finally: <step>; <release>`` becomes ``finally: try: <step> finally: <release>``,
so a failing step no longer skips the release."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source, try_finally

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.model import FixPlan


def rewrite(
    source: Source, original: cst.Try, updated: cst.Try, row: int, plan: FixPlan
) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
    """The ``try`` at ``row`` with the statements of its ``finally`` (or of one of its handlers)
    from the first step (``plan.release_rows[0]``) up to the release (``plan.release_rows[1]``)
    in a ``try`` of their own, whose ``finally`` takes the release and everything after it."""
    if original.finalbody is not None and updated.finalbody is not None:
        body = _nested(source, original.finalbody.body, updated.finalbody.body, plan)
        if body is not None:
            return updated.with_changes(finalbody=updated.finalbody.with_changes(body=body))
    handlers = list(updated.handlers)
    for index, handler in enumerate(original.handlers):
        body = _nested(source, handler.body, handlers[index].body, plan)
        if body is not None:
            handlers[index] = handlers[index].with_changes(body=body)
            return updated.with_changes(handlers=handlers)
    raise FixError(f"the step and the release are not in one clause of the `try` at line {row}")


def _nested(
    source: Source, original: cst.BaseSuite, updated: cst.BaseSuite, plan: FixPlan
) -> Optional[cst.IndentedBlock]:
    """The clause's block with its statements from the step up to the release in a ``try``
    whose ``finally`` holds the release and what follows it; ``None`` when the block does not
    hold both, the release first."""
    if not isinstance(original, cst.IndentedBlock) or not isinstance(updated, cst.IndentedBlock):
        return None
    step_row, release_row = plan.release_rows
    rows = [source.row(statement) for statement in original.body]
    if step_row not in rows or release_row not in rows:
        return None
    first, release = rows.index(step_row), rows.index(release_row)
    if first >= release:
        return None
    statements = list(updated.body)
    inner = try_finally(statements[first:release], statements[release:])
    return updated.with_changes(body=[*statements[:first], inner])
