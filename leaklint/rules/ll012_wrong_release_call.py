"""LL012 wrong-release-call: ``await`` on a release that is not a coroutine, or a release of
every session in a per-request generator."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.drivers import Role
from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.analysis.imports import dotted_name
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for two wrong ways to release a resource in a context-manager generator:

* `await` on a release method that is not a coroutine, on a resource whose type leaklint knows
  (`await session.close()` on a sync SQLAlchemy `Session`, `await conn.close()` on a psycopg2
  connection);
* a release of *every* session in the process from a per-call generator: `close_all()` on a
  session (`AsyncSession.close_all()`) or `sqlalchemy.orm.close_all_sessions()`, in a dependency
  or a `contextmanager`.

## Why is this bad?
`await` on the `None` a sync `close()` returns raises `TypeError: object NoneType can't be used
in 'await' expression` during cleanup, after the session was closed. In a `finally` that runs
because the caller failed, this new error replaces the caller's: measured with FastAPI 0.165.0
and SQLAlchemy 2.1.9, an endpoint that raises `HTTPException(status_code=404)` behind such a
dependency answers **500 Internal Server Error**, and the server logs the `TypeError`, not the
404.

`close_all()` and `close_all_sessions()` close every session of the process, those of other
requests still running included: their next query fails, or silently runs in a new transaction.
They belong in shutdown code (a lifespan, a test's teardown), which this rule leaves alone. (On
SQLAlchemy 2.x a sync `Session` no longer has `close_all()` at all: the call raises
`AttributeError`.)

## Example
```python
async def get_db():
    db = SessionLocal()  # a sync Session
    try:
        yield db
    finally:
        await db.close()
```

## Use instead
```python
async def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
```

## Fix safety
Dropping the `await` is safe: the method is known not to be a coroutine, so the `await` could
only raise. `session.close_all()` becomes `session.close()`, which is safe: it releases what the
generator acquired and nothing else. `close_all_sessions()` gets no fix: which session to close
is not written there.

## References
* SQLAlchemy: `Session.close()`, `close_all_sessions()`
* Python: the `await` expression
"""

_SHUTDOWN_ROLES = frozenset({Role.LIFESPAN, Role.FIXTURE, Role.PROVIDER})


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report awaited sync releases, and releases of every session in per-call generators."""
    if not facts.is_target:
        return
    for resource in facts.resources:
        for site in resource.release_sites:
            if _awaits_a_plain_release(facts, resource, site):
                yield Finding(
                    site.statement,
                    f"`{short_code(site.call)}` is not a coroutine: `await` on its `None` raises"
                    " `TypeError` during cleanup and hides the caller's error; drop `await`",
                    fix_plan(
                        facts,
                        FixKind.DROP_AWAIT,
                        Applicability.SAFE,
                        "Drop `await`",
                        site.statement.lineno,
                    ),
                )
    if _per_call(facts):
        yield from _releases_of_everything(facts)


def _awaits_a_plain_release(
    facts: GeneratorFacts, resource: ResourceFacts, site: ReleaseSite
) -> bool:
    resource_type = resource.resource_type
    if resource_type is None or resource_type.guessed or not site.awaited or site.helper:
        return False
    if not isinstance(site.call.func, ast.Attribute):
        return False
    if dotted_name(site.call.func.value) != resource.key:
        return False  # pool.release(conn): the pool's method, not the resource's
    method = site.method
    return (
        method == resource_type.release
        and not resource_type.release_is_async
        and method not in facts.knowledge.coroutine_release_methods
    )


def _per_call(facts: GeneratorFacts) -> bool:
    """Driven once per request or per ``with``: not a lifespan, a fixture or a container."""
    return not any(driver.role in _SHUTDOWN_ROLES for driver in facts.target.drivers)


def _releases_of_everything(facts: GeneratorFacts) -> Iterator[Finding]:
    for node in facts.parent:
        if not isinstance(node, ast.Call):
            continue
        called = dotted_name(node.func) or ""
        last = called.rsplit(".", 1)[-1]
        statement = facts.statement_of(node)
        if (
            last == "close_all"
            and isinstance(node.func, ast.Attribute)
            and not node.args
            and _names_sessions(facts, node.func.value)
        ):
            yield Finding(
                statement,
                f"`{short_code(node)}` closes every session in the process, other requests'"
                " included; close this one with `close()`",
                _close_plan(facts, node, statement),
            )
        elif last == "close_all_sessions" and not node.args:
            yield Finding(
                statement,
                "`close_all_sessions()` closes every session in the process, other requests'"
                " included; close the generator's own session instead",
            )


def _names_sessions(facts: GeneratorFacts, receiver: ast.expr) -> bool:
    """``session.close_all()``, ``Session.close_all()``, ``SessionLocal.close_all()``: a
    SQLAlchemy session or session class, whose ``close_all()`` closes every session of the
    process. Other objects' ``close_all()`` (Django's ``connections``, which are the thread's
    own) mean something else."""
    key = dotted_name(receiver)
    if key is None:
        return False
    resource = next((r for r in facts.resources if r.key == key), None)
    if resource is not None and resource.resource_type is not None:
        return "Session" in resource.resource_type.name
    return "session" in key.rsplit(".", 1)[-1].lower()


def _close_plan(facts: GeneratorFacts, call: ast.Call, statement: ast.stmt) -> Optional[FixPlan]:
    value = statement.value if isinstance(statement, ast.Expr) else None
    if isinstance(value, ast.Await):
        value = value.value
    if value is not call:
        return None  # the call is part of a larger statement
    return fix_plan(
        facts,
        FixKind.CLOSE_ALL_TO_CLOSE,
        Applicability.SAFE,
        "Close this session only: `close()`",
        statement.lineno,
    )


RULE = Rule(
    code="LL012",
    name="wrong-release-call",
    summary="`await` on a sync release, or `close_all()` in a per-request generator",
    docs=DOCS,
    check=check,
)
