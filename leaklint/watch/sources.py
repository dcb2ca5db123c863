"""What the watch looks at, library by library, installed when the library is first seen.

A library is watched once it has been imported by the code under test (it is never imported
here for its own sake): at each test's setup and at each request the watch looks for libraries
newly in ``sys.modules``. Pooled connections are counted out and back in through the pool's own
hooks (SQLAlchemy's pool events) or its acquire and release methods; a client is asked at the
end of the request whether it is closed.
"""

from __future__ import annotations

import functools
import gc
import sys
import weakref
from collections.abc import Hashable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, Optional

from leaklint.watch.asgi import ACTIVE, watch_transport
from leaklint.watch.ledger import CURRENT, Ledger, Request
from leaklint.watch.patches import Patches
from leaklint.watch.sites import Site, acquisition_site, caller_frames


class Watch:
    """The watch of one test session: its ledger, and the libraries it has hooked so far."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.patches = Patches()
        self.problems: list[str] = []
        """Libraries that could not be watched, and why (printed in the summary)."""
        self.sessions: weakref.WeakKeyDictionary[Any, tuple[Request, Optional[Site]]] = (
            weakref.WeakKeyDictionary()
        )
        """SQLAlchemy sessions made during a request: that request, and where."""
        self._installed: set[str] = set()

    def start(self) -> None:
        """Watch from now on."""
        ACTIVE[:] = [(self.ledger, self.install_new)]
        self.install_new()

    def stop(self) -> None:
        """Put every library back as it was."""
        ACTIVE.clear()
        self.patches.undo()
        self._installed.clear()

    def guarded(self, function: Callable[..., None]) -> Callable[..., None]:
        """``function``, which keeps the books, never breaks the code under test: a failure of
        its own is reported once in the summary and otherwise ignored."""

        @functools.wraps(function)
        def guard(*args: Any, **kwargs: Any) -> None:
            try:
                function(*args, **kwargs)
            except Exception as error:
                problem = f"{function.__qualname__} failed: {type(error).__name__}: {error}"
                if problem not in self.problems:
                    self.problems.append(problem)

        return guard

    def install_new(self) -> None:
        """Hook the watched libraries imported since the last call."""
        modules = sys.modules
        for source in SOURCES:
            if source.name in self._installed or any(
                name not in modules for name in source.modules
            ):
                continue
            self._installed.add(source.name)
            try:
                problem = source.install(self)
            except Exception as error:  # a library version whose insides moved
                problem = f"{type(error).__name__}: {error}"
            if problem:
                self.problems.append(f"{source.name}: not watched ({problem})")


@dataclass(frozen=True)
class Source:
    """A library the watch hooks, once all of ``modules`` are imported."""

    name: str
    modules: tuple[str, ...]
    install: Callable[[Watch], Optional[str]]


# --- the request boundary -----------------------------------------------------------------


def _starlette_test_client(watch: Watch) -> Optional[str]:
    testclient = sys.modules["starlette.testclient"]
    transport = getattr(testclient, "_TestClientTransport", None)
    if transport is None:
        return "starlette.testclient has no _TestClientTransport"
    return watch_transport(watch.patches, transport, "handle_request", is_async=False)


def _asgi_transport(module_name: str) -> Callable[[Watch], Optional[str]]:
    def install(watch: Watch) -> Optional[str]:
        module = sys.modules[module_name]
        transport = getattr(module, "ASGITransport", None)
        if transport is None:
            return f"{module_name} has no ASGITransport"
        problem = watch_transport(watch.patches, transport, "handle_async_request", is_async=True)
        if problem is None:
            problem = _clients(watch, module_name, module, ("Client", "AsyncClient"), "is_closed")
        return problem

    return install


# --- SQLAlchemy ---------------------------------------------------------------------------


def _sqlalchemy_pools(watch: Watch) -> Optional[str]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    ledger = watch.ledger
    engines: dict[int, str] = {}

    def connected(**arguments: Any) -> None:
        engine = arguments["conn"].engine
        if id(engine.pool) not in engines:
            engines[id(engine.pool)] = engine.url.render_as_string(hide_password=True)

    def checkout(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        request = CURRENT.get()
        if request is None:
            return
        frames = caller_frames(1)
        session = _owning_session(frames)
        if session is not None:
            origin = watch.sessions.get(session)
            if origin is None:  # a session made outside the request (a fixture's): not its own
                return
            request, site = origin
        else:
            site = acquisition_site(frames[0])
        pool = getattr(proxy, "_pool", None)
        pool_id = id(pool)

        def describe() -> str:
            url = engines.get(pool_id)
            if url is not None:
                return f"a pooled connection of engine {url}"
            return f"a pooled connection of a {type(pool).__name__}"

        ledger.acquired(request, describe, site, ("sqlalchemy", id(record)))

    def checkin(_dbapi_connection: Any, record: Any) -> None:
        key = ("sqlalchemy", id(record))
        if ledger.is_open(key):
            ledger.released(key, by_collector=_returned_by_collector(sys._getframe(1)))

    for target, name, listener, named in (
        (Engine, "engine_connect", watch.guarded(connected), True),
        (Pool, "checkout", watch.guarded(checkout), False),
        (Pool, "checkin", watch.guarded(checkin), False),
    ):
        event.listen(target, name, listener, named=named)
        watch.patches.on_undo(functools.partial(event.remove, target, name, listener))
    return None


def _owning_session(frames: list[FrameType]) -> Any:
    """The ORM session on whose behalf the stack checks a connection out, if any."""
    orm = sys.modules.get("sqlalchemy.orm.session")
    if orm is None:
        return None
    for frame in frames:
        if frame.f_globals.get("__name__") != "sqlalchemy.orm.session":
            continue
        owner = frame.f_locals.get("self")
        if isinstance(owner, orm.SessionTransaction):
            return owner.session
        if isinstance(owner, orm.Session):
            return owner
    return None


def _returned_by_collector(frame: Optional[FrameType]) -> bool:
    """The check-in comes from SQLAlchemy's clean-up of a connection nobody closed."""
    for _ in range(8):
        if frame is None:
            return False
        if frame.f_code.co_name == "_finalize_fairy":
            values = frame.f_locals
            return bool(values.get("is_gc_cleanup")) or values.get("ref") is not None
        frame = frame.f_back
    return False


