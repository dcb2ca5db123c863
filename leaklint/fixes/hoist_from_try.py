"""LL004: ``try: db = acquire(); ... finally: db.close()`` becomes ``db = acquire()`` then the
``try``, so the ``finally`` never meets an unbound name."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.fixes.base import FixError, Source, leading_lines
from leaklint.model import FixPlan


def rewrite(
    source: Source,
    body: list[cst.BaseStatement],
    originals: Sequence[cst.BaseStatement],
    anchor: int,
    plan: FixPlan,
) -> list[cst.BaseStatement]:
    """The acquisition moved out above its ``try``, which keeps the rest of its body."""
    statement = body[anchor]
    original = originals[anchor]
    if not (
        isinstance(statement, cst.Try)
        and isinstance(original, cst.Try)
        and isinstance(statement.body, cst.IndentedBlock)
        and isinstance(original.body, cst.IndentedBlock)
    ):
        raise FixError(f"no `try` with an indented body at line {plan.anchor_row}")
    inner = list(statement.body.body)
    if len(inner) < 2 or source.row(original.body.body[0]) != plan.release_rows[0]:
        raise FixError(f"the acquisition does not open the `try` at line {plan.anchor_row}")
    acquisition = inner[0]
    hoisted = acquisition.with_changes(
        leading_lines=[*statement.leading_lines, *leading_lines(acquisition)]
    )
    remaining = statement.with_changes(
        leading_lines=(), body=statement.body.with_changes(body=inner[1:])
    )
    return [*body[:anchor], hoisted, remaining, *body[anchor + 1 :]]
