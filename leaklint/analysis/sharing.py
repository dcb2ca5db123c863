"""Resources a generator releases without owning them: shared by every call, or another
dependency's (LL010 reports them; LL001 leaves them to it)."""

from __future__ import annotations

import ast

from leaklint.analysis.drivers import Role
from leaklint.analysis.facts import GeneratorFacts, ReleaseSite, ResourceFacts
from leaklint.analysis.imports import dotted_name

TYPE_CHECKING = False
if TYPE_CHECKING:
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
        if _from_a_library(facts, root):
            return None  # a library's own object (Django's `connections`): its business
        return "a module-level object, shared by every call"
    return None


def _from_a_library(facts: GeneratorFacts, name: str) -> bool:
    """``name`` is imported from outside the project (a module no file of the project
    defines): what releasing it does is the library's to say (``connections.close_all()``
    closes the thread's own Django connections)."""
    imports = facts.imports
    if imports is None or not imports.is_imported(name):
        return False
    qualified = imports.qualified_name(ast.Name(id=name, ctx=ast.Load())) or ""
    if qualified.startswith(".") or not facts.module:
        return False  # a relative import: the project's own module
    from pathlib import Path

    from leaklint.analysis.declared import import_roots, module_file

    importer = Path("/", *facts.module)
    folder = importer if importer.is_dir() else importer.parent
    # the module it comes from, or a package of that name, as a file of the project
    return module_file(import_roots(folder), [*qualified.split("."), name]) is None


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
