"""LL003 resource-never-released: a resource held across the ``yield`` that nothing releases."""

from __future__ import annotations

from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ResourceFacts
from leaklint.analysis.shapes import in_memory_database
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, release_statement, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for resources (database sessions and connections, HTTP clients, files, sockets...)
acquired in a context-manager generator before its `yield` and released on no path: no `close()`
after the `yield`, no `finally`, no `with`. Every driver is checked: dependencies, context
managers, pytest fixtures, lifespans, dishka and dependency-injector providers, aiohttp cleanup
contexts. Also reported: a resource whose name is bound again before it was used or released
(`db = SessionLocal()` then `with Session(engine) as db:`): the first one is lost.

What counts as released: a release method called on it (even a too-broad one such as
`close_all()`), a `with` that closes it, an `ExitStack`/`closing()`/finalizer it is handed to, a
release helper it is passed to (`await close_db(engine)`), any call in a `finally` around the
`yield` it is passed to (`finally: dispose_all(pool, client)`), or an owner that closes it with
itself (an httpx transport passed to `httpx.AsyncClient(transport=...)`, an aiohttp connector
passed to `ClientSession(connector=...)` without `connector_owner=False`). A resource passed to
an ordinary call (`crud.create(db, item)`) is still the generator's to release. A lock's
`acquire()` result is a bool, not a resource. An in-memory SQLite database
(`sqlite3.connect(":memory:")`, an engine on an in-memory SQLite URL) is not reported: it
holds nothing outside the process, and the garbage collector takes all of it back.

## Why is this bad?
Every call of the generator acquires a resource that nothing gives back. In a FastAPI dependency
that is one pooled connection per request: the pool is exhausted after `pool_size +
max_overflow` requests and the application stops answering. Garbage collection may eventually
close some objects, but pooled connections are returned to the pool only when the session is
closed, and an un-closed session keeps its transaction open on the server.

## Example
```python
def get_db():
    db = SessionLocal()
    yield db
```

## Use instead
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
```

## Fix safety
The fix wraps the `yield` and everything after it in `try`/`finally` and releases the resource in
`finally` with the method the knowledge base records for its type (`close()`, `await aclose()`,
`pool.putconn(conn)`...). It is offered only for resources whose type leaklint knows, and is safe
for them: the resource was never released before, and is now released after the caller is done
with it. The `try` starts right after the acquisition, so a step between it and the `yield`
that fails (a ping, another acquisition) releases it too, as LL013 asks.

In an `async def` the release is awaited whenever the code treats the resource as
async (it was entered with `async with`, acquired with `await`, has a method awaited, or comes
from `async_sessionmaker()` or `sessionmaker(class_=AsyncSession)`); a session known only by its
factory's name (`SessionLocal()` from a module that is not linted) gets no fix in an
`async def`, since its `close()` may or may not be a coroutine. A resource yielded without a
name (`yield SessionLocal()`) and a resource lost to a rebinding are reported without a fix:
whether to close the first one or drop it is the author's call.

## References
* FastAPI: Dependencies with yield
* SQLAlchemy: Session basics, when do I construct a Session, when do I commit it, and when do I
  close it?
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each known resource acquired before the yield and never released."""
    if not facts.is_target:
        return
    for resource in facts.resources:
        acquisition = resource.acquisition
        if (
            acquisition is None
            or acquisition.resource_type is None
            or not resource.is_local_name
            or resource.release_sites
            or resource.managing_withs
            or resource.registered
            or resource.escapes
            or resource.handed_to_owner
            or in_memory_database(acquisition.call, facts)
            # a class known only by inference may be released by a method leaklint does not know
            or (acquisition.resource_type.inferred and resource.used_after_yield)
        ):
            continue
        yield Finding(
            acquisition.call,
            f"`{resource.key}` from `{short_code(acquisition.call)}` is never released;"
            " release it in a `finally` around the `yield`",
            _fix_plan(facts, resource),
        )
    for resource in facts.resources:
        for lost in resource.lost_acquisitions:
            if lost.resource_type is None or not resource.is_local_name:
                continue
            yield Finding(
                lost.call,
                f"`{resource.key}` from `{short_code(lost.call)}` is bound again before it is"
                " released: this one is never released; release it first, or drop it",
            )
    for _, call, _ in facts.anonymous_acquisitions:
        yield Finding(
            call,
            f"`{short_code(call)}` is yielded without a name and never released; bind it and"
            " release it in a `finally`",
        )


def _fix_plan(facts: GeneratorFacts, resource: ResourceFacts) -> Optional[FixPlan]:
    acquisition = resource.acquisition
    assert acquisition is not None and acquisition.resource_type is not None
    resource_type = acquisition.resource_type
    if resource_type.release_is_async and not facts.is_async:
        return None
    if facts.is_async and resource_type.guessed and not resource_type.release_is_async:
        return None  # `SessionLocal()` known by name only: its `close()` may be a coroutine
    if acquisition.owner is not None and acquisition.owner_release is not None:
        prefix = "await " if resource_type.release_is_async else ""
        release_code = f"{prefix}{acquisition.owner}.{acquisition.owner_release}({resource.key})"
    elif resource_type.release is not None:
        release_code = release_statement(
            resource.key, resource_type.release, resource_type.release_is_async
        )
    else:
        return None
    block = facts.block_of(acquisition.statement)
    if block is None:
        return None
    first_yield = min(facts.yields, key=lambda site: (site.node.lineno, site.node.col_offset))
    anchor = facts.ancestor_in(first_yield.node, block)
    if anchor is None or anchor.lineno <= acquisition.statement.lineno:
        return None
    if any(facts.ancestor_in(site.node, block) is None for site in facts.yields):
        return None
    # the `try` starts right after the acquisition: a step between it and the `yield` that
    # fails (a ping, a second acquisition) must not leak the resource either (LL013)
    after_acquisition = block[
        next(i for i, s in enumerate(block) if s is acquisition.statement) + 1
    ]
    return fix_plan(
        facts,
        FixKind.ADD_FINALLY,
        Applicability.SAFE,
        f"Release `{resource.key}` in a `finally` around the `yield`",
        after_acquisition.lineno,
        release_code=release_code,
    )


RULE = Rule(
    code="LL003",
    name="resource-never-released",
    summary="A resource held across the `yield` is released on no path",
    docs=DOCS,
    check=check,
)
