"""LL004 unbound-in-finally: the resource is acquired inside the ``try`` that releases it."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts, ResourceFacts
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
        reported: set[int] = set()
        for site in resource.release_sites:
            guard = site.guarding_try
            if guard is None or id(guard) in reported:
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
                _fix_plan(facts, guard, binding),
            )


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


def _fix_plan(facts: GeneratorFacts, guard: ast.stmt, binding: ast.stmt) -> Optional[FixPlan]:
    body: list[ast.stmt] = getattr(guard, "body", [])
    if body[0] is not binding or len(body) < 2 or body[1].lineno == binding.lineno:
        return None
    handlers = getattr(guard, "handlers", [])
    return fix_plan(
        facts,
        FixKind.HOIST_FROM_TRY,
        Applicability.UNSAFE if handlers else Applicability.SAFE,
        "Acquire the resource before the `try`",
        guard.lineno,
        release_rows=(binding.lineno,),
    )


RULE = Rule(
    code="LL004",
    name="unbound-in-finally",
    summary="The resource is acquired inside the `try` whose `finally` releases it",
    docs=DOCS,
    check=check,
)
