"""ruff's ``--output-format json`` schema, field for field, so tools that read ruff read us."""

from __future__ import annotations

import json

from leaklint.model import Diagnostic, Edit, Location
from leaklint.output import OutputContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional


def _location(location: Location) -> dict[str, int]:
    return {"column": location.column, "row": location.row}


def _edit(edit: Edit) -> dict[str, Any]:
    return {
        "content": edit.content,
        "end_location": _location(edit.end_location),
        "location": _location(edit.location),
    }


def to_record(
    diagnostic: Diagnostic, edits: Optional[list[Edit]], url: Optional[str] = None
) -> dict[str, Any]:
    """One finding as ruff's JSON object; ``edits`` is ``None`` when it has no fix, ``url``
    when no rule URL is configured (the docs ship with the tool: ``leaklint rule LL001``)."""
    fix = diagnostic.fix
    return {
        "cell": None,
        "code": diagnostic.code,
        "end_location": _location(diagnostic.end_location),
        "filename": diagnostic.filename,
        "fix": None
        if fix is None or edits is None
        else {
            "applicability": fix.applicability.value,
            "edits": [_edit(edit) for edit in edits],
            "message": fix.title,
        },
        "location": _location(diagnostic.location),
        "message": diagnostic.message,
        "name": diagnostic.name,
        "noqa_row": diagnostic.location.row,
        "severity": diagnostic.severity.value,
        "url": url,
    }


def render(context: OutputContext) -> str:
    """The JSON document: fixes are turned into edits against the file's current bytes."""
    records = [to_record(d, context.edits(d), context.rule_url(d)) for d in context.diagnostics]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
