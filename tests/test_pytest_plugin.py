"""``pytest --leaklint``: a test fails when one of its requests leaves a resource behind, and the
failure names the dependency that took it and the static finding that explains it.

Each test writes a small FastAPI app on SQLite (sync, and aiosqlite for ``AsyncSession``) and a
test suite for it into a pytester folder, and runs pytest there in process. The leaks are real:
the watch counts the SQLAlchemy pool's own check-outs and check-ins.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
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
        assert f"{request} did not give back a pooled connection of engine sqlite" in text, text
        assert f"taken in generator {dependency} (shop/deps.py:" in text, text
        assert f"{code} at shop/deps.py:" in text, text
    assert "leaklint: 8 requests watched, 5 resources left behind in 5 tests" in result.outlines


def test_after_leaklint_fix_the_same_suite_passes(pytester: pytest.Pytester) -> None:
    _write_shop(pytester)
    fixed = subprocess.run(
        [sys.executable, "-m", "leaklint", "--fix", "--unsafe-fixes", "--no-cache", "shop"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "(5 fixed, 0 remaining)" in fixed.stdout
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
    result.assert_outcomes(passed=8)
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
    assert "GET /items/7 did not give back" in output
