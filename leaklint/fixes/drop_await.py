"""LL012: ``await session.close()`` on a release that is no coroutine loses its ``await``."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError
from leaklint.model import FixPlan


def rewrite(small: cst.BaseSmallStatement, row: int, plan: FixPlan) -> cst.BaseSmallStatement:
    """The awaited call, called plainly."""
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Await):
        return small.with_changes(value=small.value.expression)
    raise FixError(f"no awaited call at line {row}")
