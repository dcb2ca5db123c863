"""The resource knowledge base: which calls acquire a resource and how it is released."""

from __future__ import annotations

import ast
import enum
import fnmatch
import functools
from collections.abc import Callable, Iterable, Mapping

from leaklint.analysis.drivers import DEFAULT_DRIVERS, Driver, DriverTable
from leaklint.records import field, record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

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
        "logout",
        # too broad for a per-request generator, but it does release: another rule's concern
        "close_all",
        # a process, a background task or timer: stopped is released
        "kill",
        "cancel",
    }
)
"""Methods whose call on a name releases it: the evidence rule reads these."""

RELEASE_HELPER_WORDS = frozenset({"teardown", "stop", "destroy"})
"""Words that name a release helper (``teardown_db(engine)``) but not a release method: a
``.stop()`` method is too common to be evidence of a resource on its own."""

OWNER_RELEASE_METHODS = frozenset({"putconn", "release"})
"""Pool methods that release the resource passed to them: ``pool.putconn(conn)``."""


class WithForm(enum.Enum):
    """How ``with resource:`` compares with the explicit form, ``resource = ...`` then
    ``try: ... finally: resource.close()``, on every path a request can take: the caller's
    error, asyncio cancellation, an anyio cancel scope, a second cancellation during cleanup.
    Measured with the real libraries by ``tests/test_equivalence.py``."""

    EQUIVALENT = "equivalent"
    """Same outcome on every path: LL002 may ask for the explicit form."""
    SHIELDED = "with-shielded"
    """The exit closes in a task of its own, shielded from cancellation (async SQLAlchemy):
    the ``with`` is better, and LL002 never asks to replace it."""
    COMMITS = "with-commits"
    """The exit commits (or rolls back) and then closes (psycopg 3): an explicit ``close()``
    would drop the commit."""
    LINTERS_REQUIRE = "linters-require-with"
    """Equivalent, but ruff's SIM115 and pylint's R1732 report the explicit form: files,
    archives, temporary files."""
    DOES_NOT_CLOSE = "with-does-not-close"
    """The exit does not release the resource (psycopg2 and ``sqlite3`` connections end a
    transaction; ``Popen`` waits): the ``with`` form leaks."""
    UNMEASURED = "unmeasured"
    """Nobody measured it (a library without a row, a project's own class, a type known only
    by inference or by name): LL002 does not ask."""


@record(frozen=True)
class ResourceType:
    """What leaklint knows about one kind of resource."""

    name: str
    release: Optional[str] = "close"
    """The method that releases it, called on the resource; ``None`` when only its owner can."""
    release_is_async: bool = False
    exit_closes: bool = True
    """Whether leaving ``with resource:`` releases it (psycopg2 and sqlite3 only end a
    transaction)."""
    with_form: WithForm = WithForm.UNMEASURED
    """What ``with`` does compared with the explicit release; only ``EQUIVALENT`` rows may be
    rewritten from one to the other (LL002)."""
    exit_note: str = "ends a transaction but never closes"
    """What leaving ``with`` does instead of releasing, for messages (when ``exit_closes`` is
    false)."""
    inferred: bool = False
    """Known from type inference, not from the knowledge base: its class may be released by a
    method leaklint does not know, so only a resource nothing is done with counts as leaked."""
    guessed: bool = False
    """Known only from names (``with local_session() as session``): a fix that relies on the
    type is unsafe."""
    ends_with: tuple[str, ...] = ()
    """Methods besides the release that end its life on that path: a process that was waited
    for (``proc.wait()``, ``proc.communicate()``) has exited and been reaped."""
    quiet_methods: tuple[str, ...] = ()
    """Methods that do no I/O, so cannot fail between its acquisition and its ``try``: a
    SQLAlchemy connection's ``begin()`` sends nothing until the first statement (LL013)."""
    opened_by: tuple[str, ...] = ()
    """Methods that open it when it was built without arguments: ``ftp = FTP()`` holds no
    connection until ``ftp.connect(host)``, so a step before that leaks nothing (LL013)."""
    lazy: bool = False
    """Holds nothing outside the process until a method of it is used: a SQLAlchemy session
    checks a connection out on its first query, an HTTP or Redis client connects on its first
    request. Handing it to a function (``track_session(session)``) before its ``try`` leaks
    nothing if that fails (LL013)."""

    @property
    def explicit_form_equivalent(self) -> bool:
        """``with`` may be rewritten to the explicit release without changing behaviour: a
        measured row, not a guess from a name."""
        return self.with_form is WithForm.EQUIVALENT and not self.guessed and not self.inferred

    def as_async(self) -> ResourceType:
        """The type as an async resource, for a value the code treats as one (``async with``,
        an awaited method): its release is a coroutine. What its exit does is no longer
        what was measured for the sync type."""
        if self.release_is_async:
            return self
        counterpart = ASYNC_COUNTERPARTS.get((self.name, self.guessed))
        if counterpart is not None:
            return counterpart
        return replace(
            self,
            name=f"async {self.name}",
            release_is_async=True,
            with_form=WithForm.UNMEASURED,
        )


