"""Counting the yields a single run of a generator can pass through, to find the one that runs a
second time on some path (LL006)."""

from __future__ import annotations

import ast

from leaklint.analysis.syntax import LOOPS, TRY_NODE_NAMES, is_broad_handler, position
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional, Union


@record(frozen=True)
class _PathCount:
    """Yields run so far on the worst path that goes on, whether every path has left, the
    first extra one, and the worst counts at a ``continue`` and at a ``break`` of the loop
    being walked (``None`` when there is none)."""

    count: int
    terminated: bool = False
    extra: Optional[ast.AST] = None
    looped: Optional[int] = None
    broke: Optional[int] = None


def _cannot_raise(statement: ast.stmt) -> bool:
    """``return``, ``return None``, ``pass``, ``break``, ``continue``: nothing that can fail."""
    if isinstance(statement, ast.Return):
        return statement.value is None or isinstance(statement.value, (ast.Constant, ast.Name))
    return isinstance(statement, (ast.Pass, ast.Break, ast.Continue))


def _most(*counts: Optional[int]) -> Optional[int]:
    known = [count for count in counts if count is not None]
    return max(known) if known else None


class YieldCounter:
    """Counts the yields a single run can pass through, to find the one that runs twice.

    Branches take the larger count. A ``try`` adds its handlers' yields to its body's: what is
    thrown in at a yield lands in a handler that catches it, as any handler may (the caller's
    block can raise a ``ConnectionError`` or an ``ImportError`` as well as anything), unless the
    driver throws nothing in (a fixture, a lifespan): then a handler is reached only from the
    code before the yield. A loop yields again only when a pass that yields can go round again:
    a retry loop whose yielding pass returns or breaks (``for attempt in ...: try: connect()
    except Error: continue; yield; return``) yields once.

    ``yields`` are the function's own yields and ``parent`` its parent map (both from the
    analysis' one walk of the function): the yields under a statement are found by climbing
    from each yield, not by walking the statement again.
    """

    def __init__(
        self, yields: Sequence[ast.AST], parent: dict[ast.AST, ast.AST], thrown_in: bool = True
    ) -> None:
        self._yields = yields
        self._parent = parent
        self._thrown_in = thrown_in
        """Whether the driver throws the caller's error in at the ``yield``: where it resumes
        the generator (a fixture, a lifespan), a handler is reached only from the code before
        the ``yield``."""

    def _runs_after_a_yield(self, statement: ast.stmt) -> bool:
        """Whether the ``try``'s body runs something after one of its yields: a statement that
        follows it, or the exit of a ``with`` around it."""
        for node in self._own_yields(statement.body):  # type: ignore[attr-defined]
            current: ast.AST = node
            while current is not statement:
                above = self._parent.get(current)
                if above is None:
                    break
                if isinstance(above, (ast.With, ast.AsyncWith)):
                    return True
                for field in ("body", "orelse", "finalbody"):
                    block = getattr(above, field, None)
                    if isinstance(block, list) and current in block:
                        following = block[block.index(current) + 1 :]
                        if not all(_cannot_raise(later) for later in following):
                            return True
                current = above
        return False

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
        looped: Optional[int] = None
        broke: Optional[int] = None
        for statement in statements:
            result = self.statement(statement, count)
            extra = extra or result.extra
            looped, broke = _most(looped, result.looped), _most(broke, result.broke)
            count = result.count
            if result.terminated:
                return _PathCount(count, True, extra, looped, broke)
        return _PathCount(count, False, extra, looped, broke)

    def statement(self, statement: ast.stmt, before: int) -> _PathCount:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            return self._loop(statement, before)
        if isinstance(statement, ast.Continue):
            return _PathCount(before, True, looped=before)
        if isinstance(statement, ast.Break):
            return _PathCount(before, True, broke=before)
        if isinstance(statement, ast.If):
            return self._branches([statement.body, statement.orelse], before)
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            heads = [y for item in statement.items for y in self._own_yields([item.context_expr])]
            return self.block(statement.body, self._add(heads, before).count)
        if type(statement).__name__ in TRY_NODE_NAMES:
            return self._try(statement, before)
        if type(statement).__name__ == "Match":  # `match` exists from Python 3.10
            cases = [case.body for case in statement.cases]  # type: ignore[attr-defined]
            return self._branches([*cases, []], before)
        result = self._add(self._own_yields([statement]), before)
        terminated = isinstance(statement, (ast.Return, ast.Raise))
        return _PathCount(result.count, terminated, result.extra)

    def _loop(self, loop: Union[ast.For, ast.AsyncFor, ast.While], before: int) -> _PathCount:
        inner = self._own_yields(loop.body)
        if not inner:
            # its `continue` and `break` are its own, not an enclosing loop's
            passed = self._branches([loop.body, loop.orelse], before)
            return _PathCount(passed.count, False, passed.extra)
        one_pass = self.block(loop.body, before)
        again = _most(one_pass.looped, None if one_pass.terminated else one_pass.count)
        if one_pass.extra is not None or (again is not None and again > before):
            return _PathCount(before + len(inner), extra=one_pass.extra or inner[0])
        # every pass that yields leaves the loop (or the function) after it
        after = self.block(loop.orelse, before)
        forever = isinstance(loop, ast.While) and _always_true(loop.test)
        count = _most(None if forever else after.count, one_pass.broke)
        return _PathCount(
            before if count is None else count,
            terminated=forever and one_pass.broke is None,
            extra=after.extra,
        )

    def _try(self, statement: ast.stmt, before: int) -> _PathCount:
        body = self.block(statement.body, before)  # type: ignore[attr-defined]
        exits = [self.block(statement.orelse, body.count)] if not body.terminated else []  # type: ignore[attr-defined]
        resumed_into = self._runs_after_a_yield(statement)
        for handler in statement.handlers:  # type: ignore[attr-defined]
            # what is thrown in at a yield lands in a handler; where nothing is thrown in, a
            # handler is reached from the code before the yield, or from a broad one by
            # whatever the resumed body runs after its yield (an `async with`'s exit that fails
            # at shutdown)
            reached_after = self._thrown_in or (resumed_into and is_broad_handler(handler))
            exits.append(self.block(handler.body, body.count if reached_after else before))
        live = [result for result in exits if not result.terminated] or exits or [body]
        count = max(result.count for result in live)
        extra = body.extra or next((r.extra for r in exits if r.extra), None)
        final = self.block(statement.finalbody, count)  # type: ignore[attr-defined]
        terminated = bool(exits) and all(result.terminated for result in exits)
        parts = [body, *exits, final]
        return _PathCount(
            final.count,
            terminated or final.terminated,
            extra or final.extra,
            _most(*(part.looped for part in parts)),
            _most(*(part.broke for part in parts)),
        )

    def _branches(self, blocks: list[list[ast.stmt]], before: int) -> _PathCount:
        results = [self.block(block, before) for block in blocks]
        live = [result for result in results if not result.terminated]
        extra = next((result.extra for result in results if result.extra), None)
        count = max(result.count for result in (live or results))
        return _PathCount(
            count,
            not live,
            extra,
            _most(*(result.looped for result in results)),
            _most(*(result.broke for result in results)),
        )

    @staticmethod
    def _add(yields: list[ast.AST], before: int) -> _PathCount:
        total = before + len(yields)
        extra = yields[max(0, 1 - before)] if yields and total >= 2 else None
        return _PathCount(total, extra=extra)


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


