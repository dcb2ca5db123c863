"""The machinery of tests/test_equivalence.py: drive a resource-owning generator in its ``with``
form and in the explicit form LL002 asks for, the way a framework drives a dependency, down every
path a request can take, and write down what happened to the resource in plain facts.

A *case* is one resource type. It writes the two generators out literally (``with_form`` and
``explicit_form``, the code before and after LL002's rewrite), a body (what the endpoint does with
the resource: one write in a transaction it does not commit, or one HTTP request), and what to
look at afterwards (``observe``: closed flags, the pool's checked-out connections, pool events,
the data in the database, the connections the HTTP server still has open). Each drive builds a
fresh case: a fresh database file, engine, pool, HTTP server.

The generator is wrapped in ``contextlib.contextmanager`` / ``asynccontextmanager`` and entered
by a caller, as FastAPI, Starlette and plain ``with get_session() as session:`` code do. The
paths:

* ``success``: the caller's body completes;
* ``error``: the body raises :class:`CallerError`, thrown in at the ``yield``;
* ``cancel``: the caller's task is cancelled once, while the body awaits;
* ``anyio-cancel``: the request runs as a child of an anyio task group, as Starlette runs it,
  and the group's cancel scope is cancelled while the body awaits: inside a cancelled scope every
  ``await`` of the cleanup is cancelled again, not just the first one;
* ``double-cancel``: the task is cancelled while the body awaits, and cancelled again after one
  more turn of the event loop, when its cleanup has started and is waiting on I/O.
"""

# The `with` forms below are the code LL002 reports, written out on purpose:
# leaklint: noqa: LL002

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import http.server
import logging
import re
import sqlite3
import ssl
import threading
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar, Optional

SYNC_PATHS = ("success", "error")
ASYNC_PATHS = ("success", "error", "cancel", "anyio-cancel", "double-cancel")
FORMS = ("with", "explicit")

DRIVE_TIMEOUT = 20.0
"""A bound on one async drive, far above what one takes (a few milliseconds)."""
SETTLE_SECONDS = 1.5
"""How long a closed connection gets to be noticed by the far end (an HTTP server's handler, a
PostgreSQL backend) before it counts as still open. Only a leaked connection waits this long."""

Facts = dict[str, Any]


class CallerError(Exception):
    """What the caller's body raises on the ``error`` path."""


# --- what a drive records besides the case's own facts ----------------------------------------


_ADDRESS = re.compile(r"0x[0-9a-fA-F]+|\b\d+\b")


def _warning_text(message: warnings.WarningMessage) -> str:
    text = _ADDRESS.sub("N", str(message.message).splitlines()[0] if str(message.message) else "")
    return f"{message.category.__name__}: {text[:90]}"


