"""Every row of the driver table, measured again with the real library.

Each probe is a generator that records ``"setup"``, yields a value from a bare ``yield`` and then
records ``"cleanup"``. The library drives it while the code that uses the value raises. Code
after a bare ``yield`` runs only when the driver resumes the generator; when it throws the
caller's error in at the ``yield``, the record stops at ``"setup"``. So ``"cleanup"`` is in the
record exactly when the table says the driver resumes, and a wrong row fails here.

Where the library takes both, a probe measures a sync and an async generator. A library that
cannot be installed on this Python (dishka needs 3.10) skips its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pytest

from leaklint.analysis.drivers import DEFAULT_DRIVERS, DEPENDS_MARKER, DRIVERS, Finalization


class CallerFailed(Exception):
    """What the code holding the yielded value raises."""


Log = list[str]


def _sync_probe(log: Log) -> Callable[[], Iterator[int]]:
    def probe() -> Iterator[int]:
        log.append("setup")
        yield 1
        log.append("cleanup")

    return probe


def _async_probe(log: Log) -> Callable[[], AsyncIterator[int]]:
    async def probe() -> AsyncIterator[int]:
        log.append("setup")
        yield 1
        log.append("cleanup")

    return probe


def _versions(*distributions: str) -> str:
    return ", ".join(f"{name} {metadata.version(name)}" for name in distributions)


Measurement = tuple[dict[str, Log], str]
"""The record of each generator flavour, and the versions that made them."""


# probes -----------------------------------------------------------------------------------


def _fastapi(tmp_path: Path) -> Measurement:
    pytest.importorskip("fastapi")
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    logs: dict[str, Log] = {"sync": [], "async": []}
    sync_dependency = Depends(_sync_probe(logs["sync"]))
    async_dependency = Depends(_async_probe(logs["async"]))
    app = FastAPI()

    @app.get("/sync")
    def sync_endpoint(value: Any = sync_dependency) -> None:
        raise CallerFailed(value)

    @app.get("/async")
    async def async_endpoint(value: Any = async_dependency) -> None:
        raise CallerFailed(value)

    with TestClient(app) as client:
        for path in ("/sync", "/async"):
            with pytest.raises(CallerFailed):
                client.get(path)
    return logs, _versions("fastapi", "starlette")


def _contextmanager(tmp_path: Path) -> Measurement:
    logs: dict[str, Log] = {"sync": [], "async": []}
    with pytest.raises(CallerFailed), contextlib.contextmanager(_sync_probe(logs["sync"]))():
        raise CallerFailed

    async def use() -> None:
        async with contextlib.asynccontextmanager(_async_probe(logs["async"]))():
            raise CallerFailed

    with pytest.raises(CallerFailed):
        asyncio.run(use())
    return logs, f"Python {platform.python_version()}"


def _lifespan(tmp_path: Path) -> Measurement:
    pytest.importorskip("fastapi")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    logs: dict[str, Log] = {"asynccontextmanager": [], "async generator": []}

    @contextlib.asynccontextmanager
    async def decorated(app: FastAPI) -> AsyncIterator[None]:
        logs["asynccontextmanager"].append("setup")
        yield
        logs["asynccontextmanager"].append("cleanup")

    async def undecorated(app: FastAPI) -> AsyncIterator[None]:  # Starlette wraps it itself
        logs["async generator"].append("setup")
        yield
        logs["async generator"].append("cleanup")

    for log, lifespan in zip(logs.values(), (decorated, undecorated)):
        app = FastAPI(lifespan=lifespan)

        @app.get("/fail")
        async def fail() -> None:
            raise CallerFailed

        with pytest.raises(CallerFailed), TestClient(app) as client:
            assert log == ["setup"], "the lifespan did not start"
            client.get("/fail")  # raises while the app runs; leaving the block shuts it down
    return logs, _versions("fastapi", "starlette")


def _litestar(tmp_path: Path) -> Measurement:
    pytest.importorskip("litestar")
    from litestar import Litestar, Request, Response, get
    from litestar.di import Provide
    from litestar.testing import TestClient

    logs: dict[str, Log] = {"sync": [], "async": []}
    reached_the_app: list[BaseException] = []

    def record(request: Request[Any, Any, Any], error: Exception) -> Response[None]:
        reached_the_app.append(error)
        return Response(content=None, status_code=500)

    async def fail(value: Any) -> None:
        raise CallerFailed(value)

    with contextlib.suppress(ImportError):  # how Litestar 2.23 and later mark a dependency
        from litestar.di import NamedDependency

        fail.__annotations__["value"] = NamedDependency[Any]
    handler = get("/fail")(fail)

    for flavour, probe in (("sync", _sync_probe), ("async", _async_probe)):
        app = Litestar(
            route_handlers=[handler],
            dependencies={"value": Provide(probe(logs[flavour]))},
            exception_handlers={Exception: record},
            logging_config=None,
        )
        with TestClient(app) as client:
            assert client.get("/fail").status_code == 500
    assert [type(error) for error in reached_the_app] == [CallerFailed, CallerFailed]
    return logs, _versions("litestar")


def _litestar_lifespan(tmp_path: Path) -> Measurement:
    pytest.importorskip("litestar")
    from litestar import Litestar, get
    from litestar.testing import TestClient

    logs: dict[str, Log] = {"asynccontextmanager": []}

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        logs["asynccontextmanager"].append("setup")
        yield
        logs["asynccontextmanager"].append("cleanup")

    async def fail() -> None:
        raise CallerFailed

    app = Litestar(route_handlers=[get("/fail")(fail)], lifespan=[lifespan], logging_config=None)
    with pytest.raises(CallerFailed), TestClient(app) as client:
        assert client.get("/fail").status_code == 500
        raise CallerFailed  # the `with` body fails too; leaving it shuts the app down
    return logs, _versions("litestar")


def _fast_depends(tmp_path: Path) -> Measurement:
    pytest.importorskip("fast_depends")
    from fast_depends import Depends, inject

    logs: dict[str, Log] = {"sync": [], "async": []}
    sync_dependency = Depends(_sync_probe(logs["sync"]))
    async_dependency = Depends(_async_probe(logs["async"]))

    @inject
    def sync_caller(value: int = sync_dependency) -> None:
        raise CallerFailed(value)

    @inject
    async def async_caller(value: int = async_dependency) -> None:
        raise CallerFailed(value)

    with pytest.raises(CallerFailed):
        sync_caller()
    with pytest.raises(CallerFailed):
        asyncio.run(async_caller())
    return logs, _versions("fast-depends")


PYTEST_PROBE = """
import os

