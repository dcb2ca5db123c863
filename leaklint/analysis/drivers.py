"""Who resumes a generator, and how: the driver table every rule reads.

A generator that yields once is driven by something: a framework's dependency injection, a
``with`` statement through ``contextlib``, a server's lifespan, a test runner, a container. What
matters to the rules is how that driver *finalizes* the generator when the code that used the
yielded value fails:

* **throw**: the caller's exception is thrown in at the ``yield``. Code after a bare ``yield`` is
  skipped on that path, so a release there leaks (LL001) and an ``except`` around the ``yield``
  that does not re-raise hides the caller's error (LL005).
* **resume**: the driver resumes the generator with ``next()``/``anext()``/``send()`` whatever
  happened to the caller. Code after a bare ``yield`` runs; LL001 and LL005 do not apply. A
  resource released on no path still leaks (LL003), and every rule about the generator's own
  shape still holds.

Each row below was measured against the installed library (the version is in ``measured``):
a generator whose code after a bare ``yield`` records that it ran, driven by the library with a
caller that raises. ``tests/test_drivers.py`` measures every row again with the real library.
Projects add their own drivers with ``[[tool.leaklint.drivers]]``.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping

from leaklint.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


class Finalization(enum.Enum):
    """How a driver ends the generator after the caller is done."""

    THROW = "throw"
    """The caller's exception is thrown in at the ``yield``."""
    RESUME = "resume"
    """Resumed normally (``next()``, ``anext()``, ``send()``) even when the caller failed."""


class Role(enum.Enum):
    """What the driver makes of the generator; rules word their findings by it."""

    DEPENDENCY = "dependency"
    CONTEXT_MANAGER = "context manager"
    LIFESPAN = "lifespan"
    FIXTURE = "fixture"
    PROVIDER = "provider"


@record(frozen=True)
class Driver:
    """One way a generator is driven, and how leaklint recognises it in source."""

    name: str
    title: str
    """How the README and the rule docs name it."""
    finalization: Finalization
    role: Role
    measured: str = ""
    """The library and version whose behaviour the row records."""
    decorators: frozenset[str] = frozenset()
    """Qualified names of decorators that hand the function to this driver."""
    decorator_names: frozenset[str] = frozenset()
    """Last names of decorators that do (wrappers projects put around ``pytest.fixture``)."""
    calls: frozenset[str] = frozenset()
    """Qualified names of calls that take the generator function as an argument."""
    call_names: frozenset[str] = frozenset()
    """Last names of such calls, wherever they are imported from (the fallback for markers)."""
    positional: bool = True
    """The first positional argument of such a call is the generator function."""
    keywords: frozenset[str] = frozenset()
    """Keyword arguments of such a call that hold the generator function."""
    list_arguments: bool = False
    """The argument may also be a list of functions: ``lifespan=[a, b]``."""
    methods: frozenset[tuple[str, str]] = frozenset()
    """(receiver's last attribute, method) pairs that register their argument:
    ``app.cleanup_ctx.append(f)``; a receiver of ``*`` matches any receiver."""
    requires_import: str = ""
    """Method registrations count only in modules importing this package (``provider.provide``
    means dishka only where dishka is imported)."""
    markers: frozenset[str] = frozenset()
    """Words a file must contain to register a function with this driver: only such files
    are parsed whole for the project index (decorators need no index)."""
    swallowing_hides_error: bool = True
    """A generator that catches the thrown-in exception and does not re-raise hides it from
    the caller. Litestar raises the handler's exception again itself, whatever the
    generator does."""

    @property
    def throws(self) -> bool:
        """The caller's exception reaches the generator at its ``yield``."""
        return self.finalization is Finalization.THROW


