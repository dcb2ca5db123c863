"""Turn fix plans into code with LibCST: one pass per file, formatting kept outside the edit.

Each fix kind is a module of its own (``move_to_finally``, ``yield_from``...); ``transform``
finds the statements the plans name and hands each to its kind. This module cuts the functions
out of the file, checks what comes back, and puts it in.

This package is imported only when a fix is applied or shown; checking never loads LibCST.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
from collections import Counter
from collections.abc import Iterable

import libcst as cst

from leaklint import records
from leaklint.fixes.base import FixError
from leaklint.fixes.imports import with_imports
from leaklint.fixes.transform import transform
from leaklint.model import Edit, FixPlan, Location
from leaklint.parse import source_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.parse import ParsedModule, ParseFailure

__all__ = ["FixError", "apply_plans", "edits_for", "fixed_bytes", "line_edit"]


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
    applied = [plan for group in chosen.values() for plan in group]
    lines = source_lines(text, keepends=True)
    for (start, end), group in sorted(chosen.items(), reverse=True):
        rewritten = _rewrite_segment(lines[start - 1 : end], group, start)
        if rewritten is None:
            fixed = _apply_to_module(data, applied).decode(encoding)
            return with_imports(fixed, applied, _newline(text)).encode(encoding)
        lines[start - 1 : end] = rewritten
    return with_imports("".join(lines), applied, _newline(text)).encode(encoding)


def _newline(text: str) -> str:
    """The file's line ending, from its first line."""
    for line in source_lines(text, keepends=True):
        ending = line[len(line.rstrip("\r\n")) :]
        if ending:
            return ending
    return "\n"


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
        plan.anchor_row - start + 1: records.replace(
            plan,
            anchor_row=plan.anchor_row - start + 1,
            release_rows=tuple(row - start + 1 for row in plan.release_rows),
            await_rows=tuple(row - start + 1 for row in plan.await_rows),
        )
        for plan in plans
    }
    code = transform(module, shifted).code
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
    new_data = transform(module, {plan.anchor_row: plan for plan in plans}).bytes
    _verify(new_data.decode(module.encoding), module.code)
    return new_data


def fixed_bytes(data: bytes, plans: Iterable[FixPlan], filename: str) -> bytes:
    """``apply_plans``, and the result checked as ``--fix`` checks it before writing: the whole
    file parses, and no statement the interpreter cannot parse was touched. Every view of a
    fix (``--fix``, ``--diff``, JSON, SARIF, the editor's code actions) goes through this
    check, so none offers a fix another would refuse. Raises ``FixError``."""
    from leaklint.parse import ParseFailure, reparse

    new_data = apply_plans(data, plans)
    if new_data == data:
        return data
    before = _parsed_whole(filename, data)
    if isinstance(before, ParseFailure):
        raise FixError(f"the file does not parse: {before.message}")
    after = reparse(before, new_data)
    if isinstance(after, ParseFailure):
        raise FixError(after.message)
    return new_data


@functools.lru_cache(maxsize=4)
def _parsed_whole(filename: str, data: bytes) -> Union[ParsedModule, ParseFailure]:
    """A file parsed whole, once for all the fixes of its findings that an output shows."""
    from leaklint.parse import parse

    return parse(filename, data)


def edits_for(data: bytes, plan: FixPlan, filename: str = "<source>") -> list[Edit]:
    """The fix as text edits (for JSON output): the changed lines, replaced whole."""
    edit = line_edit(_text(data), _text(fixed_bytes(data, [plan], filename)))
    return [] if edit is None else [edit]


def line_edit(old: str, new: str) -> Optional[Edit]:
    """The change from ``old`` to ``new`` as one replacement of whole lines; ``None`` when they
    are equal."""
    if old == new:
        return None
    old_lines = source_lines(old, keepends=True)
    new_lines = source_lines(new, keepends=True)
    prefix = 0
    while prefix < min(len(old_lines), len(new_lines)) and old_lines[prefix] == new_lines[prefix]:
        prefix += 1
    suffix = 0
    while (
        suffix < min(len(old_lines), len(new_lines)) - prefix
        and old_lines[-1 - suffix] == new_lines[-1 - suffix]
    ):
        suffix += 1
    return Edit(
        content="".join(new_lines[prefix : len(new_lines) - suffix]),
        location=Location(prefix + 1, 1),
        end_location=Location(len(old_lines) - suffix + 1, 1),
    )


def _text(data: bytes) -> str:
    from leaklint.parse import decode

    return decode(data)


def _verify(code: str, original: str) -> None:
    """Refuse rewritten code that either parser rejects, or that lost a statement.

    The rewrites only move statements, add ``try``/``finally``, bindings and ``raise``, add or
    drop ``await``, narrow ``close_all()`` to ``close()``, turn a re-yielding loop into ``yield
    from`` or an ``async with``, and add imports: every other simple statement of the original
    must still be there.
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
