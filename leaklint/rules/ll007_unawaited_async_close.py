"""LL007 unawaited-async-close: an async release called without ``await``."""

from __future__ import annotations

from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.model import Applicability, FixKind
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

DOCS = """\
## What it does
Checks `async def` generators for release calls on async resources — `close()`, `aclose()`,
`dispose()`, `release()`... on an `AsyncSession`, an `AsyncEngine`, an httpx `AsyncClient`, an
aiohttp `ClientSession`, an asyncpg connection or pool — that are not awaited.

## Why is this bad?
On these objects the release method is a coroutine function: calling it only creates a coroutine
object, and nothing is closed until that coroutine is awaited. Dropped on the floor, it is
garbage-collected with `RuntimeWarning: coroutine 'AsyncSession.close' was never awaited`, and the
connection stays checked out of the pool. The code looks right, which is why this survives review,
often inside an otherwise correct `finally`.

## Example
```python
async def get_session():
    session = AsyncSession(engine)
    try:
        yield session
    finally:
        session.close()
```

## Use instead
```python
async def get_session():
    session = AsyncSession(engine)
    try:
        yield session
    finally:
        await session.close()
```

## Fix safety
The fix adds `await`. It is safe: it is offered only where the method is known to be a coroutine
(the knowledge base, the project's configuration, or another call of the same method on the same
resource that is awaited).
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each discarded call of a coroutine release method in an async generator."""
    if not facts.is_async:
        return
    for resource in facts.resources:
        for site in resource.release_sites:
            if site.helper or site.awaited or not site.discarded:
                continue
            if not _is_coroutine(facts, resource, site):
                continue
            yield Finding(
                site.statement,
                f"`{short_code(site.call)}` is a coroutine and is never awaited: nothing is"
                " released; add `await`",
                fix_plan(
                    facts,
                    FixKind.ADD_AWAIT,
                    Applicability.SAFE,
                    "Add `await`",
                    site.statement.lineno,
                ),
            )


def _is_coroutine(facts: GeneratorFacts, resource: ResourceFacts, site: ReleaseSite) -> bool:
    if site.method in facts.knowledge.coroutine_release_methods:
        return True
    resource_type = resource.resource_type
    # its kind's release (or the pool's give-back) is the coroutine; another method
    # (aiomysql's plain `close()` beside the coroutine `ensure_closed()`) may not be
    if resource_type is not None and resource_type.release_is_async:
        acquisition = resource.acquisition
        owner_release = acquisition.owner_release if acquisition is not None else None
        if site.method in (resource_type.release, owner_release, *resource_type.ends_with):
            return True
    return any(other.awaited and other.method == site.method for other in resource.release_sites)


RULE = Rule(
    code="LL007",
    name="unawaited-async-close",
    summary="An async resource's release coroutine is called without `await`",
    docs=DOCS,
    check=check,
)