class Recorder:
    """Warnings (``coroutine ... was never awaited`` among them) and the event loop's exception
    handler calls, during a drive and the garbage collection after it."""

    def __init__(self) -> None:
        self.loop_errors: list[str] = []
        self.logged: list[str] = []
        self._caught: list[warnings.WarningMessage] = []
        self._context: Optional[warnings.catch_warnings] = None
        self._handler = _ListHandler(self.logged)

    def __enter__(self) -> Recorder:
        self._context = warnings.catch_warnings(record=True)
        self._caught = self._context.__enter__()
        warnings.simplefilter("always")
        # first, so that it can drop the traceback before pytest's log capture keeps the record
        logging.getLogger().handlers.insert(0, self._handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._context is not None
        try:
            gc.collect()
        finally:
            logging.getLogger().removeHandler(self._handler)
            self._context.__exit__(*exc_info)

    def loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        text = context.get("message", "") + (f" ({type(error).__name__})" if error else "")
        self.loop_errors.append(_ADDRESS.sub("N", text)[:90])

    def facts(self) -> Facts:
        texts = [_warning_text(message) for message in self._caught]
        return {
            "never awaited": sum("was never awaited" in text for text in texts),
            "warnings": tuple(sorted({t for t in texts if "was never awaited" not in t})),
            "loop errors": tuple(sorted(set(self.loop_errors))),
            "logged": tuple(sorted(set(self.logged))),
        }


class _ListHandler(logging.Handler):
    """Log records of level WARNING and above: SQLAlchemy's pool logs ``Exception during reset
    or similar`` at ERROR, psycopg ``query cancellation interrupted ...: closing connection`` at
    WARNING."""

    def __init__(self, records: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        # the logger and the level, not the text, which a library rewords at will
        self.records.append(f"{record.name} {record.levelname}")
        if record.exc_info:
            # pytest keeps the records of a test until it ends: a traceback would keep the
            # drive's frames, and the resources they hold, alive past the drive's own
            # gc.collect(), and their garbage-collection warnings would land in a later drive
            record.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_info = None


# --- cases --------------------------------------------------------------------------------------


class Case:
    """One resource type: its two forms, the body, and what to observe afterwards."""

    key: ClassVar[str]
    """The qualified call leaklint's knowledge base uses (``FACTORIES`` in
    leaklint/analysis/resources.py), or the callable's own qualified name."""
    variant: ClassVar[str] = ""
    """What tells two cases of one type apart (the database under SQLAlchemy)."""
    is_async: ClassVar[bool] = False
    needs_postgres: ClassVar[bool] = False
    needs: ClassVar[tuple[str, ...]] = ()
    """Modules the case imports; a missing one skips it."""
    in_body: ClassVar[tuple[tuple[str, Any], ...]] = ()
    """Facts the body must see, whatever the form and path: the resource really holds something
    (a pooled connection checked out, an open HTTP connection) while the caller uses it."""

    @classmethod
    def case_id(cls) -> str:
        return f"{cls.key} ({cls.variant})" if cls.variant else cls.key

    def __init__(self, workdir: Path, postgres: Any = None) -> None:
        self.workdir = workdir
        self.postgres = postgres
        self.marker = uuid.uuid4().hex
        self.facts: Facts = {}
        """Facts gathered while the drive runs (in the body), merged into the outcome."""

    def generator(self, form: str) -> Any:
        return self.with_form() if form == "with" else self.explicit_form()

    def with_form(self) -> Any:
        raise NotImplementedError

    def explicit_form(self) -> Any:
        raise NotImplementedError


class SyncCase(Case):
    def open(self) -> None:
        pass

    def use(self, resource: Any) -> None:
        raise NotImplementedError

    def observe(self, resource: Any) -> Facts:
        raise NotImplementedError

    def close(self) -> None:
        pass


class AsyncCase(Case):
    is_async = True

    async def open(self) -> None:
        pass

    async def use(self, resource: Any) -> None:
        raise NotImplementedError

    async def observe(self, resource: Any) -> Facts:
        raise NotImplementedError

    async def close(self) -> None:
        pass


# --- drivers ------------------------------------------------------------------------------------


def drive(
    case_type: type[Case], form: str, path: str, workdir: Path, postgres: Any = None
) -> Facts:
    """Drive a fresh case down one path in one form; the outcome, in facts."""
    case = case_type(workdir, postgres)
    with Recorder() as recorder:
        if isinstance(case, SyncCase):
            facts = _drive_sync(case, form, path)
        else:
            assert isinstance(case, AsyncCase)
            facts = asyncio.run(_drive_async(case, form, path, recorder))
        del case
    facts.update(recorder.facts())
    return facts


def _drive_sync(case: SyncCase, form: str, path: str) -> Facts:
    assert path in SYNC_PATHS, path
    case.open()
    try:
        manager = contextlib.contextmanager(lambda: case.generator(form))
        held: list[Any] = []
        caller_saw = "nothing"
        try:
            with manager() as resource:
                held.append(resource)
                case.use(resource)
                if path == "error":
                    raise CallerError
        except Exception as error:  # CallerError, or whatever the cleanup raised instead
            caller_saw = _names(error)
        return {"caller saw": caller_saw, **case.facts, **case.observe(held[0])}
    finally:
        case.close()


async def _drive_async(case: AsyncCase, form: str, path: str, recorder: Recorder) -> Facts:
    assert path in ASYNC_PATHS, path
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(recorder.loop_error)
    await case.open()
    try:
        return await asyncio.wait_for(_request_outcome(case, form, path), DRIVE_TIMEOUT)
    finally:
        await case.close()


async def _request_outcome(case: AsyncCase, form: str, path: str) -> Facts:
    manager = contextlib.asynccontextmanager(lambda: case.generator(form))
    held: list[Any] = []
    waiting = asyncio.Event()

    async def request() -> None:
        async with manager() as resource:
            held.append(resource)
            await case.use(resource)
            if path == "error":
                raise CallerError
            if path != "success":
                waiting.set()
                await asyncio.sleep(10)

    facts: Facts = {}
    if path in ("success", "error"):
        caller_saw = "nothing"
        try:
            await request()
        except Exception as error:  # CallerError, or whatever the cleanup raised instead
            caller_saw = _names(error)
    elif path == "cancel":
        task = asyncio.create_task(request())
        await _until_waiting(task, waiting)
        task.cancel()
        caller_saw = await _outcome_of(task)
    elif path == "double-cancel":
        task = asyncio.create_task(request())
        await _until_waiting(task, waiting)
        task.cancel()
        await asyncio.sleep(0)  # the task takes the first cancellation and starts its cleanup
        facts["cancelled again in cleanup"] = not task.done()
        task.cancel()
        caller_saw = await _outcome_of(task)
    else:
        import anyio

        errors: list[BaseException] = []
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(request)
                await waiting.wait()
                group.cancel_scope.cancel()
        except BaseException as error:  # an ExceptionGroup of what the cleanup raised
            errors.append(error)
        caller_saw = (
            "cancelled (the scope caught it)"
            if not errors
            else " + ".join(_names(error) for error in errors)
        )
    facts["caller saw"] = caller_saw
    # whatever the cleanup left running in the background (shielded closes) gets its turn
    await asyncio.sleep(0.01)
    return {**facts, **case.facts, **await case.observe(held[0])}


async def _until_waiting(task: asyncio.Task[None], waiting: asyncio.Event) -> None:
    """Until the body awaits (or the request failed before it got there)."""
    waiter = asyncio.ensure_future(waiting.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


async def _outcome_of(task: asyncio.Task[None]) -> str:
    try:
        await asyncio.wait_for(asyncio.shield(task), DRIVE_TIMEOUT)
    except asyncio.CancelledError:
        if not task.cancelled():
            raise  # the driver itself was cancelled
        return "CancelledError"
    except Exception as error:
        return _names(error)
    return "nothing"


def _names(error: BaseException) -> str:
    nested = getattr(error, "exceptions", None)
    if nested:
        return f"{type(error).__name__}[{', '.join(_names(inner) for inner in nested)}]"
    return type(error).__name__


# --- shared observation helpers ----------------------------------------------------------------


def settle(condition: Any, seconds: float = SETTLE_SECONDS) -> None:
    """Wait until ``condition()`` holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


async def asettle(condition: Any, seconds: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


class PoolEvents:
    """Counts of SQLAlchemy pool events, and the DBAPI connections the pool made: how many are
    still open but not idle in the pool (checked out, or dropped by the pool without being
    closed) once the cleanup is over."""

    NAMES = ("checkin", "reset", "invalidate", "soft_invalidate", "close")

    def __init__(self, pool: Any) -> None:
        from sqlalchemy import event

        self.pool = pool
        self.counts = dict.fromkeys(self.NAMES, 0)
        self.made: list[Any] = []
        self.idle: list[Any] = []
        for name in self.NAMES:
            event.listen(pool, name, self._counter(name))
        event.listen(pool, "connect", lambda connection, record: self.made.append(connection))
        event.listen(pool, "checkin", self._checkin)
        event.listen(pool, "checkout", lambda connection, *args: self._forget(connection))
        event.listen(pool, "close", lambda connection, record: self._forget(connection))

    def _counter(self, name: str) -> Any:
        def count(*args: Any) -> None:
            self.counts[name] += 1

        return count

    def _checkin(self, connection: Any, record: Any) -> None:
        if connection is not None:  # None: the record was invalidated, its connection dropped
            self.idle.append(connection)

    def _forget(self, connection: Any) -> None:
        self.idle[:] = [idle for idle in self.idle if idle is not connection]

    def open_outside_pool(self) -> int:
        return sum(
            _dbapi_open(connection)
            for connection in self.made
            if not any(connection is idle for idle in self.idle)
        )

    async def asettle(self) -> None:
        """A connection the pool force-closed (``terminate()``) closes in aiosqlite's worker
        thread a moment later."""
        await asettle(lambda: self.open_outside_pool() == 0)

    def facts(self) -> Facts:
        return {
            "pool checked out": self.pool.checkedout(),
            "pool checkin events": self.counts["checkin"],
            "reset": self.counts["reset"],
            "invalidated": self.counts["invalidate"] + self.counts["soft_invalidate"],
            "DBAPI close events": self.counts["close"],
            "DBAPI connections open, not idle in pool": self.open_outside_pool(),
        }


def _dbapi_open(connection: Any) -> bool:
    driver = getattr(connection, "driver_connection", connection)
    if isinstance(driver, sqlite3.Connection):
        try:
            driver.total_changes  # noqa: B018 - raises on a closed connection
        except sqlite3.ProgrammingError:
            return False
        return True
    if hasattr(driver, "is_closed"):  # asyncpg.Connection
        return not driver.is_closed()
    # aiosqlite.Connection: `_connection` is the sqlite3 connection its worker thread owns, None
    # once closed (it has no public flag)
    return driver._connection is not None


def sqlite_rows(path: Path, marker: str) -> str:
    """Whether the body's row was committed, read by a separate connection."""
    reader = sqlite3.connect(path, timeout=1.0)
    try:
        (count,) = reader.execute(
            "SELECT count(*) FROM rows WHERE marker = ?", (marker,)
        ).fetchone()
    finally:
        reader.close()
    return "committed" if count else "not committed"


def sqlite_file(workdir: Path) -> Path:
    path = workdir / f"{uuid.uuid4().hex}.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("CREATE TABLE rows (marker TEXT)")
    setup.commit()
    setup.close()
    return path


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One context for every httpx client: each would load the CA bundle again (0.1 s), for a
    plain-HTTP server that never asks for it."""
    return ssl.create_default_context()


class CountingHTTPServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 that keeps connections alive and counts the ones
    open: the server side of an HTTP client's pool."""

    def __init__(self) -> None:
        self.open_connections = 0
        lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with lock:
                    server.open_connections += 1

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with lock:
                        server.open_connections -= 1

            def do_GET(self) -> None:
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    def still_open(self) -> int:
        settle(lambda: self.open_connections == 0)
        return self.open_connections

    async def astill_open(self) -> int:
        await asettle(lambda: self.open_connections == 0)
        return self.open_connections

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- SQLAlchemy, sync --------------------------------------------------------------------------


class _SqlalchemySync(SyncCase):
    needs = ("sqlalchemy",)
    variant = "sqlite"
    in_body = (("checked out in body", 1),)

    def open(self) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.pool import QueuePool

        self.path = sqlite_file(self.workdir)
        self.engine = create_engine(
            f"sqlite:///{self.path}", poolclass=QueuePool, pool_size=2, max_overflow=0
        )
        self.events = PoolEvents(self.engine.pool)

    def use(self, resource: Any) -> None:
        from sqlalchemy import text

        resource.execute(text("INSERT INTO rows VALUES (:marker)"), {"marker": self.marker})
        self.facts["checked out in body"] = self.engine.pool.checkedout()

    def observe(self, resource: Any) -> Facts:
        return {
            **self.resource_facts(resource),
            **self.events.facts(),
            "data": sqlite_rows(self.path, self.marker),
        }

    def resource_facts(self, resource: Any) -> Facts:
        raise NotImplementedError

    def close(self) -> None:
        self.engine.dispose()


class SqlalchemySession(_SqlalchemySync):
    key = "sqlalchemy.orm.Session"

    def with_form(self) -> Iterator[Any]:
        from sqlalchemy.orm import Session

        with Session(self.engine) as session:
            yield session

    def explicit_form(self) -> Iterator[Any]:
        from sqlalchemy.orm import Session

        session = Session(self.engine)
        try:
            yield session
        finally:
            session.close()

    def resource_facts(self, resource: Any) -> Facts:
        return {"in transaction": resource.in_transaction(), "is_active": resource.is_active}


class SqlalchemySessionmaker(SqlalchemySession):
    key = "sqlalchemy.orm.sessionmaker"

    def open(self) -> None:
        from sqlalchemy.orm import sessionmaker

        super().open()
        self.SessionLocal = sessionmaker(self.engine)

    def with_form(self) -> Iterator[Any]:
        with self.SessionLocal() as session:
            yield session

    def explicit_form(self) -> Iterator[Any]:
        session = self.SessionLocal()
        try:
            yield session
        finally:
            session.close()


class SqlalchemyConnection(_SqlalchemySync):
    key = "sqlalchemy.engine.Engine.connect"

    def with_form(self) -> Iterator[Any]:
        with self.engine.connect() as conn:
            yield conn

    def explicit_form(self) -> Iterator[Any]:
        conn = self.engine.connect()
        try:
            yield conn
        finally:
            conn.close()

    def resource_facts(self, resource: Any) -> Facts:
        return {"closed": resource.closed, "invalidated": resource.invalidated}


# --- SQLAlchemy, asyncio (aiosqlite) -----------------------------------------------------------


class _SqlalchemyAsync(AsyncCase):
    needs = ("sqlalchemy", "aiosqlite", "greenlet")
    variant = "aiosqlite"
    in_body = (("checked out in body", 1),)

    async def open(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import AsyncAdaptedQueuePool

        self.path = sqlite_file(self.workdir)
        self.engine = create_async_engine(
            f"sqlite+aiosqlite:///{self.path}",
            poolclass=AsyncAdaptedQueuePool,
            pool_size=2,
            max_overflow=0,
        )
        self.events = PoolEvents(self.engine.sync_engine.pool)

    async def use(self, resource: Any) -> None:
        from sqlalchemy import text

        await resource.execute(text("INSERT INTO rows VALUES (:marker)"), {"marker": self.marker})
        self.facts["checked out in body"] = self.engine.sync_engine.pool.checkedout()

    async def observe(self, resource: Any) -> Facts:
        await self.events.asettle()
        return {
            **self.resource_facts(resource),
            **self.events.facts(),
            "data": sqlite_rows(self.path, self.marker),
        }

    def resource_facts(self, resource: Any) -> Facts:
        raise NotImplementedError

    async def close(self) -> None:
        await self.engine.dispose()


class SqlalchemyAsyncSession(_SqlalchemyAsync):
    key = "sqlalchemy.ext.asyncio.AsyncSession"

    async def with_form(self) -> AsyncIterator[Any]:
        from sqlalchemy.ext.asyncio import AsyncSession

        async with AsyncSession(self.engine) as session:
            yield session

    async def explicit_form(self) -> AsyncIterator[Any]:
        from sqlalchemy.ext.asyncio import AsyncSession

        session = AsyncSession(self.engine)
        try:
            yield session
        finally:
            await session.close()

    def resource_facts(self, resource: Any) -> Facts:
        return {"in transaction": resource.in_transaction(), "is_active": resource.is_active}


class SqlalchemyAsyncSessionmaker(SqlalchemyAsyncSession):
    key = "sqlalchemy.ext.asyncio.async_sessionmaker"

    async def open(self) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker

        await super().open()
        self.AsyncSessionLocal = async_sessionmaker(self.engine)

    async def with_form(self) -> AsyncIterator[Any]:
        async with self.AsyncSessionLocal() as session:
            yield session

    async def explicit_form(self) -> AsyncIterator[Any]:
        session = self.AsyncSessionLocal()
        try:
            yield session
        finally:
            await session.close()


class SqlalchemyAsyncConnection(_SqlalchemyAsync):
    key = "sqlalchemy.ext.asyncio.AsyncEngine.connect"

    async def with_form(self) -> AsyncIterator[Any]:
        async with self.engine.connect() as conn:
            yield conn

    async def explicit_form(self) -> AsyncIterator[Any]:
        # `engine.connect()` gives an AsyncConnection not started yet: awaiting it starts it
        conn = await self.engine.connect()
        try:
            yield conn
        finally:
            await conn.close()

    def resource_facts(self, resource: Any) -> Facts:
        return {"closed": resource.closed, "invalidated": resource.invalidated}


# --- HTTP clients --------------------------------------------------------------------------------


class _HttpSync(SyncCase):
    in_body = (("server: open in body", 1),)

    def open(self) -> None:
        self.server = CountingHTTPServer()

    def observe(self, resource: Any) -> Facts:
        return {**self.client_facts(resource), "server: still open": self.server.still_open()}

    def client_facts(self, resource: Any) -> Facts:
        return {}

    def close(self) -> None:
        self.server.stop()


class HttpxClient(_HttpSync):
    key = "httpx.Client"
    needs = ("httpx",)

    def with_form(self) -> Iterator[Any]:
        import httpx

        with httpx.Client(verify=ssl_context()) as client:
            yield client

    def explicit_form(self) -> Iterator[Any]:
        import httpx

        client = httpx.Client(verify=ssl_context())
        try:
            yield client
        finally:
            client.close()

    def use(self, resource: Any) -> None:
        resource.get(self.server.url).raise_for_status()
        self.facts["server: open in body"] = self.server.open_connections

    def client_facts(self, resource: Any) -> Facts:
        return {"is_closed": resource.is_closed}


class RequestsSession(_HttpSync):
    key = "requests.Session"
    needs = ("requests",)

    def with_form(self) -> Iterator[Any]:
        import requests

        with requests.Session() as session:
            yield session

    def explicit_form(self) -> Iterator[Any]:
        import requests

        session = requests.Session()
        try:
            yield session
        finally:
            session.close()

    def use(self, resource: Any) -> None:
        resource.get(self.server.url, timeout=10).raise_for_status()
        self.facts["server: open in body"] = self.server.open_connections


class _HttpAsync(AsyncCase):
    in_body = (("server: open in body", 1),)

    async def open(self) -> None:
        self.server = CountingHTTPServer()

    async def observe(self, resource: Any) -> Facts:
        return {
            **self.client_facts(resource),
            "server: still open": await self.server.astill_open(),
        }

    def client_facts(self, resource: Any) -> Facts:
        return {}

    async def close(self) -> None:
        self.server.stop()


class HttpxAsyncClient(_HttpAsync):
    key = "httpx.AsyncClient"
    needs = ("httpx",)

    async def with_form(self) -> AsyncIterator[Any]:
        import httpx

        async with httpx.AsyncClient(verify=ssl_context()) as client:
            yield client

    async def explicit_form(self) -> AsyncIterator[Any]:
        import httpx

        client = httpx.AsyncClient(verify=ssl_context())
        try:
            yield client
        finally:
            await client.aclose()

    async def use(self, resource: Any) -> None:
        (await resource.get(self.server.url)).raise_for_status()
        self.facts["server: open in body"] = self.server.open_connections

    def client_facts(self, resource: Any) -> Facts:
        return {"is_closed": resource.is_closed}


class AiohttpClientSession(_HttpAsync):
    key = "aiohttp.ClientSession"
    needs = ("aiohttp",)

    async def with_form(self) -> AsyncIterator[Any]:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            yield session

    async def explicit_form(self) -> AsyncIterator[Any]:
        import aiohttp

        session = aiohttp.ClientSession()
        try:
            yield session
        finally:
            await session.close()

    async def use(self, resource: Any) -> None:
        async with resource.get(self.server.url) as response:
            response.raise_for_status()
            await response.read()
        self.facts["server: open in body"] = self.server.open_connections

    def client_facts(self, resource: Any) -> Facts:
        return {"closed": resource.closed}


# --- sqlite3, aiosqlite, files ------------------------------------------------------------------


class Sqlite3Connect(SyncCase):
    key = "sqlite3.connect"

    def open(self) -> None:
        self.path = sqlite_file(self.workdir)
        self.opened: list[sqlite3.Connection] = []

    def with_form(self) -> Iterator[Any]:
        with sqlite3.connect(self.path) as conn:
            yield conn

    def explicit_form(self) -> Iterator[Any]:
        conn = sqlite3.connect(self.path)
        try:
            yield conn
        finally:
            conn.close()

    def use(self, resource: Any) -> None:
        self.opened.append(resource)
        resource.execute("INSERT INTO rows VALUES (?)", (self.marker,))

    def observe(self, resource: Any) -> Facts:
        try:
            resource.execute("SELECT 1")
            closed = False
        except sqlite3.ProgrammingError:  # Cannot operate on a closed database.
            closed = True
        return {"closed": closed, "data": sqlite_rows(self.path, self.marker)}

    def close(self) -> None:
        for conn in self.opened:
            conn.close()


class AiosqliteConnect(AsyncCase):
    key = "aiosqlite.connect"
    needs = ("aiosqlite",)

    async def open(self) -> None:
        self.path = sqlite_file(self.workdir)
        self.opened: list[Any] = []

    async def with_form(self) -> AsyncIterator[Any]:
        import aiosqlite

        async with aiosqlite.connect(self.path) as conn:
            yield conn

    async def explicit_form(self) -> AsyncIterator[Any]:
        import aiosqlite

        conn = await aiosqlite.connect(self.path)
        try:
            yield conn
        finally:
            await conn.close()

    async def use(self, resource: Any) -> None:
        self.opened.append(resource)
        await resource.execute("INSERT INTO rows VALUES (?)", (self.marker,))

    async def observe(self, resource: Any) -> Facts:
        # aiosqlite has no public flag: `_connection` is None once closed
        await asettle(lambda: not resource._thread.is_alive())
        return {
            "closed": resource._connection is None,
            "worker thread alive": resource._thread.is_alive(),
            "data": sqlite_rows(self.path, self.marker),
        }

    async def close(self) -> None:
        for conn in self.opened:
            with contextlib.suppress(Exception):
                await conn.close()


class OpenFile(SyncCase):
    key = "open"

    def open(self) -> None:
        self.path = self.workdir / f"{self.marker}.txt"

    def with_form(self) -> Iterator[Any]:
        with open(self.path, "w") as file:
            yield file

    def explicit_form(self) -> Iterator[Any]:
        file = open(self.path, "w")  # noqa: SIM115 - the explicit form itself
        try:
            yield file
        finally:
            file.close()

    def use(self, resource: Any) -> None:
        resource.write(self.marker)

    def observe(self, resource: Any) -> Facts:
        return {
            "closed": resource.closed,
            "data": "written" if self.path.read_text() == self.marker else "not written",
        }


# --- PostgreSQL ---------------------------------------------------------------------------------


TABLE = "leaklint_equivalence_rows"


def postgres_conninfo(postgres: Any, application_name: str) -> str:
    return (
        f"host={postgres.host} port={postgres.port} user={postgres.user}"
        f" password={postgres.password} dbname={postgres.dbname} connect_timeout=10"
        f" application_name={application_name}"
    )


class _Postgres:
    """Facts read by a separate connection: whether the body's row was committed, and the
    backends the case's connections left on the server, by state."""

    needs_postgres = True
    postgres: Any
    marker: str

    @property
    def application_name(self) -> str:
        return f"leaklint-eq-{self.marker[:12]}"

    def conninfo(self) -> str:
        return postgres_conninfo(self.postgres, self.application_name)

    def create_table(self) -> None:
        import psycopg

        with psycopg.connect(postgres_conninfo(self.postgres, "leaklint-eq-admin")) as admin:
            admin.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (marker text)")

    def server_facts(self, expected_backends: int = 0) -> Facts:
        """Whether the row was committed; the case's backends still on the server, waiting for
        ``expected_backends`` (a pool's idle connections) for a moment: a closed connection's
        backend takes a moment to go."""
        import psycopg

        def look() -> tuple[bool, dict[str, int]]:
            with psycopg.connect(
                postgres_conninfo(self.postgres, "leaklint-eq-admin"), autocommit=True
            ) as admin:
                rows = admin.execute(
                    "SELECT coalesce(state, ''), count(*) FROM pg_stat_activity"
                    " WHERE application_name = %s GROUP BY 1",
                    (self.application_name,),
                ).fetchall()
                (count,) = admin.execute(
                    f"SELECT count(*) FROM {TABLE} WHERE marker = %s", (self.marker,)
                ).fetchone()
            return bool(count), {str(state): int(n) for state, n in rows}

        committed, states = look()
        deadline = time.monotonic() + SETTLE_SECONDS
        while sum(states.values()) != expected_backends and time.monotonic() < deadline:
            time.sleep(0.02)
            committed, states = look()
        return {
            "data": "committed" if committed else "not committed",
            "server: backends": sum(states.values()),
            "server: idle in transaction": states.get("idle in transaction", 0),
        }

    def terminate_backends(self) -> None:
        import psycopg

        with psycopg.connect(
            postgres_conninfo(self.postgres, "leaklint-eq-admin"), autocommit=True
        ) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (self.application_name,),
            )


class PsycopgConnect(_Postgres, SyncCase):
    key = "psycopg.connect"
    needs = ("psycopg",)

    def open(self) -> None:
        self.create_table()

    def with_form(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.conninfo()) as conn:
            yield conn

    def explicit_form(self) -> Iterator[Any]:
        import psycopg

        conn = psycopg.connect(self.conninfo())
        try:
            yield conn
        finally:
            conn.close()

    def use(self, resource: Any) -> None:
        self.conn = resource
        resource.execute(f"INSERT INTO {TABLE} VALUES (%s)", (self.marker,))

    def observe(self, resource: Any) -> Facts:
        return {"closed": resource.closed, **self.server_facts()}

    def close(self) -> None:
        self.conn.close()
        self.terminate_backends()


class Psycopg2Connect(_Postgres, SyncCase):
    key = "psycopg2.connect"
    needs = ("psycopg", "psycopg2")

    def open(self) -> None:
        self.create_table()

    def with_form(self) -> Iterator[Any]:
        import psycopg2

        with psycopg2.connect(self.conninfo()) as conn:
            yield conn

    def explicit_form(self) -> Iterator[Any]:
        import psycopg2

        conn = psycopg2.connect(self.conninfo())
        try:
            yield conn
        finally:
            conn.close()

    def use(self, resource: Any) -> None:
        self.conn = resource
        with resource.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} VALUES (%s)", (self.marker,))

    def observe(self, resource: Any) -> Facts:
        return {"closed": bool(resource.closed), **self.server_facts()}

    def close(self) -> None:
        self.conn.close()
        self.terminate_backends()


class PsycopgAsyncConnection(_Postgres, AsyncCase):
    key = "psycopg.AsyncConnection.connect"
    needs = ("psycopg",)

    async def open(self) -> None:
        await asyncio.to_thread(self.create_table)

    async def with_form(self) -> AsyncIterator[Any]:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.conninfo()) as conn:
            yield conn

    async def explicit_form(self) -> AsyncIterator[Any]:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self.conninfo())
        try:
            yield conn
        finally:
            await conn.close()

    async def use(self, resource: Any) -> None:
        self.conn = resource
        await resource.execute(f"INSERT INTO {TABLE} VALUES (%s)", (self.marker,))

    async def observe(self, resource: Any) -> Facts:
        return {"closed": resource.closed, **await asyncio.to_thread(self.server_facts)}

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.conn.close()
        await asyncio.to_thread(self.terminate_backends)