SESSION = ResourceType("sqlalchemy.orm.Session", with_form=WithForm.EQUIVALENT, lazy=True)
ASYNC_SESSION = ResourceType(
    "sqlalchemy.ext.asyncio.AsyncSession",
    release_is_async=True,
    with_form=WithForm.SHIELDED,
    lazy=True,
)
NAMED_SESSION = ResourceType("sqlalchemy.orm.Session", guessed=True, lazy=True)
NAMED_ASYNC_SESSION = ResourceType(
    "sqlalchemy.ext.asyncio.AsyncSession", release_is_async=True, guessed=True, lazy=True
)
# What `engine.connect()` returns: a SQLAlchemy connection when the receiver is an engine
SQLALCHEMY_CONNECTION = ResourceType(
    "sqlalchemy.engine.Connection",
    with_form=WithForm.EQUIVALENT,
    quiet_methods=("begin", "execution_options", "get_transaction", "in_transaction"),
)
ASYNC_SQLALCHEMY_CONNECTION = ResourceType(
    "sqlalchemy.ext.asyncio.AsyncConnection", release_is_async=True, with_form=WithForm.SHIELDED
)
CONNECTION = ResourceType("connection")
ASYNC_CONNECTION = ResourceType("async connection", release_is_async=True)
# psycopg 3: leaving `with` commits (or rolls back) and closes
PSYCOPG_CONNECTION = ResourceType("psycopg.Connection", with_form=WithForm.COMMITS)
ASYNC_PSYCOPG_CONNECTION = ResourceType(
    "psycopg.AsyncConnection", release_is_async=True, with_form=WithForm.COMMITS
)
ENGINE = ResourceType(
    "engine", release="dispose", exit_closes=False, with_form=WithForm.DOES_NOT_CLOSE, lazy=True
)
ASYNC_ENGINE = ResourceType(
    "async engine",
    release="dispose",
    release_is_async=True,
    exit_closes=False,
    with_form=WithForm.DOES_NOT_CLOSE,
    lazy=True,
)
# psycopg2 and sqlite3: `with conn:` commits or rolls back and leaves the connection open.
TRANSACTION_SCOPED_CONNECTION = ResourceType(
    "connection whose `with` ends only the transaction",
    exit_closes=False,
    with_form=WithForm.DOES_NOT_CLOSE,
)
FILE = ResourceType("file", with_form=WithForm.LINTERS_REQUIRE)
SOCKET = ResourceType("socket")
HTTP_CLIENT = ResourceType("httpx.Client", with_form=WithForm.EQUIVALENT, lazy=True)
ASYNC_HTTP_CLIENT = ResourceType(
    "httpx.AsyncClient",
    release="aclose",
    release_is_async=True,
    with_form=WithForm.EQUIVALENT,
    lazy=True,
)
REQUESTS_SESSION = ResourceType("requests.Session", with_form=WithForm.EQUIVALENT, lazy=True)
AIOHTTP_SESSION = ResourceType(
    "aiohttp.ClientSession", release_is_async=True, with_form=WithForm.EQUIVALENT, lazy=True
)
AIOHTTP_CONNECTOR = ResourceType("aiohttp.TCPConnector", release_is_async=True)
ASYNC_HTTP_TRANSPORT = ResourceType(
    "httpx async transport", release="aclose", release_is_async=True
)
REDIS = ResourceType("redis.Redis", lazy=True)
ASYNC_REDIS = ResourceType(
    "redis.asyncio.Redis", release="aclose", release_is_async=True, lazy=True
)
# `with TemporaryDirectory() as path` binds the path string, not the directory object.
TEMPORARY_DIRECTORY = ResourceType(
    "tempfile.TemporaryDirectory", release="cleanup", with_form=WithForm.LINTERS_REQUIRE
)
EXECUTOR = ResourceType("executor", release="shutdown")
# `with Popen(...)` waits for the process on exit; a server started this way must be stopped
PROCESS = ResourceType(
    "subprocess.Popen",
    release="terminate",
    exit_closes=False,
    with_form=WithForm.DOES_NOT_CLOSE,
    exit_note="waits for the process but never stops",
    ends_with=("wait", "communicate"),
)
POOLED_CONNECTION = ResourceType("pooled connection", release=None, exit_closes=False)
ASYNC_POOLED_CONNECTION = ResourceType(
    "pooled connection", release=None, release_is_async=True, exit_closes=False
)

