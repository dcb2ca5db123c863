"""The static finding that explains a leak seen at run time.

leaklint checks the project the way ``leaklint <root>`` would (the project's configuration, the
whole tree for its cross-module knowledge), once per test session and only when a first leak is
seen: a suite without leaks never pays for it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from leaklint.model import Diagnostic
from leaklint.watch.sites import Site


class Explainer:
    """The findings of the project under ``root``, read on first use."""

    def __init__(self, root: Path) -> None:
        self._start = root
        self.root = root
        self._findings: Optional[dict[str, list[Diagnostic]]] = None
        """Each checked file's findings, by real path."""
        self.error: Optional[str] = None

    def _load(self) -> dict[str, list[Diagnostic]]:
        if self._findings is not None:
            return self._findings
        self._findings = {}
        from leaklint.config import Config, find_config, load_config
        from leaklint.runner import run

        try:
            found = find_config(self._start)
            config = load_config(found) if found is not None else Config()
            if found is not None:
                self.root = found.parent
            report = run([str(self.root)], config.settings())
        except Exception as error:  # a bad configuration, or leaklint's own failure
            self.error = f"leaklint could not check {self.root}: {type(error).__name__}: {error}"
            return self._findings
        for outcome in report.outcomes:
            self._findings[os.path.realpath(outcome.filename)] = list(outcome.diagnostics)
        return self._findings

    def explain(self, site: Site) -> str:
        """The finding in the site's function, or why there is none."""
        if not site.generator:
            return "taken outside any generator: leaklint's rules look at generators only"
        findings = self._load()
        if self.error is not None:
            return self.error
        filename = os.path.realpath(site.filename)
        if filename not in findings:
            return (
                f"leaklint does not check this file (not among the files it finds in {self.root})"
            )
        inside = [finding for finding in findings[filename] if site.contains(finding.location.row)]
        if not inside:
            return (
                f"no static finding explains it: leaklint's rules miss this shape in "
                f"{site.function}, a gap worth reporting"
            )
        return "; ".join(
            f"{finding.code} at {self.show(site.filename)}:{finding.location.row}: "
            f"{finding.message}"
            for finding in inside
        )

    def show(self, filename: str) -> str:
        """``filename`` relative to the project's folder when it is inside it."""
        try:
            return Path(filename).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return filename
