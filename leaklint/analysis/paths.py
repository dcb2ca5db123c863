"""Counting the yields a single run of a generator can pass through, to find the one that runs a
second time on some path (LL006)."""

from __future__ import annotations

import ast

from leaklint.analysis.syntax import TRY_NODE_NAMES, position
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional


@record(frozen=True)
class _PathCount:
    """Yields run so far on the worst path, whether every path has left, the first extra one."""

    count: int
    terminated: bool = False
    extra: Optional[ast.AST] = None


class YieldCounter:
    """Counts the yields a single run can pass through, to find the one that runs twice.

    Branches take the larger count; a ``try`` adds its handlers' yields to its body's (what is
    thrown in at a yield lands in a handler); a loop whose body yields can yield again.

    ``yields`` are the function's own yields and ``parent`` its parent map (both from the
    analysis' one walk of the function): the yields under a statement are found by climbing
    from each yield, not by walking the statement again.
    """

    def __init__(self, yields: Sequence[ast.AST], parent: dict[ast.AST, ast.AST]) -> None:
        self._yields = yields
        self._parent = parent

    def _own_yields(self, nodes: Sequence[ast.AST]) -> list[ast.AST]:
        """The function's yields under ``nodes``, in source order."""
        if not self._yields:
            return []
        wanted = {id(node) for node in nodes}
        found = []
        for node in self._yields:
            current: Optional[ast.AST] = node
            while current is not None:
                if id(current) in wanted:
                    found.append(node)
                    break
                current = self._parent.get(current)
        return sorted(found, key=position)

    def block(self, statements: list[ast.stmt], before: int) -> _PathCount:
        count, extra = before, None
        for statement in statements:
            result = self.statement(statement, count)
            extra = extra or result.extra
            count = result.count
            if result.terminated:
                return _PathCount(count, True, extra)
        return _PathCount(count, False, extra)

    def statement(self, statement: ast.stmt, before: int) -> _PathCount:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            inner = self._own_yields(statement.body)
            if inner:
                return _PathCount(before + len(inner), extra=inner[0])
            return self._branches([statement.body, statement.orelse], before)
        if isinstance(statement, ast.If):
            return self._branches([statement.body, statement.orelse], before)
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            heads = [y for item in statement.items for y in self._own_yields([item.context_expr])]
            return self.block(statement.body, self._add(heads, before).count)
        if type(statement).__name__ in TRY_NODE_NAMES:
            body = self.block(statement.body, before)  # type: ignore[attr-defined]
            exits = [self.block(statement.orelse, body.count)] if not body.terminated else []  # type: ignore[attr-defined]
            exits += [self.block(handler.body, body.count) for handler in statement.handlers]  # type: ignore[attr-defined]
            live = [result for result in exits if not result.terminated] or exits or [body]
            count = max(result.count for result in live)
            extra = body.extra or next((r.extra for r in exits if r.extra), None)
            final = self.block(statement.finalbody, count)  # type: ignore[attr-defined]
            terminated = bool(exits) and all(result.terminated for result in exits)
            return _PathCount(final.count, terminated or final.terminated, extra or final.extra)
        if type(statement).__name__ == "Match":  # `match` exists from Python 3.10
            cases = [case.body for case in statement.cases]  # type: ignore[attr-defined]
            return self._branches([*cases, []], before)
        result = self._add(self._own_yields([statement]), before)
        terminated = isinstance(statement, (ast.Return, ast.Raise))
        return _PathCount(result.count, terminated, result.extra)

    def _branches(self, blocks: list[list[ast.stmt]], before: int) -> _PathCount:
        results = [self.block(block, before) for block in blocks]
        live = [result for result in results if not result.terminated]
        extra = next((result.extra for result in results if result.extra), None)
        count = max(result.count for result in (live or results))
        return _PathCount(count, not live, extra)

    @staticmethod
    def _add(yields: list[ast.AST], before: int) -> _PathCount:
        total = before + len(yields)
        extra = yields[max(0, 1 - before)] if yields and total >= 2 else None
        return _PathCount(total, extra=extra)
