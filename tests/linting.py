"""Lint a fixture the way the CLI would: its unit (file or project folder) gives the index."""

from __future__ import annotations

from pathlib import Path

from fixture_support import Fixture

from leaklint.model import Diagnostic
from leaklint.parse import ParsedModule, parse
from leaklint.rules import RULES
from leaklint.runner import build_index, check_module, fix_module
from leaklint.settings import Settings

ALL_CODES = frozenset(rule.code for rule in RULES)


def parsed_unit(fixture: Fixture) -> tuple[ParsedModule, list[ParsedModule]]:
    """The fixture parsed, and every module of its unit (itself, or its project folder)."""
    paths = sorted(fixture.unit.rglob("*.py")) if fixture.unit.is_dir() else [fixture.path]
    modules = []
    target = None
    for path in paths:
        if path.name.endswith(".fixed.py"):
            continue
        parsed = parse(str(path), path.read_bytes())
        assert isinstance(parsed, ParsedModule), parsed
        modules.append(parsed)
        if path == fixture.path:
            target = parsed
    assert target is not None
    return target, modules


def check_fixture(fixture: Fixture) -> list[Diagnostic]:
    """The findings on the fixture, with all rules selected."""
    target, modules = parsed_unit(fixture)
    return check_module(target, build_index(modules), Settings(select=ALL_CODES))


def fix_fixture(fixture: Fixture, data: bytes | None = None) -> bytes:
    """The fixture's bytes (or ``data`` in its place) with its fixes applied."""
    target, modules = parsed_unit(fixture)
    if data is not None:
        reparsed = parse(str(fixture.path), data)
        assert isinstance(reparsed, ParsedModule), reparsed
        target = reparsed
    settings = Settings(select=ALL_CODES, fix=True, unsafe_fixes=fixture.unsafe_fixes)
    fixed, _, _ = fix_module(target, build_index(modules), settings)
    return fixed.data


def relative(path: Path) -> str:
    return str(path.relative_to(path.parents[2]))
