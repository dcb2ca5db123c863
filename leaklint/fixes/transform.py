"""One LibCST pass that hands each planned statement to its fix kind's rewrite.

The tables below say where in the tree each kind rewrites (a statement block, a single call, an
``except`` clause, a loop, a ``try``); how it rewrites is its own module's business."""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Callable, TypeVar, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.fixes import (
    add_await,
    add_finally,
    append_raise,
    close_all_to_close,
    commit_to_success_path,
    drop_await,
    enter_as_manager,
    handler_release_to_finally,
    hoist_from_try,
    move_to_finally,
    nest_in_finally,
    nest_try_finally,
    split_finally,
    with_to_try,
    yield_from,
)
from leaklint.fixes.base import FixError, Source
from leaklint.model import FixKind, FixPlan

BlockRewrite = Callable[
    [Source, list[cst.BaseStatement], Sequence[cst.BaseStatement], int, FixPlan],
    list[cst.BaseStatement],
]
CallRewrite = Callable[[cst.BaseSmallStatement, int, FixPlan], cst.BaseSmallStatement]
TryRewrite = Callable[
    [Source, cst.Try, cst.Try, int, FixPlan],
    Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]],
]

BLOCK_REWRITES: dict[FixKind, BlockRewrite] = {
    FixKind.MOVE_TO_FINALLY: move_to_finally.rewrite,
    FixKind.ADD_FINALLY: add_finally.rewrite,
    FixKind.HOIST_FROM_TRY: hoist_from_try.rewrite,
    FixKind.WITH_TO_TRY_FINALLY: with_to_try.rewrite,
    FixKind.NEST_TRY_FINALLY: nest_try_finally.rewrite,
}
"""Kinds that rewrite the block holding the anchor statement."""
CALL_REWRITES: dict[FixKind, CallRewrite] = {
    FixKind.ADD_AWAIT: add_await.rewrite,
    FixKind.DROP_AWAIT: drop_await.rewrite,
    FixKind.CLOSE_ALL_TO_CLOSE: close_all_to_close.rewrite,
}
"""Kinds that rewrite the one call on the anchor line."""
TRY_REWRITES: dict[FixKind, TryRewrite] = {
    FixKind.HANDLER_RELEASE_TO_FINALLY: handler_release_to_finally.rewrite,
    FixKind.COMMIT_TO_SUCCESS_PATH: commit_to_success_path.rewrite,
    FixKind.SPLIT_FINALLY: split_finally.rewrite,
    FixKind.NEST_IN_FINALLY: nest_in_finally.rewrite,
}
"""Kinds that rewrite the ``try`` statement at the anchor."""

_SimpleStatements = TypeVar("_SimpleStatements", cst.SimpleStatementLine, cst.SimpleStatementSuite)


def transform(module: cst.Module, plans: dict[int, FixPlan]) -> cst.Module:
    """The module with every plan applied; ``FixError`` when one cannot be."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer = PlanApplier(plans, module)
    try:
        new_module = wrapper.visit(transformer)
    except FixError:
        raise
    except Exception as error:  # a transformer bug must cost the fix, never the run
        raise FixError(f"the rewrite failed: {type(error).__name__}: {error}") from error
    missing = set(plans) - transformer.applied
    if missing:
        raise FixError(f"no statement to rewrite at line {min(missing)}")
    return new_module


class PlanApplier(cst.CSTTransformer):
    """Finds each plan's anchor by its line and applies the plan there, once."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plans: dict[int, FixPlan], module: cst.Module) -> None:
        super().__init__()
        self.plans = plans
        self.module = module
        self.applied: set[int] = set()

    # the Source a rewrite sees
    def row(self, node: cst.CSTNode) -> int:
        """The line a node of the original tree starts on."""
        return int(self.get_metadata(PositionProvider, node).start.line)

    def statement(self, code: str) -> cst.BaseStatement:
        """One statement parsed with the module's own newline and Python version."""
        return cst.parse_statement(
            code + self.module.default_newline, self.module.config_for_parsing
        )

    def _take(self, row: int, kinds: Container[FixKind]) -> Union[FixPlan, None]:
        """The plan anchored at ``row`` when it is of one of ``kinds`` and not yet applied."""
        plan = self.plans.get(row)
        if plan is None or row in self.applied or plan.kind not in kinds:
            return None
        self.applied.add(row)
        return plan

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        for index, statement in enumerate(original_node.body):
            plan = self._take(self.row(statement), BLOCK_REWRITES)
            if plan is not None:
                rewrite = BLOCK_REWRITES[plan.kind]
                body = rewrite(self, list(updated_node.body), original_node.body, index, plan)
                return updated_node.with_changes(body=body)
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return self._call_rewrite(self.row(original_node), updated_node)

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        return self._call_rewrite(self.row(original_node.body[0]), updated_node)

    def _call_rewrite(self, row: int, node: _SimpleStatements) -> _SimpleStatements:
        plan = self._take(row, CALL_REWRITES)
        if plan is None:
            return node
        if len(node.body) != 1:
            raise FixError(f"line {row} holds more than the release call")
        return node.with_changes(body=[CALL_REWRITES[plan.kind](node.body[0], row, plan)])

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        plan = self._take(self.row(original_node), {FixKind.APPEND_RAISE})
        return updated_node if plan is None else append_raise.rewrite(self, updated_node, plan)

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> Union[cst.For, cst.BaseStatement]:
        row = self.row(original_node)
        plan = self._take(row, {FixKind.YIELD_FROM, FixKind.ENTER_AS_MANAGER})
        if plan is None:
            return updated_node
        if plan.kind is FixKind.ENTER_AS_MANAGER:
            return enter_as_manager.rewrite(self, updated_node, row, plan)
        return yield_from.rewrite(self, updated_node, row, plan)

    def leave_Try(
        self, original_node: cst.Try, updated_node: cst.Try
    ) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
        row = self.row(original_node)
        plan = self._take(row, TRY_REWRITES)
        if plan is None:
            return updated_node
        return TRY_REWRITES[plan.kind](self, original_node, updated_node, row, plan)