ASYNC_COUNTERPARTS: dict[tuple[str, bool], ResourceType] = {
    (kind.name, kind.guessed): async_kind
    for kind, async_kind in (
        (SESSION, ASYNC_SESSION),
        (NAMED_SESSION, NAMED_ASYNC_SESSION),
        (SQLALCHEMY_CONNECTION, ASYNC_SQLALCHEMY_CONNECTION),
        (ENGINE, ASYNC_ENGINE),
    )
}
"""The async resource a sync row stands for when the code treats it as async:
``sessionmaker(class_=AsyncSession)()``, ``async with engine.connect()``."""

FACTORIES: dict[str, ResourceType] = {
    # SQLAlchemy / SQLModel sessions and engines
    "sqlalchemy.orm.Session": SESSION,
    "sqlalchemy.orm.session.Session": SESSION,
    "sqlmodel.Session": SESSION,
    "sqlmodel.orm.session.Session": SESSION,
    "sqlalchemy.ext.asyncio.AsyncSession": ASYNC_SESSION,
    "sqlalchemy.ext.asyncio.session.AsyncSession": ASYNC_SESSION,
    "sqlmodel.ext.asyncio.session.AsyncSession": ASYNC_SESSION,
    "sqlalchemy.create_engine": ENGINE,
    "sqlmodel.create_engine": ENGINE,
    "sqlalchemy.ext.asyncio.create_async_engine": ASYNC_ENGINE,
    # database drivers
    "psycopg2.connect": TRANSACTION_SCOPED_CONNECTION,
    "sqlite3.connect": TRANSACTION_SCOPED_CONNECTION,
    "psycopg.connect": PSYCOPG_CONNECTION,
    "psycopg.Connection.connect": PSYCOPG_CONNECTION,
    "psycopg.AsyncConnection.connect": ASYNC_PSYCOPG_CONNECTION,
    "asyncpg.connect": ASYNC_CONNECTION,
    "asyncpg.create_pool": ASYNC_CONNECTION,
    "pymysql.connect": CONNECTION,
    "aiomysql.connect": ASYNC_CONNECTION,
    "aiosqlite.connect": ASYNC_CONNECTION,
    # network clients
    "redis.Redis": REDIS,
    "redis.StrictRedis": REDIS,
    "redis.from_url": REDIS,
    "redis.Redis.from_url": REDIS,
    "redis.asyncio.Redis": ASYNC_REDIS,
    "redis.asyncio.from_url": ASYNC_REDIS,
    "redis.asyncio.Redis.from_url": ASYNC_REDIS,
    # a pool is released by disconnecting it; a Sentinel by closing its clients (redis 8.2)
    "redis.ConnectionPool": ResourceType("redis.ConnectionPool", release="disconnect"),
    "redis.BlockingConnectionPool": ResourceType("redis.ConnectionPool", release="disconnect"),
    "redis.asyncio.ConnectionPool": ResourceType(
        "redis.asyncio.ConnectionPool", release="disconnect", release_is_async=True
    ),
    "redis.asyncio.BlockingConnectionPool": ResourceType(
        "redis.asyncio.ConnectionPool", release="disconnect", release_is_async=True
    ),
    "redis.sentinel.Sentinel": ResourceType("redis.sentinel.Sentinel"),
    "httpx.Client": HTTP_CLIENT,
    "httpx.AsyncClient": ASYNC_HTTP_CLIENT,
    "aiohttp.ClientSession": AIOHTTP_SESSION,
    "aiohttp.TCPConnector": AIOHTTP_CONNECTOR,
    "aiohttp.UnixConnector": AIOHTTP_CONNECTOR,
    "httpx.AsyncHTTPTransport": ASYNC_HTTP_TRANSPORT,
    "httpx.ASGITransport": ASYNC_HTTP_TRANSPORT,
    "requests.Session": REQUESTS_SESSION,
    "requests.session": REQUESTS_SESSION,
    "socket.socket": SOCKET,
    "socket.create_connection": SOCKET,
    "urllib.request.urlopen": FILE,
    # files
    "open": FILE,
    "io.open": FILE,
    "builtins.open": FILE,
    "codecs.open": FILE,
    "gzip.open": FILE,
    "bz2.open": FILE,
    "lzma.open": FILE,
    "tarfile.open": FILE,
    "zipfile.ZipFile": FILE,
    "tempfile.TemporaryFile": FILE,
    "tempfile.NamedTemporaryFile": FILE,
    "tempfile.SpooledTemporaryFile": FILE,
    "tempfile.TemporaryDirectory": TEMPORARY_DIRECTORY,
    # standard library clients
    "smtplib.SMTP": ResourceType("smtplib.SMTP", release="quit", opened_by=("connect",)),
    "smtplib.SMTP_SSL": ResourceType("smtplib.SMTP_SSL", release="quit", opened_by=("connect",)),
    "ftplib.FTP": ResourceType("ftplib.FTP", release="quit", opened_by=("connect",)),
    "ftplib.FTP_TLS": ResourceType("ftplib.FTP_TLS", release="quit", opened_by=("connect",)),
    "imaplib.IMAP4": ResourceType("imaplib.IMAP4", release="logout"),
    "imaplib.IMAP4_SSL": ResourceType("imaplib.IMAP4_SSL", release="logout"),
    "poplib.POP3": ResourceType("poplib.POP3", release="quit"),
    "http.client.HTTPConnection": ResourceType("http.client.HTTPConnection"),
    "http.client.HTTPSConnection": ResourceType("http.client.HTTPSConnection"),
    "multiprocessing.Pool": ResourceType("multiprocessing.Pool", release="terminate"),
    "shelve.open": FILE,
    "dbm.open": FILE,
    "wave.open": FILE,
    "selectors.DefaultSelector": FILE,
    "subprocess.Popen": PROCESS,
    # executors
    "concurrent.futures.ThreadPoolExecutor": EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": EXECUTOR,
}


