"""Turn fix plans into code with LibCST: one pass per file, formatting kept outside the edit.

This package is imported only when a fix is applied or shown; checking never loads LibCST.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Optional, TypeVar, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.model import Edit, FixKind, FixPlan, Location
from leaklint.parse import source_lines


class FixError(Exception):
    """A fix could not be applied, or produced code that does not parse: nothing is written."""


def apply_plans(data: bytes, plans: Iterable[FixPlan]) -> bytes:
    """Apply the plans that do not overlap, in one pass, and return the new file bytes.

    Plans for the same anchor are applied once; when two plans touch one function (or nested
    functions) only the first is applied in this pass: the caller re-checks and applies the
    rest in the next. Each function is rewritten from its own source lines, so the cost follows
    the findings, not the size of the file; the rewritten functions are re-parsed by LibCST and
    ``ast`` here, the whole file by the caller.
    """
    chosen = _non_overlapping(plans)
    if not chosen:
        return data
    encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise FixError(f"cannot decode the file: {error}") from error
    lines = source_lines(text, keepends=True)
    for (start, end), group in sorted(chosen.items(), reverse=True):
        rewritten = _rewrite_segment(lines[start - 1 : end], group, start)
        if rewritten is None:
            return _apply_to_module(data, [plan for group in chosen.values() for plan in group])
        lines[start - 1 : end] = rewritten
    return "".join(lines).encode(encoding)


def _non_overlapping(plans: Iterable[FixPlan]) -> dict[tuple[int, int], list[FixPlan]]:
    """One plan per function, none in a function that holds (or is held by) a chosen one."""
    chosen: dict[tuple[int, int], list[FixPlan]] = {}
    for plan in plans:
        span = (plan.function_row, max(plan.function_end_row, plan.function_row))
        if span in chosen:
            continue
        if any(span[0] <= end and start <= span[1] for start, end in chosen):
            continue
        chosen[span] = [plan]
    return chosen


def _rewrite_segment(segment: list[str], plans: list[FixPlan], start: int) -> Optional[list[str]]:
    """Rewrite one function from its own lines; ``None`` when they cannot stand alone."""
    first = segment[0]
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    dedented = []
    for line in segment:
        if line.startswith(indent):
            dedented.append(line[len(indent) :])
        elif not line.strip():
            dedented.append(line)
        else:
            return None  # a string or continuation line left of the def: cut the whole module
    source = "".join(dedented)
    if not source.endswith(("\n", "\r")):
        source += "\n"  # the file's last line; the newline is dropped again below
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None
    shifted = {
        plan.anchor_row - start + 1: dataclasses.replace(
            plan,
            anchor_row=plan.anchor_row - start + 1,
            release_rows=tuple(row - start + 1 for row in plan.release_rows),
            await_rows=tuple(row - start + 1 for row in plan.await_rows),
        )
        for plan in plans
    }
    code = _transform(module, shifted).code
    _verify(code, source)
    if not "".join(segment).endswith(("\n", "\r")):
        code = code.rstrip("\r\n")
    return [
        indent + line if line.strip("\r\n") else line for line in source_lines(code, keepends=True)
    ]


def _apply_to_module(data: bytes, plans: list[FixPlan]) -> bytes:
    """The slow path: LibCST over the whole module (a function whose lines cannot be cut out)."""
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as error:
        raise FixError(f"LibCST cannot parse the file: {error.message}") from error
    new_data = _transform(module, {plan.anchor_row: plan for plan in plans}).bytes
    _verify(new_data.decode(module.encoding), module.code)
    return new_data


def _transform(module: cst.Module, plans: dict[int, FixPlan]) -> cst.Module:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer = _PlanApplier(plans, module)
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


def edits_for(data: bytes, plan: FixPlan) -> list[Edit]:
    """The fix as text edits (for JSON output): the changed lines, replaced whole."""
    old_text = _text(data)
    new_text = _text(apply_plans(data, [plan]))
    old_lines = source_lines(old_text, keepends=True)
    new_lines = source_lines(new_text, keepends=True)
    prefix = 0
    while prefix < min(len(old_lines), len(new_lines)) and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old_lines), len(new_lines)) - prefix
        and old_lines[-1 - suffix] == new_lines[-1 - suffix]
    ):
        suffix += 1
    content = "".join(new_lines[prefix : len(new_lines) - suffix])
    return [
        Edit(
            content=content,
            location=Location(prefix + 1, 1),
            end_location=Location(len(old_lines) - suffix + 1, 1),
        )
    ]


def _text(data: bytes) -> str:
    from leaklint.parse import decode

    return decode(data)


def _verify(code: str, original: str) -> None:
    """Refuse rewritten code that either parser rejects, or that lost a statement.

    The rewrites only move statements, add ``try``/``finally``, bindings and ``raise``, add or
    drop ``await``, narrow ``close_all()`` to ``close()`` and turn a re-yielding loop into
    ``yield from``: every other simple statement of the original must still be there.
    """
    try:
        ast.parse(code)
        cst.parse_module(code)
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as error:
        raise FixError(f"the fixed code does not parse: {error}") from error
    lost = _simple_statements(original) - _simple_statements(code)
    if lost:
        raise FixError(f"the fix would drop `{next(iter(lost.elements()))}`")


def _simple_statements(code: str) -> Counter[str]:
    """Each simple statement's source, ``await`` aside (a fix may add or drop it), and
    ``close_all()`` read as ``close()`` (a fix may narrow it)."""
    found: Counter[str] = Counter()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Expr) and (
            isinstance(node.value, ast.YieldFrom)
            or (isinstance(node.value, ast.Yield) and isinstance(node.value.value, ast.Name))
        ):
            # `for x in g(): yield x` may become `yield from g()`: one stands for the other
            found["yield <name> | yield from <iterable>"] += 1
            continue
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            text = ast.unparse(node)
            text = text[len("await ") :] if text.startswith("await ") else text
            found[text.replace(".close_all()", ".close()")] += 1
    return found


class _PlanApplier(cst.CSTTransformer):
    """Rewrites the statement block that holds each plan's anchor statement."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, plans: dict[int, FixPlan], module: cst.Module) -> None:
        super().__init__()
        self.plans = plans
        self.module = module
        self.applied: set[int] = set()

    def _row(self, node: cst.CSTNode) -> int:
        return int(self.get_metadata(PositionProvider, node).start.line)

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        rows = [self._row(statement) for statement in original_node.body]
        for index, row in enumerate(rows):
            plan = self.plans.get(row)
            if plan is None or row in self.applied or plan.kind not in _BLOCK_REWRITES:
                continue
            body = list(updated_node.body)
            if plan.kind is FixKind.MOVE_TO_FINALLY:
                new_body = self._move_to_finally(body, rows, index, plan)
            elif plan.kind is FixKind.ADD_FINALLY:
                new_body = self._add_finally(body, index, plan)
            elif plan.kind is FixKind.HOIST_FROM_TRY:
                new_body = self._hoist_from_try(body, original_node.body[index], index, plan)
            else:
                new_body = self._with_to_try(body, index, plan)
            self.applied.add(row)
            return updated_node.with_changes(body=new_body)
        return updated_node

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return self._awaited_if_planned(self._row(original_node), updated_node)

    def leave_SimpleStatementSuite(
        self, original_node: cst.SimpleStatementSuite, updated_node: cst.SimpleStatementSuite
    ) -> cst.SimpleStatementSuite:
        return self._awaited_if_planned(self._row(original_node.body[0]), updated_node)

    def _awaited_if_planned(self, row: int, node: _SimpleStatements) -> _SimpleStatements:
        plan = self.plans.get(row)
        if plan is None or plan.kind not in _CALL_REWRITES or row in self.applied:
            return node
        if len(node.body) != 1:
            raise FixError(f"line {row} holds more than the release call")
        self.applied.add(row)
        if plan.kind is FixKind.ADD_AWAIT:
            return node.with_changes(body=[_awaited(node.body[0])])
        if plan.kind is FixKind.DROP_AWAIT:
            return node.with_changes(body=[_not_awaited(node.body[0], row)])
        return node.with_changes(body=[_closing_one(node.body[0], row)])

    def leave_ExceptHandler(
        self, original_node: cst.ExceptHandler, updated_node: cst.ExceptHandler
    ) -> cst.ExceptHandler:
        row = self._row(original_node)
        plan = self.plans.get(row)
        if plan is None or plan.kind is not FixKind.APPEND_RAISE or row in self.applied:
            return updated_node
        self.applied.add(row)
        suite = updated_node.body
        if isinstance(suite, cst.IndentedBlock):
            suite = suite.with_changes(body=[*suite.body, self._statement("raise")])
        else:
            suite = suite.with_changes(body=[*suite.body, cst.Raise()])
        return updated_node.with_changes(body=suite)

    def leave_For(
        self, original_node: cst.For, updated_node: cst.For
    ) -> Union[cst.For, cst.SimpleStatementLine]:
        row = self._row(original_node)
        plan = self.plans.get(row)
        if plan is None or plan.kind is not FixKind.YIELD_FROM or row in self.applied:
            return updated_node
        if updated_node.asynchronous is not None or updated_node.orelse is not None:
            raise FixError(f"the loop at line {row} cannot delegate with `yield from`")
        self.applied.add(row)
        delegate = cst.Expr(value=cst.Yield(value=cst.From(item=updated_node.iter)))
        trailing = (
            updated_node.body.header
            if isinstance(updated_node.body, cst.IndentedBlock)
            else cst.TrailingWhitespace()
        )
        return cst.SimpleStatementLine(
            body=[delegate], leading_lines=updated_node.leading_lines, trailing_whitespace=trailing
        )

    def leave_Try(
        self, original_node: cst.Try, updated_node: cst.Try
    ) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
        row = self._row(original_node)
        plan = self.plans.get(row)
        if plan is None or row in self.applied:
            return updated_node
        if plan.kind is FixKind.HANDLER_RELEASE_TO_FINALLY:
            return self._handler_release_to_finally(original_node, updated_node, row, plan)
        if plan.kind is FixKind.COMMIT_TO_SUCCESS_PATH:
            return self._commit_to_success_path(original_node, updated_node, row, plan)
        return updated_node

    def _commit_to_success_path(
        self, original_node: cst.Try, updated_node: cst.Try, row: int, plan: FixPlan
    ) -> Union[cst.Try, cst.FlattenSentinel[cst.BaseStatement]]:
        final = updated_node.finalbody
        if (
            final is None
            or original_node.finalbody is None
            or not isinstance(final.body, cst.IndentedBlock)
            or not isinstance(original_node.finalbody.body, cst.IndentedBlock)
            or not isinstance(updated_node.body, cst.IndentedBlock)
        ):
            raise FixError(f"no indented `finally` in the `try` at line {row}")
        moved: list[cst.BaseStatement] = []
        kept: list[cst.BaseStatement] = []
        for before, after in zip(original_node.finalbody.body.body, final.body.body):
            (moved if self._row(before) in plan.release_rows else kept).append(after)
        if len(moved) != len(plan.release_rows):
            raise FixError(f"the commit of the `try` at line {row} was not found")
        body = [*updated_node.body.body, *(_without_leading_blank_lines(m) for m in moved)]
        self.applied.add(row)
        if kept:
            new_final = final.with_changes(body=final.body.with_changes(body=kept))
            return updated_node.with_changes(
                body=updated_node.body.with_changes(body=body), finalbody=new_final
            )
        if updated_node.handlers:
            return updated_node.with_changes(
                body=updated_node.body.with_changes(body=body), finalbody=None
            )
        # `try: yield db finally: db.commit()`: nothing left to protect
        first = body[0].with_changes(
            leading_lines=[*updated_node.leading_lines, *_leading_lines(body[0])]
        )
        return cst.FlattenSentinel([first, *body[1:]])

    def _handler_release_to_finally(
        self, original_node: cst.Try, updated_node: cst.Try, row: int, plan: FixPlan
    ) -> cst.Try:
        if updated_node.finalbody is not None:
            raise FixError(f"the `try` at line {row} already has a `finally`")
        wanted = set(plan.release_rows)
        moved: list[cst.BaseStatement] = []
        handlers = []
        for original, updated in zip(original_node.handlers, updated_node.handlers):
            if not isinstance(original.body, cst.IndentedBlock) or not isinstance(
                updated.body, cst.IndentedBlock
            ):
                handlers.append(updated)
                continue
            kept = []
            for before, after in zip(original.body.body, updated.body.body):
                if self._row(before) in wanted:
                    if not moved:
                        moved.append(_without_leading_blank_lines(after))
                    wanted.discard(self._row(before))
                else:
                    kept.append(after)
            if not kept:
                raise FixError(f"the `except` at line {self._row(original)} would be empty")
            handlers.append(updated.with_changes(body=updated.body.with_changes(body=kept)))
        if wanted or not moved:
            raise FixError(f"the releases of the `try` at line {row} were not found")
        self.applied.add(row)
        return updated_node.with_changes(
            handlers=handlers, finalbody=cst.Finally(body=cst.IndentedBlock(body=moved))
        )

    # the block rewrites ------------------------------------------------------------------
    def _move_to_finally(
        self, body: list[cst.BaseStatement], rows: list[int], anchor: int, plan: FixPlan
    ) -> list[cst.BaseStatement]:
        release_indices = [rows.index(row) for row in plan.release_rows if row in rows]
        if len(release_indices) != len(plan.release_rows) or min(release_indices) <= anchor:
            raise FixError(f"release statements moved away from line {plan.anchor_row}")
        last = max(release_indices)
        kept = [body[i] for i in range(anchor, last + 1) if i not in release_indices]
        bounds = [*rows[1:], 1 << 30]
        released = [
            _with_awaits(body[i], plan.await_rows, rows[i], bounds[i]) for i in release_indices
        ]
        return [*body[:anchor], _try_finally(kept, released), *body[last + 1 :]]

    def _add_finally(
        self, body: list[cst.BaseStatement], anchor: int, plan: FixPlan
    ) -> list[cst.BaseStatement]:
        release = self._statement(plan.release_code)
        return [*body[:anchor], _try_finally(body[anchor:], [release])]

    def _hoist_from_try(
        self,
        body: list[cst.BaseStatement],
        original: cst.BaseStatement,
        anchor: int,
        plan: FixPlan,
    ) -> list[cst.BaseStatement]:
        statement = body[anchor]
        if not (
            isinstance(statement, cst.Try)
            and isinstance(original, cst.Try)
            and isinstance(statement.body, cst.IndentedBlock)
            and isinstance(original.body, cst.IndentedBlock)
        ):
            raise FixError(f"no `try` with an indented body at line {plan.anchor_row}")
        inner = list(statement.body.body)
        if len(inner) < 2 or self._row(original.body.body[0]) != plan.release_rows[0]:
            raise FixError(f"the acquisition does not open the `try` at line {plan.anchor_row}")
        acquisition = inner[0]
        hoisted = acquisition.with_changes(
            leading_lines=[*statement.leading_lines, *_leading_lines(acquisition)]
        )
        remaining = statement.with_changes(
            leading_lines=(), body=statement.body.with_changes(body=inner[1:])
        )
        return [*body[:anchor], hoisted, remaining, *body[anchor + 1 :]]

    def _with_to_try(
        self, body: list[cst.BaseStatement], anchor: int, plan: FixPlan
    ) -> list[cst.BaseStatement]:
        statement = body[anchor]
        if not isinstance(statement, cst.With) or len(statement.items) != 1:
            raise FixError(f"no single-item `with` at line {plan.anchor_row}")
        item = statement.items[0]
        if item.asname is None or not isinstance(item.asname.name, cst.Name):
            raise FixError(f"the `with` at line {plan.anchor_row} binds no name")
        name = item.asname.name
        header = statement.body.header if isinstance(statement.body, cst.IndentedBlock) else None
        # a comment after `with X() as x:` (a suppression, say) stays with the call of X()
        binding = cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(target=name)], value=item.item)],
            leading_lines=statement.leading_lines,
            trailing_whitespace=header or cst.TrailingWhitespace(),
        )
        release = self._statement(plan.release_code)
        suite = statement.body
        if isinstance(suite, cst.IndentedBlock):
            suite = suite.with_changes(header=cst.TrailingWhitespace())
        if plan.keep_with:
            inner = statement.with_changes(
                items=[cst.WithItem(item=name)], leading_lines=(), body=suite
            )
            protected: cst.BaseSuite = cst.IndentedBlock(body=[inner])
        else:
            protected = suite
        if not isinstance(protected, cst.IndentedBlock):
            raise FixError(f"the `with` at line {plan.anchor_row} has its body on one line")
        rewritten = cst.Try(
            body=protected,
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[release])),
        )
        return [*body[:anchor], binding, rewritten, *body[anchor + 1 :]]

    # helpers -----------------------------------------------------------------------------
    def _statement(self, code: str) -> cst.BaseStatement:
        return cst.parse_statement(
            code + self.module.default_newline, self.module.config_for_parsing
        )