def _sqlalchemy_sessions(watch: Watch) -> Optional[str]:
    from sqlalchemy.orm.session import Session

    original = Session.__init__

    @watch.guarded
    def made(session: Any, frame: FrameType) -> None:
        request = CURRENT.get()
        if request is not None:
            watch.sessions[session] = (request, acquisition_site(frame))

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made(self, sys._getframe(1))

    watch.patches.replace(Session, "__init__", __init__)
    return None


# --- clients that can be asked whether they are closed ------------------------------------


def _clients(
    watch: Watch, library: str, module: Any, class_names: tuple[str, ...], closed: str
) -> Optional[str]:
    """Count a client made by a generator during a request as taken, and released when it is
    closed by the end of the request (or kept in a module or class attribute for later)."""
    for class_name in class_names:
        client_class = getattr(module, class_name, None)
        if client_class is None:
            return f"{library} has no {class_name}"
        _watch_client_class(watch, library, client_class, closed)
    return None


def _watch_client_class(watch: Watch, library: str, client_class: Any, closed: str) -> None:
    original = client_class.__init__
    ledger = watch.ledger

    @watch.guarded
    def made(client: Any, frame: FrameType) -> None:
        request = CURRENT.get()
        if request is None:
            return
        site = acquisition_site(frame)
        if site is None or not site.generator:
            return
        name = f"{library}.{type(client).__qualname__}"

        def is_released() -> bool:
            return bool(getattr(client, closed, True)) or _kept_for_later(client)

        ledger.acquired(request, lambda: f"an open {name}", site, is_released=is_released)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made(self, sys._getframe(1))

    watch.patches.replace(client_class, "__init__", __init__)


