"""What every rule is made of, and the helpers rules share to describe code in messages."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from leaklint.analysis.facts import GeneratorFacts
from leaklint.model import Applicability, FixKind, FixPlan
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional


@record(frozen=True)
class Finding:
    """A rule's verdict on one node, before it is placed in a file as a ``Diagnostic``."""

    node: ast.AST
    message: str
    fix: Optional[FixPlan] = None


@record(frozen=True)
class Rule:
    """A rule: its identity, its documentation and its check over one generator's facts."""

    code: str
    name: str
    summary: str
    """One line for tables: what the rule finds."""
    docs: str
    """Long documentation: What it does / Why is this bad? / Example / Use instead / Fix safety."""
    check: Callable[[GeneratorFacts], Iterable[Finding]]


def short_code(node: ast.AST, limit: int = 40) -> str:
    """Source text of ``node`` for a message, with long argument lists elided."""
    if isinstance(node, ast.Call):
        callee = ast.unparse(node.func)
        text = f"{callee}()" if not (node.args or node.keywords) else ast.unparse(node)
        return text if len(text) <= limit else f"{callee}(...)"
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fix_plan(
    facts: GeneratorFacts,
    kind: FixKind,
    applicability: Applicability,
    title: str,
    anchor_row: int,
    **details: Any,
) -> FixPlan:
    """A fix plan for the generator ``facts`` describes; ``details`` are the kind's own fields."""
    return FixPlan(
        kind=kind,
        applicability=applicability,
        title=title,
        function_row=facts.node.lineno,
        function_end_row=facts.node.end_lineno or facts.node.lineno,
        anchor_row=anchor_row,
        **details,
    )


def release_statement(key: str, method: str, is_async: bool) -> str:
    """The statement that releases ``key``: ``db.close()`` or ``await client.aclose()``."""
    return f"{'await ' if is_async else ''}{key}.{method}()"