FASTAPI = Driver(
    name="fastapi",
    title="FastAPI `Depends`/`Security`",
    finalization=Finalization.THROW,
    role=Role.DEPENDENCY,
    measured="fastapi 0.165.0",
    calls=frozenset(
        f"{module}.{name}"
        for module in ("fastapi", "fastapi.params", "fastapi.param_functions")
        for name in ("Depends", "Security")
    ),
    keywords=frozenset({"dependency"}),
    markers=frozenset({"Depends", "Security"}),
)
CONTEXTMANAGER = Driver(
    name="contextmanager",
    title="`contextlib.contextmanager`/`asynccontextmanager` entered by application code",
    finalization=Finalization.THROW,
    role=Role.CONTEXT_MANAGER,
    measured="Python 3.11",
    decorators=frozenset({"contextlib.contextmanager", "contextlib.asynccontextmanager"}),
)
LIFESPAN = Driver(
    name="lifespan",
    title="Starlette/FastAPI lifespan (`FastAPI(lifespan=...)`, `Starlette`, `APIRouter`)",
    finalization=Finalization.RESUME,
    role=Role.LIFESPAN,
    measured="fastapi 0.165.0, starlette 1.10.0, uvicorn",
    calls=frozenset(
        {
            "fastapi.FastAPI",
            "fastapi.applications.FastAPI",
            "fastapi.APIRouter",
            "fastapi.routing.APIRouter",
            "starlette.applications.Starlette",
            "starlette.routing.Router",
        }
    ),
    positional=False,
    keywords=frozenset({"lifespan"}),
    markers=frozenset({"lifespan"}),
)
LITESTAR_LIFESPAN = Driver(
    name="litestar-lifespan",
    title="Litestar lifespan (`Litestar(lifespan=[...])`)",
    finalization=Finalization.RESUME,
    role=Role.LIFESPAN,
    measured="litestar 2.25.0",
    calls=frozenset({"litestar.Litestar", "litestar.app.Litestar"}),
    positional=False,
    keywords=frozenset({"lifespan"}),
    list_arguments=True,
    markers=frozenset({"lifespan"}),
)
LITESTAR = Driver(
    name="litestar",
    title="Litestar `Provide(gen)`",
    finalization=Finalization.THROW,
    role=Role.DEPENDENCY,
    measured="litestar 2.25.0",
    calls=frozenset({"litestar.di.Provide", "litestar.Provide"}),
    keywords=frozenset({"dependency"}),
    swallowing_hides_error=False,
    markers=frozenset({"litestar"}),
)
FAST_DEPENDS = Driver(
    name="fast-depends",
    title="FastDepends / FastStream `Depends`",
    finalization=Finalization.THROW,
    role=Role.DEPENDENCY,
    measured="fast-depends 3.0.9",
    calls=frozenset(
        {"fast_depends.Depends", "fast_depends.dependencies.Depends", "faststream.Depends"}
    ),
    keywords=frozenset({"dependency"}),
    markers=frozenset({"Depends"}),
)
PYTEST = Driver(
    name="pytest",
    title="pytest / pytest-asyncio yield fixtures",
    finalization=Finalization.RESUME,
    role=Role.FIXTURE,
    measured="pytest 9.0.3",
    decorators=frozenset(
        {
            "pytest.fixture",
            "pytest.yield_fixture",
            "pytest_asyncio.fixture",
            "_pytest.fixtures.fixture",
        }
    ),
    # the wrappers projects put around it (sqlalchemy's config.fixture)
    decorator_names=frozenset({"fixture", "yield_fixture"}),
)
DISHKA = Driver(
    name="dishka",
    title="dishka `@provide` generators (`Provider` methods, `provide(func)`)",
    finalization=Finalization.RESUME,
    role=Role.PROVIDER,
    measured="dishka 1.10.1",
    decorators=frozenset({"dishka.provide", "dishka.provider.provide"}),
    calls=frozenset({"dishka.provide", "dishka.provider.provide"}),
    keywords=frozenset({"source"}),
    methods=frozenset({("*", "provide")}),
    requires_import="dishka",
    markers=frozenset({"dishka"}),
)
DEPENDENCY_INJECTOR = Driver(
    name="dependency-injector",
    title="dependency-injector `providers.Resource(gen)`",
    finalization=Finalization.RESUME,
    role=Role.PROVIDER,
    measured="dependency-injector 4.49.1",
    calls=frozenset({"dependency_injector.providers.Resource"}),
    markers=frozenset({"dependency_injector"}),
)
AIOHTTP_CLEANUP_CTX = Driver(
    name="aiohttp-cleanup-ctx",
    title="aiohttp `app.cleanup_ctx.append(gen)`",
    finalization=Finalization.RESUME,
    role=Role.LIFESPAN,
    measured="aiohttp 3.14.5",
    methods=frozenset({("cleanup_ctx", "append"), ("cleanup_ctx", "extend")}),
    list_arguments=True,
    markers=frozenset({"cleanup_ctx"}),
)
DEPENDS_MARKER = Driver(
    name="depends",
    title="`Depends`/`Security` imported from elsewhere (a re-export, a star import)",
    finalization=Finalization.THROW,
    role=Role.DEPENDENCY,
    measured="as FastAPI and FastDepends",
    call_names=frozenset({"Depends", "Security"}),
    keywords=frozenset({"dependency"}),
    markers=frozenset({"Depends", "Security"}),
)

