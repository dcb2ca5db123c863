"""The runtime check of DESIGN §6: run a fixture's generator with fake resources, as its driver
would, and tell which resources were left open.

The fakes know only what the real libraries do, written here independently of leaklint's
knowledge base, so that a wrong entry there cannot make a wrong fix look right.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import gc
import importlib
import inspect
import os
import sys
import tempfile
import types
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Callable, Optional

from leaklint.parse import ParsedModule, parse

REAL_MODULE_ROOTS = frozenset(
    {
        "__future__",
        "abc",
        "annotated_types",
        "anyio",
        "asyncio",
        "collections",
        "contextlib",
        "dataclasses",
        "dependency_injector",
        "dishka",
        "enum",
        "fast_depends",
        "fastapi",
        "functools",
        "litestar",
        "logging",
        "os",
        "pydantic",
        "starlette",
        "sys",
        "threading",
        "typing",
        "typing_extensions",
        "unittest",  # the real `mock` patchers: what a patch undo puts back
    }
)
"""Imports that run for real; every other import gets a fake module. The frameworks that drive
a generator are real, the libraries whose resources it holds are fakes."""

REAL_SUBMODULES = frozenset({"aiohttp.web"})
"""Modules of a faked package that run for real: aiohttp's server drives ``cleanup_ctx``
generators, while its client sessions stay fake resources (``aiohttp.ClientSession``)."""

RELEASE_METHODS = frozenset(
    {
        "close",
        "aclose",
        "dispose",
        "release",
        "shutdown",
        "disconnect",
        "terminate",
        "cleanup",
        "quit",
        # a process or a task: stopped is released
        "kill",
        "cancel",
    }
)
RESOURCE_METHODS = frozenset({"connect", "getconn", "acquire", "raw_connection"})
OWNER_RELEASES = frozenset({"putconn", "release"})
CONTEXT_VARIABLES = frozenset({"contextvars.ContextVar"})
"""A context variable: ``set(value)`` returns a token, tracked like a resource, that stays open
until ``reset(token)`` puts the previous value back; a skipped reset leaves the value set."""
FOLDER_REMOVALS = frozenset({"shutil.rmtree"})
"""Removes the folder passed first: a fake ``tempfile.mkdtemp()`` folder is released by it."""
FILE_FACTORIES = frozenset({"tempfile.mkstemp"})
"""Returns ``(fd, path)`` where the path is a real file: the fixture's own ``os.remove(path)``
(``os`` runs for real) is what releases it."""
EXIT_KEEPS_OPEN = frozenset({"psycopg2.connect", "sqlite3.connect"})
"""Real behaviour: these connections' ``__exit__`` ends the transaction and does not close."""
TRANSACTIONS = frozenset({"begin", "begin_nested"})
"""``engine.begin()``/``session.begin()``: managers whose exit commits or rolls back."""
ASYNC_ROOTS = frozenset({"asyncpg", "aiohttp", "aiomysql", "aiosqlite"})
SETTINGS = frozenset(
    {
        "httpx.Timeout",
        "httpx.Limits",
        "httpx.BasicAuth",
        "httpx.Headers",
        "httpx.URL",
        "aiohttp.ClientTimeout",
        "aiohttp.BasicAuth",
    }
)
"""Calls that make a plain value (a timeout, limits, credentials), not a resource to release."""


class Boom(Exception):
    """The error the caller raises while it holds the resource."""


class SetupFailed(Exception):
    """The error a set-up step raises before the ``yield``: the second acquisition, or work on
    a resource (``conn.cursor()``, ``await conn.execute(...)``)."""


@dataclass
class Tracker:
    """Every fake resource made while a function is being driven."""

    recording: bool = False
    fail_acquisition: bool = False
    """Every acquisition raises ``ConnectionRefusedError``, as a database that is down."""
    fail_setup: bool = False
    """The first acquisition succeeds; every later one, and every call of a resource's method
    other than its release, raises ``SetupFailed``."""
    acquisitions: int = 0
    resources: list[FakeResource] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)
    """Every ``commit()`` made while driving (SQLAlchemy sessions, DB-API connections)."""
    rollbacks: list[str] = field(default_factory=list)
    """Every ``rollback()`` made while driving."""

    def acquire(self) -> None:
        """Called before a fake resource is made: fails when the test asks for it."""
        if self.recording and self.fail_acquisition:
            raise ConnectionRefusedError("[Errno 111] Connection refused (fake database)")
        if self.recording:
            self.acquisitions += 1
            if self.fail_setup and self.acquisitions > 1:
                raise SetupFailed("the second acquisition fails (fake)")

    def work(self, origin: str) -> Any:
        """What a method of a fake resource that is not a release returns: an inert value, or a
        call that fails while a failing set-up is driven."""
        if self.recording and self.fail_setup:

            def fail(*args: Any, **kwargs: Any) -> Any:
                raise SetupFailed(f"{origin}() fails (fake)")

            return fail
        return Inert(origin)

    def open_resources(self) -> list[FakeResource]:
        """The resources nothing released."""
        return [resource for resource in self.resources if not resource.released]


