"""The ``github`` format: workflow commands that GitHub Actions shows as annotations.

https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
"""

from __future__ import annotations

from leaklint.model import Diagnostic
from leaklint.output import OutputContext


def escape_data(text: str) -> str:
    """A command's message escaped as the runner expects, so it stays one command line."""
    # "%" first: the escapes added next must not be escaped again
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value escaped: also ``:`` and ``,``, which delimit the properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_command(diagnostic: Diagnostic) -> str:
    """``::error title=...,file=...,line=...::CODE message`` for one finding."""
    start, end = diagnostic.location, diagnostic.end_location
    properties = {
        "title": f"leaklint ({diagnostic.code})",
        "file": diagnostic.filename,
        "line": str(start.row),
        "col": str(start.column),
        "endLine": str(end.row),
        "endColumn": str(end.column),
    }
    joined = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items())
    return f"::error {joined}::{escape_data(f'{diagnostic.code} {diagnostic.message}')}"


def render(context: OutputContext) -> str:
    """One workflow command per finding."""
    return "".join(f"{format_command(diagnostic)}\n" for diagnostic in context.diagnostics)
