"""Every fixture: the findings equal its ``# expect:`` comments; every fix matches its snapshot,
parses, is idempotent and leaves the rest of the file byte for byte as it was."""

from __future__ import annotations

import ast
import difflib

import pytest
from conftest import UPDATE_SNAPSHOTS
from fixture_support import Fixture, all_fixtures
from linting import check_fixture, fix_fixture, parsed_unit

from leaklint.parse import ParsedModule, decode, parse

FIXTURES = list(all_fixtures())
FIXABLE = [
    fixture
    for fixture in FIXTURES
    if any(
        d.fix is not None and (fixture.unsafe_fixes or d.fix.applicability.value == "safe")
        for d in check_fixture(fixture)
    )
]


def _id(fixture: Fixture) -> str:
    return str(
        fixture.path.relative_to(
            fixture.path.parents[1] if fixture.unit == fixture.path else fixture.unit.parent
        )
    )


def test_every_rule_has_bad_and_good_fixtures() -> None:
    from leaklint.rules import RULES

    for rule in RULES:
        in_folder = [f for f in FIXTURES if f.rule_folder == rule.code]
        bad = [f for f in in_folder if any(code == rule.code for _, code in f.expected())]
        good = [f for f in in_folder if not f.expected()]
        assert bad, f"{rule.code} has no bad fixture"
        assert good, f"{rule.code} has no good fixture"


@pytest.mark.parametrize("fixture", FIXTURES, ids=_id)
def test_findings_match_expectations(fixture: Fixture) -> None:
    found = {(d.location.row, d.code) for d in check_fixture(fixture)}
    expected = fixture.expected()
    assert found == expected, (
        f"missing: {sorted(expected - found)}; unexpected: {sorted(found - expected)}"
    )


@pytest.mark.parametrize("fixture", FIXABLE, ids=_id)
def test_fix_matches_snapshot(fixture: Fixture) -> None:
    fixed = fix_fixture(fixture)
    snapshot = fixture.snapshot
    if UPDATE_SNAPSHOTS:
        snapshot.write_bytes(fixed)
    assert snapshot.exists(), (
        f"no snapshot {snapshot.name}: run LEAKLINT_UPDATE_SNAPSHOTS=1 pytest and review it"
    )
    expected = snapshot.read_bytes()
    if fixed != expected:
        diff = "".join(
            difflib.unified_diff(
                decode(expected).splitlines(keepends=True),
                decode(fixed).splitlines(keepends=True),
                "snapshot",
                "fixed now",
            )
        )
        pytest.fail(f"the fix differs from {snapshot.name}:\n{diff}")


@pytest.mark.parametrize("fixture", FIXABLE, ids=_id)
def test_fix_is_sound(fixture: Fixture) -> None:
    original = fixture.path.read_bytes()
    fixed = fix_fixture(fixture)
    assert fixed != original
    target, _ = parsed_unit(fixture)
    reparsed = parse(str(fixture.path), fixed)
    assert isinstance(reparsed, ParsedModule), reparsed  # parses
    # what this Python cannot parse (newer syntax) is left as it was
    assert reparsed.skipped_source == target.skipped_source
    assert fix_fixture(fixture, fixed) == fixed, "fixing twice changes the file again"
    # every changed line lies inside a function that had a fixable finding
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(target.tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and any(
            node.lineno <= d.location.row <= (node.end_lineno or node.lineno)
            for d in check_fixture(fixture)
            if d.fix is not None
        )
    ]
    old_lines = original.splitlines(keepends=True)
    # the only change allowed outside those functions: an import a fix needs, on its own line
    imports = {
        d.fix.import_code.encode() + b"\n"
        for d in check_fixture(fixture)
        if d.fix is not None and d.fix.import_code
    }
    new_lines = fixed.splitlines(keepends=True)
    for line in imports - set(old_lines):
        assert new_lines.count(line) == 1, f"{line!r} should be added once"
        new_lines.remove(line)
    fixed = b"".join(new_lines)
    outside, previous_end = [], 0
    for low, high in sorted(spans):
        outside.append(b"".join(old_lines[previous_end : low - 1]))
        previous_end = high
    outside.append(b"".join(old_lines[previous_end:]))
    # new == outside[0] + F1' + outside[1] + ... + outside[-1], whatever the F' are
    assert fixed.startswith(outside[0]) and fixed.endswith(outside[-1])
    position = len(outside[0])
    for segment in outside[1:-1]:
        found = fixed.find(segment, position)
        assert found >= 0, f"text between fixed functions changed: {segment[:80]!r}"
        position = found + len(segment)


def test_snapshots_have_a_source() -> None:
    sources = {fixture.snapshot for fixture in FIXABLE}
    for fixture in FIXTURES:
        snapshot = fixture.snapshot
        if snapshot.exists():
            assert snapshot in sources, f"{snapshot.name} is stale: its source has no fix"
