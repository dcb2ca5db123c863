"""Is LL002's rewrite behaviour-preserving? Measured with the real libraries.

LL002 asks to rewrite a generator that yields from inside the ``with`` owning its resource

    with Session(engine) as session:            async with AsyncSession(engine) as session:
        yield session                               yield session

into the explicit form

    session = Session(engine)                   session = AsyncSession(engine)
    try:                                        try:
        yield session                               yield session
    finally:                                    finally:
        session.close()                             await session.close()

which is only acceptable where the two are equivalent on every path a request can take. For each
resource type, tests/equivalence_support.py drives both forms, wrapped in
``contextlib.contextmanager`` / ``asynccontextmanager`` and entered by a caller, down every path:
the caller's body completes (``success``), raises (``error``), is cancelled once while it awaits
(``cancel``), runs in an anyio task group whose cancel scope is cancelled, as Starlette cancels a
request (``anyio-cancel``: every ``await`` of the cleanup is cancelled again), or is cancelled
again while its cleanup runs (``double-cancel``); async types take all five, sync types the first
two. It records plain facts: closed flags, the pool's checked-out connections, SQLAlchemy pool
events (a connection invalidated and closed instead of given back), whether the body's
uncommitted write was committed, the connections an HTTP server or PostgreSQL still has open, what
reached the caller, warnings (``coroutine ... was never awaited``), the event loop's errors and
the warnings and errors logged.

:data:`MEASURED` is the verdict per type; :data:`DIFFERENCES` the facts that differ between the
forms, path by path. The test fails when a library changes either: a new difference, one that
went away, or a verdict that no longer follows from them.

``python -m pytest tests/test_equivalence.py -s`` prints the table of outcomes. The PostgreSQL
types are ``e2e`` tests on the session's throw-away server (tests/postgres_server.py). The nox
session ``equivalence_sqlalchemy20`` runs this module on SQLAlchemy 2.0.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import importlib
import importlib.util
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import equivalence_support as support
import installed
import pytest
from equivalence_support import CASES, FORMS, Case, Differences, Outcomes

MEASURED: dict[str, str] = {
    "sqlalchemy.orm.Session": "equivalent",
    "sqlalchemy.orm.sessionmaker": "equivalent",
    "sqlalchemy.engine.Engine.connect": "equivalent",
    "sqlalchemy.ext.asyncio.AsyncSession": "with-shielded",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "with-shielded",
    "sqlalchemy.ext.asyncio.AsyncEngine.connect": "with-shielded",
    "httpx.Client": "equivalent",
    "httpx.AsyncClient": "equivalent",
    "aiohttp.ClientSession": "equivalent",
    "requests.Session": "equivalent",
    "sqlite3.connect": "with-does-not-close",
    "aiosqlite.connect": "equivalent",
    "open": "equivalent",
    "psycopg.connect": "with-commits",
    "psycopg.AsyncConnection.connect": "with-commits",
    "psycopg2.connect": "with-does-not-close",
    "asyncpg.pool.Pool.acquire": "equivalent",
}
"""The verdict per type, keyed by the qualified call leaklint's knowledge base uses:

* ``equivalent``: the same outcome on every path;
* ``with-shielded``: the ``with`` form survives cancellation better (SQLAlchemy's async
  ``__aexit__`` closes in a task of its own, shielded from cancellation; the explicit
  ``await session.close()`` is cancelled mid-reset and the pool invalidates the connection);
* ``with-commits``: the ``with`` exit commits (or rolls back) and then closes; the explicit
  ``close()`` drops the uncommitted work;
* ``with-does-not-close``: the ``with`` exit only ends the transaction: that form leaks the
  connection.