class AsyncpgPoolAcquire(_Postgres, AsyncCase):
    key = "asyncpg.pool.Pool.acquire"
    needs = ("asyncpg", "psycopg")
    in_body = (("pool: idle in body", 0),)

    async def open(self) -> None:
        import asyncpg

        await asyncio.to_thread(self.create_table)
        p = self.postgres
        self.pool = await asyncpg.create_pool(
            host=p.host,
            port=p.port,
            user=p.user,
            password=p.password,
            database=p.dbname,
            min_size=1,
            max_size=2,
            server_settings={"application_name": self.application_name},
        )

    async def with_form(self) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            yield conn

    async def explicit_form(self) -> AsyncIterator[Any]:
        conn = await self.pool.acquire()
        try:
            yield conn
        finally:
            await self.pool.release(conn)

    async def use(self, resource: Any) -> None:
        self.transaction = resource.transaction()
        await self.transaction.start()
        await resource.execute(f"INSERT INTO {TABLE} VALUES ($1)", self.marker)
        self.facts["pool: idle in body"] = self.pool.get_idle_size()

    async def observe(self, resource: Any) -> Facts:
        await asettle(lambda: self.pool.get_idle_size() == self.pool.get_size())
        facts = {"pool: size": self.pool.get_size(), "pool: idle": self.pool.get_idle_size()}
        return {**facts, **await asyncio.to_thread(self.server_facts, self.pool.get_size())}

    async def close(self) -> None:
        self.pool.terminate()
        await asyncio.to_thread(self.terminate_backends)


