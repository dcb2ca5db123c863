"""LL003: a resource nobody releases gets ``try: <rest of the block> finally: <release>``."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from leaklint.fixes.base import Source, try_finally
from leaklint.model import FixPlan


def rewrite(
    source: Source,
    body: list[cst.BaseStatement],
    originals: Sequence[cst.BaseStatement],
    anchor: int,
    plan: FixPlan,
) -> list[cst.BaseStatement]:
    """Everything from the anchor to the end of the block inside a new ``try``."""
    return [*body[:anchor], try_finally(body[anchor:], [source.statement(plan.release_code)])]
