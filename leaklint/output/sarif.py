"""The ``sarif`` format: a SARIF 2.1.0 log, for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

from leaklint.model import Diagnostic, Edit, FixPlan, Location
from leaklint.output import OutputContext
from leaklint.rules import RULES, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
RULE_INDEX = {rule.code: index for index, rule in enumerate(RULES)}
"""Where each rule sits in ``tool.driver.rules``, for the results' ``ruleIndex``."""


def rule_descriptor(rule: Rule, url: Optional[str] = None) -> dict[str, Any]:
    """A rule as a SARIF ``reportingDescriptor``: its whole documentation inline, in text and
    in markdown (GitHub code scanning shows it beside the alert), and a link only when the
    project configures where its rule docs are."""
    descriptor: dict[str, Any] = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": plain_text(rule.docs)},
        "help": {"text": plain_text(rule.docs), "markdown": rule.docs},
    }
    if url is not None:
        descriptor["helpUri"] = url
    descriptor["defaultConfiguration"] = {"level": "error"}
    return descriptor


def plain_text(markdown: str) -> str:
    """The rule docs without markdown syntax: headings as plain lines, code blocks indented."""
    lines: list[str] = []
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            lines.append(f"    {line}" if line else "")
        elif line.startswith("#"):
            lines.append(line.lstrip("#").strip())
        else:
            lines.append(line)
    return "\n".join(lines)


def artifact_uri(filename: str) -> str:
    """The file as a URI: relative to the current folder when it is under it, POSIX style."""
    path = Path(filename)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return quote(path.as_posix())


def region(start: Location, end: Location) -> dict[str, int]:
    """A SARIF region; both count characters from 1, the end column just past the range."""
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column,
    }


def replacement(edit: Edit) -> dict[str, Any]:
    """An edit as a SARIF ``replacement``: the region to delete and the text put there."""
    return {
        "deletedRegion": region(edit.location, edit.end_location),
        "insertedContent": {"text": edit.content},
    }


def fix_object(fix: FixPlan, filename: str, edits: list[Edit]) -> dict[str, Any]:
    """A fix as a SARIF ``fix``; whether it is safe rides in the property bag."""
    return {
        "description": {"text": fix.title},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": artifact_uri(filename)},
                "replacements": [replacement(edit) for edit in edits],
            }
        ],
        "properties": {"applicability": fix.applicability.value},
    }


def result(diagnostic: Diagnostic, edits: Optional[list[Edit]]) -> dict[str, Any]:
    """One finding as a SARIF ``result``."""
    record: dict[str, Any] = {"ruleId": diagnostic.code}
    if diagnostic.code in RULE_INDEX:
        record["ruleIndex"] = RULE_INDEX[diagnostic.code]
    record["level"] = "error"
    record["message"] = {"text": diagnostic.message}
    record["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(diagnostic.filename)},
                "region": region(diagnostic.location, diagnostic.end_location),
            }
        }
    ]
    if diagnostic.fix is not None and edits:
        record["fixes"] = [fix_object(diagnostic.fix, diagnostic.filename, edits)]
    return record


def sarif_log(context: OutputContext) -> dict[str, Any]:
    """The whole log: one run, every rule described, every finding a result."""
    from leaklint import __version__

    driver = {
        "name": "leaklint",
        "version": __version__,
        "rules": [
            rule_descriptor(rule, context.settings.rule_url_for(rule.code, rule.name))
            for rule in RULES
        ],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                # our columns count characters: say so, rather than leave readers to guess the unit
                "columnKind": "unicodeCodePoints",
                "results": [result(d, context.edits(d)) for d in context.diagnostics],
            }
        ],
    }


def render(context: OutputContext) -> str:
    """The SARIF log as indented JSON."""
    return json.dumps(sarif_log(context), indent=2, ensure_ascii=False) + "\n"