class SqlalchemyAsyncSessionAsyncpg(_Postgres, SqlalchemyAsyncSession):
    """``AsyncSession`` on PostgreSQL through asyncpg: what an invalidated connection costs on a
    real server (its backend is terminated; the next checkout connects again)."""

    variant = "asyncpg"
    needs = ("sqlalchemy", "asyncpg", "greenlet", "psycopg")

    async def open(self) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine
        from sqlalchemy.pool import AsyncAdaptedQueuePool

        await asyncio.to_thread(self.create_table)
        self.engine = create_async_engine(
            self.postgres.url("asyncpg"),
            poolclass=AsyncAdaptedQueuePool,
            pool_size=2,
            max_overflow=0,
            connect_args={"server_settings": {"application_name": self.application_name}},
        )
        self.events = PoolEvents(self.engine.sync_engine.pool)

    async def use(self, resource: Any) -> None:
        from sqlalchemy import text

        await resource.execute(
            text(f"INSERT INTO {TABLE} VALUES (:marker)"), {"marker": self.marker}
        )
        self.facts["checked out in body"] = self.engine.sync_engine.pool.checkedout()

    async def observe(self, resource: Any) -> Facts:
        await self.events.asettle()
        server = await asyncio.to_thread(self.server_facts, len(self.events.idle))
        return {**self.resource_facts(resource), **self.events.facts(), **server}

    async def close(self) -> None:
        await self.engine.dispose()
        await asyncio.to_thread(self.terminate_backends)