``open`` is equivalent in behaviour; ruff's SIM115 reports the explicit form all the same
(:func:`test_ruff_reports_the_explicit_open`)."""

VERDICTS = ("equivalent", "with-shielded", "with-commits", "with-does-not-close")
REQUEST_PATHS = ("success", "error")
CANCELLATION_PATHS = ("cancel", "anyio-cancel", "double-cancel")


def _sqlalchemy_2_0() -> bool:
    try:
        import sqlalchemy
    except ImportError:
        return False
    return sqlalchemy.__version__.startswith("2.0.")


def _psycopg_before_3_3() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return tuple(int(part) for part in psycopg.__version__.split(".")[:2]) < (3, 3)


# The explicit `await session.close()` cancelled while it resets the connection: the pool
# invalidates it and closes the DBAPI connection instead of resetting it and keeping it.
_INVALIDATED = {"reset": (1, 0), "invalidated": (0, 1), "DBAPI close events": (0, 1)}
# SQLAlchemy 2.0 leaves the AsyncConnection whose close was cancelled marked open (its pool
# record was given back all the same); 2.1 marks it closed.
_ASYNC_CONNECTION_INVALIDATED = {
    **_INVALIDATED,
    **({"closed": (True, False)} if _sqlalchemy_2_0() else {}),
}
# On PostgreSQL the invalidated connection's backend is gone; the `with` form's is idle in the pool.
_INVALIDATED_ON_SERVER = {**_INVALIDATED, "server: backends": (1, 0)}

DIFFERENCES: dict[str, Differences] = {
    "sqlalchemy.ext.asyncio.AsyncSession (aiosqlite)": {
        "anyio-cancel": _INVALIDATED,
        "double-cancel": _INVALIDATED,
    },
    "sqlalchemy.ext.asyncio.async_sessionmaker (aiosqlite)": {
        "anyio-cancel": _INVALIDATED,
        "double-cancel": _INVALIDATED,
    },
    "sqlalchemy.ext.asyncio.AsyncEngine.connect (aiosqlite)": {
        "anyio-cancel": _ASYNC_CONNECTION_INVALIDATED,
        "double-cancel": _ASYNC_CONNECTION_INVALIDATED,
    },
    "sqlalchemy.ext.asyncio.AsyncSession (asyncpg)": {
        "anyio-cancel": _INVALIDATED_ON_SERVER,
        "double-cancel": _INVALIDATED_ON_SERVER,
    },
    # `with conn:` commits (on success) or rolls back, and leaves the connection open
    "sqlite3.connect": {
        "success": {"closed": (False, True), "data": ("committed", "not committed")},
        "error": {"closed": (False, True)},
    },
    "psycopg2.connect": {
        "success": {
            "closed": (False, True),
            "data": ("committed", "not committed"),
            "server: backends": (1, 0),
        },
        "error": {"closed": (False, True), "server: backends": (1, 0)},
    },
    # psycopg 3's exit commits on success (rolls back on error) and then closes
    "psycopg.connect": {
        "success": {"data": ("committed", "not committed")},
    },
    "psycopg.AsyncConnection.connect": {
        "success": {"data": ("committed", "not committed")},
        # the `with` exit's rollback is cancelled, again and again: psycopg 3.3 logs a warning
        # and closes the connection itself; 3.2 lets the cancellation through before the exit's
        # close(), and the connection stays open. The explicit form only closes, which does not
        # await.
        "anyio-cancel": (
            {"closed": (False, True), "server: backends": (1, 0)}
            if _psycopg_before_3_3()
            else {"logged": (("psycopg WARNING",), ())}
        ),
        # the second cancellation interrupts the exit's rollback, and its close() is never
        # reached: the connection stays open until garbage collected. The explicit close()
        # finishes without awaiting, before the second cancellation comes.
        "double-cancel": {
            "cancelled again in cleanup": (True, False),
            "closed": (False, True),
            "server: backends": (1, 0),
        },
    },
}
"""``case id -> path -> {fact: (with form, explicit form)}``; a case missing here gives the same
outcome in both forms on every path."""

CALLER_SEES = {
    "success": "nothing",
    "error": "CallerError",
    "cancel": "CancelledError",
    "anyio-cancel": "cancelled (the scope caught it)",
    "double-cancel": "CancelledError",
}
"""What reaches the caller on each path, in both forms of every type."""


def verdict(differences: Differences) -> str:
    """The verdict that the measured differences support."""
    if not differences:
        return "equivalent"
    on_requests = [differences[path] for path in REQUEST_PATHS if path in differences]
    if any(facts.get("closed") == (False, True) for facts in on_requests):
        return "with-does-not-close"
    if any("data" in facts for facts in on_requests):
        return "with-commits"
    invalidated = [facts.get("invalidated", (0, 0)) for facts in differences.values()]
    if set(differences) <= set(CANCELLATION_PATHS) and all(w < e for w, e in invalidated):
        return "with-shielded"
    return f"unclassified: {differences}"


# --- fixtures ------------------------------------------------------------------------------------


_RESULTS: dict[type[Case], Outcomes] = {}


@pytest.fixture(scope="module", autouse=True)
def quiet_collector() -> Iterator[None]:
    """Each drive ends with ``gc.collect()`` (to see warnings of what it left behind); freezing
    what exists already keeps those collections to the drive's own objects (milliseconds, not
    tens of them)."""
    for module in {name for case in CASES for name in case.needs} | {"anyio", "sqlalchemy.orm"}:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    """The table of outcomes, printed when the module is done (shown with ``-s``)."""
    yield
    if _RESULTS:
        print("\n[equivalence] outcome of each form on each path\n")
        print(support.markdown_table(dict(_RESULTS), MEASURED))
        _RESULTS.clear()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("equivalence")


def _param(case_type: type[Case]) -> Any:
    marks = [pytest.mark.e2e, pytest.mark.slow] if case_type.needs_postgres else []
    return pytest.param(case_type, id=case_type.case_id(), marks=marks)


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case_type", [_param(case_type) for case_type in CASES])
def test_with_and_explicit_forms(
    case_type: type[Case], workdir: Path, request: pytest.FixtureRequest
) -> None:
    for module in case_type.needs:
        pytest.importorskip(module)
    postgres = request.getfixturevalue("postgres") if case_type.needs_postgres else None
    outcomes: Outcomes = {
        (path, form): support.drive(case_type, form, path, workdir, postgres)
        for path in support.paths(case_type)
        for form in FORMS
    }
    _RESULTS[case_type] = outcomes
    table = support.markdown_table({case_type: outcomes}, MEASURED)

    # every path was taken as intended, in both forms
    for (path, form), facts in outcomes.items():
        assert facts["caller saw"] == CALLER_SEES[path], f"{path}, {form} form:\n{table}"
        for name, value in case_type.in_body:
            assert facts[name] == value, f"{path}, {form} form, in the body:\n{table}"
    if "double-cancel" in support.paths(case_type):
        assert any(
            outcomes["double-cancel", form]["cancelled again in cleanup"] for form in FORMS
        ), f"the second cancellation never came during a cleanup:\n{table}"

    differences = support.compare(outcomes)
    expected = DIFFERENCES.get(case_type.case_id(), {})
    assert differences == expected, f"the forms no longer compare as measured:\n{table}"
    assert verdict(differences) == MEASURED[case_type.key], table


def test_measured_names_the_cases_and_the_knowledge_base() -> None:
    """One verdict per measured type, from the closed set; each key is the qualified call
    leaklint's knowledge base uses and names a real callable."""
    from leaklint.analysis.resources import FACTORIES, METHOD_FACTORIES, POOL_CHECKOUTS

    assert set(MEASURED) == {case_type.key for case_type in CASES}
    assert set(MEASURED.values()) <= set(VERDICTS)
    assert set(DIFFERENCES) <= {case_type.case_id() for case_type in CASES}
    for key in MEASURED:
        method = key.rpartition(".")[2]
        in_knowledge_base = (
            key in FACTORIES
            or (key.endswith("sessionmaker"))  # the sessions a session factory makes
            or (key.endswith("Engine.connect") and method in METHOD_FACTORIES)
            or (key.endswith("Pool.acquire") and method in POOL_CHECKOUTS)
        )
        assert in_knowledge_base, key
    for case_type in CASES:
        if not all(importlib.util.find_spec(name) for name in case_type.needs):
            continue
        assert callable(_resolve(case_type.key)), case_type.key


