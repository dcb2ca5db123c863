"""DESIGN §6, at run time: each fixture's generator is driven as production drives it —
through ``contextlib`` with a failing ``with`` body, through FastAPI's ``TestClient`` with an
endpoint that raises, as pytest tears a fixture down, or by the framework its header names
(``driver=``: a lifespan, Litestar, FastDepends, dishka, dependency-injector, aiohttp) with the
code that uses the value failing — once as written and once fixed. The unfixed run must show
the bug the rule is about; the fixed run must not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fixture_support import Fixture, Runtime, all_fixtures
from runtime_support import (
    DRIVER_LIBRARIES,
    RUNTIME_DRIVERS,
    Boom,
    DriveResult,
    SetupFailed,
    drive,
    drivers_for,
    load_function,
    load_function_and_state,
)
from test_fixtures import FIXABLE

RUNTIME = [fixture for fixture in all_fixtures() if fixture.runtime() is not None]


def _header(fixture: Fixture) -> Runtime:
    runtime = fixture.runtime()
    assert runtime is not None
    return runtime


def _drivers(fixture: Fixture) -> list[str]:
    """The driver the header forces, or those chosen from the function."""
    header = _header(fixture)
    if header.driver is not None:
        return [header.driver]
    return drivers_for(load_function(fixture.text, str(fixture.path), header.function)[0])


CASES = [(fixture, driver) for fixture in RUNTIME for driver in _drivers(fixture)]
FIXED_CASES = [(fixture, driver) for fixture, driver in CASES if fixture in FIXABLE]


def _id(case: object) -> str:
    if isinstance(case, Fixture):
        return f"{case.rule_folder}/{case.path.name}"
    return str(case)


def _run(fixture: Fixture, source: str, filename: str, driver: str) -> DriveResult:
    name, behaviour, _ = _header(fixture)
    if driver in DRIVER_LIBRARIES:
        pytest.importorskip(DRIVER_LIBRARIES[driver])
    function, state, tracker = load_function_and_state(
        source, filename, name, with_state=behaviour == "not-undone"
    )
    before = state() if state is not None else None
    result = drive(
        function,
        driver,
        tracker,
        fail_acquisition=behaviour == "unbound",
        fail_setup=behaviour == "setup-leaks",
        # a second yield, and a release only on error, show when the caller succeeds
        caller_fails=behaviour not in ("didnt-stop", "leaks-on-success"),
    )
    if state is not None:
        result.restored = state() == before
    return result


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


def _commits(result: DriveResult) -> None:
    _made_resources(result)
    assert result.commits, "expected a commit after the caller failed, none was made"


def _no_commit(result: DriveResult) -> None:
    _made_resources(result)
    assert not result.commits, f"{result.commits} commit(s) after the caller failed"


def _skips_rollback(result: DriveResult) -> None:
    _made_resources(result)
    assert not result.rollbacks, "the inner generator's rollback ran: its except saw the error"


def _rolls_back(result: DriveResult) -> None:
    _releases(result)
    assert result.rollbacks, "the caller failed and nothing was rolled back"


def _setup_leaks(result: DriveResult) -> None:
    _leaks(result)
    assert isinstance(result.escaped, SetupFailed), repr(result.escaped)


def _setup_releases(result: DriveResult) -> None:
    _releases(result)
    assert isinstance(result.escaped, SetupFailed), repr(result.escaped)


def _unawaited(result: DriveResult) -> None:
    _leaks(result)
    assert result.never_awaited, "expected a 'coroutine ... was never awaited' warning"


def _not_undone(result: DriveResult) -> None:
    _propagates(result)
    assert result.restored is False, "expected state() to read differently after the failure"


def _undone(result: DriveResult) -> None:
    _propagates(result)
    assert result.restored is True, "state() reads differently after the failure: not undone"


Check = Callable[[DriveResult], None]
BEFORE: dict[str, Check] = {
    "leaks": _leaks,
    "leaks-on-success": _leaks,
    "released": _releases,
    "unbound": _unbound,
    "swallows": _swallows,
    "didnt-stop": _didnt_stop,
    "unawaited": _unawaited,
    "commits-on-error": _commits,
    "skips-rollback": _skips_rollback,
    "setup-leaks": _setup_leaks,
    "not-undone": _not_undone,
}
AFTER: dict[str, Check] = {
    "leaks": _releases,
    "leaks-on-success": _releases,
    "released": _releases,
    "unbound": _real_error,
    "swallows": _propagates,
    "unawaited": _releases,
    "commits-on-error": _no_commit,
    "skips-rollback": _rolls_back,
    "setup-leaks": _setup_releases,
    "not-undone": _undone,
}


def test_there_are_runtime_cases_for_every_rule_about_run_time_behaviour() -> None:
    folders = {fixture.rule_folder for fixture in RUNTIME}
    assert {"LL001", "LL002", "LL003"} <= folders


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("# runtime: get_db", Runtime("get_db", "leaks", None)),
        ("# runtime: get_db before=unbound", Runtime("get_db", "unbound", None)),
        (
            "# runtime: lifespan driver=lifespan before=released",
            Runtime("lifespan", "released", "lifespan"),
        ),
        (
            "# runtime: ctx before=released driver=aiohttp-cleanup-ctx",
            Runtime("ctx", "released", "aiohttp-cleanup-ctx"),
        ),
    ],
)
def test_runtime_header(tmp_path: Path, header: str, expected: Runtime) -> None:
    path = tmp_path / "module.py"
    path.write_text(f"{header}\n\ndef get_db():\n    yield 1\n", encoding="utf-8")
    assert Fixture(path, path).runtime() == expected


@pytest.mark.parametrize(
    "header",
    [
        "# runtime: get_db before=forgets",
        "# runtime: get_db drive=fastapi",
        "# runtime: get_db driver=fastapi driver=litestar",
        "# runtime: get_db driver=",
    ],
)
def test_unreadable_runtime_header(tmp_path: Path, header: str) -> None:
    path = tmp_path / "module.py"
    path.write_text(f"{header}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"module\.py"):
        Fixture(path, path).runtime()


def test_the_runtime_drivers_are_the_rows_of_the_driver_table() -> None:
    from leaklint.analysis.drivers import DEPENDS_MARKER, DRIVERS

    assert sorted(RUNTIME_DRIVERS) == sorted(d.name for d in DRIVERS if d is not DEPENDS_MARKER)


def test_every_driver_a_header_names_is_known() -> None:
    named = {fixture.path.name: _header(fixture).driver for fixture in RUNTIME}
    unknown = {
        name: driver for name, driver in named.items() if driver not in (None, *RUNTIME_DRIVERS)
    }
    assert not unknown


def test_every_driver_drives_a_fixture() -> None:
    driven = {driver for _, driver in CASES}
    assert driven == set(RUNTIME_DRIVERS), sorted(set(RUNTIME_DRIVERS) - driven)


@pytest.mark.parametrize(("fixture", "driver"), CASES, ids=_id)
def test_unfixed_behaviour(fixture: Fixture, driver: str) -> None:
    behaviour = _header(fixture).before
    BEFORE[behaviour](_run(fixture, fixture.text, str(fixture.path), driver))


@pytest.mark.parametrize(("fixture", "driver"), FIXED_CASES, ids=_id)
def test_fixed_behaviour(fixture: Fixture, driver: str) -> None:
    behaviour = _header(fixture).before
    assert fixture.snapshot.exists(), f"{fixture.snapshot.name} missing"
    source = fixture.snapshot.read_text(encoding="utf-8")
    AFTER[behaviour](_run(fixture, source, str(fixture.snapshot), driver))


def test_a_moved_shutdown_sequence_stops_the_task_before_closing_its_client() -> None:
    """LL001's fix moves the whole sequence: on the error path the worker task is cancelled and
    awaited, then its Redis client closed. Before the fix neither happens."""
    import asyncio

    [fixture] = [f for f in RUNTIME if f.path.name == "shutdown_task_cancel.py"]

    def after_failure(source: str) -> tuple[bool, list[object]]:
        function, tracker = load_function(source, str(fixture.path), "background_worker")
        tracker.resources.clear()
        tracker.recording = True
        seen: list[asyncio.Task[None]] = []

        async def run() -> bool:
            try:
                async with function() as task:
                    seen.append(task)
                    raise Boom("the body fails")
            except Boom:
                return seen[0].done()  # still in the loop: nothing else has stopped it
            raise AssertionError("the body's error did not come back")

        stopped = asyncio.run(run())
        tracker.recording = False
        return stopped, tracker.open_resources()

    stopped, left_open = after_failure(fixture.text)
    assert not stopped and left_open, "the unfixed worker should keep running on an open client"
    stopped, left_open = after_failure(fixture.snapshot.read_text(encoding="utf-8"))
    assert stopped and not left_open, left_open


def test_closing_every_session_reaches_other_units_of_work() -> None:
    """LL012 on real SQLAlchemy (SQLite in memory): a unit of work that ends with
    ``close_all_sessions()`` ends the transaction of another session still in use; closing its
    own session leaves the other one alone."""
    pytest.importorskip("sqlalchemy")
    from sqlalchemy import text

    [fixture] = [
        f for f in all_fixtures() if f.path.name == "close_all_sessions_in_context_manager.py"
    ]

    def other_still_open(source: str) -> bool:
        namespace: dict[str, object] = {"__name__": "unit_of_work_under_test"}
        exec(compile(source, str(fixture.path), "exec"), namespace)
        other = namespace["SessionLocal"]()  # type: ignore[operator]
        other.execute(text("SELECT 1"))  # another request, in the middle of its transaction
        assert other.in_transaction()
        with namespace["unit_of_work"]() as session:  # type: ignore[operator]
            session.execute(text("SELECT 2"))
        still_open = bool(other.in_transaction())
        other.close()
        return still_open

    assert not other_still_open(fixture.text), "close_all_sessions() left the other session"
    own_close = fixture.text.replace("close_all_sessions()", "session.close()")
    assert other_still_open(own_close)


def test_closing_a_module_level_client_breaks_the_next_request() -> None:
    """LL010 with the real httpx behind a FastAPI app: the first request closes the shared
    client and the second fails; without the close both succeed."""
    httpx = pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    [fixture] = [f for f in all_fixtures() if f.path.name == "module_client_closed_per_request.py"]

    def statuses(source: str) -> list[object]:
        namespace: dict[str, object] = {"__name__": "shared_client_under_test"}
        exec(compile(source, str(fixture.path), "exec"), namespace)
        namespace["rates_client"] = httpx.AsyncClient(
            base_url="https://rates.example.com",
            transport=httpx.MockTransport(lambda request: httpx.Response(200, json={"rate": 1})),
        )
        outcomes: list[object] = []
        with TestClient(namespace["app"]) as client:  # type: ignore[arg-type]
            for _ in range(2):
                try:
                    outcomes.append(client.get("/rates/EUR").status_code)
                except RuntimeError as error:  # re-raised from the server
                    outcomes.append(str(error))
        return outcomes

    first, second = statuses(fixture.text)
    assert first == 200 and "client has been closed" in str(second), (first, second)
    owner_closes = fixture.text.replace("await rates_client.aclose()", "pass")
    assert statuses(owner_closes) == [200, 200]
