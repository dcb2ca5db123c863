"""The ``full`` format: placeholder until the source-excerpt formatter lands."""

from __future__ import annotations

from leaklint.output import OutputContext
from leaklint.output.concise import render as render_concise


def render(context: OutputContext) -> str:
    """Findings with their source lines (for now: one line each, as ``concise``)."""
    return render_concise(context)