CASES: tuple[type[Case], ...] = (
    SqlalchemySession,
    SqlalchemySessionmaker,
    SqlalchemyConnection,
    SqlalchemyAsyncSession,
    SqlalchemyAsyncSessionmaker,
    SqlalchemyAsyncConnection,
    HttpxClient,
    HttpxAsyncClient,
    AiohttpClientSession,
    RequestsSession,
    Sqlite3Connect,
    AiosqliteConnect,
    OpenFile,
    PsycopgConnect,
    PsycopgAsyncConnection,
    Psycopg2Connect,
    AsyncpgPoolAcquire,
    SqlalchemyAsyncSessionAsyncpg,
)


def paths(case_type: type[Case]) -> tuple[str, ...]:
    return ASYNC_PATHS if case_type.is_async else SYNC_PATHS


# --- comparing and describing outcomes ----------------------------------------------------------


Outcomes = dict[tuple[str, str], Facts]
"""``(path, form)`` -> facts, for one case."""

Differences = dict[str, dict[str, tuple[Any, Any]]]
"""``path`` -> ``{fact: (with form, explicit form)}`` for the facts that differ."""


def compare(outcomes: Outcomes) -> Differences:
    differences: Differences = {}
    for path in dict.fromkeys(path for path, _ in outcomes):
        with_facts, explicit_facts = outcomes[path, "with"], outcomes[path, "explicit"]
        differing = {
            name: (with_facts.get(name), explicit_facts.get(name))
            for name in {**with_facts, **explicit_facts}
            if with_facts.get(name) != explicit_facts.get(name)
        }
        if differing:
            differences[path] = differing
    return differences


