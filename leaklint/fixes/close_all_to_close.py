"""LL012: ``session.close_all()`` in a per-call dependency closes only its own session."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError
from leaklint.model import FixPlan


def rewrite(small: cst.BaseSmallStatement, row: int, plan: FixPlan) -> cst.BaseSmallStatement:
    """``session.close_all()`` (awaited or not) as ``session.close()``."""
    if not isinstance(small, cst.Expr):
        raise FixError(f"no `close_all()` call at line {row}")
    value = small.value
    call = value.expression if isinstance(value, cst.Await) else value
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "close_all"
    ):
        raise FixError(f"no `close_all()` call at line {row}")
    closed = call.with_changes(func=call.func.with_changes(attr=cst.Name("close")))
    new_value = value.with_changes(expression=closed) if isinstance(value, cst.Await) else closed
    return small.with_changes(value=new_value)
