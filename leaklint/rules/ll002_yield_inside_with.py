"""LL002 yield-inside-with: a generator that yields from inside the ``with`` owning its resource."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ManagingWith, ResourceFacts
from leaklint.analysis.resources import ResourceType
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, release_statement, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for context-manager generators (FastAPI dependencies, `@contextmanager` functions and
generators shaped like them) that `yield` a resource from inside the `with` or `async with`
statement that acquired it, such as `with Session(engine) as session: yield session`.

## Why is this bad?
Two cases, told apart in the message:

* **The manager's exit does not close the resource.** `with conn:` on a psycopg2 or `sqlite3`
  connection commits or rolls back the transaction and leaves the connection open (measured:
  the backend stays connected after the `with`); `with Popen(...)` waits for the process and
  never stops it. A dependency written this way leaks on every path. This case is reported
  wherever the generator is a context manager.
* **The manager's exit closes it, exactly as the explicit form would.** Here the code is not a
  leak: an exception thrown in at the `yield` unwinds the `with`, and its exit closes the
  resource (measured on PostgreSQL, `tests/test_e2e_postgres.py`: the `with Session(engine)`
  dependency left 0 connections checked out after failing requests). leaklint asks for the
  explicit form, `resource = ...` then `try: yield resource` and `finally: resource.close()`, as
  a house style: what is released, and when, is written next to the `yield`, and changing the
  manager later (to `engine.begin()`, to a psycopg2 connection, to a wrapper whose exit commits)
  cannot silently change what the dependency does. Teams that prefer `with` turn it off with
  `--ignore LL002` (which also silences the first case).

The house-style case is reported only where the explicit form was **measured equivalent** to
the `with` on every path a request can take: success, the caller's error, an asyncio
cancellation, an anyio cancel scope (how Starlette cancels a request: every `await` of the
cleanup is cancelled again) and a second cancellation during cleanup
(`tests/test_equivalence.py`, with the real libraries):

* **Asked for:** SQLAlchemy/SQLModel `Session`, sessions of `sessionmaker()`, `engine.connect()`;
  httpx `Client` and `AsyncClient`, aiohttp `ClientSession`, requests `Session`. The two forms
  give the same outcome on every path.
* **Never, the `async with` is better:** SQLAlchemy `AsyncSession`, sessions of
  `async_sessionmaker()` and of `sessionmaker(class_=AsyncSession)`, `async_engine.connect()`.
  Their exit closes in a task of its own, shielded from cancellation; under a second
  cancellation the explicit `await session.close()` is cancelled mid-reset and the pool
  invalidates the connection (SQLAlchemy 2.0 and 2.1, on aiosqlite and on asyncpg).
* **Never, not equivalent:** psycopg 3 `connect()`, sync and async. Its exit commits (or rolls
  back) before closing; `close()` alone drops the work.
* **Never, other linters require the `with`:** `open()`, archives, temporary files. The forms
  behave the same, but ruff's SIM115 and pylint's R1732 report the explicit one.
* **Never, not known:** libraries without a measured row, the project's own classes (a
  `NoopSession`), types known only by a name or by inference: what their exit does is not known.

psycopg2 and `sqlite3` connections and `Popen` are the first case: there the `with` leaks.

It is also reported only where a known driver throws the caller's exception in (FastAPI
`Depends`, `@contextmanager` entered by application code, Litestar, FastDepends): pytest
fixtures, lifespans and containers resume the generator normally, and a generator known only by
its shape keeps its `with`.

## Example
```python
def get_session():
    with Session(engine) as session:
        yield session
```

## Use instead
```python
def get_session():
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()
```

## Fix safety
Where the house style asks, the rewrite above is safe: the two forms were measured to behave the
same. For a manager whose exit does not close, the fix keeps the `with` (so the transaction
still commits or rolls back) and closes the resource in a `finally` around it; it is unsafe,
because closing a connection that other code expected to stay open changes behaviour. Managers
that are transactions rather than resources (`engine.begin()`, `session.begin()`) are not
reported at all.

## References
* SQLAlchemy: Session basics, opening and closing a session; asyncio extension, `AsyncSession`
* psycopg: connection context (psycopg 3 commits on exit); psycopg2: `with` statement support
  (the connection is not closed)
* `sqlite3`: connection objects as context managers (the connection is not closed)
* ruff SIM115 (open-file-with-context-handler), pylint R1732 (consider-using-with)
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each resource-owning ``with`` that a target generator yields from."""
    if not facts.is_target:
        return
    for resource in facts.resources:
        for managing in resource.managing_withs:
            resource_type = managing.resource_type or resource.resource_type
            if resource_type is None or managing.explicit_closing:
                continue
            keyword = "async with" if isinstance(managing.statement, ast.AsyncWith) else "with"
            code = short_code(managing.item.context_expr)
            if resource_type.exit_closes:
                # the explicit form is asked for only where it was measured equivalent, and
                # of a generator a known driver throws into (not one known by its shape alone)
                if not (facts.target.known and facts.target.throws) or not (
                    resource_type.explicit_form_equivalent
                ):
                    continue
                yield Finding(
                    managing.item.context_expr,
                    f"`yield` inside `{keyword} {code}`: bind `{resource.key}` before a `try`"
                    " and release it in `finally`",
                    _explicit_plan(facts, resource, managing, resource_type),
                )
            elif not resource.release_sites:
                yield Finding(
                    managing.item.context_expr,
                    f"`{keyword}` on `{code}` {resource_type.exit_note} `{resource.key}`;"
                    " release it in a `finally`",
                    _closing_plan(facts, resource, managing, resource_type),
                )


