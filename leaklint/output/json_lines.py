"""The ``json-lines`` format: one JSON object per finding per line, the ``json`` records."""

from __future__ import annotations

import json

from leaklint.output import OutputContext
from leaklint.output.json import to_record


def render(context: OutputContext) -> str:
    """Each finding's record on its own line, so a reader can stream them one by one."""
    return "".join(
        json.dumps(record, ensure_ascii=False) + "\n"
        for record in (
            to_record(diagnostic, context.edits(diagnostic), context.rule_url(diagnostic))
            for diagnostic in context.diagnostics
        )
    )
