"""LL010 closes-shared-resource: a per-call generator releases what it did not acquire."""

from __future__ import annotations

from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts
from leaklint.analysis.sharing import closes_shared, runs_per_call, shared_owner
from leaklint.rules.base import Finding, Rule, short_code

DOCS = """\
## What it does
Checks for dependencies and context managers, run once per request or per `with`, that release a
resource they did not acquire:

* a module-level object (`client = httpx.AsyncClient()` at the top of the module);
* an attribute of the application or a class attribute (`request.app.state.redis`,
  `app.state.db`, `cls.pool`);
* another dependency's value received as a parameter (`db: Session = Depends(get_db)`).

## Why is this bad?
The resource outlives the call: every request shares it. The first request to finish closes it
for all, and every later one fails. Measured with FastAPI 0.165.0 and httpx 0.28.1: a dependency
that yields a module-level `httpx.AsyncClient` and closes it in `finally` answers the first
request, and the second raises `RuntimeError: Cannot send a request, as the client has been
closed.` A SQLAlchemy engine disposed this way silently reopens its pool; a `sqlite3` connection
raises `ProgrammingError: Cannot operate on a closed database.` A session received from another
dependency is closed under that dependency, which closes it again, or commits on a closed
session.

The owner releases it: the lifespan (or whatever created it) for an application-wide client, the
dependency that acquired it for a sub-dependency's value. Lifespans, pytest fixtures and
containers are not checked: they own what they release by design.

## Example
```python
http = httpx.AsyncClient(base_url=API_URL)


async def get_http():
    try:
        yield http
    finally:
        await http.aclose()
```

## Use instead
```python
@asynccontextmanager
async def lifespan(app):
    app.state.http = httpx.AsyncClient(base_url=API_URL)
    yield
    await app.state.http.aclose()


async def get_http(request: Request):
    yield request.app.state.http
```

## Fix safety
There is no fix: where the shared resource should be released is a design decision.

## References
* FastAPI: Lifespan events
* FastAPI: Dependencies with yield (sub-dependencies)
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each release of a resource the per-call generator received or found."""
    if not runs_per_call(facts):
        return
    for resource in facts.resources:
        owner = shared_owner(facts, resource)
        for site in resource.release_sites:
            if owner is None or not closes_shared(facts, resource, site):
                continue
            consequence = (
                "it is released twice, and used after this release by its owner"
                if owner.startswith("another dependency")
                else "the first call closes it for every later one"
            )
            yield Finding(
                site.statement,
                f"`{short_code(site.call)}` releases `{resource.key}`, which this generator did"
                f" not acquire ({owner}): {consequence}; release it where it is created",
            )


RULE = Rule(
    code="LL010",
    name="closes-shared-resource",
    summary="A per-call generator releases a resource it did not acquire: shared, or another's",
    docs=DOCS,
    check=check,
)