DRIVERS: tuple[Driver, ...] = (
    FASTAPI,
    CONTEXTMANAGER,
    LIFESPAN,
    LITESTAR,
    LITESTAR_LIFESPAN,
    FAST_DEPENDS,
    PYTEST,
    DISHKA,
    DEPENDENCY_INJECTOR,
    AIOHTTP_CLEANUP_CTX,
    DEPENDS_MARKER,
)
"""The built-in table, in the order the README lists it."""


@record(frozen=True)
class DriverTable:
    """The drivers one run knows: the built-in table and the project's own."""

    drivers: tuple[Driver, ...] = DRIVERS
    _by_name: Mapping[str, Driver] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {driver.name: driver for driver in self.drivers})

    def get(self, name: str) -> Optional[Driver]:
        """The driver called ``name``."""
        return self._by_name.get(name)

    def extended(self, drivers: Iterable[Driver]) -> DriverTable:
        """A table that also knows ``drivers`` (a project's driver replaces a built-in one of
        the same name)."""
        extra = list(drivers)
        names = {driver.name for driver in extra}
        return DriverTable((*(d for d in self.drivers if d.name not in names), *extra))

    def with_markers(self, names: Iterable[str]) -> DriverTable:
        """A table whose fallback dependency marker also matches ``names`` (the
        ``dependency-markers`` setting: calls and decorators that take a dependency)."""
        extra = frozenset(names) - DEPENDS_MARKER.call_names
        if not extra:
            return self
        marker = Driver(
            name=DEPENDS_MARKER.name,
            title=DEPENDS_MARKER.title,
            finalization=DEPENDS_MARKER.finalization,
            role=DEPENDS_MARKER.role,
            measured=DEPENDS_MARKER.measured,
            call_names=DEPENDS_MARKER.call_names | extra,
            decorator_names=extra,
            keywords=DEPENDS_MARKER.keywords,
            markers=DEPENDS_MARKER.markers | extra,
        )
        return self.extended([marker])

    @functools.cached_property
    def registration_words(self) -> tuple[frozenset[str], tuple[tuple[str, frozenset[str]], ...]]:
        """The words a registering call or method spells: those of every module, and those
        only a module importing a driver's package spells (a receiver where it is named,
        ``cleanup_ctx.append``, else the method)."""
        always = {"dependency_overrides"}
        imported: dict[str, set[str]] = {}
        for driver in self.drivers:
            always.update(qualified.rsplit(".", 1)[-1] for qualified in driver.calls)
            always.update(driver.call_names)
            methods = {
                method if receiver == "*" else receiver for receiver, method in driver.methods
            }
            if driver.requires_import:
                imported.setdefault(driver.requires_import, set()).update(methods)
            else:
                always.update(methods)
        return frozenset(always), tuple((root, frozenset(w)) for root, w in imported.items())

    def for_decorator(self, qualified: str) -> Iterable[Driver]:
        """Drivers a decorator with this qualified name hands the function to."""
        last = qualified.rsplit(".", 1)[-1]
        for driver in self.drivers:
            if qualified in driver.decorators or last in driver.decorator_names:
                yield driver

    def for_call(self, qualified: str) -> Optional[Driver]:
        """The driver a call with this qualified name registers its argument with: an exact
        qualified name first, then a last-name marker."""
        for driver in self.drivers:
            if qualified in driver.calls:
                return driver
        last = qualified.rsplit(".", 1)[-1]
        for driver in self.drivers:
            if last in driver.call_names:
                return driver
        return None

    def for_method(self, receiver: str, method: str, imported: Iterable[str]) -> Optional[Driver]:
        """The driver a method call ``<...>.receiver.method(f)`` registers ``f`` with."""
        roots = set(imported)
        for driver in self.drivers:
            for wanted_receiver, wanted_method in driver.methods:
                if method != wanted_method or wanted_receiver not in ("*", receiver):
                    continue
                if driver.requires_import and driver.requires_import not in roots:
                    continue
                return driver
        return None


