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
  connection commits or rolls back the transaction and leaves the connection open. A dependency
  written this way opens a connection per request and never closes it: a real leak on every path.
* **The manager's exit closes it** (SQLAlchemy and SQLModel `Session` and `AsyncSession`,
  `engine.connect()`, `open()`, httpx and aiohttp clients). Here the code is not a leak: an
  exception thrown in at the `yield` unwinds the `with`, and its exit closes the resource.
  Measured on PostgreSQL (`tests/test_e2e_postgres.py`, pool of 2 connections): an endpoint that
  runs `SELECT 1` and raises, on `with Session(engine) as session: yield session`, answered all 10
  concurrent requests and left 0 connections checked out and 0 sessions `idle in transaction`,
  where `db = SessionLocal(); yield db; db.close()` left 2 of each and 8 requests timed out.
  leaklint still asks for the explicit form, `resource = ...` followed by `try: yield resource`
  and `finally: resource.close()`, because what is released, and when, is then written next to the
  `yield` instead of hidden in a manager's `__exit__`: a reviewer can see it, and changing the
  manager later (to `engine.begin()`, to a psycopg2 connection, to a project's own wrapper whose
  exit commits or swallows exceptions) cannot silently change what the dependency does. Teams
  that prefer `with` can turn this case off with `--ignore LL002` (which also silences the
  non-closing case: LL003 does not report a resource that a `with` manages).

The second case is reported only where the explicit form is an exact equivalent of the `with`
(not for `TemporaryDirectory()`, whose `as` binds a path, nor for executors, whose exit waits),
and only where the driver throws the caller's exception in. pytest fixtures, lifespans and
containers (dishka, dependency-injector, aiohttp cleanup contexts) resume the generator
normally, so for them a closing `with` is simply correct.

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
For managers whose `__enter__` returns the resource itself and whose `__exit__` only closes it
(`Session`, `AsyncSession`, sessions from `sessionmaker()`, `engine.connect()`, `open()`, httpx and
aiohttp clients, sockets), the rewrite above is safe. No rewrite is offered for managers that are
transactions rather than resources (`engine.begin()`, `session.begin()`): they are not reported at
all. For a manager whose exit does not close, the fix keeps the `with` (so the transaction still
commits or rolls back) and closes the resource in a `finally` around it; it is unsafe, because
closing a connection that other code expected to stay open changes behaviour.

A factory imported from a file that is not being linted is taken for a SQLAlchemy session
factory when its name says so (`local_session`, `async_session_factory`, `SessionLocal`) and the
`with` binds a name containing `session`; names that start with a verb (`get_session()`) are
left alone, since they are as often context managers as factories. The rewrite is unsafe there:
the type is a guess.

## References
* SQLAlchemy: Session basics, opening and closing a session
* psycopg2: `with` statement support (the connection is not closed)
* `sqlite3`: connection objects as context managers (the connection is not closed)
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
