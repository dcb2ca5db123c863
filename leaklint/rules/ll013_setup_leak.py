"""LL013 setup-leak: a step that can fail runs between an acquisition and the ``try`` that
releases it."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.analysis.imports import dotted_parts
from leaklint.analysis.libraries import LOCK
from leaklint.analysis.shapes import in_memory_database
from leaklint.analysis.syntax import SCOPES
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for a statement that can fail between a resource's acquisition and the `try` whose
`finally` releases it, when that statement acquires another resource or works on the first (for
a lock held with `acquire()`, any statement that can fail):

```python
conn = pool.getconn()
cur = conn.cursor()          # or conn.execute("SET search_path TO shop")
try:
    yield cur
finally:
    cur.close()
    pool.putconn(conn)
```

## Why is this bad?
If the step raises, the generator stops before the `try` exists: its `finally` never runs and
the first resource is never released. What that costs depends on the resource, and nothing gives
a pool checkout back:

* **psycopg_pool** 3.3.3 (`ConnectionPool(max_size=2, timeout=2)`): two set-up failures
  (`psycopg.errors.DivisionByZero`) leave the pool at size 2 with none available; every later
  checkout raises `psycopg_pool.PoolTimeout: couldn't get a connection after 2.00 sec`.
  `gc.collect()` changes nothing: the connections' sessions are gone, but the pool still
  counts them as in use.
* **asyncpg** 0.32.0 (`create_pool(max_size=2)`): after two failures `pool.acquire()` waits
  forever, and `pool.acquire(timeout=2)` raises `TimeoutError`; `gc.collect()` changes nothing,
  and `pool.close()` hangs.
* **SQLAlchemy** 2.1.9 (`pool_size=2, max_overflow=0, pool_timeout=2`): `engine.connect()`
  then a failing `conn.execute(...)`: both connections stay checked out after the caller's
  `except` clause ends, and the next `engine.connect()` raises `sqlalchemy.exc.TimeoutError:
  QueuePool limit of size 2 overflow 0 reached, connection timed out, timeout 2.00`, until the
  cyclic garbage collector happens to run (or for as long as an error reporter keeps the
  exception).
* A plain **psycopg** 3.3.9 connection stays open on the server for as long as the exception's
  traceback is alive, and is then deleted open (`ResourceWarning: ... was deleted while still
  open`).

All measured with PostgreSQL 15 and `SELECT 1/0` as the failing step. This happens whatever
drives the generator: the step runs before the first `yield`.

A **lock** taken with `lock.acquire()` (or `await lock.acquire()`) and given back with
`lock.release()` in that `finally` is worse: nothing ever releases it, not even the garbage
collector. Measured on Python 3.11: after one failing step, a `threading.Lock`'s next
`acquire(timeout=1)` returns `False` and an `asyncio.Lock`'s next `acquire()` waits until it is
cancelled, `locked()` still true. For a lock, any step that can fail counts, whatever it works
on; a lock is recognised by the two calls on one name (a module's lock, `self._lock`, a redis
lock), and a non-blocking attempt whose result is tested (`acquired = lock.acquire(False)`) is
not one.

A step that does not mention the resource and acquires nothing (reading settings, building a
query) is not reported, nor one that releases the resource itself when it fails (a `try` of its
own), nor one that cannot fail in practice: building a client or a session that connects only
when first used (an httpx client, a SQLAlchemy session, a `Session(bind=conn)`), or a method
that sends nothing (a SQLAlchemy connection's `begin()`). A database that lives in the process
(`sqlite3.connect(":memory:")`, an in-memory SQLite engine) holds nothing outside it, so a
failing step leaks nothing there. An FTP or SMTP client built without a host holds nothing until
its `connect()`: the steps that can leak it are those after that call. For a resource that
connects only when it is first used (a SQLAlchemy session or engine, an HTTP or Redis client),
only a method call on it (`session.execute(...)`) is reported, not handing it to a function
(`track_session(session)`) nor acquiring something else.

## Example
```python
@contextmanager
def get_cursor():
    conn = pool.getconn()
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()
        pool.putconn(conn)
```

## Use instead
One `try`/`finally` per resource, outermost first:

```python
@contextmanager
def get_cursor():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            yield cur
        finally:
            cur.close()
    finally:
        pool.putconn(conn)
```

## Fix safety
The fix opens a `try` right after the acquisition around the steps and the existing `try`, and
moves the first resource's releases from the existing `finally` into the new one. When nothing
else is left in the existing `finally` (and it has no `except`), its body joins the new `try`.
The steps now run inside the `try`, so their failure releases the resource: that is the point,
and the fix is safe when the first resource's releases were the last statements of the
`finally` (they still run last). It is unsafe when they were not: the first resource is then
released after the others where it was released before them.
No fix is offered when the releases are not statements of their own in the `finally`, or when
the `try` sits inside another statement (a `with`).

## References
* Python: the `try` statement
* psycopg_pool: `ConnectionPool.getconn()` and `putconn()`
"""

