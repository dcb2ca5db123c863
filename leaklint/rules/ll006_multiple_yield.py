"""LL006 multiple-yield: a context-manager generator that can yield more than once."""

from __future__ import annotations

from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts
from leaklint.analysis.shapes import passes_on_a_generator
from leaklint.rules.base import Finding, Rule

DOCS = """\
## What it does
Checks for FastAPI dependencies, `@contextmanager`/`@asynccontextmanager` functions and pytest
yield fixtures that can reach a `yield` more than once in one run: two `yield`s one after the
other, a `yield` in a loop, or a `yield` in an `except` clause after the `yield` in its `try`.
Plain iterators are not checked: yielding many times is what they are for.

Some shapes yield once although they look otherwise, and are not reported:

* a loop whose yielding pass always leaves it (a retry loop: `for attempt in range(3): try:
  conn = connect() except OperationalError: continue`, then `yield conn` and `return`);
* a second `yield` in an `except` clause of a generator whose driver throws nothing in (a
  pytest fixture, a lifespan): there the clause is reached only from the code before the first
  `yield` (`try: tracemalloc.start(); yield ... except ImportError: yield`). Where the driver
  throws the caller's error in, any clause can catch it (an `ImportError` from a lazy import in
  the caller's block, a `ConnectionError` in a retry loop around the `yield`) and the
  generator then yields again;
* a loop that hands on what another generator function yields (`async for client in
  make_client(app): yield client, token`): it yields as often as that one does, once for a
  dependency or a fixture (LL011 is about that shape where the driver throws in).

## Why is this bad?
A generator used as a context manager must yield exactly once. When it is resumed after the
caller is done and yields again, `contextlib` raises `RuntimeError: generator didn't stop`
(or `generator didn't stop after throw()` when the caller failed); FastAPI reports the same
error after the response, and pytest refuses a fixture with more than one `yield`. The cleanup
after the second `yield` never runs.

## Example
```python
@contextmanager
def connections(urls):
    for url in urls:
        conn = connect(url)
        yield conn
        conn.close()
```

## Use instead
```python
@contextmanager
def connections(urls):
    conns = [connect(url) for url in urls]
    try:
        yield conns
    finally:
        for conn in conns:
            conn.close()
```

## Fix safety
There is no fix: what the generator should yield instead is a design decision.
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report the ``yield`` that runs a second time on some path."""
    if not facts.target.known:
        return
    extra = facts.extra_yield
    if extra is None:
        return
    loop = facts.parent.get(facts.parent.get(extra))  # type: ignore[arg-type]
    if loop is not None and passes_on_a_generator(facts, loop):
        return  # `for db in get_db(): yield db` yields once per inner yield: LL011's shape
    in_loop = any(site.node is extra and site.in_loop for site in facts.yields)
    where = "in a loop" if in_loop else "after another `yield` on the same path"
    yield Finding(
        extra,
        f"`yield` {where}: a generator used as a context manager must yield exactly once"
        " (`RuntimeError: generator didn't stop`)",
    )


RULE = Rule(
    code="LL006",
    name="multiple-yield",
    summary="A context-manager generator can yield more than once",
    docs=DOCS,
    check=check,
)
