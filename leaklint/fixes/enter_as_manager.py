"""LL011 (async): ``async for db in get_session(): yield db`` becomes ``async with
asynccontextmanager(get_session)() as db: yield db``, which throws the caller's exception on
into the inner generator. The import it may need is added by ``imports``."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import FixError, Source
from leaklint.model import FixPlan


def rewrite(source: Source, loop: cst.For, row: int, plan: FixPlan) -> cst.BaseStatement:
    """An ``async with`` over the inner generator entered as a context manager, the loop's
    body and comments kept."""
    call = loop.iter
    if loop.asynchronous is None or loop.orelse is not None or not isinstance(call, cst.Call):
        raise FixError(f"the loop at line {row} cannot be entered as a context manager")
    if not isinstance(loop.target, cst.Name):
        raise FixError(f"the loop at line {row} binds more than a name")
    manager = cst.parse_expression(plan.callee)
    entered = call.with_changes(func=cst.Call(func=manager, args=[cst.Arg(value=call.func)]))
    return cst.With(
        items=[cst.WithItem(item=entered, asname=cst.AsName(name=loop.target))],
        body=loop.body,
        asynchronous=cst.Asynchronous(),
        leading_lines=loop.leading_lines,
    )
