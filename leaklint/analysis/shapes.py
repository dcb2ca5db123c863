"""Statement shapes more than one rule reads."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from leaklint.analysis.facts import GeneratorFacts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Union

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
