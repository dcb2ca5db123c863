"""LL001 unprotected-cleanup: a release after the ``yield`` that an exception skips."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.collector import is_release_helper
from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts, shown
from leaklint.analysis.libraries import (
    CHANGED_STATE,
    CONTEXT_VAR_TOKEN,
    MOCK_PATCHER,
    TEMPORARY_FILE,
    TEMPORARY_FOLDER,
)
from leaklint.analysis.sharing import closes_shared
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.rules.base import Finding, Rule, fix_plan, short_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

DOCS = """\
## What it does
Checks for cleanup code after the `yield` of a context-manager generator (a FastAPI dependency,
a `@contextmanager` or `@asynccontextmanager` function, or a generator shaped like one) that is
not inside a `finally` block or a `with` statement.

## Why is this bad?
The code after `yield` only runs when the generator is resumed normally. When the code that uses
the resource raises, the exception is thrown into the generator *at the `yield`*, and everything
after it is skipped:

* FastAPI (0.74.0 and later) throws the endpoint's exception, `HTTPException` included, into every
  dependency with `yield`; so do Litestar (`Provide`) and FastDepends/FastStream (`Depends`);
* `@contextmanager` and `@asynccontextmanager` throw the exception raised in the `with` body;
* a generator that is abandoned is closed with `GeneratorExit` at the `yield`.

For a database session this leaks a pooled connection on every failing request: the pool runs dry,
PostgreSQL fills with sessions that are `idle in transaction`, and new requests wait for a
connection until they time out ("QueuePool limit ... reached", "too many clients already").

An undo is a release too: `token = var.set(value)` before the `yield` and `var.reset(token)` after
it hold the context variable's value, and a skipped reset leaves it set for everything that later
runs in that context (a tenant, a flag that turns validation off). A variable set and never reset
is not reported: setting it for the rest of the context is what `set` is for. So is a folder:
`path = tempfile.mkdtemp()` before the `yield` and `shutil.rmtree(path)` after it leave the folder
on disk after every error, and so is a file from `fd, path = tempfile.mkstemp()` to
`os.remove(path)`. `os.rmdir` is not taken for a folder's removal: it fails on the folder a
failing body filled, and in a `finally` its error would replace the caller's. So is any change
put back by the same call with a value saved before it (`previous = os.getcwd()`,
`os.chdir(path)` ... `os.chdir(previous)`; `logger.setLevel(level)` with `level = logger.level`;
`old = signal.signal(...)` ... `signal.signal(signum, old)`; a settings object's
`set_mode(previous)`), and a registration taken back on the same object with the same argument
(`add_listener`/`remove_listener` and any `add_*`/`remove_*`, `register`/`unregister`,
`subscribe`/`unsubscribe`, `connect`/`disconnect`, `addHandler`/`removeHandler`,
`sys.path.insert`/`remove`). So is a `unittest.mock` patcher started before the `yield` and
stopped after it (`patcher = mock.patch(...)`, `patcher.start()` ... `patcher.stop()`): a skipped
`stop()` leaves the mock in place for everything that runs later in the process. So is an
attribute or an entry written before the `yield` and written back with the value saved before
(`previous = runtime.connection` ... `runtime.connection = previous`) or removed after it (`del
tracers[task_id]`, `os.environ.pop(key)`), and a switch turned back by a call of no argument on
the same object (`op._install_proxy()`/`op._remove_proxy()`, `ctx.push()`/`ctx.pop()`,
`gc.disable()`/`gc.enable()`; the table is `SWITCH_PAIRS`). Steps meant
for success only, such as `session.commit()` after an `add()`, are not undo steps. The fix
leaves the change itself before the `try`: an undo of a change that never happened (removing a
listener never added) could fail and hide its error.

Generators whose driver resumes them normally are not reported: pytest fixtures (`next()` after a
failing test), Starlette/FastAPI lifespans (resumed at shutdown), dishka providers,
dependency-injector `Resource`s and aiohttp cleanup contexts. Their cleanup after a bare `yield`
runs. Releases of `self`, and releases followed by a `raise` (part of failing, not of cleaning
up), are not reported either.

