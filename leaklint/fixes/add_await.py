"""LL007: an async release whose coroutine is dropped (``client.aclose()``) gets its ``await``."""

from __future__ import annotations

import libcst as cst

from leaklint.fixes.base import awaited
from leaklint.model import FixPlan


def rewrite(small: cst.BaseSmallStatement, row: int, plan: FixPlan) -> cst.BaseSmallStatement:
    """``await <call>``."""
    return awaited(small)
