"""DESIGN §6, at run time: the unfixed generator leaks its resource when the caller raises, and
the fixed one releases it, driven by ``contextlib`` and by FastAPI exactly as in production."""

from __future__ import annotations

import pytest
from fixture_support import Fixture, all_fixtures
from runtime_support import drive, drivers_for, load_function
from test_fixtures import FIXABLE

RUNTIME = [fixture for fixture in all_fixtures() if fixture.runtime() is not None]
CASES = [
    (fixture, driver)
    for fixture in RUNTIME
    for driver in drivers_for(
        load_function(fixture.text, str(fixture.path), fixture.runtime()[0])[0]  # type: ignore[index]
    )
]


def _id(case: object) -> str:
    if isinstance(case, Fixture):
        return f"{case.rule_folder}/{case.path.name}"
    return str(case)


def test_there_are_runtime_cases_for_every_fixing_rule() -> None:
    folders = {fixture.rule_folder for fixture in RUNTIME}
    assert {"LL001", "LL002", "LL003"} <= folders


@pytest.mark.parametrize(("fixture", "driver"), CASES, ids=_id)
def test_unfixed_behaviour(fixture: Fixture, driver: str) -> None:
    name, leaks = fixture.runtime()  # type: ignore[misc]
    function, tracker = load_function(fixture.text, str(fixture.path), name)
    left_open = drive(function, driver, tracker)
    if leaks:
        assert left_open, f"{name} under {driver}: expected a leak before the fix, found none"
    else:
        assert not left_open, f"{name} under {driver}: leaks before the fix: {left_open}"


FIXED_CASES = [(fixture, driver) for fixture, driver in CASES if fixture in FIXABLE]


@pytest.mark.parametrize(("fixture", "driver"), FIXED_CASES, ids=_id)
def test_fixed_releases(fixture: Fixture, driver: str) -> None:
    name, _ = fixture.runtime()  # type: ignore[misc]
    assert fixture.snapshot.exists(), f"{fixture.snapshot.name} missing"
    function, tracker = load_function(
        fixture.snapshot.read_text(encoding="utf-8"), str(fixture.snapshot), name
    )
    left_open = drive(function, driver, tracker)
    assert not left_open, f"{name} under {driver}: still open after the fix: {left_open}"
