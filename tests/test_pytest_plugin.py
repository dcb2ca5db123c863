"""``pytest --leaklint``: a test fails when one of its requests leaves a resource behind, and the
failure names the dependency that took it and the static finding that explains it.

Each test writes a small FastAPI app on SQLite (sync, and aiosqlite for ``AsyncSession``) and a
test suite for it into a pytester folder, and runs pytest there in process. The leaks are real:
the watch counts the SQLAlchemy pool's own check-outs and check-ins.
"""

from __future__ import annotations

from typing import Any

import pytest
from example_suite import (
    assert_leaks_found_then_fixed,
    fix_with_leaklint,
    left_a_pooled_connection,
    run_example,
    run_pytest,
)

# imported once here: pytester's in-process runs forget the modules they import themselves
pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy.ext.asyncio")
pytest.importorskip("aiosqlite")

pytest_plugins = ["pytester"]

DATABASE = """
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

FILE = Path(__file__).resolve().parent.parent / "shop.db"
engine = create_engine(f"sqlite:///{FILE}")
SessionLocal = sessionmaker(bind=engine)
# a replica that cannot be reached: connecting raises
replica_engine = create_engine("sqlite:////nonexistent-folder/replica.db")
async_engine = create_async_engine(f"sqlite+aiosqlite:///{FILE}")
AsyncSessionLocal = async_sessionmaker(async_engine)
"""

DEPENDENCIES = """
from .database import AsyncSessionLocal, SessionLocal, engine, replica_engine


def get_db():
    db = SessionLocal()
    yield db
    db.close()


async def get_async_db():
    session = AsyncSessionLocal()
    yield session
    await session.close()


def get_report_db():
    db = SessionLocal()
    yield db


def get_audit_db():
    db = SessionLocal()
    try:
        yield db
    except Exception:
        db.close()
        raise


def get_connections():
    primary = engine.connect()
    replica = replica_engine.connect()
    try:
        yield primary, replica
    finally:
        replica.close()
        primary.close()


def get_checked_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""

MAIN = """
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import text

from .deps import (
    get_async_db,
    get_audit_db,
    get_checked_db,
    get_connections,
    get_db,
    get_report_db,
)

app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: int, db: Annotated[object, Depends(get_db)]):
    db.execute(text("SELECT 1"))
    if item_id != 0:
        raise HTTPException(status_code=404)
    return {"id": item_id}


@app.get("/async/items/{item_id}")
async def read_item_async(item_id: int, session: Annotated[object, Depends(get_async_db)]):
    await session.execute(text("SELECT 1"))
    if item_id != 0:
        raise HTTPException(status_code=404)
    return {"id": item_id}


@app.get("/reports/{report_id}")
def read_report(report_id: int, db: Annotated[object, Depends(get_report_db)]):
    db.execute(text("SELECT 1"))
    return {"id": report_id}


@app.post("/audit")
def audit(db: Annotated[object, Depends(get_audit_db)]):
    db.execute(text("SELECT 1"))
    return {"ok": True}


@app.get("/replica")
def compare(connections: Annotated[object, Depends(get_connections)]):
    return {"ok": True}


@app.get("/health")
def health(db: Annotated[object, Depends(get_checked_db)]):
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
"""

SUITE = """
import httpx
import pytest
from fastapi.testclient import TestClient

from shop.main import app

client = TestClient(app, raise_server_exceptions=False)


def test_missing_item():  # LL001: the endpoint raises, db.close() is skipped
    assert client.get("/items/7").status_code == 404


def test_found_item():  # the same dependency, on the path where it closes
    assert client.get("/items/0").status_code == 200


def test_report():  # LL003: nothing closes the session
    assert client.get("/reports/1").status_code == 200


def test_audit():  # LL008: closed only when the endpoint fails
    assert client.post("/audit").status_code == 200


def test_replica_down():  # LL013: the replica's connect() raises, the primary stays out
    assert client.get("/replica").status_code == 500


