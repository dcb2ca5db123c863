"""Imports a rewrite needs: added once, above the module's first statement after its docstring
and ``from __future__`` imports."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from leaklint.fixes.base import FixError
from leaklint.model import FixPlan
from leaklint.parse import source_lines


def with_imports(text: str, plans: Iterable[FixPlan], newline: str) -> str:
    """``text`` with each import the plans need and the module lacks at its top level."""
    wanted = sorted({plan.import_code for plan in plans if plan.import_code})
    if not wanted:
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise FixError(f"the fixed code does not parse: {error}") from error
    present = {ast.unparse(node) for node in tree.body if isinstance(node, ast.Import)}
    missing = [code for code in wanted if code not in present]
    if not missing:
        return text
    row = _insertion_row(tree)
    lines = source_lines(text, keepends=True)
    if row > len(lines):
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += newline
        return "".join([*lines, *(code + newline for code in missing)])
    return "".join([*lines[: row - 1], *(code + newline for code in missing), *lines[row - 1 :]])


def _insertion_row(tree: ast.Module) -> int:
    """The row of the first statement that is neither the docstring nor a ``__future__``
    import (its decorators included); past the end when there is none."""
    skipped_to = 0
    for index, node in enumerate(tree.body):
        docstring = (
            index == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if not (docstring or future):
            decorators: list[ast.expr] = getattr(node, "decorator_list", [])
            row = min([node.lineno, *(decorator.lineno for decorator in decorators)])
            if row <= skipped_to:
                raise FixError(f"line {row} holds more than one statement: no room for an import")
            return row
        skipped_to = node.end_lineno or node.lineno
    last = tree.body[-1] if tree.body else None
    return (last.end_lineno or last.lineno) + 1 if last is not None else 1
