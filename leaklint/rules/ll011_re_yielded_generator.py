"""LL011 re-yielded-generator: a generator re-yields another generator in a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts
from leaklint.analysis.imports import dotted_name, top_level_spelling
from leaklint.analysis.shapes import reyielding_loops
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from leaklint.analysis.shapes import Loop

DOCS = """\
## What it does
Checks for dependencies and context managers that hand out another generator's value by
looping over it: `for db in get_session(): yield db`, or `async for db in get_session(): yield
db`.

## Why is this bad?
The caller's exception is thrown in at the outer `yield`, inside the loop: it never reaches the
inner generator. The inner one is only closed, with `GeneratorExit` (sync: at once, by
reference counting; async: later, by the event loop's finalizer), so its `except` clauses never
run: the rollback of a failed transaction, the error logging, the re-raise that FastAPI needs.
Measured with FastAPI 0.165.0 and an endpoint that raises: the inner's `except Exception:
rollback(); raise` runs when the inner is the dependency, and does not run when it is
re-yielded (sync or async); only its `finally` runs. `contextlib.aclosing` around the loop does
not help: it closes the inner, it does not throw into it.

The loop also makes the generator look as if it could yield more than once; LL006 leaves this
shape to this rule.

## Example
```python
def get_repository():
    for session in get_session():
        yield Repository(session)
```
(and, most often, `for db in get_db(): yield db`)

## Use instead
```python
def get_db_for_reports():
    yield from get_db()
```
`yield from` forwards what is thrown in to the inner generator (measured: its `except` runs).
In an `async def`, where `yield from` does not exist, enter the inner as a context manager:
`async with contextlib.asynccontextmanager(get_session)() as db: yield db`, or declare the inner
as a sub-dependency (`db = Depends(get_session)`) and let FastAPI drive it.

## Fix safety
In a sync generator the loop whose body is exactly `yield <loop variable>` becomes `yield from
<call>`; this is safe when the loop variable is not used after the loop.

In an async generator the loop becomes `async with asynccontextmanager(get_session)() as db:
yield db`, with the call's arguments kept and `asynccontextmanager` spelled as the module
imports it (`import contextlib` is added at the top of the module when it imports neither). The
fix is unsafe: the inner is now driven as a context manager, which raises `RuntimeError:
generator didn't stop` if it yields twice where the loop would have gone on, and closes it at
the end of the `async with` rather than whenever the event loop finalizes it.

## References
* PEP 380: `yield from` (exceptions thrown into the delegating generator)
* FastAPI: Sub-dependencies with yield
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each loop that re-yields another generator in a generator the caller throws
    into."""
    if not facts.target.throws:
        return
    for loop in reyielding_loops(facts):
        inner = short_code(loop.iter)
        yield Finding(
            loop,
            f"`{inner}` is re-yielded in a loop: the caller's exception never reaches it, so its"
            " `except` clauses do not run; "
            + (
                f"use `yield from {inner}`"
                if isinstance(loop, ast.For)
                else "enter it with `asynccontextmanager`, or make it a sub-dependency"
            ),
            _fix_plan(facts, loop),
        )


def _fix_plan(facts: GeneratorFacts, loop: Loop) -> Optional[FixPlan]:
    if not isinstance(loop.target, ast.Name):
        return None
    name = loop.target.id
    end = loop.end_lineno or loop.lineno
    if any(
        isinstance(node, ast.Name) and node.id == name and node.lineno > end
        for node in ast.walk(facts.node)
    ):
        return None  # the loop variable is read after the loop
    if isinstance(loop, ast.For):
        return fix_plan(
            facts,
            FixKind.YIELD_FROM,
            Applicability.SAFE,
            "Delegate with `yield from`",
            loop.lineno,
        )
    return _async_fix_plan(facts, loop)


def _async_fix_plan(facts: GeneratorFacts, loop: ast.AsyncFor) -> Optional[FixPlan]:
    """``async with asynccontextmanager(inner)(<arguments>) as name: yield name``, spelled
    through the module's own imports, or with ``import contextlib`` added."""
    call = loop.iter
    if (
        facts.module_tree is None
        or not isinstance(call, ast.Call)
        or dotted_name(call.func) is None
    ):
        return None
    callee = top_level_spelling(facts.module_tree, _MANAGER)
    import_code = ""
    if callee is None:
        callee, import_code = _MANAGER, "import contextlib"
    if callee.split(".", 1)[0] in facts.local_names:
        return None  # the function binds that name itself
    return fix_plan(
        facts,
        FixKind.ENTER_AS_MANAGER,
        Applicability.UNSAFE,
        f"Enter `{short_code(call.func)}` with `asynccontextmanager`",
        loop.lineno,
        callee=callee,
        import_code=import_code,
    )


_MANAGER = "contextlib.asynccontextmanager"


RULE = Rule(
    code="LL011",
    name="re-yielded-generator",
    summary="Another generator re-yielded in a loop: the caller's exception never reaches it",
    docs=DOCS,
    check=check,
)
