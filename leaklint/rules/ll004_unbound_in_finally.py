"""LL004 unbound-in-finally: the resource is acquired inside the ``try`` that releases it."""

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
Checks for context-manager generators that acquire a resource *inside* the `try` whose `finally`
(or catching handler) releases it.

## Why is this bad?
When the acquisition itself fails (the database refuses the connection, the pool times out, the
file does not exist), the name was never bound, but the `finally` still runs and calls
`db.close()` on it. That raises `UnboundLocalError` (or `NameError`), and the traceback the user
sees is about the cleanup, not about the connection that was refused (for an attribute such as
`app.state.redis`, the cleanup raises `AttributeError` instead): the real error is reduced
to a "During handling of the above exception" footnote, and logs and error trackers group it
under the wrong exception.

## Example
```python
def get_db():
    try:
        db = SessionLocal()
        yield db
    finally:
        db.close()
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
The fix moves the acquisition above the `try`. It is offered when the acquisition is the first
statement of the `try` body, and is safe when the `try` has no `except` clauses. With `except`
clauses it is unsafe: a failing acquisition no longer reaches them (a handler that logs or wraps
errors will not see it).

Where the `finally` also releases a resource acquired before the `try` (a connection, then its
cursor inside the `try`), moving the second acquisition above the `try` would put a step that
can fail between the first one and the `try` that releases it (LL013). The fix then gives the
second resource a `try` of its own, right after its acquisition, and moves its releases there
from the start of the `finally`:

```python
conn = connect()
try:
    cur = conn.cursor()
    try:
        yield cur
    finally:
        cur.close()
finally:
    conn.close()
```

It is offered when those releases open the `finally` (so they still run first), and is unsafe
when the `try` has `except` clauses (the inner `finally` now runs before them).

## References
* Python: the `try` statement, `finally` clause
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each resource bound only inside the ``try`` whose cleanup releases it."""
    if not facts.is_target:
        return
    for resource in facts.resources:
        if resource.key.split(".", 1)[0] in facts.parameters and resource.is_local_name:
            continue
        if resource.resource_type is not None and resource.resource_type.undo:
            continue  # `token = var.set(value)` inside the `try` cannot fail there
        reported: set[int] = set()
        for site in resource.release_sites:
            guard = site.guarding_try
            if guard is None or id(guard) in reported or _loop_element(facts, site, resource):
                continue
            binding = _binding_inside(facts, resource, guard)
            if binding is None:
                continue
            reported.add(id(guard))
            value = getattr(binding, "value", None)
            acquired = short_code(value) if isinstance(value, ast.expr) else "the acquisition"
            raised = "UnboundLocalError" if resource.is_local_name else "AttributeError"
            yield Finding(
                binding,
                f"`{resource.key}` is bound inside the `try` that releases it: if `{acquired}`"
                f" fails, the cleanup raises `{raised}` and hides the error; acquire it before"
                " the `try`",
                _fix_plan(facts, guard, binding, resource),
            )


def _loop_element(facts: GeneratorFacts, site: ReleaseSite, resource: ResourceFacts) -> bool:
    """``for task in running: task.cancel()`` in the ``finally``: the loop binds the name
    there, whatever the ``try`` bound it to; it is always bound when the release runs."""
    current = facts.parent.get(site.call)
    while current is not None and current is not facts.node:
        if isinstance(current, (ast.For, ast.AsyncFor)) and any(
            isinstance(node, ast.Name) and node.id == resource.key
            for node in ast.walk(current.target)
        ):
            return True
        current = facts.parent.get(current)
    return False


def _binding_inside(
    facts: GeneratorFacts, resource: ResourceFacts, guard: ast.stmt
) -> Optional[ast.stmt]:
    """The statement in ``guard``'s body that binds the resource, when nothing binds it before."""
    body: list[ast.stmt] = getattr(guard, "body", [])
    if not body:
        return None
    inside = [
        binding
        for binding in resource.bindings
        if body[0].lineno <= binding.lineno <= (body[-1].end_lineno or body[-1].lineno)
    ]
    before = [binding for binding in resource.bindings if binding.lineno < guard.lineno]
    return inside[0] if inside and not before else None


def _fix_plan(
    facts: GeneratorFacts, guard: ast.stmt, binding: ast.stmt, resource: ResourceFacts
) -> Optional[FixPlan]:
    body: list[ast.stmt] = getattr(guard, "body", [])
    final: list[ast.stmt] = getattr(guard, "finalbody", [])
    handlers = getattr(guard, "handlers", [])
    if binding not in body or binding is body[-1]:
        return None
    position = body.index(binding)
    if body[position + 1].lineno == binding.lineno:
        return None  # `conn = connect(); yield conn` on one line
    own = [
        site.statement
        for site in resource.release_sites
        if site.guarding_try is guard and site.statement in final
    ]
    if position == 0 and not _releases_earlier_resource(facts, guard, resource):
        return fix_plan(
            facts,
            FixKind.HOIST_FROM_TRY,
            Applicability.UNSAFE if handlers else Applicability.SAFE,
            "Acquire the resource before the `try`",
            guard.lineno,
            release_rows=(binding.lineno,),
        )
    # hoisting it would put a step between an earlier acquisition and its `try` (LL013): give
    # it a `try` of its own inside, taking its releases from the start of the `finally`
    if not own or final[: len(own)] != own or len(own) == len(final):
        return None
    return fix_plan(
        facts,
        FixKind.SPLIT_FINALLY,
        Applicability.UNSAFE if handlers else Applicability.SAFE,
        f"Release `{resource.key}` in a `try` of its own, right after it is acquired",
        guard.lineno,
        release_rows=(binding.lineno, *(statement.lineno for statement in own)),
    )


def _releases_earlier_resource(
    facts: GeneratorFacts, guard: ast.stmt, resource: ResourceFacts
) -> bool:
    """The ``finally`` of ``guard`` also releases a resource bound before the ``try``."""
    return any(
        site.guarding_try is guard
        and any(binding.lineno < guard.lineno for binding in other.bindings)
        for other in facts.resources
        if other is not resource
        for site in other.release_sites
    )


RULE = Rule(
    code="LL004",
    name="unbound-in-finally",
    summary="The resource is acquired inside the `try` whose `finally` releases it",
    docs=DOCS,
    check=check,
)
