"""DESIGN §6, at run time: each fixture's generator is driven as production drives it —
through ``contextlib`` with a failing ``with`` body, through FastAPI's ``TestClient`` with an
endpoint that raises, or as pytest tears a fixture down — once as written and once fixed. The
unfixed run must show the bug the rule is about; the fixed run must not."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fixture_support import Fixture, all_fixtures
from runtime_support import Boom, DriveResult, drive, drivers_for, load_function
from test_fixtures import FIXABLE

RUNTIME = [fixture for fixture in all_fixtures() if fixture.runtime() is not None]


def _behaviour(fixture: Fixture) -> tuple[str, str]:
    runtime = fixture.runtime()
    assert runtime is not None
    return runtime


def _drivers(fixture: Fixture) -> list[str]:
    name, _ = _behaviour(fixture)
    return drivers_for(load_function(fixture.text, str(fixture.path), name)[0])


CASES = [(fixture, driver) for fixture in RUNTIME for driver in _drivers(fixture)]
FIXED_CASES = [(fixture, driver) for fixture, driver in CASES if fixture in FIXABLE]


def _id(case: object) -> str:
    if isinstance(case, Fixture):
        return f"{case.rule_folder}/{case.path.name}"
    return str(case)


def _run(fixture: Fixture, source: str, filename: str, driver: str) -> DriveResult:
    name, behaviour = _behaviour(fixture)
    function, tracker = load_function(source, filename, name)
    return drive(
        function,
        driver,
        tracker,
        fail_acquisition=behaviour == "unbound",
        caller_fails=behaviour != "didnt-stop",  # a second yield shows when the caller succeeds
    )


def _made_resources(result: DriveResult) -> None:
    assert result.made, "the function acquired no fake resource: the check would prove nothing"


def _leaks(result: DriveResult) -> None:
    _made_resources(result)
    assert result.left_open, "expected a resource left open before the fix, all were released"


def _releases(result: DriveResult) -> None:
    _made_resources(result)
    assert not result.left_open, f"left open: {result.left_open}"
    assert not result.never_awaited, result.never_awaited


def _unbound(result: DriveResult) -> None:
    assert isinstance(result.escaped, (UnboundLocalError, NameError)), repr(result.escaped)


def _real_error(result: DriveResult) -> None:
    assert isinstance(result.escaped, ConnectionRefusedError), repr(result.escaped)


def _swallows(result: DriveResult) -> None:
    assert not isinstance(result.escaped, Boom), "the caller's exception reached the caller"


def _propagates(result: DriveResult) -> None:
    assert isinstance(result.escaped, Boom), repr(result.escaped)


def _didnt_stop(result: DriveResult) -> None:
    assert isinstance(result.escaped, RuntimeError), repr(result.escaped)
    assert "didn't stop" in str(result.escaped) or "more than one" in str(result.escaped)


def _unawaited(result: DriveResult) -> None:
    _leaks(result)
    assert result.never_awaited, "expected a 'coroutine ... was never awaited' warning"


Check = Callable[[DriveResult], None]
BEFORE: dict[str, Check] = {
    "leaks": _leaks,
    "released": _releases,
    "unbound": _unbound,
    "swallows": _swallows,
    "didnt-stop": _didnt_stop,
    "unawaited": _unawaited,
}
AFTER: dict[str, Check] = {
    "leaks": _releases,
    "released": _releases,
    "unbound": _real_error,
    "swallows": _propagates,
    "unawaited": _releases,
}


def test_there_are_runtime_cases_for_every_rule_about_run_time_behaviour() -> None:
    folders = {fixture.rule_folder for fixture in RUNTIME}
    assert {"LL001", "LL002", "LL003"} <= folders


@pytest.mark.parametrize(("fixture", "driver"), CASES, ids=_id)
def test_unfixed_behaviour(fixture: Fixture, driver: str) -> None:
    _, behaviour = _behaviour(fixture)
    BEFORE[behaviour](_run(fixture, fixture.text, str(fixture.path), driver))


@pytest.mark.parametrize(("fixture", "driver"), FIXED_CASES, ids=_id)
def test_fixed_behaviour(fixture: Fixture, driver: str) -> None:
    _, behaviour = _behaviour(fixture)
    assert fixture.snapshot.exists(), f"{fixture.snapshot.name} missing"
    source = fixture.snapshot.read_text(encoding="utf-8")
    AFTER[behaviour](_run(fixture, source, str(fixture.snapshot), driver))