_EXCLUSIVE_TRY_BLOCKS = frozenset({("handlers", "handlers"), ("handlers", "orelse")})
"""Two parts of one ``try`` that no single pass runs both of: two handlers (the same handler
is a single block), a handler and the ``else``."""


def reaches(source: ast.AST, target: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    """Whether one run can pass ``target`` after ``source`` (a ``yield`` before it in the
    text): not when they sit in branches no run takes both of (``if``/``else``, two ``case``
    blocks, two handlers), nor when every way on from ``source`` returns or raises before it
    leaves the block ``target`` follows (``if not enabled: yield; return``). Inside a loop
    the next pass may take the other branch: there the answer stays yes."""
    source_chain = _chain(source, parent)
    target_chain = _chain(target, parent)
    common = next((node for node in target_chain if node in source_chain), None)
    if common is None:
        return True
    if any(isinstance(node, LOOPS) for node in _chain(common, parent)):
        return True
    source_child = source_chain[source_chain.index(common) - 1]
    target_child = target_chain[target_chain.index(common) - 1]
    source_field, target_field = _field_of(common, source_child), _field_of(common, target_child)
    if isinstance(common, ast.If) and source_field != target_field:
        return False
    if type(common).__name__ == "Match" and source_child is not target_child:
        return False
    if type(common).__name__ in TRY_NODE_NAMES:
        if source_child is not target_child and (source_field, target_field) in (
            _EXCLUSIVE_TRY_BLOCKS
        ):
            return False
        if source_field != target_field:
            return True  # an error after the yield reaches the handlers and the finally
    if not isinstance(source_child, ast.stmt) or source_child is target_child:
        return True
    return _flows_out(source, source_child, parent)


def _chain(node: ast.AST, parent: dict[ast.AST, ast.AST]) -> list[ast.AST]:
    """``node`` and its ancestors, innermost first."""
    chain = [node]
    while chain[-1] in parent:
        chain.append(parent[chain[-1]])
    return chain


def _field_of(owner: ast.AST, child: ast.AST) -> str:
    for name in owner._fields:
        value = getattr(owner, name, None)
        if value is child or (isinstance(value, list) and any(item is child for item in value)):
            return name
    return ""


def _flows_out(node: ast.AST, holder: ast.stmt, parent: dict[ast.AST, ast.AST]) -> bool:
    """Whether a run that passes ``node`` can go on past the end of ``holder``, the statement
    that contains it: no ``return`` or ``raise`` on every way from it (a ``break`` or
    ``continue`` leaves a loop, which is not stopping)."""
    current = node
    while current is not holder:
        owner = parent[current]
        if isinstance(current, ast.stmt):
            block = _block_of(owner, current)
            if block is not None:
                later = block[next(i for i, s in enumerate(block) if s is current) + 1 :]
                if any(_always_stops(statement) for statement in later):
                    return False
        current = owner
    return True


def _block_of(owner: ast.AST, statement: ast.stmt) -> Optional[list[ast.stmt]]:
    for name in ("body", "orelse", "finalbody"):
        block = getattr(owner, name, None)
        if isinstance(block, list) and any(item is statement for item in block):
            return block
    return None


def _always_stops(statement: ast.stmt) -> bool:
    """Every way through ``statement`` returns or raises."""
    if isinstance(statement, (ast.Return, ast.Raise)):
        return True
    if isinstance(statement, ast.If):
        return (
            bool(statement.orelse)
            and any(_always_stops(inner) for inner in statement.body)
            and any(_always_stops(inner) for inner in statement.orelse)
        )
    return False
