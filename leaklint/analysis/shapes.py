"""Statement shapes more than one rule reads."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    Loop = Union[ast.For, ast.AsyncFor]


def reyielding_loops(facts: GeneratorFacts) -> Iterator[Loop]:
    """``for db in get_session(): yield db`` (or ``async for``): a loop over another
    generator's call whose whole body yields the loop variable."""
    for node in facts.parent:
        if not isinstance(node, (ast.For, ast.AsyncFor)) or node.orelse:
            continue
        if not isinstance(node.iter, ast.Call) or not isinstance(node.target, ast.Name):
            continue
        if len(node.body) != 1 or not isinstance(node.body[0], ast.Expr):
            continue
        value = node.body[0].value
        if (
            isinstance(value, ast.Yield)
            and isinstance(value.value, ast.Name)
            and value.value.id == node.target.id
        ):
            yield node


_ITERATION_BUILTINS = frozenset(
    {"range", "enumerate", "zip", "map", "filter", "iter", "reversed", "sorted", "list", "tuple"}
    | {"set", "dict", "chain", "product", "islice", "repeat", "count", "cycle", "walk", "glob"}
)
"""Callables whose result yields many values: a loop over them yields once per value."""


def passes_on_a_generator(facts: GeneratorFacts, loop: ast.AST) -> bool:
    """``async for client in make_client(app): yield client, token``: the loop's body (its
    last statement, after steps that prepare the value) hands on what another generator
    function yields, so it yields as often as that one does: once, for a generator used as a
    context manager or fixture. Not for a loop over data (``range()``,
    ``cursor.fetchall()``), nor over a function of this module that can yield twice."""
    if not isinstance(loop, (ast.For, ast.AsyncFor)) or loop.orelse:
        return False
    if not isinstance(loop.iter, ast.Call):
        return False
    *before, statement = loop.body
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Yield):
        return False
    # steps before the yield that prepare the value (`client.config = param`) are fine; a
    # second yield or a way round the loop is not
    if any(
        isinstance(node, (ast.Yield, ast.YieldFrom, ast.Continue, ast.Break))
        for step in before
        for node in ast.walk(step)
    ):
        return False
    targets = {node.id for node in ast.walk(loop.target) if isinstance(node, ast.Name)}
    handed_on = statement.value.value
    if handed_on is None or not any(
        isinstance(node, ast.Name) and node.id in targets for node in ast.walk(handed_on)
    ):
        return False
    func = loop.iter.func
    definition: Optional[ast.AST] = None
    if isinstance(func, ast.Attribute):
        if not isinstance(func.value, ast.Name):
            return False
        if func.value.id in ("self", "cls"):
            # `self.inject(state)`: a method of the class, read where it is defined here
            definition = _own_method(facts, func.attr)
        elif func.value.id in facts.local_names:
            return False  # a method of something the generator holds
        name = func.attr  # `helpers.make_client(app)`
    elif isinstance(func, ast.Name):
        name = func.id
        definition = _module_function(facts.module_tree, name)
    else:
        return False
    if name in _ITERATION_BUILTINS:
        return False
    return definition is None or _yields_once(definition)


def _own_method(facts: GeneratorFacts, name: str) -> Optional[ast.AST]:
    """The method ``name`` of the class the generator is defined in, if this module shows it."""
    tree = facts.module_tree
    if tree is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(item is facts.node for item in node.body):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                    return item
            return None
    return None


def _module_function(tree: Optional[ast.Module], name: str) -> Optional[ast.AST]:
    if tree is None:
        return None
    for statement in tree.body:
        if (
            isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef))
            and statement.name == name
        ):
            return statement
    return None


def _yields_once(function: ast.AST) -> bool:
    """One ``yield`` in the function's own body, outside any loop."""
    yields = []
    stack: list[tuple[ast.AST, bool]] = [(child, False) for child in ast.iter_child_nodes(function)]
    while stack:
        node, looping = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            yields.append(looping or isinstance(node, ast.YieldFrom))
        inner = looping or isinstance(node, (ast.For, ast.AsyncFor, ast.While))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))
    return yields == [False]


_IN_MEMORY = ("sqlite://", "sqlite:///:memory:", "sqlite+aiosqlite://", "sqlite+pysqlite://")


_SQLITE_FACTORIES = frozenset(
    {
        "sqlite3.connect",
        "aiosqlite.connect",
        "sqlalchemy.create_engine",
        "sqlalchemy.ext.asyncio.create_async_engine",
        "sqlmodel.create_engine",
    }
)
"""The calls an in-memory SQLite database is made with."""


def in_memory_database(call: ast.Call, facts: GeneratorFacts) -> bool:
    """``sqlite3.connect(":memory:")``, ``create_engine("sqlite://")``: a database that lives
    in the process holds nothing outside it, and a set-up step that fails on it (creating the
    tables of a test) leaks nothing the garbage collector does not take back. An in-memory
    SQLite URL says so whoever is called with it (a project's ``build_engine(url)``)."""
    qualified = facts.imports.qualified_name(call.func) if facts.imports is not None else None
    # a project's module may hand sqlite3 on (`from app.utils.sqlite import sqlite3`, which
    # imports pysqlite3 or sqlite3 under that name)
    sqlite_call = qualified is not None and (
        qualified in _SQLITE_FACTORIES or qualified.endswith("sqlite3.connect")
    )
    arguments = [*call.args[:1], *(k.value for k in call.keywords if k.arg in ("database", "url"))]
    for argument in arguments:
        if not isinstance(argument, ast.Constant) or not isinstance(argument.value, str):
            continue
        text = argument.value.strip()
        if text.split("?", 1)[0] in _IN_MEMORY or (
            text.startswith("sqlite") and text.endswith("/:memory:")
        ):
            return True
        if sqlite_call and (text in (":memory:", "") or text.startswith("file::memory:")):
            return True
    return False