def _kept_for_later(value: Any) -> bool:
    """``value`` is held by a module or a class: a client made once and shared on purpose."""
    namespaces = {id(vars(module)) for module in list(sys.modules.values()) if module is not None}
    for referrer in gc.get_referrers(value):
        if id(referrer) in namespaces:
            return True
        if isinstance(referrer, dict):  # a class's namespace?
            names = [name for name, item in referrer.items() if item is value]
            for owner in gc.get_referrers(referrer):
                if isinstance(owner, type) and any(
                    vars(owner).get(name) is value for name in names
                ):
                    return True
    return False


def _aiohttp(watch: Watch) -> Optional[str]:
    module = sys.modules["aiohttp"]
    return _clients(watch, "aiohttp", module, ("ClientSession",), "closed")


# --- pools with acquire and release methods -----------------------------------------------


def _pool_methods(
    watch: Watch,
    library: str,
    pool_class: Any,
    acquire: str,
    release: str,
    *,
    is_async: bool,
) -> None:
    ledger = watch.ledger
    take, give = getattr(pool_class, acquire), getattr(pool_class, release)
    describe_text = f"a connection of {library}.{pool_class.__qualname__}"

    @watch.guarded
    def taken(connection: Any, frame: FrameType) -> None:
        request = CURRENT.get()
        if request is not None:
            site = acquisition_site(frame)
            ledger.acquired(request, lambda: describe_text, site, _key(library, connection))

    @watch.guarded
    def given(connection: Any) -> None:
        ledger.released(_key(library, connection))

    if is_async:

        @functools.wraps(take)
        async def acquire_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            connection = await take(self, *args, **kwargs)
            taken(connection, sys._getframe(1))
            return connection

        @functools.wraps(give)
        async def release_async(self: Any, connection: Any, *args: Any, **kwargs: Any) -> Any:
            given(connection)
            return await give(self, connection, *args, **kwargs)

        watch.patches.replace(pool_class, acquire, acquire_async)
        watch.patches.replace(pool_class, release, release_async)
        return

    @functools.wraps(take)
    def acquire_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        connection = take(self, *args, **kwargs)
        taken(connection, sys._getframe(1))
        return connection

    @functools.wraps(give)
    def release_sync(self: Any, connection: Any, *args: Any, **kwargs: Any) -> Any:
        given(connection)
        return give(self, connection, *args, **kwargs)

    watch.patches.replace(pool_class, acquire, acquire_sync)
    watch.patches.replace(pool_class, release, release_sync)


def _key(library: str, connection: Any) -> Hashable:
    return (library, id(connection))


def _psycopg_pool(watch: Watch) -> Optional[str]:
    module = sys.modules["psycopg_pool"]
    for class_name, is_async in (("ConnectionPool", False), ("AsyncConnectionPool", True)):
        pool_class = getattr(module, class_name, None)
        if pool_class is None:
            return f"psycopg_pool has no {class_name}"
        _pool_methods(watch, "psycopg_pool", pool_class, "getconn", "putconn", is_async=is_async)
    return None


def _asyncpg(watch: Watch) -> Optional[str]:
    pool_class = getattr(sys.modules["asyncpg.pool"], "Pool", None)
    if pool_class is None or not hasattr(pool_class, "_acquire"):
        return "asyncpg.pool.Pool has no _acquire()"
    _pool_methods(watch, "asyncpg", pool_class, "_acquire", "release", is_async=True)
    return None


SOURCES = (
    Source("starlette.testclient", ("starlette.testclient",), _starlette_test_client),
    Source("httpx", ("httpx",), _asgi_transport("httpx")),
    Source("httpx2", ("httpx2",), _asgi_transport("httpx2")),
    Source("sqlalchemy pools", ("sqlalchemy.pool", "sqlalchemy.engine"), _sqlalchemy_pools),
    Source("sqlalchemy sessions", ("sqlalchemy.orm.session",), _sqlalchemy_sessions),
    Source("aiohttp", ("aiohttp",), _aiohttp),
    Source("psycopg_pool", ("psycopg_pool",), _psycopg_pool),
    Source("asyncpg", ("asyncpg.pool",), _asyncpg),
)
"""Every library watched, in the order they are hooked."""