@record(frozen=True)
class OwnershipTransfer:
    """A constructor parameter whose argument the constructed resource closes with itself."""

    keyword: str = ""
    """A keyword argument that, when given ``refused_by``, keeps the argument with the caller."""
    refused_by: object = None


OWNERSHIP_TRANSFERS: dict[tuple[str, str], OwnershipTransfer] = {
    # httpx clients close their transport (Client.close() -> transport.close())
    ("httpx.Client", "transport"): OwnershipTransfer(),
    ("httpx.AsyncClient", "transport"): OwnershipTransfer(),
    # aiohttp closes the connector unless told it does not own it
    ("aiohttp.ClientSession", "connector"): OwnershipTransfer("connector_owner", False),
}
"""(constructor, parameter) pairs that hand a resource to its owner: a resource passed there
is released when its owner is."""

BORROWING_KEYWORDS: dict[str, frozenset[str]] = {
    # a client on a pool it was handed: its close() leaves the pool alone (redis-py 5 sets
    # auto_close_connection_pool=False), and between commands it holds no connection
    "redis.Redis": frozenset({"connection_pool"}),
    "redis.StrictRedis": frozenset({"connection_pool"}),
    "redis.asyncio.Redis": frozenset({"connection_pool"}),
    "redis.asyncio.StrictRedis": frozenset({"connection_pool"}),
}
"""Constructor keywords that make the new object a user of a resource it was given, not an
owner of one: what must be released is what was passed (``pool.disconnect()``)."""