def _with_awaits(
    statement: cst.BaseStatement, await_rows: Sequence[int], start: int, end: int
) -> cst.BaseStatement:
    """Add ``await`` to the release calls of a moved statement that spans rows start..end."""
    if not any(start <= row < end for row in await_rows):
        return statement
    return statement.visit(_AwaitAdder())  # type: ignore[return-value]


_BLOCK_REWRITES = frozenset(
    {
        FixKind.MOVE_TO_FINALLY,
        FixKind.ADD_FINALLY,
        FixKind.HOIST_FROM_TRY,
        FixKind.WITH_TO_TRY_FINALLY,
    }
)
_SimpleStatements = TypeVar("_SimpleStatements", cst.SimpleStatementLine, cst.SimpleStatementSuite)


class _AwaitAdder(cst.CSTTransformer):
    """Adds ``await`` to the bare calls of a release statement (it holds nothing else)."""

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine:
        return updated_node.with_changes(body=[_awaited(small) for small in updated_node.body])


_CALL_REWRITES = frozenset({FixKind.ADD_AWAIT, FixKind.DROP_AWAIT, FixKind.CLOSE_ALL_TO_CLOSE})


def _not_awaited(small: cst.BaseSmallStatement, row: int) -> cst.BaseSmallStatement:
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Await):
        return small.with_changes(value=small.value.expression)
    raise FixError(f"no awaited call at line {row}")


