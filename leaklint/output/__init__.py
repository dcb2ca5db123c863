"""Formatters over the diagnostics of a run; each format is one module with a ``render``.

Formatters are imported only when chosen, so a run pays for the one it prints.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from leaklint.model import Diagnostic, Edit
from leaklint.records import field, record
from leaklint.settings import Settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

FORMATS = ("full", "concise", "json", "json-lines", "github", "sarif", "junit")
TEXT_FORMATS = frozenset({"full", "concise"})
"""Formats followed by the human summary ("Found 3 errors.")."""


@record(frozen=True)
class OutputContext:
    """Everything a formatter may read."""

    diagnostics: Sequence[Diagnostic]
    settings: Settings
    sources: Mapping[str, bytes] = field(default_factory=dict)
    """The current bytes of each file with findings: for source lines and fix edits."""
    color: bool = False

    def fix_available(self, diagnostic: Diagnostic) -> bool:
        """Whether ``--fix`` with the run's flags would fix this finding."""
        fix = diagnostic.fix
        return fix is not None and self.settings.allows(fix.applicability)

    def rule_url(self, diagnostic: Diagnostic) -> Optional[str]:
        """The finding's rule documentation URL, when the project configures one."""
        return self.settings.rule_url_for(diagnostic.code, diagnostic.name)

    def edits(self, diagnostic: Diagnostic) -> Optional[list[Edit]]:
        """The finding's fix as text edits against the file's current bytes, if it has one."""
        if diagnostic.fix is None:
            return None
        source = self.sources.get(diagnostic.filename)
        if not source:  # a finding from the cache: the file is as it was when it was checked
            try:
                source = Path(diagnostic.filename).read_bytes()
            except OSError:
                return None
        from leaklint.fixes import FixError, edits_for

        try:
            return edits_for(source, diagnostic.fix, diagnostic.filename)
        except FixError:
            return None


def render(format_name: str, context: OutputContext) -> str:
    """The findings in ``format_name``; the text ends with a newline unless it is empty."""
    if format_name not in FORMATS:
        raise ValueError(f"unknown output format {format_name!r}")
    module = importlib.import_module(f"leaklint.output.{format_name.replace('-', '_')}")
    text: str = module.render(context)
    return text