_NOT_WORK = frozenset({"print", "logger", "log", "logging", "LOGGER", "_logger", "_log"})
"""Calls that mention a resource without working on it."""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report the first failing step before the protecting ``try`` of each resource."""
    for resource in facts.resources:
        if resource.resource_type is not None and resource.resource_type.undo:
            continue  # a context variable left set by a failed set-up: not a held resource
        found = _setup_steps(facts, resource)
        if found is None:
            continue
        acquisition, guard, steps = found
        acquisition, steps = _opened_later(facts, resource, acquisition, steps)
        for statement in steps:
            step = _failing_step(facts, statement, resource)
            if step is None:
                continue
            yield Finding(
                statement,
                f"if `{short_code(step)}` raises, `{resource.key}` (acquired at line"
                f" {acquisition.lineno}) is never released: the `try` that releases it starts"
                f" at line {guard.lineno}",
                _fix_plan(facts, resource, acquisition, guard),
            )
            break


def _setup_steps(
    facts: GeneratorFacts, resource: ResourceFacts
) -> Optional[tuple[ast.stmt, ast.stmt, list[ast.stmt]]]:
    """The acquisition, the ``try`` whose ``finally`` releases the resource, and the
    statements between them in the acquisition's block."""
    acquisition = resource.acquisition
    if (
        acquisition is None
        # a lock is usually shared (`self._lock`): what the generator holds is the acquisition
        or not (resource.is_local_name or acquisition.resource_type == LOCK)
        or resource.registered
        or resource.escapes
        or resource.handed_to_owner
        or in_memory_database(acquisition.call, facts)
    ):
        return None
    guards = {
        id(site.guarding_try): site.guarding_try for site in _finally_releases(facts, resource)
    }
    if len(guards) != 1:
        return None
    [guard] = guards.values()
    block = facts.block_of(acquisition.statement)
    if guard is None or block is None:
        return None
    holder = facts.ancestor_in(guard, block)
    if holder is None:
        return None
    start = next(i for i, statement in enumerate(block) if statement is acquisition.statement)
    end = next(i for i, statement in enumerate(block) if statement is holder)
    return acquisition.statement, guard, block[start + 1 : end]


def _opened_later(
    facts: GeneratorFacts, resource: ResourceFacts, acquisition: ast.stmt, steps: list[ast.stmt]
) -> tuple[ast.stmt, list[ast.stmt]]:
    """``ftp = FTP()`` holds nothing until ``ftp.connect(host)``: for a type opened by a method
    when it was built without arguments, that call is the acquisition, and the steps that can
    leak it are those after it (``ftp.login()``)."""
    resource_type = resource.resource_type
    call = resource.acquisition.call if resource.acquisition is not None else None
    if resource_type is None or not resource_type.opened_by or call is None:
        return acquisition, steps
    if call.args or any(keyword.arg in ("host", "address") for keyword in call.keywords):
        return acquisition, steps
    for index, statement in enumerate(steps):
        value = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value  # `await producer.start()`
        if (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and value.func.attr in resource_type.opened_by
            and _root(value.func.value) == resource.key
        ):
            return statement, steps[index + 1 :]
    return acquisition, steps


def _finally_releases(facts: GeneratorFacts, resource: ResourceFacts) -> list[ReleaseSite]:
    """The resource's releases in the ``finally`` of a ``try`` around the ``yield``."""
    return [
        site
        for site in resource.release_sites
        if isinstance(site.guarding_try, ast.Try)
        and facts.ancestor_in(site.statement, site.guarding_try.finalbody) is not None
    ]


