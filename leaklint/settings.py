"""The effective settings of a run: which rules, and whether and how to fix."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase
from leaklint.discover import Exclusions
from leaklint.model import Applicability
from leaklint.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


@record(frozen=True)
class Settings:
    """What the user asked for, after defaults and flags are combined."""

    select: frozenset[str]
    fix: bool = False
    unsafe_fixes: bool = False
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE
    type_inference: bool = False
    """Ask astroid about calls the knowledge base does not know (in target generators)."""
    cache_dir: Optional[Path] = None
    """Where inference results for installed packages are kept between runs; ``None``: not."""
    exclusions: Exclusions = field(default_factory=Exclusions)
    jobs: Optional[int] = None
    """Worker processes for checking; ``None``: as many as cores, for large trees only."""
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    """(glob over the path relative to the project root or the file name, codes) pairs."""
    rule_url: Optional[str] = None
    """Where a project publishes the rule docs: a template with ``{code}`` and ``{name}``."""

    def rule_url_for(self, code: str, name: str) -> Optional[str]:
        """The configured documentation URL of one rule; ``None`` when none is configured."""
        return self.rule_url.format(code=code, name=name) if self.rule_url else None

    def codes_for(self, filename: str) -> frozenset[str]:
        """The selected codes less those ``per-file-ignores`` removes for ``filename``."""
        if not self.per_file_ignores:
            return self.select
        path = Path(filename).absolute()
        try:
            relative = path.relative_to(self.exclusions.root.absolute()).as_posix()
        except ValueError:
            relative = path.as_posix()
        ignored = {
            code
            for pattern, prefixes in self.per_file_ignores
            if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(path.name, pattern)
            for code in self.select
            if any(code.startswith(prefix) for prefix in prefixes)
        }
        return self.select - ignored

    def allows(self, applicability: Applicability) -> bool:
        """Whether a fix of this applicability may be applied."""
        return applicability is Applicability.SAFE or self.unsafe_fixes


def selected_codes(
    all_codes: Iterable[str],
    select: Iterable[str] = (),
    extend_select: Iterable[str] = (),
    ignore: Iterable[str] = (),
) -> frozenset[str]:
    """Resolve ``--select``/``--extend-select``/``--ignore`` against the known codes.

    Selectors are prefixes as in ruff and flake8: ``LL`` selects every rule, ``LL00`` the first
    nine, ``LL001`` one. ``ALL`` is a synonym for ``LL``.
    """
    codes = sorted(all_codes)

    def matching(selectors: Iterable[str]) -> set[str]:
        chosen: set[str] = set()
        for selector in selectors:
            prefix = "LL" if selector.strip().upper() == "ALL" else selector.strip().upper()
            chosen.update(code for code in codes if code.startswith(prefix))
        return chosen

    select = list(select)
    base = matching(select) if select else set(codes)
    return frozenset((base | matching(extend_select)) - matching(ignore))


def unknown_selectors(all_codes: Iterable[str], selectors: Iterable[str]) -> list[str]:
    """Selectors that match no known rule: a typo the user should hear about."""
    codes = list(all_codes)
    return [
        selector
        for selector in selectors
        if selector.strip().upper() != "ALL"
        and not any(code.startswith(selector.strip().upper()) for code in codes)
    ]
