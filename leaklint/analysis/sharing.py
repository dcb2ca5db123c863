"""Resources a generator releases without owning them: shared by every call, or another
dependency's (LL010 reports them; LL001 leaves them to it)."""

from __future__ import annotations

import ast

from leaklint.analysis.doubles import named_as_double
from leaklint.analysis.drivers import Role
from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.analysis.imports import dotted_name
from leaklint.analysis.libraries import RELEASED_PER_THREAD

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Optional

PER_CALL_ROLES = frozenset({Role.DEPENDENCY, Role.CONTEXT_MANAGER})
_SHARED_ROOTS = frozenset({"app", "request", "websocket"})


def runs_per_call(facts: GeneratorFacts) -> bool:
    """Every known driver runs the generator once per request or per ``with``."""
    drivers = facts.target.drivers
    return bool(drivers) and all(driver.role in PER_CALL_ROLES for driver in drivers)


def shared_owner(facts: GeneratorFacts, resource: ResourceFacts) -> Optional[str]:
    """Who owns a resource the generator releases without having acquired it, if so."""
    if (
        resource.acquisition is not None
        or resource.bindings
        or resource.managing_withs
        or resource.lost_acquisitions
        or not resource.release_sites
    ):
        return None
    root = resource.key.split(".", 1)[0]
    if root in facts.parameters:
        if "." not in resource.key and _depends_default(facts, root):
            return "another dependency's value, which that dependency releases"
        if root == "cls" and "." in resource.key:
            return "a class attribute, shared by every instance"
        if root in ("request", "websocket") and ".state." in f".{resource.key}.":
            return "application state, shared by every request"
        return None
    if root in facts.local_names:
        return None
    if "." in resource.key and root in _SHARED_ROOTS:
        return "application state, shared by every request"
    if "." not in resource.key:
        if _released_per_thread(facts, root) or named_as_double(root):
            return None  # Django's `connections`, a test's `mock_session`
        if not _bound_in_module(facts, root):
            if _handed_out(facts):
                return "a variable of the function that made this generator, shared by every call"
            return None  # a variable of the function around it, which calls it in place
        return "a module-level object, shared by every call"
    return None


def _released_per_thread(facts: GeneratorFacts, name: str) -> bool:
    """``name`` is a library object whose release is the calling thread's own
    (:data:`RELEASED_PER_THREAD`)."""
    imports = facts.imports
    if imports is None or not imports.is_imported(name):
        return False
    return imports.qualified_name(ast.Name(id=name, ctx=ast.Load())) in RELEASED_PER_THREAD


def _bound_in_module(facts: GeneratorFacts, name: str) -> bool:
    """Whether the module binds ``name`` at its top level (an import, an assignment, a ``def``):
    a name a nested generator reads without that is a variable of the function around it."""
    tree = facts.module_tree
    if tree is None or facts.node in tree.body:
        return True
    for statement in _module_level(tree.body):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            if any(
                (alias.asname or alias.name.split(".", 1)[0]) == name for alias in statement.names
            ):
                return True
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == name:
                return True
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(
                isinstance(node, ast.Name) and node.id == name
                for target in targets
                for node in ast.walk(target)
            ):
                return True
        elif isinstance(statement, (ast.For, ast.AsyncFor)):
            if any(
                isinstance(node, ast.Name) and node.id == name
                for node in ast.walk(statement.target)
            ):
                return True
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            if any(
                isinstance(node, ast.Name) and node.id == name
                for item in statement.items
                if item.optional_vars is not None
                for node in ast.walk(item.optional_vars)
            ):
                return True
        elif isinstance(statement, (ast.Global, ast.Nonlocal)):
            return True  # assigned from a function: the module's, wherever it is made
    return False


def _depends_default(facts: GeneratorFacts, name: str) -> bool:
    """The parameter is filled by a dependency: ``db = Depends(get_db)`` or
    ``db: Annotated[Session, Depends(get_db)]``."""
    arguments = facts.node.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: dict[str, ast.expr] = dict(
        zip(
            [a.arg for a in positional[len(positional) - len(arguments.defaults) :]],
            arguments.defaults,
        )
    )
    for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults):
        if default is not None:
            defaults[argument.arg] = default
    annotations = {a.arg: a.annotation for a in [*positional, *arguments.kwonlyargs]}
    candidates = [defaults.get(name), annotations.get(name)]
    for candidate in candidates:
        if candidate is None:
            continue
        for node in ast.walk(candidate):
            if isinstance(node, ast.Call):
                called = (dotted_name(node.func) or "").rsplit(".", 1)[-1]
                if called in facts.knowledge.dependency_markers:
                    return True
    return False


def closes_shared(facts: GeneratorFacts, resource: ResourceFacts, site: ReleaseSite) -> bool:
    """LL010's finding: a per-call generator closing what it does not own. A lock's or
    semaphore's ``release()`` pairs with its ``acquire()`` and closes nothing."""
    return (
        not site.helper
        and site.method != "release"
        and runs_per_call(facts)
        and shared_owner(facts, resource) is not None
    )


def _handed_out(facts: GeneratorFacts) -> bool:
    """A nested generator its function returns or passes on (a factory's product, a
    registered override): called again and again with the variables of one call. Called in
    place (``async with manager():``), it runs as often as its function does."""
    tree = facts.module_tree
    if tree is None:
        return True
    for enclosing in ast.walk(tree):
        if not isinstance(enclosing, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not any(statement is facts.node for statement in enclosing.body):
            continue
        called = {
            id(node.func)
            for node in ast.walk(enclosing)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        return any(
            isinstance(node, ast.Name)
            and node.id == facts.node.name
            and isinstance(node.ctx, ast.Load)
            and id(node) not in called
            for node in ast.walk(enclosing)
        )
    return True  # nested deeper, or in a class: not followed


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported: its body, and the blocks of its
    ``if``, ``try``, ``with`` and loops, not the bodies of its functions and classes."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if isinstance(block, list):
                yield from _module_level(block)
        for handler in getattr(statement, "handlers", ()):
            yield from _module_level(handler.body)