def _knowledge_base_row(key: str) -> Any:
    """The knowledge base's row for a measured key, as the analysis types that call."""
    from leaklint.analysis import resources

    if key in resources.FACTORIES:
        return resources.FACTORIES[key]
    if key in resources.SESSION_FACTORY_MAKERS:
        return resources.SESSION_FACTORY_MAKERS[key]
    return {
        "sqlalchemy.engine.Engine.connect": resources.SQLALCHEMY_CONNECTION,
        "sqlalchemy.ext.asyncio.AsyncEngine.connect": resources.SQLALCHEMY_CONNECTION.as_async(),
        "asyncpg.pool.Pool.acquire": resources.POOL_CHECKOUTS["acquire"][1],
    }[key]


def test_ll002_asks_only_where_the_forms_were_measured_equivalent() -> None:
    """The knowledge base's ``with_form`` agrees with the measurement: a row says EQUIVALENT
    (LL002 may ask for the explicit form) only when its type was measured equivalent, and a
    type measured otherwise has the row that says why LL002 does not ask. A type measured
    equivalent may still not be asked for (files: SIM115; a factory whose result must be
    awaited, such as ``aiosqlite.connect``, where the fix has no form yet)."""
    from leaklint.analysis import resources
    from leaklint.analysis.resources import WithForm

    allowed = {
        "equivalent": {WithForm.EQUIVALENT, WithForm.LINTERS_REQUIRE, WithForm.UNMEASURED},
        "with-shielded": {WithForm.SHIELDED},
        "with-commits": {WithForm.COMMITS},
        "with-does-not-close": {WithForm.DOES_NOT_CLOSE},
    }
    for key, measured in MEASURED.items():
        row = _knowledge_base_row(key)
        assert row.with_form in allowed[measured], (key, measured, row.with_form)
    measured_equivalent = [
        _knowledge_base_row(key) for key, measured in MEASURED.items() if measured == "equivalent"
    ]
    rows = {
        **resources.FACTORIES,
        **resources.SESSION_FACTORY_MAKERS,
        "engine.connect()": resources.SQLALCHEMY_CONNECTION,
    }
    for name, row in rows.items():
        if row.with_form is WithForm.EQUIVALENT:
            assert row in measured_equivalent, f"{name}: EQUIVALENT but never measured"


def _resolve(qualified: str) -> Any:
    if "." not in qualified:
        return getattr(builtins, qualified)
    parts = qualified.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ImportError(qualified)


def test_ruff_reports_the_explicit_open(tmp_path: Path) -> None:
    """``open`` behaves the same in both forms, but ruff's SIM115 (open-file-with-context-handler)
    reports the explicit form, and only it."""
    ruff = installed.command("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    with_form = tmp_path / "with_form.py"
    with_form.write_text(
        "from contextlib import contextmanager\n\n\n@contextmanager\ndef opened(path):\n"
        "    with open(path) as file:\n        yield file\n"
    )
    explicit_form = tmp_path / "explicit_form.py"
    explicit_form.write_text(
        "from contextlib import contextmanager\n\n\n@contextmanager\ndef opened(path):\n"
        "    file = open(path)\n    try:\n        yield file\n    finally:\n        file.close()\n"
    )
    reports = {}
    for path in (with_form, explicit_form):
        result = subprocess.run(
            [ruff, "check", "--isolated", "--select", "SIM115", "--output-format", "concise", path],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        reports[path.name] = result.stdout
    assert "SIM115" not in reports["with_form.py"], reports
    assert "SIM115" in reports["explicit_form.py"], reports