def _is_async_origin(origin: str) -> bool:
    root = origin.split(".", 1)[0]
    return root in ASYNC_ROOTS or "async" in origin.lower() or origin.startswith("redis.asyncio")


class _Awaitable:
    def __init__(self, value: Any = None, on_await: Optional[Callable[[], None]] = None) -> None:
        self.value = value
        self.on_await = on_await

    def __await__(self) -> Iterator[Any]:
        if self.on_await is not None:
            self.on_await()
        return self.value
        yield  # pragma: no cover - makes this a generator


class Inert:
    """What a non-resource method of a fake returns: usable, awaitable, iterable, ignorable."""

    def __init__(self, origin: str = "") -> None:
        self.origin = origin

    def __getattr__(self, name: str) -> Inert:
        return Inert(f"{self.origin}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Inert:
        return self

    def __await__(self) -> Iterator[Any]:
        return self
        yield  # pragma: no cover

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __enter__(self) -> Inert:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    async def __aenter__(self) -> Inert:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None


async def _release_coroutine(resource: FakeResource) -> None:
    """A real coroutine, so that forgetting ``await`` warns as it does with the real library."""
    resource._release()


class FakeResource:
    """A session, connection, client or file that remembers whether it was released."""

    def __init__(self, tracker: Tracker, origin: str, is_async: bool) -> None:
        self._tracker = tracker
        self.origin = origin
        self.is_async = is_async
        self.released = False
        if tracker.recording:
            tracker.resources.append(self)

    def __repr__(self) -> str:
        return f"<fake {self.origin} {'released' if self.released else 'OPEN'}>"

    def _release(self) -> None:
        self.released = True

    def __call__(self, *args: Any, **kwargs: Any) -> FakeResource:
        # a session factory: SessionLocal() makes a session
        self._tracker.acquire()
        return FakeResource(self._tracker, f"{self.origin}()", self.is_async)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self.origin in CONTEXT_VARIABLES and name == "set":
            return lambda value: FakeResource(self._tracker, f"{self.origin}.set()", False)
        if self.origin in CONTEXT_VARIABLES and name == "reset":
            return self._owner_release(name)
        if name in RELEASE_METHODS and name != "release":
            return self._release_method(name)
        if name in OWNER_RELEASES:
            return self._owner_release(name)
        if name in RESOURCE_METHODS:
            self._tracker.acquire()
            made = FakeResource(self._tracker, f"{self.origin}.{name}()", self.is_async)
            return lambda *args, **kwargs: (
                _Awaitable(made) if self.is_async and name == "acquire" else made
            )
        if name in TRANSACTIONS:
            return lambda *args, **kwargs: Inert(f"{self.origin}.{name}()")
        if name == "commit":
            return self._commit
        if name == "rollback":
            return self._rollback
        return self._tracker.work(f"{self.origin}.{name}")

    def _commit(self, *args: Any, **kwargs: Any) -> Any:
        if self._tracker.recording:
            self._tracker.commits.append(self.origin)
        return _Awaitable()  # awaited or not, as the code under test does

    def _rollback(self, *args: Any, **kwargs: Any) -> Any:
        if self._tracker.recording:
            self._tracker.rollbacks.append(self.origin)
        return _Awaitable()

    def _release_method(self, name: str) -> Callable[..., Any]:
        if self.is_async or name == "aclose":
            return lambda *args, **kwargs: _release_coroutine(self)

        def release(*args: Any, **kwargs: Any) -> None:
            self._release()

        return release

    def _owner_release(self, name: str) -> Callable[..., Any]:
        def give_back(resource: Any = None, *args: Any, **kwargs: Any) -> Any:
            target = resource if isinstance(resource, FakeResource) else self
            if self.is_async:
                return _release_coroutine(target)
            target._release()
            return None

        return give_back

    def __await__(self) -> Iterator[Any]:
        return self  # `conn = await asyncpg.connect(dsn)`
        yield  # pragma: no cover

    def __enter__(self) -> FakeResource:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.origin not in EXIT_KEEPS_OPEN:
            self._release()

    async def __aenter__(self) -> FakeResource:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._release()


class _TemporaryFile(FakeResource):
    """The path of a fake ``tempfile.mkstemp()``: a real empty file (and its open descriptor),
    released once it is gone from disk. What is left is removed when the object is
    collected."""

    def __init__(self, tracker: Tracker, origin: str) -> None:
        self.descriptor, self._path = tempfile.mkstemp(prefix="leaklint-runtime-")
        weakref.finalize(self, _remove_quietly, self._path)
        super().__init__(tracker, origin, is_async=False)

    def __fspath__(self) -> str:
        return self._path

    @property
    def released(self) -> bool:
        return not os.path.exists(self._path)

    @released.setter
    def released(self, value: bool) -> None:
        pass  # whether the file is on disk is the answer


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


class FakeModule(types.ModuleType):
    """A third-party module whose every attribute is a factory of fake resources."""

    def __init__(self, name: str, tracker: Tracker) -> None:
        super().__init__(name)
        self._tracker = tracker

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name.endswith(("Error", "Exception")):
            # `except SQLAlchemyError:` must name a real exception class, as it does for real
            exception = type(name, (Exception,), {"__module__": self.__name__})
            setattr(self, name, exception)
            return exception
        return _Factory(self._tracker, f"{self.__name__}.{name}")


class _Factory:
    """``Session``, ``sessionmaker``, ``httpx.AsyncClient``, ``psycopg2.connect``..."""

    def __init__(self, tracker: Tracker, origin: str) -> None:
        self._tracker = tracker
        self.origin = origin

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.origin in SETTINGS:
            return Inert(self.origin)
        if self.origin in FOLDER_REMOVALS:
            if args and isinstance(args[0], FakeResource):
                args[0]._release()
            return None
        if self.origin in FILE_FACTORIES:
            self._tracker.acquire()
            made = _TemporaryFile(self._tracker, self.origin)
            return made.descriptor, made  # the descriptor is the fixture's to close
        self._tracker.acquire()
        is_async = _is_async_origin(self.origin) or "AsyncSession" in repr(kwargs.get("class_"))
        return FakeResource(self._tracker, self.origin, is_async)

    def __getattr__(self, name: str) -> _Factory:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Factory(self._tracker, f"{self.origin}.{name}")

    def __repr__(self) -> str:
        return self.origin

    def __getitem__(self, item: Any) -> _Factory:
        return self  # used in annotations: Session[...]


def _fixture_decorator(*args: Any, **kwargs: Any) -> Any:
    """``pytest.fixture`` in every form, as the identity: the runtime check drives the function."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        function = args[0]
        function.__leaklint_fixture__ = True
        return function
    return _fixture_decorator


def load_module(source: str, filename: str, tracker: Tracker) -> dict[str, Any]:
    """Execute a fixture's source with fake imports and a fake ``open``; return its globals."""
    real_import = builtins.__import__

    def fake_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        root = name.split(".", 1)[0]
        if level == 0 and root in REAL_MODULE_ROOTS:
            return real_import(name, globals, locals, fromlist, level)
        if root in ("pytest", "pytest_asyncio"):
            module = types.ModuleType(name)
            module.fixture = _fixture_decorator  # type: ignore[attr-defined]
            return module
        if level == 0 and fromlist and _is_real_submodule(name):
            return real_import(name, globals, locals, fromlist, level)
        full = name if level == 0 else f"project.{name}"
        module = FakeModule(full if fromlist else root, tracker)
        for submodule in REAL_SUBMODULES:
            parent, _, child = submodule.rpartition(".")
            if parent == module.__name__:
                # `from aiohttp import web`, `import aiohttp.web`: the fake package holds the
                # real submodule
                setattr(module, child, importlib.import_module(submodule))
        return module

    fake_builtins = dict(vars(builtins))
    fake_builtins["__import__"] = fake_import
    fake_builtins["open"] = _Factory(tracker, "open")
    module = types.ModuleType("fixture_under_test")
    module.__builtins__ = fake_builtins  # type: ignore[attr-defined]
    with _registered(module):  # a framework may read annotations through sys.modules
        exec(_compiled(source, filename), module.__dict__)
    return module.__dict__


@contextlib.contextmanager
def _registered(module: types.ModuleType) -> Iterator[None]:
    """``module`` in ``sys.modules`` for a while: Litestar resolves a function's annotations in
    ``sys.modules[function.__module__]``."""
    previous = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    try:
        yield
    finally:
        if previous is None:
            del sys.modules[module.__name__]
        else:
            sys.modules[module.__name__] = previous


def _is_real_submodule(name: str) -> bool:
    return any(name == real or name.startswith(f"{real}.") for real in REAL_SUBMODULES)


def _compiled(source: str, filename: str) -> CodeType:
    """The module's code; for syntax newer than this Python, the statements it can parse (as
    leaklint checks them), so the generator under test still runs."""
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError:
        parsed = parse(filename, source.encode("utf-8"))
        if not isinstance(parsed, ParsedModule):
            raise
        return compile(parsed.tree, filename, "exec", dont_inherit=True)


# drivers ----------------------------------------------------------------------------------


def drivers_for(function: Any) -> list[str]:
    """Which drivers apply to a fixture's function."""
    if getattr(function, "__leaklint_fixture__", False):
        return ["pytest"]
    plain = inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
    return ["contextmanager", "fastapi"] if plain else ["contextmanager"]


@dataclass
class DriveResult:
    """What one drive of a function left behind."""

    left_open: list[FakeResource]
    escaped: Optional[BaseException]
    """The exception that reached the caller (``None``: none did)."""
    never_awaited: list[str]
    """``coroutine ... was never awaited`` warnings."""
    made: int
    """How many fake resources were made (or tried to be)."""
    commits: int = 0
    """How many ``commit()`` calls were made."""
    rollbacks: int = 0
    """How many ``rollback()`` calls were made."""
    restored: Optional[bool] = None
    """Whether the module's ``state()`` read the same after the drive as before it (``None``:
    not asked)."""


def drive(
    function: Any,
    driver: str,
    tracker: Tracker,
    fail_acquisition: bool = False,
    caller_fails: bool = True,
    fail_setup: bool = False,
) -> DriveResult:
    """Drive ``function`` once as ``driver`` does (the caller raising ``Boom``, unless
    ``caller_fails`` is false; the set-up failing with ``fail_setup``) and report the
    outcome."""
    tracker.resources.clear()
    tracker.commits.clear()
    tracker.rollbacks.clear()
    tracker.recording = True
    tracker.fail_acquisition = fail_acquisition
    tracker.fail_setup = fail_setup
    tracker.acquisitions = 0
    escaped: Optional[BaseException] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            RUNTIME_DRIVERS[driver](function, caller_fails)
        except BaseException as error:  # the outcome under test, whatever it is
            escaped = error
        finally:
            tracker.recording = False
        gc.collect()  # dropped coroutines warn when they are collected
    never_awaited = [
        str(warning.message) for warning in caught if "was never awaited" in str(warning.message)
    ]
    return DriveResult(
        tracker.open_resources(),
        escaped,
        never_awaited,
        len(tracker.resources),
        len(tracker.commits),
        len(tracker.rollbacks),
    )


def _drive_contextmanager(function: Any, caller_fails: bool) -> None:
    undecorated = getattr(function, "__wrapped__", function)
    is_async = inspect.isasyncgenfunction(undecorated)
    if function is undecorated:
        wrap = contextlib.asynccontextmanager if is_async else contextlib.contextmanager
        manager: Any = wrap(function)
    else:
        manager = function  # already decorated with @contextmanager

    async def run_async() -> None:
        async with manager():
            if caller_fails:
                raise Boom("the body of the `async with` fails")

    if is_async:
        asyncio.run(run_async())
    else:
        with manager():
            if caller_fails:
                raise Boom("the body of the `with` fails")


def _drive_fastapi(function: Any, caller_fails: bool) -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    if inspect.isasyncgenfunction(function):

        @app.get("/fail")
        async def fail_async(resource: Any = Depends(function)) -> None:
            if caller_fails:
                raise Boom("the endpoint fails")
    else:

        @app.get("/fail")
        def fail(resource: Any = Depends(function)) -> None:
            if caller_fails:
                raise Boom("the endpoint fails")

    with TestClient(app) as client:
        client.get("/fail")  # the server's exception is re-raised here


def _drive_pytest(function: Any, caller_fails: bool) -> None:
    """Set up with ``next()``, tear down with ``next()`` again: pytest does not throw the test's
    failure in, and reports a fixture that yields again as an error."""
    more_than_one = RuntimeError("fixture function has more than one 'yield'")
    if inspect.isasyncgenfunction(function):

        async def run() -> None:
            generator = function()
            await generator.__anext__()
            try:
                await generator.__anext__()
            except StopAsyncIteration:
                return
            raise more_than_one

        asyncio.run(run())
        return
    generator = function()
    next(generator)
    try:
        next(generator)
    except StopIteration:
        return
    raise more_than_one


def _drive_lifespan(function: Any, caller_fails: bool) -> None:
    """A FastAPI app whose lifespan is ``function``, started by ``TestClient``; an endpoint
    raises while the app runs, and leaving the client shuts the app down."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    if inspect.isasyncgenfunction(function):
        function = contextlib.asynccontextmanager(function)
    app = FastAPI(lifespan=function)

    @app.get("/fail")
    async def fail() -> None:
        if caller_fails:
            raise Boom("an endpoint fails while the app runs")

    with TestClient(app) as client:
        client.get("/fail")  # the server's exception is re-raised here, then the app shuts down


def _drive_litestar_lifespan(function: Any, caller_fails: bool) -> None:
    """A Litestar app whose lifespan is ``function``, started by Litestar's ``TestClient``; a
    handler raises while the app runs, and leaving the client shuts the app down."""
    from litestar import Litestar, get
    from litestar.testing import TestClient

    if inspect.isasyncgenfunction(function):
        function = contextlib.asynccontextmanager(function)

    async def fail() -> None:
        if caller_fails:
            raise Boom("a handler fails while the app runs")

    with _module_of(function):
        app = Litestar(
            route_handlers=[get("/fail")(fail)], lifespan=[function], logging_config=None
        )
        with TestClient(app) as client:
            client.get("/fail")  # Litestar answers 500; the app keeps running until shutdown


def _drive_litestar(function: Any, caller_fails: bool) -> None:
    """A Litestar app with ``Provide(function)`` as the dependency of a handler that raises,
    called through Litestar's ``TestClient``. Litestar answers 500 to the client; the exception
    that reached the app is raised again here, as FastAPI's ``TestClient`` does."""
    from litestar import Litestar, Request, Response, get
    from litestar.di import Provide
    from litestar.testing import TestClient

    reached_the_app: list[BaseException] = []

    def record(request: Request[Any, Any, Any], error: Exception) -> Response[None]:
        reached_the_app.append(error)
        return Response(content=None, status_code=500)

    async def fail(resource: Any) -> None:
        if caller_fails:
            raise Boom("the handler fails")

    with contextlib.suppress(ImportError):  # how Litestar 2.23 and later mark a dependency
        from litestar.di import NamedDependency

        fail.__annotations__["resource"] = NamedDependency[Any]
    with _module_of(function):
        app = Litestar(
            route_handlers=[get("/fail")(fail)],
            dependencies={"resource": Provide(function)},
            exception_handlers={Exception: record},
            logging_config=None,
        )
        with TestClient(app) as client:
            client.get("/fail")
    if reached_the_app:
        raise reached_the_app[0]


def _module_of(function: Any) -> contextlib.AbstractContextManager[None]:
    """The module of ``function`` registered while it is driven."""
    module = types.ModuleType(function.__module__)
    module.__dict__.update(inspect.unwrap(function).__globals__)
    return _registered(module)


def _drive_fast_depends(function: Any, caller_fails: bool) -> None:
    """A function decorated with ``@inject`` that takes ``Depends(function)`` and raises."""
    from fast_depends import Depends, inject

    dependency = Depends(function)
    if inspect.isasyncgenfunction(function):

        @inject
        async def fail_async(resource: Any = dependency) -> None:
            if caller_fails:
                raise Boom("the injected function fails")

        asyncio.run(fail_async())
        return

    @inject
    def fail(resource: Any = dependency) -> None:
        if caller_fails:
            raise Boom("the injected function fails")

    fail()


class _Provided:
    """The type a dishka provider is registered for: the function's own annotation may name a
    fake."""


def _drive_dishka(function: Any, caller_fails: bool) -> None:
    """``function`` provided in the request scope of a dishka container; the request enters the
    scope, gets the dependency and fails; then the container closes."""
    from dishka import Provider, Scope, make_async_container, make_container

    provider = Provider()
    provider.provide(function, scope=Scope.REQUEST, provides=_Provided)
    if inspect.isasyncgenfunction(function):

        async def run() -> None:
            container = make_async_container(provider)
            try:
                async with container() as request_container:
                    await request_container.get(_Provided)
                    if caller_fails:
                        raise Boom("the request fails")
            finally:
                await container.close()

        asyncio.run(run())
        return
    container = make_container(provider)
    try:
        with container() as request_container:
            request_container.get(_Provided)
            if caller_fails:
                raise Boom("the request fails")
    finally:
        container.close()


def _drive_dependency_injector(function: Any, caller_fails: bool) -> None:
    """``providers.Resource(function)`` in a container: ``init_resources()``, a use that fails,
    then ``shutdown_resources()``."""
    from dependency_injector import containers, providers

    container = containers.DynamicContainer()
    container.resource = providers.Resource(function)
    if inspect.isasyncgenfunction(function):

        async def run() -> None:
            await container.init_resources()
            try:
                await container.resource()
                if caller_fails:
                    raise Boom("the code using the resource fails")
            finally:
                await container.shutdown_resources()

        asyncio.run(run())
        return
    container.init_resources()
    try:
        container.resource()
        if caller_fails:
            raise Boom("the code using the resource fails")
    finally:
        container.shutdown_resources()


def _drive_aiohttp_cleanup_ctx(function: Any, caller_fails: bool) -> None:
    """An aiohttp app with ``app.cleanup_ctx.append(function)``, served by aiohttp's test server
    on the loopback address; a handler raises while the app runs, then the app is cleaned up.
    aiohttp answers 500; the handler's exception is raised again here."""
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    reached_the_app: list[BaseException] = []

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
        except Boom as error:
            reached_the_app.append(error)
            return web.Response(status=500)
        return response

    async def fail(request: web.Request) -> web.Response:
        if caller_fails:
            raise Boom("the handler fails")
        return web.Response()

    async def run() -> None:
        app = web.Application(middlewares=[record])
        app.cleanup_ctx.append(function)
        app.router.add_get("/fail", fail)
        async with TestClient(TestServer(app)) as client:
            await client.get("/fail")

    asyncio.run(run())
    if reached_the_app:
        raise reached_the_app[0]


Driver = Callable[[Any, bool], None]
RUNTIME_DRIVERS: dict[str, Driver] = {
    "contextmanager": _drive_contextmanager,
    "fastapi": _drive_fastapi,
    "lifespan": _drive_lifespan,
    "litestar": _drive_litestar,
    "litestar-lifespan": _drive_litestar_lifespan,
    "fast-depends": _drive_fast_depends,
    "pytest": _drive_pytest,
    "dishka": _drive_dishka,
    "dependency-injector": _drive_dependency_injector,
    "aiohttp-cleanup-ctx": _drive_aiohttp_cleanup_ctx,
}
"""How the runtime check drives a function, named as the rows of leaklint's driver table."""

DRIVER_LIBRARIES: dict[str, str] = {
    "fastapi": "fastapi",
    "lifespan": "fastapi",
    "litestar": "litestar",
    "litestar-lifespan": "litestar",
    "fast-depends": "fast_depends",
    "dishka": "dishka",
    "dependency-injector": "dependency_injector",
    "aiohttp-cleanup-ctx": "aiohttp",
}
"""The package a driver needs (dishka cannot be installed on Python 3.9)."""


def load_function(source: str, filename: str, name: str) -> tuple[Any, Tracker]:
    """Load a fixture module with fakes and return its function ``name`` and the tracker."""
    function, _, tracker = load_function_and_state(source, filename, name, with_state=False)
    return function, tracker


def load_function_and_state(
    source: str, filename: str, name: str, with_state: bool = True
) -> tuple[Any, Optional[Callable[[], Any]], Tracker]:
    """Like ``load_function``, and the module's ``state()`` too: what an undo puts back (a
    setting, a registry), read before and after a drive."""
    tracker = Tracker()
    namespace = load_module(source, filename, tracker)
    if name not in namespace:
        raise AssertionError(f"{filename} has no function {name!r}")
    state = namespace.get("state")
    if with_state and not callable(state):
        raise AssertionError(f"{filename} has no function 'state' for its undo to put back")
    return namespace[name], state if with_state else None, tracker
