"""ruff's ``--output-format json`` schema, field for field, so tools that read ruff read us."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from leaklint.model import Diagnostic, Edit, Location

DOCS_URL = "https://leaklint.readthedocs.io/en/latest/rules/"
"""Where each rule's documentation lives; the anchor is the rule's name."""


def _location(location: Location) -> dict[str, int]:
    return {"column": location.column, "row": location.row}


def _edit(edit: Edit) -> dict[str, Any]:
    return {
        "content": edit.content,
        "end_location": _location(edit.end_location),
        "location": _location(edit.location),
    }


def to_record(diagnostic: Diagnostic, edits: Optional[list[Edit]]) -> dict[str, Any]:
    """One finding as ruff's JSON object; ``edits`` is ``None`` when it has no fix."""
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
        "url": f"{DOCS_URL}#{diagnostic.name}",
    }


def render(diagnostics: Iterable[Diagnostic], sources: Mapping[str, bytes]) -> str:
    """The JSON document: fixes are turned into edits against the file's current bytes."""
    records = []
    for diagnostic in diagnostics:
        edits: Optional[list[Edit]] = None
        if diagnostic.fix is not None and diagnostic.filename in sources:
            from leaklint.fixes import FixError, edits_for

            try:
                edits = edits_for(sources[diagnostic.filename], diagnostic.fix)
            except FixError:
                edits = None
        records.append(to_record(diagnostic, edits))
    return json.dumps(records, indent=2, ensure_ascii=False)