PRESUMED_DEPENDENCY = Driver(
    name="presumed-dependency",
    title="a dependency by its own source, its `Depends` out of sight (another module)",
    finalization=Finalization.THROW,
    role=Role.DEPENDENCY,
    measured="as FastAPI",
)
"""Not a registration: what a generator that no known driver takes is presumed to be when its
own source says dependency (``targets.presumed_driver``), so a file linted alone (flake8,
pre-commit) gets the verdict the project's view gives."""
PRESUMED_APP_HOOK = Driver(
    name="presumed-app-hook",
    title="an app's start-up and shutdown hook by its own source (`async def f(app): ... yield`)",
    finalization=Finalization.RESUME,
    role=Role.LIFESPAN,
    measured="as aiohttp's cleanup contexts and Starlette's lifespans",
)
"""Likewise for an async generator that takes the application and yields nothing: an aiohttp
cleanup context or a lifespan registered in another module, resumed normally at shutdown."""


DEFAULT_DRIVERS = DriverTable()


def project_driver(
    name: str,
    finalization: str,
    *,
    role: str = "dependency",
    calls: Iterable[str] = (),
    decorators: Iterable[str] = (),
    keywords: Iterable[str] = (),
    methods: Iterable[str] = (),
) -> Driver:
    """A driver a project declares; ``ValueError`` names the field that cannot be used.

    ``calls`` take the generator function as their first positional argument (or one of
    ``keywords``); ``decorators`` hand the decorated function over; ``methods`` are
    ``receiver.method`` pairs such as ``cleanup_ctx.append`` (``*.provide`` for any receiver).
    """
    try:
        kind = Finalization(finalization)
    except ValueError:
        raise ValueError(
            f"finalization: expected 'throw' or 'resume', got {finalization!r}"
        ) from None
    try:
        how = Role(role.replace("-", " "))
    except ValueError:
        known = ", ".join(repr(r.value.replace(" ", "-")) for r in Role)
        raise ValueError(f"role: expected one of {known}, got {role!r}") from None
    pairs = []
    for method in methods:
        receiver, dot, called = method.rpartition(".")
        if not dot or not receiver or not called:
            raise ValueError(f"methods: expected receiver.method, got {method!r}")
        pairs.append((receiver.rsplit(".", 1)[-1], called))
    if not (calls or decorators or methods):
        raise ValueError("expected at least one of calls, decorators, methods")
    return Driver(
        name=name,
        title=name,
        finalization=kind,
        role=how,
        measured="declared by the project",
        decorators=frozenset(decorators),
        calls=frozenset(calls),
        keywords=frozenset(keywords),
        methods=frozenset(pairs),
        markers=frozenset(
            [*(call.rsplit(".", 1)[-1] for call in calls), *(called for _, called in pairs)]
        ),
    )