def _release_code(facts: GeneratorFacts, key: str, resource_type: ResourceType) -> Optional[str]:
    if resource_type.release is None or (resource_type.release_is_async and not facts.is_async):
        return None
    return release_statement(key, resource_type.release, resource_type.release_is_async)


def _explicit_plan(
    facts: GeneratorFacts,
    resource: ResourceFacts,
    managing: ManagingWith,
    resource_type: ResourceType,
) -> Optional[FixPlan]:
    statement = managing.statement
    release_code = _release_code(facts, resource.key, resource_type)
    if (
        release_code is None
        or len(statement.items) != 1
        or not isinstance(managing.item.optional_vars, ast.Name)
        or not _constructed_plainly(facts, statement, managing)
    ):
        return None
    return fix_plan(
        facts,
        FixKind.WITH_TO_TRY_FINALLY,
        Applicability.SAFE,
        f"Bind `{resource.key}` before a `try` and release it in `finally`",
        statement.lineno,
        release_code=release_code,
    )


def _constructed_plainly(
    facts: GeneratorFacts, statement: ast.stmt, managing: ManagingWith
) -> bool:
    """``name = <expr>`` gives the resource itself: always for ``with``; for ``async with`` only
    for constructors (``engine.connect()`` would need ``await``)."""
    if isinstance(statement, ast.With):
        return True
    context = managing.item.context_expr
    return isinstance(context, ast.Call) and (
        isinstance(context.func, ast.Name)
        or facts.knowledge.factory_type(ast.unparse(context.func)) is not None
    )


def _closing_plan(
    facts: GeneratorFacts,
    resource: ResourceFacts,
    managing: ManagingWith,
    resource_type: ResourceType,
) -> Optional[FixPlan]:
    statement = managing.statement
    release_code = _release_code(facts, resource.key, resource_type)
    if release_code is None or len(statement.items) != 1:
        return None
    title = f"Close `{resource.key}` in a `finally` around the `with`"
    if isinstance(managing.item.optional_vars, ast.Name) and managing.resource_type is not None:
        # with psycopg2.connect(dsn) as conn:  ->  conn = ...; try: with conn: ...
        kind, keep_with = FixKind.WITH_TO_TRY_FINALLY, True
    elif managing.item.optional_vars is None and resource.acquisition is not None:
        # conn = psycopg2.connect(dsn); with conn: ...  ->  try: with conn: ... finally: close
        kind, keep_with = FixKind.ADD_FINALLY, False
    else:
        return None
    return fix_plan(
        facts,
        kind,
        Applicability.UNSAFE,
        title,
        statement.lineno,
        release_code=release_code,
        keep_with=keep_with,
    )


RULE = Rule(
    code="LL002",
    name="yield-inside-with",
    summary="The generator yields inside the `with` that owns its resource",
    docs=DOCS,
    check=check,
)
