"""The bundled example app (examples/fastapi_sqlalchemy) under ``pytest --leaklint``, on a real
pool: SQLite with aiosqlite in tests/test_pytest_plugin.py, PostgreSQL (psycopg and asyncpg) in
tests/test_e2e_postgres.py.

A small test suite of the kind the app's team would write is run with the watch on, on the app
as written and on the app after ``leaklint --fix --unsafe-fixes``."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "fastapi_sqlalchemy" / "app"

# Sync endpoints through TestClient, async ones through httpx on an ASGITransport. The leaking
# requests come last: the pool holds two connections, and a leaked one goes back only when the
# garbage collector frees its session.
SUITE = """
import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app, raise_server_exceptions=False)


def test_health():
    assert client.get("/health").json() == {"status": "ok"}


def test_missing_user():  # get_session: `with Session(engine)`, closed on every path
    assert client.get("/users/1").status_code == 404


def test_missing_item():  # get_db: db.close() after a bare yield
    assert client.get("/items/1").status_code == 404


@pytest.mark.anyio
async def test_missing_item_async():  # get_async_db, the same with AsyncSession
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        assert (await http.get("/async/items/1")).status_code == 404


def test_failing_report():  # get_report_db: never closed
    assert client.get("/reports/1").status_code == 500


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

CONFTEST = """
import os

os.environ.update({environment!r})
"""

LEAKING = {
    "test_missing_item": ("GET /items/1", "app.deps.get_db", "LL001"),
    "test_missing_item_async": ("GET /async/items/1", "app.deps.get_async_db", "LL001"),
    "test_failing_report": ("GET /reports/1", "app.deps.get_report_db", "LL003"),
}
CLEAN = {"test_health", "test_missing_user"}


@dataclass
class Outcome:
    failures: dict[str, str]
    """Each failed test's name and failure text."""
    passed: set[str]
    output: str


def run_pytest(pytester: pytest.Pytester, *arguments: str) -> Outcome:
    """pytest with ``arguments`` in its own process (a driver's compiled modules do not survive
    pytester's in-process runs), read back from its JUnit XML report."""
    report = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess(
        *arguments, "-p", "no:cacheprovider", f"--junitxml={report}"
    )
    failures: dict[str, str] = {}
    passed: set[str] = set()
    for case in ElementTree.parse(report).iter("testcase"):
        problems = [child for child in case if child.tag in ("failure", "error")]
        if problems:
            failures[case.attrib["name"]] = "\n".join(
                f"{problem.attrib.get('message', '')}\n{problem.text or ''}" for problem in problems
            )
        elif not any(child.tag == "skipped" for child in case):
            passed.add(case.attrib["name"])
    return Outcome(failures, passed, result.stdout.str())


def fix_with_leaklint(folder: Path, package: str) -> str:
    """``leaklint --fix --unsafe-fixes`` on ``package`` in ``folder``, as a user runs it; its
    output. Every finding must be fixed."""
    fixed = subprocess.run(
        [sys.executable, "-m", "leaklint", "--fix", "--unsafe-fixes", "--no-cache", package],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return fixed.stdout


def run_example(pytester: pytest.Pytester, environment: dict[str, str]) -> tuple[Outcome, Outcome]:
    """Run the suite with ``--leaklint`` on the app as written, then on the app fixed by
    ``leaklint --fix --unsafe-fixes``; ``environment`` points the app at its databases."""
    shutil.copytree(EXAMPLE, pytester.path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    pytester.makeconftest(CONFTEST.format(environment=environment))
    pytester.makepyfile(**{"tests/test_example": SUITE})
    pytester.makeini("[pytest]\npythonpath = .\n")
    before = run_pytest(pytester, "--leaklint")
    fix_with_leaklint(pytester.path, "app")
    after = run_pytest(pytester, "--leaklint")
    return before, after


def left_a_pooled_connection(text: str, request: str, engine: str) -> bool:
    """The failure says ``request`` left a connection of ``engine`` checked out. Which of two
    words it uses depends on the collector: if it freed the leaked session before the request
    ended, SQLAlchemy's clean-up gave the connection back, and the watch still counts that."""
    return f"{request} did not give back a pooled connection of engine {engine}" in text or (
        f"{request} gave a pooled connection of engine {engine}" in text
        and "back only when it was garbage collected" in text
    )


def assert_leaks_found_then_fixed(before: Outcome, after: Outcome, engine: str) -> None:
    """Exactly the leaking requests fail, each naming its dependency; after the fix none does."""
    assert set(before.failures) == set(LEAKING), before.output
    assert before.passed == CLEAN, before.output
    for test, (request, dependency, code) in LEAKING.items():
        text = before.failures[test]
        assert left_a_pooled_connection(text, request, engine), text
        assert f"taken in generator {dependency} (app/deps.py:" in text, text
        assert f"{code} at app/deps.py:" in text, text
    assert after.failures == {}, after.output
    assert after.passed == set(LEAKING) | CLEAN, after.output