def test_health():  # try/finally: nothing left
    assert client.get("/health").status_code == 200


@pytest.mark.anyio
async def test_missing_item_async(anyio_backend):  # LL001 with AsyncSession, over httpx
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as shop:
        assert (await shop.get("/async/items/7")).status_code == 404


@pytest.mark.asyncio
async def test_missing_item_asyncio():  # pytest-asyncio, a sync endpoint over httpx
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as shop:
        assert (await shop.get("/items/8")).status_code == 404


@pytest.mark.asyncio
async def test_found_item_async():  # pytest-asyncio, on the path where it closes
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as shop:
        assert (await shop.get("/async/items/0")).status_code == 200


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

INI = """
[pytest]
pythonpath = .
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""

LEAKING = {
    "test_missing_item": ("GET /items/7", "shop.deps.get_db", "LL001"),
    "test_report": ("GET /reports/1", "shop.deps.get_report_db", "LL003"),
    "test_audit": ("POST /audit", "shop.deps.get_audit_db", "LL008"),
    "test_replica_down": ("GET /replica", "shop.deps.get_connections", "LL013"),
    "test_missing_item_async": ("GET /async/items/7", "shop.deps.get_async_db", "LL001"),
    "test_missing_item_asyncio": ("GET /items/8", "shop.deps.get_db", "LL001"),
}
CLEAN = {"test_found_item", "test_health", "test_found_item_async"}


def _write_shop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        **{
            "shop/__init__": "",
            "shop/database": DATABASE,
            "shop/deps": DEPENDENCIES,
            "shop/main": MAIN,
            "tests/test_shop": SUITE,
        }
    )
    pytester.makeini(INI)


def _failures(result: pytest.RunResult) -> dict[str, str]:
    """Each failed test's name and failure text."""
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {
        report.nodeid.rpartition("::")[2]: report.longreprtext
        for report in reports
        if report.failed
    }


def _passed(result: pytest.RunResult) -> set[str]:
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {
        report.nodeid.rpartition("::")[2]
        for report in reports
        if report.when == "call" and report.passed
    }


def test_exactly_the_leaking_requests_fail_each_naming_its_dependency(
    pytester: pytest.Pytester,
) -> None:
    _write_shop(pytester)
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider")
    failures = _failures(result)
    assert set(failures) == set(LEAKING)
    assert _passed(result) == CLEAN
    for test, (request, dependency, code) in LEAKING.items():
        text = failures[test]
        assert left_a_pooled_connection(text, request, "sqlite"), text
        assert f"taken in generator {dependency} (shop/deps.py:" in text, text
        assert f"{code} at shop/deps.py:" in text, text
    assert "leaklint: 9 requests watched, 6 resources left behind in 6 tests" in result.outlines


def test_after_leaklint_fix_the_same_suite_passes(pytester: pytest.Pytester) -> None:
    _write_shop(pytester)
    assert "(5 fixed, 0 remaining)" in fix_with_leaklint(pytester.path, "shop")
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider")
    assert _failures(result) == {}
    assert _passed(result) == set(LEAKING) | CLEAN


