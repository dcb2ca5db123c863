"""LL005 swallowed-exception: an ``except`` around the ``yield`` that does not re-raise."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts
from leaklint.analysis.imports import dotted_name
from leaklint.model import Applicability, FixKind
from leaklint.rules.base import Finding, Rule, fix_plan

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
`raise HTTPException(status_code=409) from error` — are fine. In dependencies every other clause
is reported. In `@contextmanager` functions, where suppressing one named exception can be the
point (`contextlib.suppress` is written that way), only clauses that catch everything (`except:`,
`except Exception`, `except BaseException`) or that clean up (`rollback()`, `close()`...) and
then fall through are reported, and not those that hand the exception on (to a call that records
it, such as a test runner's `add_error(exc)`) or whose function is named for suppressing
(`ignore_errors`, `suppress_...`).

A clause does not swallow when it ends in a call that never returns (`sys.exit()`,
`pytest.fail()`, or a function of the module declared `-> NoReturn`/`-> Never`), or when it
keeps the exception in a variable that the generator raises later (`error = exc` ... `raise
error`, or `exc = sys.exc_info()` ... `reraise(*exc)`). A context manager that holds no resource
and whose `except Exception` clause reports the error (logs it, warns, records it) and goes on
is an error boundary on purpose (`with handle_plugin_error(name): plugin.run()` isolates one
broken plugin) and is not reported either; one that catches `BaseException` or everything, or
reports nothing, still is.

Only drivers that throw the caller's exception in and lose it when it is swallowed are checked:
FastAPI and FastDepends dependencies, and `contextmanager` functions entered by application
code. pytest fixtures, lifespans and containers (dishka, dependency-injector, aiohttp cleanup
contexts) resume the generator normally, so their `except` never sees the caller's error; Litestar
throws the handler's exception in and then raises it again itself (measured with 2.25.0), so
the caller's error is not lost there either.
`except GeneratorExit` alone is not reported.

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
being swallowed (a `with` block whose failure was meant to be ignored) now sees it. No fix is
offered when the clause leaves with `return`, `break` or `continue`: a `raise` after them would
never run.

## References
* FastAPI: Dependencies with yield and `except`
* `contextlib.contextmanager`: exceptions in the `with` body
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report each handler around a yield that neither re-raises nor raises another error."""
    target = facts.target
    if not target.swallowing_hides_error:
        return
    for handler in facts.handlers_around_yield:
        if _only_generator_exit(handler) or _contains(handler, (ast.Raise,)):
            continue
        if _never_returns(handler, facts) or _raised_later(handler, facts):
            continue
        if not target.dependency and (
            not (_is_broad(handler) or _releases_something(facts, handler))
            or _hands_on(handler)
            or _named_for_suppressing(facts)
            or _error_boundary(facts, handler)
        ):
            continue  # a context manager that suppresses one named error does it on purpose
        clause = f"except {ast.unparse(handler.type)}" if handler.type is not None else "except"
        plan = None
        if not _contains(handler, (ast.Return, ast.Break, ast.Continue)):
            plan = fix_plan(
                facts,
                FixKind.APPEND_RAISE,
                Applicability.UNSAFE,
                "Re-raise the exception at the end of the `except` clause",
                handler.lineno,
            )
        yield Finding(
            handler.type or handler,
            f"`{clause}` around the `yield` ends without `raise`: the caller's exception is"
            " swallowed; re-raise it",
            plan,
        )


_EXITS = frozenset(
    {
        "sys.exit",
        "exit",
        "quit",
        "os._exit",
        "os.abort",
        "pytest.fail",
        "pytest.skip",
        "pytest.exit",
        "pytest.xfail",
    }
)
_LOGGING = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print"}
)
_SUPPRESSING_WORDS = ("ignore", "suppress", "silence", "swallow", "tolerate")


def _never_returns(handler: ast.ExceptHandler, facts: GeneratorFacts) -> bool:
    """The clause ends in a call that does not return: ``sys.exit(1)``, ``crash_report()``
    declared ``-> NoReturn``."""
    last = handler.body[-1] if handler.body else None
    if not isinstance(last, ast.Expr) or not isinstance(last.value, ast.Call):
        return False
    name = dotted_name(last.value.func) or ""
    return name in _EXITS or name.rsplit(".", 1)[-1] in facts.noreturn