_UNREMARKABLE: Facts = {"never awaited": 0, "warnings": (), "loop errors": (), "logged": ()}


def describe(
    facts: Facts, skip: tuple[str, ...] = (), stress: tuple[str, ...] = (), every: bool = False
) -> str:
    """The facts on one line, leaving out the unremarkable ones (no warnings ...) unless
    ``every``."""
    parts = []
    for name, value in facts.items():
        if name in skip or (not every and _UNREMARKABLE.get(name, object()) == value):
            continue
        if isinstance(value, tuple):
            shown: Any = ", ".join(map(str, value)) if value else "none"
        else:
            shown = value
        part = f"{name}: {shown}"
        parts.append(f"**{part}**" if name in stress else part)
    return "; ".join(parts)


def markdown_table(results: dict[type[Case], Outcomes], verdicts: dict[str, str]) -> str:
    """Type x path -> the outcome of each form (the explicit one only where it differs)."""
    lines = [
        "| type | verdict | path | `with` form | explicit form |",
        "| --- | --- | --- | --- | --- |",
    ]
    for case_type, outcomes in results.items():
        differences = compare(outcomes)
        skip = tuple(name for name, _ in case_type.in_body)
        for number, path in enumerate(paths(case_type)):
            differing = tuple(differences.get(path, {}))
            with_cell = describe(outcomes[path, "with"], skip, differing)
            explicit_cell = (
                describe(
                    {name: outcomes[path, "explicit"].get(name) for name in differing}, every=True
                )
                if differing
                else "same"
            )
            first = number == 0
            lines.append(
                f"| {case_type.case_id() if first else ''}"
                f" | {verdicts.get(case_type.key, '?') if first else ''}"
                f" | {path} | {with_cell} | {explicit_cell} |"
            )
    return "\n".join(lines)