def _closing_one(small: cst.BaseSmallStatement, row: int) -> cst.BaseSmallStatement:
    """``session.close_all()`` (awaited or not) as ``session.close()``."""
    if not isinstance(small, cst.Expr):
        raise FixError(f"no `close_all()` call at line {row}")
    value = small.value
    awaited = isinstance(value, cst.Await)
    call = value.expression if isinstance(value, cst.Await) else value
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and call.func.attr.value == "close_all"
    ):
        raise FixError(f"no `close_all()` call at line {row}")
    closed = call.with_changes(func=call.func.with_changes(attr=cst.Name("close")))
    new_value = value.with_changes(expression=closed) if awaited else closed
    return small.with_changes(value=new_value)


def _awaited(small: cst.BaseSmallStatement) -> cst.BaseSmallStatement:
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        return small.with_changes(value=cst.Await(expression=small.value))
    return small


def _try_finally(
    protected: Sequence[cst.BaseStatement], released: Sequence[cst.BaseStatement]
) -> cst.Try:
    """``try: <protected> finally: <released>``, the comments above the first statement kept
    above ``try``."""
    first = protected[0]
    leading = _leading_lines(first)
    protected = [first.with_changes(leading_lines=()), *protected[1:]]
    released = [_without_leading_blank_lines(released[0]), *released[1:]]
    return cst.Try(
        body=cst.IndentedBlock(body=protected),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=released)),
        leading_lines=leading,
    )


def _leading_lines(statement: cst.BaseStatement) -> Sequence[cst.EmptyLine]:
    """Comments and blank lines above a statement (every concrete statement has them)."""
    assert isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
    return statement.leading_lines


def _without_leading_blank_lines(statement: cst.BaseStatement) -> cst.BaseStatement:
    lines = list(_leading_lines(statement))
    while lines and lines[0].comment is None:
        lines.pop(0)
    return statement.with_changes(leading_lines=lines)
