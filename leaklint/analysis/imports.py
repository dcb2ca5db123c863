"""Resolve names in a module to the dotted names they were imported as."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


class ImportMap:
    """Maps local names bound by ``import`` statements to qualified dotted names.

    ``from sqlalchemy.orm import Session as S`` maps ``S`` to ``sqlalchemy.orm.Session``;
    ``import contextlib as cl`` maps ``cl`` to ``contextlib``. Relative imports keep their dots
    (``from .db import get_db`` maps ``get_db`` to ``.db.get_db``).
    """

    def __init__(self, tree: ast.Module) -> None:
        self._names: dict[str, str] = {}
        self.star_modules: list[str] = []
        """Modules imported with ``from module import *``."""
        self.module_classes = {
            node.name: node for node in tree.body if isinstance(node, ast.ClassDef)
        }
        """Classes defined at the top of the module."""
        for node in statements(tree.body):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._names[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".", 1)[0]
                        self._names[root] = root
            elif isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                for alias in node.names:
                    if alias.name == "*":
                        self.star_modules.append(module)
                        continue
                    prefix = f"{module}." if module and not module.endswith(".") else module
                    self._names[alias.asname or alias.name] = f"{prefix}{alias.name}"

    def qualified_name(self, expr: ast.expr) -> Optional[str]:
        """The dotted name of ``expr`` with its first part resolved through the imports.

        A name that was not imported stays as written (``SessionLocal``); expressions that are not
        plain names or attribute chains give ``None``.
        """
        parts = dotted_parts(expr)
        if parts is None:
            return None
        head = self._names.get(parts[0], parts[0])
        return ".".join([head, *parts[1:]])

    def imported_roots(self) -> frozenset[str]:
        """The top-level packages this module imports from."""
        return frozenset(
            name.lstrip(".").split(".", 1)[0]
            for name in (*self._names.values(), *self.star_modules)
        )

    def imports_any(self, qualified: Iterable[str]) -> bool:
        """Whether this module imports one of ``qualified`` (or the module holding it)."""
        bound = set(self._names.values())
        return any(
            name in bound or name.rsplit(".", 1)[0] in bound or name.split(".", 1)[0] in bound
            for name in qualified
        )

    def aliases_of(self, names: Iterable[str]) -> set[str]:
        """The local names bound by imports to a qualified name (or module) whose last part
        is one of ``names``: ``D`` for ``from fastapi import Depends as D``."""
        wanted = set(names)
        return {
            local
            for local, qualified in self._names.items()
            if qualified.rsplit(".", 1)[-1] in wanted
        }

    def is_imported(self, name: str) -> bool:
        """Whether ``name`` is bound by an import in this module."""
        return name in self._names


def statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included (in any order), without visiting expressions: a
    fraction of a full walk, for what only statements hold (imports, functions, classes)."""
    stack = list(body)
    while stack:
        statement = stack.pop()
        yield statement
        kind = type(statement)
        blocks = _BLOCKS.get(kind)
        if blocks is None:
            blocks = _BLOCKS[kind] = tuple(name for name in _BLOCK_NAMES if name in kind._fields)
        for name in blocks:
            if name in ("handlers", "cases"):
                for clause in getattr(statement, name):
                    stack.extend(clause.body)
            else:
                stack.extend(getattr(statement, name))


_BLOCK_NAMES = ("body", "orelse", "finalbody", "handlers", "cases")
_BLOCKS: dict[type, tuple[str, ...]] = {}
"""The fields of each statement type that hold statements (most hold none)."""


def dotted_parts(expr: ast.expr) -> Optional[list[str]]:
    """``a.b.c`` as ``["a", "b", "c"]``; ``None`` for anything but names and attribute chains."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    parts.reverse()
    return parts


def dotted_name(expr: ast.expr) -> Optional[str]:
    """``a.b.c`` as written, or ``None`` when ``expr`` is not a name or attribute chain."""
    parts = dotted_parts(expr)
    return ".".join(parts) if parts is not None else None


def top_level_spelling(tree: ast.Module, qualified: str) -> Optional[str]:
    """How module-level code can name ``qualified`` through the module's top-level imports:
    ``asynccontextmanager``, ``contextlib.asynccontextmanager``, ``cl.asynccontextmanager``;
    ``None`` when nothing imported at the top of the module reaches it."""
    module, _, attribute = qualified.rpartition(".")
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
            for alias in node.names:
                if alias.name == attribute:
                    return alias.asname or alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == module:
                    return f"{alias.asname or alias.name}.{attribute}"
    return None