def _raised_later(handler: ast.ExceptHandler, facts: GeneratorFacts) -> bool:
    """``except BaseException as err: error = err`` and, later, ``raise error``; or
    ``exc = sys.exc_info()`` and, later, ``reraise(*exc)``: the error is kept to be raised
    again (after the ``finally`` has had its say, as ``contextlib.ExitStack`` does)."""
    kept = {
        target.id
        for node in ast.walk(handler)
        if isinstance(node, ast.Assign)
        and (
            (
                handler.name is not None
                and isinstance(node.value, ast.Name)
                and node.value.id == handler.name
            )
            or (isinstance(node.value, ast.Call) and dotted_name(node.value.func) == "sys.exc_info")
        )
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if not kept:
        return False
    for node in ast.walk(facts.node):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Name):
            if node.exc.id in kept:
                return True
        elif isinstance(node, ast.Call) and "raise" in (dotted_name(node.func) or "").lower():
            arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
            for argument in arguments:
                value = argument.value if isinstance(argument, ast.Starred) else argument
                if isinstance(value, ast.Subscript):
                    value = value.value  # reraise(exc[0], exc[1], exc[2])
                if isinstance(value, ast.Name) and value.id in kept:
                    return True
    return False


def _error_boundary(facts: GeneratorFacts, handler: ast.ExceptHandler) -> bool:
    """A context manager that holds nothing and whose ``except Exception`` clause reports the
    error and goes on: isolating a failing plugin or callback is what it is for (``with
    handle_plugin_error(name): plugin.run()``). A clause that catches ``BaseException`` (or
    everything) would swallow ``KeyboardInterrupt`` and cancellation too; one that reports
    nothing (``pass``, a default value) hides the error."""
    if any(
        resource.acquisition is not None or resource.managing_withs or resource.release_sites
        for resource in facts.resources
    ):
        return False
    caught = handler.type
    if caught is None or dotted_name(caught) not in ("Exception", "builtins.Exception"):
        return False
    error_names = {handler.name} if handler.name else set()
    reported = False
    for statement in handler.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if isinstance(call, ast.Call):
            called = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
            if called not in _LOGGING and called not in _REPORTING:
                return False
            reported = reported or _reports_the_error(call, called, error_names)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Assert)):
            # working out what to report: `etype, value, tb = sys.exc_info()`, then
            # `tb = cut_traceback(tb)`: names made from the error report it
            if isinstance(statement, ast.Assert):
                continue
            value = statement.value
            if value is not None and (
                "exc_info" in (dotted_name(getattr(value, "func", value)) or "")
                or any(isinstance(n, ast.Name) and n.id in error_names for n in ast.walk(value))
            ):
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                error_names |= {
                    node.id
                    for target in targets
                    for node in ast.walk(target)
                    if isinstance(node, ast.Name)
                }
        else:
            return False
    return reported


def _reports_the_error(call: ast.Call, called: str, error_names: set[str]) -> bool:
    """The call reports the error itself: ``log.exception(...)``, ``exc_info=...``, or the
    exception (or what was worked out from it) among its arguments."""
    if called == "exception" or any(keyword.arg == "exc_info" for keyword in call.keywords):
        return True
    return any(isinstance(node, ast.Name) and node.id in error_names for node in ast.walk(call))


_REPORTING = frozenset({"warn", "append", "add", "notify", "report", "capture_exception"})
"""Calls that keep a note of the error for someone to read: a list, a warning, a tracker."""


def _hands_on(handler: ast.ExceptHandler) -> bool:
    """The exception (or ``sys.exc_info()``) is passed to a call that is not logging: a
    context manager that records errors for someone else (a test outcome, a report)."""
    names = {handler.name} if handler.name else set()
    for node in ast.walk(handler):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and dotted_name(node.value.func) == "sys.exc_info"
        ):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    if not names:
        return False
    for node in ast.walk(handler):
        if not isinstance(node, ast.Call):
            continue
        called = dotted_name(node.func) or ""
        if called.rsplit(".", 1)[-1] in _LOGGING:
            continue
        arguments = [*node.args, *(keyword.value for keyword in node.keywords)]
        if any(isinstance(a, ast.Name) and a.id in names for a in arguments):
            return True
    return False


def _named_for_suppressing(facts: GeneratorFacts) -> bool:
    name = facts.node.name.lower()
    return any(word in name for word in _SUPPRESSING_WORDS)


def _only_generator_exit(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return False
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return all(dotted_name(kind) == "GeneratorExit" for kind in kinds)


def _is_broad(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted_name(kind) in ("Exception", "BaseException") for kind in kinds)


def _releases_something(facts: GeneratorFacts, handler: ast.ExceptHandler) -> bool:
    """The clause cleans up (``rollback()``, ``close()``): a forgotten ``raise`` after cleanup."""
    cleanup = facts.knowledge.release_methods | {"rollback"}
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in cleanup
        for node in ast.walk(handler)
    )


def _contains(handler: ast.ExceptHandler, kinds: tuple[type[ast.stmt], ...]) -> bool:
    """Whether the clause's own code (not nested functions) holds a statement of ``kinds``.

    Any ``raise`` counts: a conditional re-raise is a choice, not a mistake."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


RULE = Rule(
    code="LL005",
    name="swallowed-exception",
    summary="An `except` around the `yield` ends without re-raising: the caller's error is hidden",
    docs=DOCS,
    check=check,
)
