"""Small questions about a function's syntax tree: its own nodes, the block a statement sits
in, whether one node contains another, which handlers catch everything."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.imports import dotted_name

Statement = ast.stmt
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.analysis.targets import FunctionNode

    YieldNode = Union[ast.Yield, ast.YieldFrom]

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
TRY_NODE_NAMES = frozenset({"Try", "TryStar"})  # `except*` (TryStar) exists from Python 3.11
_BROAD_HANDLERS = frozenset({"BaseException", "Exception", "GeneratorExit"})


def own_scope(function: FunctionNode, parent: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    """Nodes of the function's body, not descending into nested functions, lambdas or classes
    (see :func:`child_nodes` for the nodes left out)."""
    stack: list[ast.AST] = []
    for statement in function.body:
        parent[statement] = function
        stack.append(statement)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, SCOPES):
            continue
        for child in child_nodes(node):
            parent[child] = node
            stack.append(child)


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``node`` and every node under it, in no particular order, as ``ast.walk`` finds them
    but the markers :func:`child_nodes` leaves out."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(child_nodes(current))


_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "name", "arg", "asname", "module", "level", "kind"}
    | {"type_comment", "is_async", "conversion", "lineno", "col_offset"}
)
"""Fields that hold no expression or statement (but ``TypeAlias.name``, a ``Name``): names,
flags, and the operator and context markers (``Load``, ``Add``, ``Eq``), which the parser
shares between every node."""
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` without the operator and context markers, and without trying
    the fields that hold names and flags: the analysis reads those as attributes of their
    node, and a walk over every function's body is most of a check."""
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        leaves = _LEAF_FIELDS - {"name"} if kind.__name__ == "TypeAlias" else _LEAF_FIELDS
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in leaves)
    children: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            children.extend(item for item in value if isinstance(item, ast.AST))
    return children


def in_loop(node: ast.AST, parent: dict[ast.AST, ast.AST], function: FunctionNode) -> bool:
    current = parent.get(node)
    while current is not None and current is not function:
        if isinstance(current, LOOPS):
            return True
        if isinstance(current, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return True
        current = parent.get(current)
    return False


def position(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def contains(ancestor: ast.AST, node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    current: Optional[ast.AST] = node
    while current is not None:
        if current is ancestor:
            return True
        current = parent.get(current)
    return False


def in_any(blocks: list[list[ast.stmt]], node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    return any(contains(statement, node, parent) for block in blocks for statement in block)


def leaves(handler: ast.ExceptHandler) -> bool:
    """The clause raises or returns somewhere (nested functions aside)."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Raise, ast.Return)):
            return True
        if not isinstance(node, SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return False


def is_broad_handler(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted_name(kind) in _BROAD_HANDLERS for kind in kinds)


def ancestor_in(
    node: ast.AST, block: list[ast.stmt], parent: dict[ast.AST, ast.AST]
) -> Optional[ast.stmt]:
    current: Optional[ast.AST] = node
    while current is not None:
        if isinstance(current, ast.stmt) and any(item is current for item in block):
            return current
        current = parent.get(current)
    return None


def block_holding(statement: ast.stmt, parent: dict[ast.AST, ast.AST]) -> Optional[list[ast.stmt]]:
    owner = parent.get(statement)
    for name in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(owner, name, None)
        if isinstance(block, list) and any(item is statement for item in block):
            return block
    return None


def index_of(block: list[ast.stmt], statement: ast.stmt) -> int:
    return next(position for position, item in enumerate(block) if item is statement)
