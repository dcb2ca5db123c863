"""Which generators are analysed: the project-wide index and per-function classification.

A generator is a *target* when something drives it like a context manager: a ``contextmanager``
decorator, FastAPI's ``Depends``/``Security``, or its own shape (one ``yield``, not in a loop,
with a resource acquired before it). pytest yield fixtures are recognised so that rules which do
not apply to them (pytest resumes a fixture with ``next()``) can leave them alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional, Union

from leaklint.analysis.imports import ImportMap, dotted_parts
from leaklint.analysis.resources import (
    DEFAULT_KNOWLEDGE,
    SESSION_FACTORY_MAKERS,
    KnowledgeBase,
    ResourceType,
)

FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]

CONTEXT_MANAGER_DECORATORS = frozenset(
    {"contextlib.contextmanager", "contextlib.asynccontextmanager"}
)
PYTEST_FIXTURE_DECORATORS = frozenset(
    {"pytest.fixture", "pytest.yield_fixture", "pytest_asyncio.fixture", "_pytest.fixtures.fixture"}
)


@dataclass
class ProjectIndex:
    """Facts gathered from every linted file before any generator is analysed."""

    dependency_names: set[str] = field(default_factory=set)
    """Names of functions used as FastAPI dependencies anywhere in the project."""
    session_factories: dict[str, ResourceType] = field(default_factory=dict)
    """Module-level names bound to ``sessionmaker(...)`` results: calling them makes a session."""

    def merge(self, other: ProjectIndex) -> None:
        """Add another module's facts to this index."""
        self.dependency_names |= other.dependency_names
        self.session_factories.update(other.session_factories)


def index_module(
    tree: ast.Module, imports: ImportMap, knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE
) -> ProjectIndex:
    """The facts one module contributes to the project index."""
    index = ProjectIndex()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _index_dependency_call(node, imports, index, knowledge.dependency_markers)
        elif isinstance(node, ast.Assign):
            _index_assignment(node, imports, index)
    return index


def _index_dependency_call(
    call: ast.Call, imports: ImportMap, index: ProjectIndex, markers: frozenset[str]
) -> None:
    qualified = imports.qualified_name(call.func)
    if qualified is None:
        return
    last = qualified.rsplit(".", 1)[-1]
    if last in markers:
        argument: Optional[ast.expr] = call.args[0] if call.args else None
        for keyword in call.keywords:
            if keyword.arg == "dependency":
                argument = keyword.value
        _add_function_reference(argument, index)
    elif last == "update" and _is_overrides(call.func):
        # app.dependency_overrides.update({get_db: override_get_db})
        for argument in call.args:
            if isinstance(argument, ast.Dict):
                for value in argument.values:
                    _add_function_reference(value, index)


def _index_assignment(node: ast.Assign, imports: ImportMap, index: ProjectIndex) -> None:
    for target in node.targets:
        # app.dependency_overrides[get_db] = override_get_db
        if isinstance(target, ast.Subscript) and _is_overrides(target):
            _add_function_reference(node.value, index)
    if isinstance(node.value, ast.Call):
        maker = imports.qualified_name(node.value.func)
        produced = SESSION_FACTORY_MAKERS.get(maker or "")
        if produced is not None:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    index.session_factories[target.id] = produced


def _is_overrides(expr: ast.expr) -> bool:
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        if isinstance(expr, ast.Attribute) and expr.attr == "dependency_overrides":
            return True
        expr = expr.value
    return False


def _add_function_reference(expr: Optional[ast.expr], index: ProjectIndex) -> None:
    if expr is None:
        return
    parts = dotted_parts(expr)
    if parts:
        index.dependency_names.add(parts[-1])


@dataclass(frozen=True)
class TargetKind:
    """How a generator is driven, as far as the source tells."""

    context_manager: bool = False
    dependency: bool = False
    pytest_fixture: bool = False


def classify(
    function: FunctionNode,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
) -> TargetKind:
    """Read a function's decorators and the project index to tell how it is driven."""
    decorators = set(_decorator_names(function.decorator_list, imports))
    marked = any(name.rsplit(".", 1)[-1] in knowledge.dependency_markers for name in decorators)
    return TargetKind(
        context_manager=bool(decorators & CONTEXT_MANAGER_DECORATORS),
        dependency=function.name in index.dependency_names or marked,
        # pytest's own, and the wrappers projects put around it (sqlalchemy's config.fixture)
        pytest_fixture=bool(decorators & PYTEST_FIXTURE_DECORATORS)
        or any(name.rsplit(".", 1)[-1] in ("fixture", "yield_fixture") for name in decorators),
    )


def _decorator_names(decorators: Iterable[ast.expr], imports: ImportMap) -> Iterable[str]:
    for decorator in decorators:
        if isinstance(decorator, ast.Call):
            decorator = decorator.func
        qualified = imports.qualified_name(decorator)
        if qualified is None:
            continue
        yield qualified
        # a star import or a re-export: `from contextlib import *`, then `@contextmanager`
        if qualified in ("contextmanager", "asynccontextmanager") and not imports.is_imported(
            qualified
        ):
            yield f"contextlib.{qualified}"
