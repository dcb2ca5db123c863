"""Suppression comments: ``# noqa``, ``# noqa: LL001, LL003`` on the reported row, and a
file-level ``# leaklint: noqa`` (optionally with codes). The syntax is flake8's, so one comment
serves both the CLI and the flake8 plugin."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from leaklint.model import Diagnostic
from leaklint.parse import source_lines

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

_CODE_LIST = r"[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*"


@functools.cache
def line_noqa() -> re.Pattern[str]:
    """``# noqa`` with its codes. Compiled when a line spells ``noqa``: compiling the two
    patterns costs a run of one small file 2 ms, and most runs read no such line."""
    return re.compile(rf"#\s*noqa(?::\s?(?P<codes>{_CODE_LIST}))?", re.IGNORECASE)


@functools.cache
def _file_noqa() -> re.Pattern[str]:
    return re.compile(
        rf"^\s*#\s*leaklint\s*:\s*noqa(?::\s?(?P<codes>{_CODE_LIST}))?\s*$", re.IGNORECASE
    )


def _may_suppress(line: str) -> bool:
    return "noqa" in line.lower()


ALL = frozenset({"*"})


def _codes(text: Optional[str]) -> frozenset[str]:
    if not text:
        return ALL
    return frozenset(code.upper() for code in re.split(r"[,\s]+", text) if code)


def _covers(codes: frozenset[str], code: str) -> bool:
    return codes is ALL or any(code.startswith(prefix) for prefix in codes)


def file_exemption(lines: Sequence[str]) -> frozenset[str]:
    """Codes a ``# leaklint: noqa`` line exempts the whole file from (``ALL`` for every code)."""
    exempt: set[str] = set()
    for line in lines:
        match = _file_noqa().match(line) if _may_suppress(line) else None
        if match:
            codes = _codes(match.group("codes"))
            if codes is ALL:
                return ALL
            exempt |= codes
    return frozenset(exempt)


def unsuppressed(diagnostics: Iterable[Diagnostic], lines: Sequence[str]) -> list[Diagnostic]:
    """The findings no suppression comment covers."""
    diagnostics = list(diagnostics)
    if not diagnostics:
        return []  # most files: no line to read
    exempt = file_exemption(lines)
    kept = []
    for diagnostic in diagnostics:
        if exempt and _covers(exempt, diagnostic.code):
            continue
        row = diagnostic.location.row
        line = lines[row - 1] if 0 < row <= len(lines) else ""
        match = line_noqa().search(line) if _may_suppress(line) else None
        if match and _covers(_codes(match.group("codes")), diagnostic.code):
            continue
        kept.append(diagnostic)
    return kept


def with_noqa_comments(text: str, diagnostics: Iterable[Diagnostic]) -> tuple[str, int]:
    """``text`` with ``# noqa: CODES`` added on each reported row; also how many rows changed.

    Codes merge into an existing ``# noqa: ...``; a row ending in a backslash continuation
    cannot take a comment and is left alone.
    """
    wanted: dict[int, set[str]] = {}
    for diagnostic in diagnostics:
        wanted.setdefault(diagnostic.location.row, set()).add(diagnostic.code)
    lines = source_lines(text, keepends=True)
    changed = 0
    for row, codes in sorted(wanted.items()):
        if not 0 < row <= len(lines):
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if body.rstrip().endswith("\\"):
            continue
        match = line_noqa().search(body)
        if match and match.group("codes") is None:
            continue  # a bare `# noqa` already covers everything
        if match:
            merged = sorted(_codes(match.group("codes")) | codes)
            body = f"{body[: match.start()]}# noqa: {', '.join(merged)}{body[match.end() :]}"
        else:
            body = f"{body.rstrip()}  # noqa: {', '.join(sorted(codes))}"
        lines[row - 1] = body + ending
        changed += 1
    return "".join(lines), changed
