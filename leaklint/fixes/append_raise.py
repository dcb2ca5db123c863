"""LL005: a handler that swallows what the caller threw in gets a bare ``raise`` at its end."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import Source
from leaklint.model import FixPlan


def rewrite(source: Source, handler: cst.ExceptHandler, plan: FixPlan) -> cst.ExceptHandler:
    """The handler with ``raise`` as its last statement."""
    suite = handler.body
    if isinstance(suite, cst.IndentedBlock):
        suite = suite.with_changes(body=[*suite.body, source.statement("raise")])
    else:
        suite = suite.with_changes(body=[*suite.body, cst.Raise()])
    return handler.with_changes(body=suite)