SESSION_FACTORY_MAKERS: dict[str, ResourceType] = {
    "sqlalchemy.orm.sessionmaker": SESSION,
    "sqlmodel.orm.sessionmaker": SESSION,
    "sqlalchemy.ext.asyncio.async_sessionmaker": ASYNC_SESSION,
}
"""Calls whose *result*, when called, makes a session: ``SessionLocal = sessionmaker(...)``."""


def session_factory_product(
    call: ast.Call, qualified_name: Callable[[ast.expr], Optional[str]]
) -> Optional[ResourceType]:
    """The session that calling the result of ``call`` makes, when ``call`` builds a session
    factory: ``sessionmaker(engine)`` makes sync sessions, ``async_sessionmaker(engine)`` and
    SQLAlchemy 1.4's ``sessionmaker(engine, class_=AsyncSession)`` async ones. A ``class_`` of
    the project's own makes sessions whose release was never measured: known by name only."""
    made = SESSION_FACTORY_MAKERS.get(qualified_name(call.func) or "")
    if made is None:
        return None
    for keyword in call.keywords:
        if keyword.arg != "class_":
            continue
        named = qualified_name(keyword.value) or ""
        known = FACTORIES.get(named)
        if known is SESSION or known is ASYNC_SESSION:
            return known
        return NAMED_ASYNC_SESSION if "async" in named.lower() else NAMED_SESSION
    return made


SESSION_REGISTRIES = frozenset(
    {
        "sqlalchemy.orm.scoped_session",
        "sqlalchemy.orm.scoping.scoped_session",
        "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
    }
)
"""Calls whose result, when called, hands out the session of the current thread or task and
keeps it: ``Session = scoped_session(...)``; ``Session.remove()`` closes it, not the caller."""

METHOD_RESULTS: dict[tuple[ResourceType, str], Optional[ResourceType]] = {
    # a copy of the engine with other options, sharing its pool: `dispose()` releases both
    (ENGINE, "execution_options"): None,
    (ASYNC_ENGINE, "execution_options"): None,
}
"""What a method of a known resource returns, where that is known and the method is not one
of :data:`METHOD_FACTORIES`: ``None`` when it is no resource of the caller's."""