def test_without_the_option_nothing_is_watched_or_imported(pytester: pytest.Pytester) -> None:
    _write_shop(pytester)
    pytester.makeconftest(
        """
        import sys
        from pathlib import Path

        def pytest_sessionfinish(session):
            loaded = [name for name in sys.modules if name.startswith("leaklint")]
            Path("leaklint-modules.txt").write_text(" ".join(sorted(loaded)))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    assert "leaklint:" not in result.stdout.str()
    loaded = (pytester.path / "leaklint-modules.txt").read_text().split()
    assert loaded == ["leaklint", "leaklint.pytest_plugin"]


def test_the_pytest_configuration_turns_it_on_and_can_make_it_warn(
    pytester: pytest.Pytester,
) -> None:
    _write_shop(pytester)
    pytester.makeini(INI + "leaklint = true\nleaklint_on_leak = warn\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert _failures(result) == {}
    output = result.stdout.str()
    assert "LeakWarning: leaklint: this test's requests left 1 resource behind" in output
    assert left_a_pooled_connection(output, "GET /items/7", "sqlite"), output


CALM_APP = """
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine(f"sqlite:///{Path(__file__).resolve().parent.parent / 'calm.db'}")


@asynccontextmanager
async def lifespan(app):
    # held for the app's whole life, not by any request
    async with httpx.AsyncClient(base_url="http://upstream") as client:
        with engine.connect() as connection:
            app.state.client = client
            app.state.connection = connection
            yield


app = FastAPI(lifespan=lifespan)


def get_db():
    with Session(engine) as session:
        yield session


@app.get("/items/{item_id}")
def read_item(item_id: int, db: Annotated[Session, Depends(get_db)]):
    db.execute(text("SELECT 1"))
    if item_id != 0:
        raise HTTPException(status_code=404)
    return {"id": item_id}


@app.get("/state")
async def state(request: Request):
    request.app.state.connection.execute(text("SELECT 1"))
    return {"client_open": not request.app.state.client.is_closed}
"""

CALM_SUITE = """
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from calm.app import app, engine, get_db


@pytest.fixture
def transaction_per_test():
    # the common pattern: one connection and transaction per test, rolled back afterwards
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    app.dependency_overrides[get_db] = lambda: session
    yield session
    app.dependency_overrides.clear()
    session.close()
    transaction.rollback()
    connection.close()


@pytest.fixture
def fixture_session():
    # a session the fixture owns; it checks its connection out lazily, during a request
    session = sessionmaker(bind=engine)()
    app.dependency_overrides[get_db] = lambda: session
    yield session
    app.dependency_overrides.clear()
    session.close()


@pytest.fixture(scope="session")
def test_engine():
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    yield engine
    engine.dispose()


@pytest.fixture
def in_memory_database(test_engine):
    def get_test_db():
        db = Session(test_engine)
        try:
            yield db
        finally:
            db.close()

    app.dependency_overrides[get_db] = get_test_db
    yield
    app.dependency_overrides.clear()


@pytest.fixture
def client():
    with TestClient(app) as client:
        yield client


def test_transaction_per_test(transaction_per_test, client):
    assert client.get("/items/1").status_code == 404
    assert client.get("/items/0").status_code == 200


def test_session_of_a_fixture(fixture_session, client):
    assert client.get("/items/1").status_code == 404
    assert client.get("/items/0").status_code == 200


def test_session_scoped_engine(in_memory_database, client):
    assert client.get("/items/1").status_code == 404
    assert client.get("/items/0").status_code == 200


def test_lifespan_held_client_and_connection(client):
    assert client.get("/state").json() == {"client_open": True}


def test_with_session_dependency(client):
    assert client.get("/items/1").status_code == 404
"""


def test_correct_apps_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        **{"calm/__init__": "", "calm/app": CALM_APP, "tests/test_calm": CALM_SUITE}
    )
    pytester.makeini(INI)
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    assert "leaklint: 8 requests watched, 0 resources left behind in 0 tests" in result.outlines


GAP_LIBRARY = """
from shop.database import SessionLocal


def get_db():
    db = SessionLocal()
    yield db
    db.close()
"""

GAP_DEPENDENCIES = """
import httpx

from .database import SessionLocal


def get_db_with_cleanups():
    db = SessionLocal()
    cleanups = [db.close]
    yield db
    for cleanup in cleanups:
        cleanup()


async def get_upstream():
    client = httpx.AsyncClient(base_url="http://upstream")
    yield client
    await client.aclose()
"""

GAP_MAIN = """
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from shoplib.deps import get_db
from sqlalchemy import text

from .database import engine
from .gaps import get_db_with_cleanups, get_upstream

app = FastAPI()


@app.get("/library/{item_id}")
def from_library(item_id: int, db: Annotated[object, Depends(get_db)]):
    db.execute(text("SELECT 1"))
    raise HTTPException(status_code=404)


@app.get("/cleanups/{item_id}")
def with_cleanups(item_id: int, db: Annotated[object, Depends(get_db_with_cleanups)]):
    db.execute(text("SELECT 1"))
    raise HTTPException(status_code=404)


@app.get("/upstream/{item_id}")
async def upstream(item_id: int, client: Annotated[object, Depends(get_upstream)]):
    raise HTTPException(status_code=404)


@app.get("/direct")
def direct():
    connection = engine.connect()
    connection.execute(text("SELECT 1"))
    return {"ok": True}
"""

GAP_SUITE = """
from fastapi.testclient import TestClient

from shop.gap_main import app

client = TestClient(app)


def test_library_dependency():
    assert client.get("/library/1").status_code == 404


def test_cleanup_list():
    assert client.get("/cleanups/1").status_code == 404


def test_upstream_client():
    assert client.get("/upstream/1").status_code == 404


def test_endpoint_leaves_it_to_the_collector():
    assert client.get("/direct").status_code == 200
"""


def test_leaks_no_static_rule_reports_say_so(pytester: pytest.Pytester) -> None:
    """A dependency an installed library provides, and a release the rules cannot follow."""
    _write_shop(pytester)
    site = pytester.path.parent / f"{pytester.path.name}-site-packages"
    (site / "shoplib").mkdir(parents=True)
    (site / "shoplib" / "__init__.py").write_text("")
    (site / "shoplib" / "deps.py").write_text(GAP_LIBRARY)
    pytester.syspathinsert(site)
    pytester.makepyfile(
        **{"shop/gaps": GAP_DEPENDENCIES, "shop/gap_main": GAP_MAIN, "tests/test_shop": GAP_SUITE}
    )
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider")
    failures = _failures(result)
    assert set(failures) == {
        "test_library_dependency",
        "test_cleanup_list",
        "test_upstream_client",
        "test_endpoint_leaves_it_to_the_collector",
    }
    library = failures["test_library_dependency"]
    assert "taken in generator shoplib.deps.get_db" in library
    assert "leaklint does not check this file (not among the files it finds in" in library
    cleanups = failures["test_cleanup_list"]
    assert "taken in generator shop.gaps.get_db_with_cleanups (shop/gaps.py:" in cleanups
    assert "no static finding explains it: leaklint's rules miss this shape" in cleanups
    upstream = failures["test_upstream_client"]
    assert "GET /upstream/1 did not give back an open httpx.AsyncClient" in upstream
    assert "LL001 at shop/gaps.py:" in upstream
    direct = failures["test_endpoint_leaves_it_to_the_collector"]
    assert left_a_pooled_connection(direct, "GET /direct", "sqlite"), direct
    assert "taken in function shop.gap_main.direct (shop/gap_main.py:" in direct
    assert "taken outside any generator: leaklint's rules look at generators only" in direct


def test_the_example_app_on_sqlite(pytester: pytest.Pytester) -> None:
    """The bundled example's real pools, sync (sqlite3) and async (aiosqlite)."""
    database = pytester.path / "example.db"
    before, after = run_example(
        pytester,
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "ASYNC_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        },
    )
    assert_leaks_found_then_fixed(before, after, engine="sqlite")


CLIENTS_APP = """
from typing import Annotated, Optional

import aiohttp
import httpx
from fastapi import Depends, FastAPI, HTTPException


async def get_session():
    session = aiohttp.ClientSession()
    yield session
    await session.close()


async def get_closed_session():
    async with aiohttp.ClientSession() as session:
        yield session


_shared: Optional[httpx.AsyncClient] = None


async def get_shared_client():
    # made on first use and kept for the life of the app, on purpose
    global _shared
    if _shared is None:
        _shared = httpx.AsyncClient()
    yield _shared


class Upstream:
    client: Optional[httpx.AsyncClient] = None


async def get_upstream_client():
    # the same, kept in a class attribute
    if Upstream.client is None:
        Upstream.client = httpx.AsyncClient()
    yield Upstream.client


app = FastAPI()


@app.get("/open/{item_id}")
async def left_open(item_id: int, session: Annotated[object, Depends(get_session)]):
    raise HTTPException(status_code=404)


@app.get("/closed/{item_id}")
async def closed(item_id: int, session: Annotated[object, Depends(get_closed_session)]):
    raise HTTPException(status_code=404)


@app.get("/shared/{item_id}")
async def shared(item_id: int, client: Annotated[object, Depends(get_shared_client)]):
    raise HTTPException(status_code=404)


@app.get("/upstream/{item_id}")
async def upstream(item_id: int, client: Annotated[object, Depends(get_upstream_client)]):
    raise HTTPException(status_code=404)
"""

CLIENTS_SUITE = """
from fastapi.testclient import TestClient

from clients.app import app

client = TestClient(app)


def test_left_open():
    assert client.get("/open/1").status_code == 404


def test_closed():
    assert client.get("/closed/1").status_code == 404


def test_shared():
    assert client.get("/shared/1").status_code == 404
    assert client.get("/shared/2").status_code == 404
    assert client.get("/upstream/1").status_code == 404
    assert client.get("/upstream/2").status_code == 404
"""


def test_a_client_left_open_is_a_leak_and_a_shared_one_is_not(pytester: pytest.Pytester) -> None:
    pytest.importorskip("aiohttp")
    pytester.makepyfile(
        **{"clients/__init__": "", "clients/app": CLIENTS_APP, "tests/test_clients": CLIENTS_SUITE}
    )
    pytester.makeini(INI)
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider")
    failures = _failures(result)
    assert set(failures) == {"test_left_open"}, result.stdout.str()
    text = failures["test_left_open"]
    assert "GET /open/1 did not give back an open aiohttp.ClientSession" in text
    assert "taken in generator clients.app.get_session (clients/app.py:" in text
    assert "LL001 at clients/app.py:" in text
    assert _passed(result) == {"test_closed", "test_shared"}


def test_a_failure_of_the_watch_never_breaks_the_app(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaklint.watch.sources

    def broken(frame: object) -> None:
        raise RuntimeError("no site today")

    monkeypatch.setattr(leaklint.watch.sources, "acquisition_site", broken)
    _write_shop(pytester)
    result = pytester.runpytest("--leaklint", "-p", "no:cacheprovider", "-k", "found or health")
    result.assert_outcomes(passed=3)
    assert any(
        line.startswith("leaklint: ") and "RuntimeError: no site today" in line
        for line in result.outlines
    ), result.stdout.str()


def test_under_xdist_each_worker_watches_and_the_summary_adds_up(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist")
    _write_shop(pytester)
    outcome = run_pytest(pytester, "--leaklint", "-n", "2")
    assert set(outcome.failures) == set(LEAKING), outcome.output
    assert outcome.passed == CLEAN
    assert "leaklint: 9 requests watched, 6 resources left behind in 6 tests" in outcome.output


def test_a_transport_wrapped_in_one_session_serves_the_next_sessions_watch() -> None:
    """A client kept at module level outlives an in-process pytest session: its wrapped app must
    count the next session's requests in the next session's ledger, and pass calls through when
    no watch is on."""
    import asyncio

    import httpx

    from leaklint.watch.sources import Watch

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    transport = httpx.ASGITransport(app=app)

    async def one_request() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return (await client.get("/")).status_code

    first, second = Watch(), Watch()
    first.start()
    try:
        assert asyncio.run(one_request()) == 204
    finally:
        first.stop()
    assert asyncio.run(one_request()) == 204  # no watch on: passed through
    second.start()
    try:
        assert asyncio.run(one_request()) == 204
    finally:
        second.stop()
    assert (first.ledger.requests, second.ledger.requests) == (1, 1)
    # the stopped watch hooked nothing again (its hooks would never be taken out)
    assert first._installed == set()
    assert httpx.ASGITransport.handle_async_request.__module__ == "httpx._transports.asgi"