def _failing_step(
    facts: GeneratorFacts, statement: ast.stmt, resource: ResourceFacts
) -> Optional[ast.AST]:
    """The call in ``statement`` that acquires another resource or works on this one."""
    if any(facts.ancestor_in(site.statement, [statement]) for site in resource.release_sites):
        return None  # it releases the resource itself (a `try` of its own)
    # a session or client that has not connected yet holds nothing: only using it counts
    lazy = resource.resource_type is not None and resource.resource_type.lazy
    for other in facts.resources:
        acquired = other.acquisition
        if acquired is None or acquired.statement is not statement or lazy:
            continue
        kind = acquired.resource_type
        if kind is not None and kind.undo:
            return None  # `token = var.set(value)` does not fail
        if kind is not None and kind.lazy and kind.release != "dispose":
            continue  # building a client or a session does no I/O (an engine loads a driver)
        return acquired.call
    stack: list[ast.AST] = [statement]
    calls: list[ast.Call] = []
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            calls.append(node)
        if not isinstance(node, SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    quiet = resource.resource_type.quiet_methods if resource.resource_type is not None else ()
    built_lazily = {
        id(other.acquisition.call)
        for other in facts.resources
        if other.acquisition is not None
        and other.acquisition.resource_type is not None
        and other.acquisition.resource_type.lazy
        and other.acquisition.resource_type.release != "dispose"
    }
    for call in sorted(calls, key=lambda call: (call.lineno, call.col_offset)):
        if id(call) in built_lazily:
            continue  # `Session(bind=conn)`: handed over, nothing sent yet
        parts = dotted_parts(call.func)
        if parts and parts[0] in _NOT_WORK:
            continue
        if isinstance(call.func, ast.Attribute) and call.func.attr in quiet:
            continue  # `conn.begin()` sends nothing to the database
        on_it = isinstance(call.func, ast.Attribute) and _root(call.func.value) == resource.key
        given_it = any(
            isinstance(argument, ast.Name) and argument.id == resource.key
            for argument in [*call.args, *(keyword.value for keyword in call.keywords)]
        )
        if on_it or (given_it and not lazy and not _binds_a_session(call, resource.key)):
            return call
        if resource.resource_type == LOCK:
            return call  # any step that fails leaves the lock held: every later caller waits
    return None


def _binds_a_session(call: ast.Call, key: str) -> bool:
    """``Session(bind=conn)``, ``ScopedSession(bind=conn)``: a session bound to the connection
    sends nothing until it is used, so making it cannot fail in practice."""
    parts = dotted_parts(call.func)
    return (
        parts is not None
        and bool(parts)
        and parts[-1].endswith("Session")
        and any(
            keyword.arg == "bind"
            and isinstance(keyword.value, ast.Name)
            and keyword.value.id == key
            for keyword in call.keywords
        )
    )


def _root(node: ast.expr) -> Optional[str]:
    """The name a chain of attributes, calls and subscripts starts from."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _fix_plan(
    facts: GeneratorFacts, resource: ResourceFacts, acquisition: ast.stmt, guard: ast.stmt
) -> Optional[FixPlan]:
    block = facts.block_of(acquisition)
    if not isinstance(guard, ast.Try) or block is None or not any(s is guard for s in block):
        return None  # the `try` is inside another statement
    rows = []
    for site in _finally_releases(facts, resource):
        statement = site.statement
        if not any(item is statement for item in guard.finalbody):
            return None
        if any(
            other is not statement and other.lineno == statement.lineno for other in guard.finalbody
        ):
            return None
        rows.append(statement.lineno)
    if any(other is not acquisition and other.lineno == acquisition.lineno for other in block):
        return None
    # its releases close the `finally`: the outer `finally` runs them last, as before
    last = [statement.lineno for statement in guard.finalbody[len(guard.finalbody) - len(rows) :]]
    return fix_plan(
        facts,
        FixKind.NEST_TRY_FINALLY,
        Applicability.SAFE if sorted(rows) == last else Applicability.UNSAFE,
        f"Release `{resource.key}` in a `try` that starts right after it is acquired",
        acquisition.lineno,
        release_rows=tuple(sorted(rows)),
    )


RULE = Rule(
    code="LL013",
    name="setup-leak",
    summary="A step that can fail runs between an acquisition and the `try` that releases it",
    docs=DOCS,
    check=check,
)
