"""LL008 release-only-on-error: the release sits only in an ``except`` around the ``yield``."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for resources whose only release is in an `except` clause of the `try` around the
`yield`:

```python
try:
    yield db
except Exception:
    db.rollback()
    db.close()
    raise
```

## Why is this bad?
The clause runs only when the caller fails. When the request (or the `with` body) succeeds, the
generator resumes after the `yield`, no clause runs, and the resource is never released: every
*successful* call leaks it. Measured with FastAPI 0.165.0 and SQLAlchemy 2.1.9 on a pool of 2
connections (`pool_timeout=1`): the first two successful requests answer 200, the third raises
`sqlalchemy.exc.TimeoutError: QueuePool limit of size 2 overflow 0 reached, connection timed
out, timeout 1.00`. Under drivers that resume the generator normally (pytest fixtures, lifespans,
containers) the clause never runs at all.

The clause is usually written to undo a failed transaction, and the release slipped into it
instead of a `finally`. A resource the generator receives as a parameter is not reported:
closing the caller's object only on error is what helpers such as `close_on_error(sock)` are
for.

## Example
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        db.rollback()
        db.close()
        raise
```

## Use instead
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()
```

## Fix safety
The fix moves the release calls out of the `except` clauses into a new `finally` of the same
`try`; the clauses keep their other statements and their `raise`. It is safe when every clause
that held a release re-raises right after it and the release is a statement of its own. It is
unsafe when other statements of the clause come after the release (they now run before it), or
when a clause does not re-raise (the release then also runs on paths where the clause swallowed the
error and the code after the `try` may still use the resource). No fix is offered when the `try`
already has a `finally`, or when several clauses each release the resource.

## References
* FastAPI: Dependencies with yield and `except`
* Python: the `try` statement
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each resource released only by clauses that catch what is thrown in."""
    if not facts.is_target:
        return
    handlers = facts.handlers_around_yield
    for resource in facts.resources:
        sites = resource.release_sites
        if (
            not sites
            or not resource.bound_before_yield
            or resource.registered
            or resource.escapes
            or resource.handed_to_owner
            or resource.released_by_with
            or resource.key in ("self", "cls")
            # a parameter is the caller's: closing it only on error is the point of helpers
            # such as `close_on_error(sock)`
            or resource.key.split(".", 1)[0] in facts.parameters
            # an undo only on error is a rollback: a successful import keeps its module in
            # `sys.modules`, a failed one takes it out
            or (resource.resource_type is not None and resource.resource_type.undo)
        ):
            continue
        if not all(_handler_of(facts, site, handlers) is not None for site in sites):
            continue
        first = sites[0]
        yield Finding(
            first.statement,
            f"`{short_code(first.call)}` runs only when the caller fails: every successful call"
            f" leaks `{resource.key}`; release it in a `finally`",
            _fix_plan(facts, resource),
        )


def _handler_of(
    facts: GeneratorFacts, site: ReleaseSite, handlers: list[ast.ExceptHandler]
) -> Optional[ast.ExceptHandler]:
    """The clause around the ``yield`` that holds the release, if any."""
    current: Optional[ast.AST] = site.statement
    while current is not None and current is not facts.node:
        if isinstance(current, ast.ExceptHandler):
            return current if any(current is handler for handler in handlers) else None
        current = facts.parent.get(current)
    return None


def _fix_plan(facts: GeneratorFacts, resource: ResourceFacts) -> Optional[FixPlan]:
    handlers = [
        _handler_of(facts, site, facts.handlers_around_yield) for site in resource.release_sites
    ]
    tries = {id(facts.parent.get(handler)) for handler in handlers if handler is not None}
    if len(tries) != 1:
        return None
    try_node = facts.parent.get(handlers[0])  # type: ignore[arg-type]
    if not isinstance(try_node, ast.Try) or try_node.finalbody:
        return None
    rows = []
    for site, handler in zip(resource.release_sites, handlers):
        statement = site.statement
        if handler is None or not any(item is statement for item in handler.body):
            return None  # nested in other code of the clause
        value = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(value, ast.Await):
            value = value.value
        if value is not site.call or any(
            other is not statement and other.lineno == statement.lineno for other in handler.body
        ):
            return None  # the release shares its statement or its line with other code
        rows.append(statement.lineno)
    # safe when the release is the clause's last act before `raise`: moving it after the
    # clause changes no order (`close(); os.remove(path); raise` would remove an open file)
    reraises = all(
        handler is not None
        and isinstance(handler.body[-1], ast.Raise)
        and len(handler.body) >= 2
        and handler.body[-2] is site.statement
        for site, handler in zip(resource.release_sites, handlers)
    )
    return fix_plan(
        facts,
        FixKind.HANDLER_RELEASE_TO_FINALLY,
        Applicability.SAFE if reraises else Applicability.UNSAFE,
        f"Move the release of `{resource.key}` into a `finally`",
        try_node.lineno,
        release_rows=tuple(sorted(rows)),
    )


RULE = Rule(
    code="LL008",
    name="release-only-on-error",
    summary="A resource is released only in an `except` around the `yield`: success leaks it",
    docs=DOCS,
    check=check,
)
