"""LL013: ``acquire; <steps>; try: ... finally: <releases>`` becomes ``acquire; try: <steps>;
try: ... finally: <other releases> finally: <its releases>``: one ``try`` per resource."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import libcst as cst

from leaklint.fixes.base import FixError, Source, leading_lines, without_leading_blank_lines
from leaklint.model import FixPlan


def rewrite(
    source: Source,
    body: list[cst.BaseStatement],
    originals: Sequence[cst.BaseStatement],
    anchor: int,
    plan: FixPlan,
) -> list[cst.BaseStatement]:
    """The block with a new ``try`` from the statement after the anchor to the old ``try``."""
    wanted = set(plan.release_rows)
    for index in range(anchor + 1, len(originals)):
        original = originals[index]
        if isinstance(original, cst.Try) and original.finalbody is not None:
            final_rows = [source.row(statement) for statement in original.finalbody.body.body]
            if wanted <= set(final_rows):
                break
    else:
        raise FixError(f"no `try` releases what line {plan.anchor_row} acquires")
    guard = body[index]
    assert isinstance(guard, cst.Try) and guard.finalbody is not None
    if not isinstance(guard.finalbody.body, cst.IndentedBlock):
        raise FixError(f"the `finally` after line {plan.anchor_row} is on one line")
    moved = [s for s, row in zip(guard.finalbody.body.body, final_rows) if row in wanted]
    kept = [s for s, row in zip(guard.finalbody.body.body, final_rows) if row not in wanted]
    inner: list[cst.BaseStatement]
    if kept:
        final = guard.finalbody.with_changes(body=guard.finalbody.body.with_changes(body=kept))
        inner = [guard.with_changes(finalbody=final)]
    elif guard.handlers or guard.orelse is not None:
        inner = [guard.with_changes(finalbody=None)]
    elif isinstance(guard.body, cst.IndentedBlock):
        # nothing left for the old `try` to do: its body joins the new one
        statements = list(guard.body.body)
        first = statements[0]
        statements[0] = first.with_changes(
            leading_lines=[*guard.leading_lines, *leading_lines(first)]
        )
        inner = statements
    else:
        raise FixError(f"the `try` after line {plan.anchor_row} has its body on one line")
    protected = [*body[anchor + 1 : index], *inner]
    first = protected[0]
    # blank lines above the first step stay above the `try`, its comments stay with it
    blank = list(itertools.takewhile(lambda line: line.comment is None, leading_lines(first)))
    new_try = cst.Try(
        body=cst.IndentedBlock(body=[without_leading_blank_lines(first), *protected[1:]]),
        finalbody=cst.Finally(
            body=cst.IndentedBlock(body=[without_leading_blank_lines(moved[0]), *moved[1:]])
        ),
        leading_lines=blank,
    )
    return [*body[: anchor + 1], new_try, *body[index + 1 :]]
