"""LL014 release-after-failing-step: in a ``finally`` (or a handler of what is thrown in) that
releases a resource, a step that can fail runs before the release."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ResourceFacts
from leaklint.analysis.imports import dotted_name
from leaklint.model import Applicability, FixKind
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for a `finally` (or an `except` that catches what is thrown in at the `yield`) that
releases a resource of the generator after a step that works on a resource the generator holds,
such as a query that gives back a lock, or a `ROLLBACK` statement sent before the close:

```python
conn = engine.connect()
try:
    conn.execute(text("SELECT pg_advisory_lock(1)"))
    yield conn
finally:
    conn.execute(text("SELECT pg_advisory_unlock(1)"))
    conn.close()
```

## Why is this bad?
A `finally` runs its statements in order, and stops at the first one that raises. The step
before the release is most likely to fail exactly when something already went wrong: the body's
error aborted the transaction, and on PostgreSQL every later statement in it fails with
`InFailedSqlTransaction` ("current transaction is aborted, commands ignored until end of
transaction block"). The unlock then raises, the connection is never closed and stays checked
out of its pool, and the error the caller sees is the unlock's, with the real one only in its
context.

Steps that cannot fail in practice are not reported: logging, assigning an attribute, another
release (`cur.close()` before `conn.close()`), cancelling a task, a `rollback()` before the
close (the close would roll back first anyway). Nor is `commit()` (LL009 is about a commit in a
`finally`).

## Example
```python
@contextmanager
def migration_lock(engine):
    conn = engine.connect()
    try:
        conn.execute(LOCK)
        yield conn
    finally:
        conn.execute(UNLOCK)
        conn.close()
```

## Use instead
```python
@contextmanager
def migration_lock(engine):
    conn = engine.connect()
    try:
        conn.execute(LOCK)
        yield conn
    finally:
        try:
            conn.execute(UNLOCK)
        finally:
            conn.close()
```

## Fix safety
The fix nests the steps before the release in a `try` of their own whose `finally` holds the
release and whatever followed it (in an `except`, its closing `raise` too). It is unsafe: when
the step fails, the statements after it in the old block now run too (that is the point), and
one of them might have relied on the step having succeeded. No fix is offered when the block is
on one line.

## References
* Python: the `try` statement
* PostgreSQL: `InFailedSqlTransaction` (SQLSTATE 25P02)
"""

_NOT_WORK = frozenset({"print", "logger", "log", "logging", "LOGGER", "_logger", "_log", "warn"})
"""Callees and receivers that only report."""
_QUIET_METHODS = frozenset({"cancel", "done", "cancelled", "set", "clear", "append", "discard"})
"""Methods that do no I/O."""
_NOT_STEPS = frozenset({"commit", "flush", "refresh", "rollback", "expunge_all", "expire_all"})
"""A commit in a ``finally`` is LL009's; a rollback (or forgetting the objects) before the close
is how a session or connection is ended, and what its own close does first."""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report the first failing step before a release in each ``finally`` and each handler of
    what is thrown in."""
    if not facts.is_target:
        return
    releases = _releases_by_statement(facts)
    if not releases:
        return  # nothing is released by a statement of its own: no step can skip it
    for node in ast.walk(facts.node):
        if not isinstance(node, ast.Try):
            continue
        # the `finally`, and the handlers that catch what is thrown in at the `yield`
        blocks = [node.finalbody] if node.finalbody else []
        blocks += [
            handler.body
            for handler in node.handlers
            if any(handler is caught for caught in facts.handlers_around_yield)
        ]
        for block in blocks:
            yield from _check_block(facts, node, block, releases)


def _check_block(
    facts: GeneratorFacts, node: ast.Try, final: list[ast.stmt], releases: dict[int, ResourceFacts]
) -> Iterator[Finding]:
    """The first failing step before a release in one block that cleans up."""
    for index, statement in enumerate(final):
        resource = releases.get(id(statement))
        if resource is None:
            continue
        step = _failing_step(facts, final[:index], releases)
        if step is None:
            continue
        first = final.index(step[0])
        yield Finding(
            step[0],
            f"if `{short_code(step[1])}` raises, `{short_code(statement_call(statement))}`"
            f" below it never runs and `{resource.key}` is not released: release it in a"
            " `finally` of its own",
            fix_plan(
                facts,
                FixKind.NEST_IN_FINALLY,
                Applicability.UNSAFE,
                "Nest the steps before the release in a `try` whose `finally` releases",
                node.lineno,
                release_rows=(final[first].lineno, statement.lineno),
            ),
        )
        return


def statement_call(statement: ast.stmt) -> ast.AST:
    """The call an expression statement makes (``await`` stripped), or the statement."""
    if isinstance(statement, ast.Expr):
        value = statement.value
        return value.value if isinstance(value, ast.Await) else value
    return statement


def _releases_by_statement(facts: GeneratorFacts) -> dict[int, ResourceFacts]:
    releases: dict[int, ResourceFacts] = {}
    for resource in facts.resources:
        if resource.resource_type is not None and resource.resource_type.undo:
            continue  # putting a setting back is not what a failing step keeps from running
        if resource.acquisition is None and not resource.managing_withs:
            continue  # only what the generator itself holds
        for site in resource.release_sites:
            if isinstance(site.statement, ast.Expr) and not site.helper:
                releases.setdefault(id(site.statement), resource)
    return releases


def _failing_step(
    facts: GeneratorFacts, steps: list[ast.stmt], releases: dict[int, ResourceFacts]
) -> Optional[tuple[ast.stmt, ast.Call]]:
    """The first statement of ``steps`` that calls a method of a held resource that can fail."""
    held = {resource.key for resource in facts.resources if resource.acquisition is not None}
    for statement in steps:
        if id(statement) in releases or not isinstance(statement, ast.Expr):
            continue  # a release, or a statement that is not a plain call (an `if`, a `try`)
        call = statement_call(statement)
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        receiver = dotted_name(call.func.value)
        method = call.func.attr
        if receiver is None or receiver not in held or receiver.split(".")[0] in _NOT_WORK:
            continue
        if method in _QUIET_METHODS or method in _NOT_STEPS:
            continue
        if method in facts.knowledge.release_methods:
            continue
        return statement, call
    return None


RULE = Rule(
    code="LL014",
    name="release-after-failing-step",
    summary="A `finally` runs a step that can fail before a release, which it then skips",
    docs=DOCS,
    check=check,
)