## Example
```python
def get_db():
    db = SessionLocal()
    yield db
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

Other statements after the `yield`, such as `db.commit()`, stay after it inside `try`: they
should still run only on success. Cleanup that belongs with the release moves with it, in order:
`task.cancel()` and the `gather` that waits for it, `wait_closed()`, release helpers such as
`close_db()`, clearing `app.state`.

## Fix safety
The fix wraps the `yield` and the statements after it in `try`/`finally` and moves the shutdown
sequence into `finally`. For a resource of a type the knowledge base knows, the `try` starts
right after it is acquired, so a set-up step between the acquisition and the `yield` that fails
(`ftp.login()`, a ping) releases it too, as LL013 asks (a class of the project keeps its set-up
out of the `try`: its release may expect that set-up to have run); when the `finally` would read
a name such a step binds (`cur = conn.cursor()`), the `try` starts at the `yield` and LL013's
fix gives each resource its own `try`. The sequence moved is the release calls and the cleanup
around them (release helpers, task cancellation and the wait that follows it, `wait_closed()`,
clearing attributes), in their order. In an `async def` generator a release method that is a
coroutine gains `await`. It is safe when every moved statement is a release or recognised
cleanup on names bound before the `yield`. It is unsafe when a success-only statement
(`commit()`, `flush()`, `refresh()`) sits inside the sequence (it stays in `try`, so it now runs
before the cleanup), or when a statement leaklint cannot classify does (it moves with the
sequence, in place, and now runs on the error path too). No fix is offered when a release is
nested in other code (a `try` of its own, a loop) or shares a line with other statements.

## References
* FastAPI: Dependencies with yield
* `contextlib.contextmanager`
* Related: ruff SIM115 and pylint R1732 (files opened outside `with`), ruff RUF075 and pylint
  W0135 (`yield` in a `try`/`finally` of a context manager); none of them follows a resource across
  the `yield` of a dependency.
"""


def check(facts: GeneratorFacts) -> Iterator[Finding]:
    """Report every release that runs only when the generator is resumed normally."""
    if not facts.is_target or not facts.throws_in:
        return
    unprotected = [
        (resource, site)
        for resource in facts.resources
        if not resource.throw_path_protected
        and not resource.bound_only_after_yield
        and resource.key not in ("self", "cls")  # the object's own lifetime is its owner's
        for site in resource.release_sites
        if site.normal_path_only
        and not _before_raise(facts, site.statement)
        and not closes_shared(facts, resource, site)  # LL010's finding: not a cleanup to move
    ]
    if not unprotected:
        return
    plan = _fix_plan(facts, unprotected)
    reported: set[str] = set()
    for resource, site in unprotected:
        if resource.key in reported:
            continue  # `proc.kill(); proc.wait()`: one finding, the fix moves both
        reported.add(resource.key)
        acquisition = resource.acquisition
        if acquisition is not None and acquisition.resource_type == CONTEXT_VAR_TOKEN:
            variable = acquisition.owner
            advice = f" `{variable}` keeps the value after an error: reset it in a `finally`"
        elif acquisition is not None and acquisition.resource_type == TEMPORARY_FOLDER:
            advice = f" the folder `{resource.key}` stays on disk: remove it in a `finally`"
        elif acquisition is not None and acquisition.resource_type == TEMPORARY_FILE:
            advice = f" the file `{resource.key}` stays on disk: remove it in a `finally`"
        elif acquisition is not None and acquisition.resource_type == MOCK_PATCHER:
            advice = (
                f" the patch stays in place after an error: stop `{resource.key}` in a `finally`"
            )
        elif acquisition is not None and acquisition.resource_type == CHANGED_STATE:
            advice = (
                f" what `{short_code(shown(acquisition.call, acquisition.statement))}` changed"
                " stays changed after an error:"
                " undo it in a `finally`"
            )
        else:
            advice = f" release `{resource.key}` in a `finally`"
        yield Finding(
            site.statement,
            f"`{short_code(shown(site.call, site.statement))}` is skipped when an exception is"
            " thrown in at the `yield`;" + advice,
            plan,
        )


def _fix_plan(
    facts: GeneratorFacts, unprotected: list[tuple[ResourceFacts, ReleaseSite]]
) -> Optional[FixPlan]:
    first_yield = min(facts.yields, key=lambda site: (site.node.lineno, site.node.col_offset))
    located = _block_and_anchor(facts, first_yield.node, unprotected[0][1].statement)
    if located is None:
        return None
    block, anchor_index = located
    release_indices: set[int] = set()
    await_rows: set[int] = set()
    for resource, site in unprotected:
        holder = facts.ancestor_in(site.statement, block)
        if holder is None:
            return None
        index = _index(block, holder)
        if index <= anchor_index or not _is_pure_release(holder, facts, block):
            return None
        if not resource.bound_before_yield and resource.key.split(".")[0] in facts.local_names:
            return None
        if any(_inside(binding, block[anchor_index]) for binding in resource.bindings):
            return None  # bound inside the new `try`: `finally` would meet an unbound name
        release_indices.add(index)
        if _needs_await(facts, resource, site):
            await_rows.add(site.statement.lineno)
    moved, reordered = _shutdown_sequence(facts, block, anchor_index, release_indices)
    if moved is None:
        return None
    anchor_index = _after_acquisitions(facts, block, anchor_index, unprotected, moved)
    for resource, _ in unprotected:
        acquisition = resource.acquisition
        if acquisition is not None and acquisition.statement.lineno >= block[anchor_index].lineno:
            # `if not enabled: yield; return` before the change: that `yield` would be in
            # the `try` too, and its path would undo what it never changed
            return None
    last = max(moved)
    # every yield must end up inside the new `try`
    for yield_site in facts.yields:
        holder = facts.ancestor_in(yield_site.node, block)
        if holder is None or not anchor_index <= _index(block, holder) <= last:
            return None
    return fix_plan(
        facts,
        FixKind.MOVE_TO_FINALLY,
        Applicability.UNSAFE if reordered else Applicability.SAFE,
        "Move the release into a `finally` around the `yield`",
        block[anchor_index].lineno,
        release_rows=tuple(sorted(block[index].lineno for index in moved)),
        await_rows=tuple(sorted(await_rows)),
    )


_CLEANUP_METHODS = frozenset({"cancel", "wait_closed", "join", "stop", "close_all"})
"""Calls that belong to a shutdown sequence besides releases: stop a task, wait for it."""
_WAITS = frozenset({"gather", "wait", "wait_for", "shield"})
_SUCCESS_ONLY = frozenset({"commit", "flush", "refresh"})
"""Calls that only make sense when the caller succeeded: they stay inside the ``try``."""


def _shutdown_sequence(
    facts: GeneratorFacts, block: list[ast.stmt], anchor: int, releases: set[int]
) -> tuple[Optional[list[int]], bool]:
    """The statements that move into ``finally``, in order, and whether the fix reorders or
    moves code leaklint cannot classify (then it is unsafe).

    A shutdown sequence is the releases and the cleanup around them (task cancellation and the
    ``gather`` that waits for it, release helpers, ``wait_closed()``, clearing ``app.state``):
    it moves as a whole. ``commit()`` and the like stay in ``try``; any other statement inside
    the sequence moves with it, in order, and makes the fix unsafe.
    """
    start, end = min(releases), max(releases)
    while start - 1 > anchor and _is_cleanup(block[start - 1], facts):
        start -= 1
    while end + 1 < len(block) and _is_cleanup(block[end + 1], facts):
        end += 1
    moved: list[int] = []
    reordered = False
    late_names = _names_bound_after(facts, block[anchor])
    for index in range(start, end + 1):
        statement = block[index]
        if index not in releases and _is_success_only(statement):
            reordered = True  # stays in `try`, so it now runs before the cleanup
            continue
        if index not in releases and not _is_cleanup(statement, facts):
            reordered = True  # runs on the error path too, in its place
        if any(
            isinstance(node, ast.Name) and node.id in late_names for node in ast.walk(statement)
        ):
            return None, True  # `finally` would read a name the `try` may not have bound
        moved.append(index)
    return moved, reordered


def _after_acquisitions(
    facts: GeneratorFacts,
    block: list[ast.stmt],
    anchor: int,
    unprotected: list[tuple[ResourceFacts, ReleaseSite]],
    moved: list[int],
) -> int:
    """Where the new ``try`` starts: right after the last statement that binds a resource
    whose release moves, so that a set-up step between it and the ``yield`` (``login()``, a
    ping) that fails releases it too (what LL013 asks); at the ``yield``'s statement when the
    ``finally`` would read a name those steps bind (``cur = conn.cursor()``: one ``try`` per
    resource is LL013's fix)."""
    if not all(_known_type(resource) for resource, _ in unprotected):
        # a class of the project: its release may expect its own set-up to have run
        # (`reader.setup()` ... `reader.cleanup()`), so the set-up stays out of the `try`
        return anchor
    if any(resource.resource_type and resource.resource_type.undo for resource, _ in unprotected):
        # an undo of a change that did not happen may fail (`remove_listener` of a listener
        # never added) and hide the change's own error: the change stays out of the `try`
        return anchor
    bound = [
        index
        for resource, _ in unprotected
        for binding in resource.bindings
        for index, statement in enumerate(block[:anchor])
        if statement is binding
    ]
    if not bound or max(bound) + 1 >= anchor:
        return anchor
    start = max(bound) + 1
    steps = block[start:anchor]
    released = {
        id(site.statement) for resource, _ in unprotected for site in resource.release_sites
    }
    if any(id(node) in released for step in steps for node in ast.walk(step)):
        return anchor  # `if conn.closed: pool.putconn(conn); raise ...`: released already
    late = _names_bound_after(facts, block[start])
    reads = {
        node.id
        for index in moved
        for node in ast.walk(block[index])
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    return anchor if reads & late else start


def _known_type(resource: ResourceFacts) -> bool:
    """Acquired from a factory the knowledge base knows: its release copes with a failed
    set-up step (an FTP connection refused its login still quits)."""
    acquisition = resource.acquisition
    return (
        acquisition is not None
        and acquisition.resource_type is not None
        and not acquisition.resource_type.inferred
    )


def _call_name(statement: ast.stmt) -> Optional[str]:
    """The last name of the call a statement makes: ``close`` for ``await db.close()``."""
    if not isinstance(statement, ast.Expr):
        return None
    value = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def _is_cleanup(statement: ast.stmt, facts: GeneratorFacts) -> bool:
    """Part of a shutdown: a release, a release helper, stopping a task and waiting for it,
    ``wait_closed()``, dropping what ``app.state`` held."""
    if isinstance(statement, ast.If):
        return not statement.orelse and all(_is_cleanup(s, facts) for s in statement.body)
    if isinstance(statement, ast.Delete):
        return all(isinstance(target, ast.Attribute) for target in statement.targets)
    if isinstance(statement, ast.Assign):
        return (
            isinstance(statement.value, ast.Constant)
            and statement.value.value is None
            and all(isinstance(target, ast.Attribute) for target in statement.targets)
        )
    name = _call_name(statement)
    if name is None:
        return False
    return (
        name in facts.knowledge.release_methods
        or name in _CLEANUP_METHODS
        or name in _WAITS
        or is_release_helper(name, facts.knowledge.release_methods)
    )


def _is_success_only(statement: ast.stmt) -> bool:
    return _call_name(statement) in _SUCCESS_ONLY


def _names_bound_after(facts: GeneratorFacts, anchor: ast.stmt) -> set[str]:
    """Local names first bound at or after the ``yield``'s statement."""
    before: set[str] = set(facts.parameters)
    after: set[str] = set()
    for node in ast.walk(facts.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            (before if node.lineno < anchor.lineno else after).add(node.id)
    return after - before


def _before_raise(facts: GeneratorFacts, statement: ast.stmt) -> bool:
    """The release is part of failing: a ``raise`` follows it in its block (``conn.close();
    raise error``), so it is not the generator's cleanup."""
    block = facts.block_of(statement)
    if block is None:
        return False
    position = next(i for i, item in enumerate(block) if item is statement)
    return any(isinstance(later, ast.Raise) for later in block[position + 1 :])


def _block_and_anchor(
    facts: GeneratorFacts, yield_node: ast.AST, release_statement: ast.stmt
) -> Optional[tuple[list[ast.stmt], int]]:
    """The innermost block that holds both the release and a statement containing the yield."""
    statement: ast.AST = release_statement
    while isinstance(statement, ast.stmt) and statement is not facts.node:
        block = facts.block_of(statement)
        if block is None:
            return None
        anchor = facts.ancestor_in(yield_node, block)
        if anchor is not None:
            return block, _index(block, anchor)
        owner = facts.parent.get(statement)
        while owner is not None and not isinstance(owner, ast.stmt):
            owner = facts.parent.get(owner)  # an except handler belongs to its `try`
        if owner is None:
            return None
        statement = owner
    return None


def _index(block: list[ast.stmt], statement: ast.stmt) -> int:
    return next(position for position, item in enumerate(block) if item is statement)


def _is_pure_release(statement: ast.stmt, facts: GeneratorFacts, block: list[ast.stmt]) -> bool:
    """A statement that does nothing but release: ``db.close()``, ``if db: db.close()``."""
    if any(other is not statement and other.lineno == statement.lineno for other in block):
        return False  # shares a line through `;`
    if isinstance(statement, ast.If):
        return not statement.orelse and all(
            _is_pure_release(inner, facts, statement.body) for inner in statement.body
        )
    if not isinstance(statement, ast.Expr):
        # an undo written as a statement: `self.mode = previous`, `del tracers[task_id]`
        return any(
            site.statement is statement and shown(site.call, statement) is statement
            for resource in facts.resources
            for site in resource.release_sites
        )
    value = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
    return any(
        site.call is value for resource in facts.resources for site in resource.release_sites
    )


def _inside(node: ast.stmt, container: ast.stmt) -> bool:
    end = container.end_lineno or container.lineno
    return container.lineno <= node.lineno <= end


def _needs_await(facts: GeneratorFacts, resource: ResourceFacts, site: ReleaseSite) -> bool:
    if not facts.is_async or site.awaited or site.helper:
        return False
    method = site.call.func.attr if isinstance(site.call.func, ast.Attribute) else ""
    resource_type = resource.resource_type
    return method in facts.knowledge.coroutine_release_methods or (
        resource_type is not None and resource_type.release_is_async
    )


RULE = Rule(
    code="LL001",
    name="unprotected-cleanup",
    summary="Cleanup after the `yield` runs only on success, not when the caller raises",
    docs=DOCS,
    check=check,
)