CONVENTIONAL_SESSION_FACTORIES: dict[str, ResourceType] = {
    "SessionLocal": NAMED_SESSION,
    "AsyncSessionLocal": NAMED_ASYNC_SESSION,
    "async_session": NAMED_ASYNC_SESSION,
    "async_session_maker": NAMED_ASYNC_SESSION,
    "async_session_factory": NAMED_ASYNC_SESSION,
}
"""Names that the FastAPI and SQLAlchemy documentation give session factories, for projects
whose factory is defined in a file that is not being linted. Only a guess: projects name an
``async_sessionmaker`` ``SessionLocal`` too, so whether the session is async is not known."""

METHOD_FACTORIES: dict[str, ResourceType] = {
    "connect": CONNECTION,
    "raw_connection": CONNECTION,
}
"""Methods that return a resource whatever they are called on: ``engine.connect()``."""

POOL_CHECKOUTS: dict[str, tuple[str, ResourceType]] = {
    "getconn": ("putconn", POOLED_CONNECTION),
    "acquire": ("release", ASYNC_POOLED_CONNECTION),
}
"""Pool methods that check a connection out, with the pool method that gives it back."""


COROUTINE_RELEASE_METHODS = frozenset({"aclose"})
"""Release methods that are coroutines whatever they are called on."""

DEPENDENCY_MARKERS = frozenset({"Depends", "Security"})
"""Last component of the callables that take a dependency: ``fastapi.Depends``, ``Security``."""


@record(frozen=True)
class KnowledgeBase:
    """What counts as a resource and a release: the defaults above plus the project's own."""

    factories: Mapping[str, ResourceType] = field(default_factory=lambda: dict(FACTORIES))
    factory_patterns: tuple[tuple[str, ResourceType], ...] = ()
    """``fnmatch`` patterns over qualified names: ``*.get_connection``."""
    release_methods: frozenset[str] = RELEASE_METHODS
    coroutine_release_methods: frozenset[str] = COROUTINE_RELEASE_METHODS
    dependency_markers: frozenset[str] = DEPENDENCY_MARKERS
    """Calls that take a dependency, and decorators that make one (last name component)."""
    drivers: DriverTable = DEFAULT_DRIVERS
    """Who resumes a generator and how: the built-in table and the project's own drivers."""

    @functools.cached_property
    def index_markers(self) -> tuple[bytes, ...]:
        """Words a file must contain to contribute to the project index: driver registrations,
        dependency overrides, session factories."""
        words = {"dependency_overrides", "sessionmaker", *self.dependency_markers}
        for driver in self.drivers.drivers:
            words.update(driver.markers)
        return tuple(sorted(word.encode() for word in words))

    def factory_type(self, qualified: str) -> Optional[ResourceType]:
        """The resource a call to ``qualified`` returns, when the knowledge base knows it."""
        known = self.factories.get(qualified)
        if known is not None or not self.factory_patterns:
            return known
        for pattern, resource_type in self.factory_patterns:
            if fnmatch.fnmatchcase(qualified, pattern):
                return resource_type
        return None

    def extended(
        self,
        factories: Mapping[str, ResourceType] = {},
        release_methods: Mapping[str, bool] = {},
        dependency_markers: Iterable[str] = (),
        drivers: Iterable[Driver] = (),
    ) -> KnowledgeBase:
        """A copy that also knows the given factories, release methods, markers and drivers."""
        exact = {name: kind for name, kind in factories.items() if not _is_pattern(name)}
        patterns = tuple((name, kind) for name, kind in factories.items() if _is_pattern(name))
        return KnowledgeBase(
            factories={**self.factories, **exact},
            factory_patterns=self.factory_patterns + patterns,
            release_methods=self.release_methods | frozenset(release_methods),
            coroutine_release_methods=self.coroutine_release_methods
            | frozenset(name for name, is_async in release_methods.items() if is_async),
            dependency_markers=self.dependency_markers | frozenset(dependency_markers),
            drivers=self.drivers.extended(drivers).with_markers(dependency_markers),
        )


def _is_pattern(name: str) -> bool:
    return any(character in name for character in "*?[")


DEFAULT_KNOWLEDGE = KnowledgeBase()
