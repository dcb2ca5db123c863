"""LL005 swallowed-exception: an ``except`` around the ``yield`` that does not re-raise."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.flow import GeneratorFacts
from leaklint.analysis.imports import dotted_name
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule

DOCS = """\
## What it does
Checks for `except` clauses around the `yield` of a FastAPI dependency or a
`@contextmanager`/`@asynccontextmanager` function that end without raising.

## Why is this bad?
Whatever the caller raises is thrown in at the `yield`, so such a clause catches the *caller's*
exception. When it does not re-raise:

* in a `with` block driven by `@contextmanager`, the exception disappears: the `with` statement
  ends as if the body had succeeded, and the code after it runs on a half-done state;
* in a FastAPI dependency (FastAPI documents that dependencies with `yield` must re-raise), the
  response is lost. Measured with FastAPI 0.165.0: an endpoint that raises
  `HTTPException(status_code=404)` behind such a dependency answers **500 Internal Server Error**
  instead of 404; and the server raises `fastapi.exceptions.FastAPIError: Response not awaited.
  There's a high chance that the application code is raising an exception and a dependency with
  yield has a block with a bare except, or a block with except Exception, and is not raising the
  exception again` in place of the endpoint's own exception, whose traceback is gone from the
  logs. (Before 0.118.0 the symptom differed; in every version the error is hidden.)

Clauses that raise — a bare `raise`, or another exception such as
`raise HTTPException(status_code=409) from error` — are fine. pytest fixtures are not checked:
pytest does not throw the test's failure into them. `except GeneratorExit` alone is not reported.

## Example
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    except SQLAlchemyError:
        db.rollback()
    finally:
        db.close()
```

## Use instead
```python
def get_db():
    db = SessionLocal()
    try:
        yield db
    except SQLAlchemyError:
        db.rollback()
        raise
    finally:
        db.close()
```

## Fix safety
The fix appends a bare `raise` to the clause. It is unsafe: code that relied on the exception
being swallowed (a `with` block whose failure was meant to be ignored) now sees it.

## References
* FastAPI: Dependencies with yield and `except`
* `contextlib.contextmanager`: exceptions in the `with` body
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each handler around a yield that neither re-raises nor raises another error."""
    target = facts.target
    if not (target.context_manager or target.dependency) or target.pytest_fixture:
        return
    for handler in facts.handlers_around_yield:
        if _only_generator_exit(handler) or _raises(handler):
            continue
        clause = f"except {ast.unparse(handler.type)}" if handler.type is not None else "except"
        yield Finding(
            handler.type or handler,
            f"`{clause}` around the `yield` ends without `raise`: the caller's exception is"
            " swallowed; re-raise it",
            FixPlan(
                kind=FixKind.APPEND_RAISE,
                applicability=Applicability.UNSAFE,
                title="Re-raise the exception at the end of the `except` clause",
                function_row=facts.node.lineno,
                function_name=facts.node.name,
                anchor_row=handler.lineno,
            ),
        )


def _only_generator_exit(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return False
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return all(dotted_name(kind) == "GeneratorExit" for kind in kinds)


def _raises(handler: ast.ExceptHandler) -> bool:
    """Any ``raise`` in the clause's own code counts: a conditional re-raise is a choice."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Raise):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


RULE = Rule(
    code="LL005",
    name="swallowed-exception",
    summary="An `except` around the `yield` ends without re-raising: the caller's error is hidden",
    fix_summary="Unsafe: appends `raise`",
    docs=DOCS,
    check=check,
)
