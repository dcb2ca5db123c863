"""LL009 commit-on-error: ``commit()`` in a ``finally``, or in an ``except`` without rollback."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for `commit()` calls (on a session, a connection, a transaction) in the `finally` of the
`try` around the `yield`, or in an `except` clause around the `yield` that does not roll back
first.

## Why is this bad?
The `finally` runs when the caller failed too: the endpoint's (or the `with` body's) exception
is thrown in at the `yield`, and on its way out the generator commits whatever the caller had
written before it failed. Half-done work is persisted, and the error response tells the client
that nothing happened. Measured with FastAPI 0.165.0 and SQLAlchemy 2.1.9 on SQLite: an endpoint
that inserts an order and then raises `HTTPException(status_code=422)` behind
`try: yield db / finally: db.commit(); db.close()` answers 422, and the order is in the table
afterwards. A commit in an `except` clause that does not roll back first does the same on
purpose.

Only drivers that throw the caller's exception in are checked: under pytest fixtures,
lifespans and containers the code after the `yield` runs the same way whatever the caller did.

## Example
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.commit()
        db.close()
```

## Use instead
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
        db.commit()
    finally:
        db.close()
```

## Fix safety
The fix moves the commit from `finally` to the end of the `try` body, after the `yield`: it now
runs only when the caller succeeded. It is unsafe: code that relied on the commit after a
failure (to persist an audit row, say) stops persisting it. A conditional commit, or one in an
`except` clause, gets no fix.

When the commit was all the `finally` did, no `try` is left: the commit follows a bare `yield`,
which is what it must do (skipped when the caller fails). ruff's RUF075 (in preview) reports
every statement after a bare `yield` of a context manager and so reports this one; add
`except BaseException: raise` and `else:` around the commit if your project enforces it, or
better, a `rollback()` before that `raise`.

## References
* SQLAlchemy: Session basics, framing out a begin / commit / rollback block
* FastAPI: Dependencies with yield
"""

_ROLLBACKS = frozenset({"rollback", "abort"})


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each ``commit()`` that also runs after the caller failed."""
    if not facts.is_target or not facts.throws_in:
        return
    for node in _own_calls(facts):
        if not _is_commit(node):
            continue
        statement = facts.statement_of(node)
        try_node, place = _around_yield(facts, statement)
        if try_node is None:
            continue
        if place == "finally" and _directly_in(try_node.finalbody, statement):
            yield Finding(
                statement,
                f"`{short_code(node)}` in `finally` also commits when the caller failed: commit"
                " at the end of the `try`, after the `yield`",
                _fix_plan(facts, try_node, statement),
            )
        elif place == "except" and not _rolled_back_before(facts, statement):
            yield Finding(
                statement,
                f"`{short_code(node)}` in an `except` around the `yield` commits the caller's"
                " failed work; roll back instead",
            )


def _own_calls(facts: GeneratorFacts) -> Iterator[ast.Call]:
    for node in facts.parent:
        if isinstance(node, ast.Call):
            yield node


def _is_commit(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and func.attr == "commit" and not call.args


def _around_yield(facts: GeneratorFacts, statement: ast.stmt) -> tuple[Optional[ast.Try], str]:
    """The ``try`` around a ``yield`` whose ``finally`` (or ``except``) holds ``statement``."""
    child: ast.AST = statement
    current = facts.parent.get(statement)
    while current is not None and current is not facts.node:
        if isinstance(current, ast.ExceptHandler):
            try_node = facts.parent.get(current)
            if isinstance(try_node, ast.Try) and _yields_in(facts, try_node.body):
                return try_node, "except"
        if isinstance(current, ast.Try) and any(item is child for item in current.finalbody):
            guarded = [current.body, current.orelse, *(h.body for h in current.handlers)]
            if any(_yields_in(facts, block) for block in guarded):
                return current, "finally"
        child = current
        current = facts.parent.get(current)
    return None, ""


def _yields_in(facts: GeneratorFacts, block: list[ast.stmt]) -> bool:
    return any(facts.ancestor_in(site.node, block) is not None for site in facts.yields)


def _directly_in(block: list[ast.stmt], statement: ast.stmt) -> bool:
    """A statement of the block itself, not one nested in an ``if`` (a conditional commit)."""
    return any(item is statement for item in block)


def _rolled_back_before(facts: GeneratorFacts, statement: ast.stmt) -> bool:
    handler = facts.parent.get(statement)
    while handler is not None and not isinstance(handler, ast.ExceptHandler):
        handler = facts.parent.get(handler)
    if handler is None:
        return False
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _ROLLBACKS
        and (node.lineno, node.col_offset) < (statement.lineno, statement.col_offset)
        for node in ast.walk(handler)
    )


def _fix_plan(facts: GeneratorFacts, try_node: ast.Try, statement: ast.stmt) -> Optional[FixPlan]:
    if not isinstance(statement, ast.Expr) or any(
        other is not statement and other.lineno == statement.lineno for other in try_node.finalbody
    ):
        return None
    if try_node.orelse:
        return None  # the success path has an `else:` already; where to put it is a choice
    return fix_plan(
        facts,
        FixKind.COMMIT_TO_SUCCESS_PATH,
        Applicability.UNSAFE,
        "Move the commit to the end of the `try`, after the `yield`",
        try_node.lineno,
        release_rows=(statement.lineno,),
    )


RULE = Rule(
    code="LL009",
    name="commit-on-error",
    summary="`commit()` in `finally` or in an `except` without rollback: failed work is persisted",
    docs=DOCS,
    check=check,
)
