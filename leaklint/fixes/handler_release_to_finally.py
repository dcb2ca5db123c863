"""LL008: a release that only an ``except`` clause runs moves into a new ``finally``, so the
success path releases too; the clause keeps its other statements and its ``raise``."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source, without_leading_blank_lines
from leaklint.model import FixPlan


def rewrite(
    source: Source, original: cst.Try, updated: cst.Try, row: int, plan: FixPlan
) -> cst.Try:
    """The ``try`` with the handlers' releases moved (once) into its new ``finally``."""
    if updated.finalbody is not None:
        raise FixError(f"the `try` at line {row} already has a `finally`")
    wanted = set(plan.release_rows)
    moved: list[cst.BaseStatement] = []
    handlers = []
    for before_handler, after_handler in zip(original.handlers, updated.handlers):
        if not isinstance(before_handler.body, cst.IndentedBlock) or not isinstance(
            after_handler.body, cst.IndentedBlock
        ):
            handlers.append(after_handler)
            continue
        kept = []
        for before, after in zip(before_handler.body.body, after_handler.body.body):
            if source.row(before) in wanted:
                if not moved:
                    moved.append(without_leading_blank_lines(after))
                wanted.discard(source.row(before))
            else:
                kept.append(after)
        if not kept:
            raise FixError(f"the `except` at line {source.row(before_handler)} would be empty")
        handlers.append(after_handler.with_changes(body=after_handler.body.with_changes(body=kept)))
    if wanted or not moved:
        raise FixError(f"the releases of the `try` at line {row} were not found")
    return updated.with_changes(
        handlers=handlers, finalbody=cst.Finally(body=cst.IndentedBlock(body=moved))
    )