import pytest


def record(line):
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(line + "\\n")


@pytest.fixture
def value():
    record("setup")
    yield 1
    record("cleanup")


def test_fails(value):
    raise RuntimeError("the test fails")
"""


def _pytest(tmp_path: Path) -> Measurement:
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(PYTEST_PROBE), encoding="utf-8")
    log_file = tmp_path / "probe.log"
    environment = {**os.environ, "PROBE_LOG": str(log_file), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_probe.py"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and "1 failed" in run.stdout, run.stdout + run.stderr
    return {"sync": log_file.read_text(encoding="utf-8").split()}, _versions("pytest")


def _dishka(tmp_path: Path) -> Measurement:
    pytest.importorskip("dishka")
    from dishka import Provider, Scope, make_async_container, make_container

    class Sync:
        pass

    class Async:
        pass

    logs: dict[str, Log] = {"sync": [], "async": []}
    sync_provider = Provider()
    sync_provider.provide(_sync_probe(logs["sync"]), scope=Scope.REQUEST, provides=Sync)
    async_provider = Provider()
    async_provider.provide(_async_probe(logs["async"]), scope=Scope.REQUEST, provides=Async)

    container = make_container(sync_provider)
    with pytest.raises(CallerFailed), container() as request_container:
        raise CallerFailed(request_container.get(Sync))
    container.close()

    async def use() -> None:
        container = make_async_container(async_provider)
        try:
            async with container() as request_container:
                raise CallerFailed(await request_container.get(Async))
        finally:
            await container.close()

    with pytest.raises(CallerFailed):
        asyncio.run(use())
    return logs, _versions("dishka")


def _dependency_injector(tmp_path: Path) -> Measurement:
    pytest.importorskip("dependency_injector")
    from dependency_injector import containers, providers

    logs: dict[str, Log] = {"sync": [], "async": []}

    sync_container = containers.DynamicContainer()
    sync_container.value = providers.Resource(_sync_probe(logs["sync"]))
    sync_container.init_resources()
    try:
        with pytest.raises(CallerFailed):
            raise CallerFailed(sync_container.value())
    finally:
        sync_container.shutdown_resources()

    async def use() -> None:
        container = containers.DynamicContainer()
        container.value = providers.Resource(_async_probe(logs["async"]))
        await container.init_resources()
        try:
            with pytest.raises(CallerFailed):
                raise CallerFailed(await container.value())
        finally:
            await container.shutdown_resources()

    asyncio.run(use())
    return logs, _versions("dependency-injector")


def _aiohttp_cleanup_ctx(tmp_path: Path) -> Measurement:
    pytest.importorskip("aiohttp")
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    log: Log = []
    failures: list[BaseException] = []

    async def cleanup_ctx(app: web.Application) -> AsyncIterator[None]:
        log.append("setup")
        yield
        log.append("cleanup")

    async def fail(request: web.Request) -> web.Response:
        try:
            raise CallerFailed
        except CallerFailed as error:
            failures.append(error)
            raise

    async def use() -> None:
        app = web.Application()
        app.cleanup_ctx.append(cleanup_ctx)
        app.router.add_get("/fail", fail)
        async with TestClient(TestServer(app)) as client:
            assert log == ["setup"], "the app did not start"
            response = await client.get("/fail")
            assert response.status == 500

    asyncio.run(use())
    assert len(failures) == 1
    return {"async": log}, _versions("aiohttp")


PROBES: dict[str, Callable[[Path], Measurement]] = {
    "fastapi": _fastapi,
    "contextmanager": _contextmanager,
    "lifespan": _lifespan,
    "litestar": _litestar,
    "litestar-lifespan": _litestar_lifespan,
    "fast-depends": _fast_depends,
    "pytest": _pytest,
    "dishka": _dishka,
    "dependency-injector": _dependency_injector,
    "aiohttp-cleanup-ctx": _aiohttp_cleanup_ctx,
}
LIBRARY_DRIVERS = [driver.name for driver in DRIVERS if driver is not DEPENDS_MARKER]
"""Every row but the fallback marker, which stands for no library of its own."""


def test_every_driver_of_the_table_has_a_probe() -> None:
    assert sorted(PROBES) == sorted(LIBRARY_DRIVERS)


@pytest.mark.parametrize("name", LIBRARY_DRIVERS)
def test_the_library_finalizes_as_the_table_says(name: str, tmp_path: Path) -> None:
    driver = DEFAULT_DRIVERS.get(name)
    assert driver is not None
    logs, versions = PROBES[name](tmp_path)
    resumes = driver.finalization is Finalization.RESUME
    for flavour, log in logs.items():
        assert log[:1] == ["setup"], f"{versions}: the {flavour} generator never started: {log}"
        assert ("cleanup" in log) is resumes, (
            f"{versions}: the table says {name} finalizes by {driver.finalization.value}, but "
            f"after the caller raised, the {flavour} generator recorded {log}"
        )


# what a generator that swallows the caller's error does to the caller ----------------------


def _swallowing_probe() -> Iterator[int]:
    with contextlib.suppress(Exception):
        yield 1


def _swallow_fastapi() -> type[BaseException] | None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    dependency = Depends(_swallowing_probe)

    @app.get("/fail")
    def fail(value: Any = dependency) -> None:
        raise CallerFailed(value)

    try:
        with TestClient(app) as client:
            client.get("/fail")
    except BaseException as error:  # what reaches the caller is the measurement
        return type(error)
    return None


def _swallow_contextmanager() -> type[BaseException] | None:
    try:
        with contextlib.contextmanager(_swallowing_probe)():
            raise CallerFailed
    except BaseException as error:
        return type(error)
    return None


def _swallow_litestar() -> type[BaseException] | None:
    from litestar import Litestar, Request, Response, get
    from litestar.di import Provide
    from litestar.testing import TestClient

    reached: list[type[BaseException]] = []

    def record(request: Request[Any, Any, Any], error: Exception) -> Response[None]:
        reached.append(type(error))
        return Response(content=None, status_code=500)

    async def fail(value: Any) -> None:
        raise CallerFailed(value)

    with contextlib.suppress(ImportError):
        from litestar.di import NamedDependency

        fail.__annotations__["value"] = NamedDependency[Any]
    app = Litestar(
        route_handlers=[get("/fail")(fail)],
        dependencies={"value": Provide(_swallowing_probe)},
        exception_handlers={Exception: record},
        logging_config=None,
    )
    with TestClient(app) as client:
        client.get("/fail")
    return reached[0] if reached else None


def _swallow_fast_depends() -> type[BaseException] | None:
    from fast_depends import Depends, inject

    dependency = Depends(_swallowing_probe)

    @inject
    def caller(value: int = dependency) -> None:
        raise CallerFailed(value)

    try:
        caller()
    except BaseException as error:
        return type(error)
    return None


SWALLOW_PROBES = {
    "fastapi": ("fastapi", _swallow_fastapi),
    "contextmanager": ("contextlib", _swallow_contextmanager),
    "litestar": ("litestar", _swallow_litestar),
    "fast-depends": ("fast_depends", _swallow_fast_depends),
}


def test_every_throwing_driver_has_a_swallow_probe() -> None:
    throwing = [name for name in LIBRARY_DRIVERS if DEFAULT_DRIVERS.get(name).throws]  # type: ignore[union-attr]
    assert sorted(SWALLOW_PROBES) == sorted(throwing)


@pytest.mark.parametrize("name", sorted(SWALLOW_PROBES))
def test_swallowing_loses_the_callers_error_where_the_table_says(name: str) -> None:
    """LL005 applies where a dependency that catches and does not re-raise hides the caller's
    error: the caller then sees nothing, or another error, instead of its own."""
    module, probe = SWALLOW_PROBES[name]
    pytest.importorskip(module)
    driver = DEFAULT_DRIVERS.get(name)
    assert driver is not None
    seen = probe()
    lost = seen is not CallerFailed
    assert lost is driver.swallowing_hides_error, (
        f"{name}: after the generator swallowed the error the caller saw {seen!r}"
    )
