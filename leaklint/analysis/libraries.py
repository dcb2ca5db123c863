"""The knowledge base's table: the libraries leaklint knows, one row per way of acquiring a
resource (the call, what it returns, how that is released, whether the release is a coroutine,
what its ``with`` does, whether it holds anything before first use), each library with the
version its rows were checked against. ``FACTORIES``, which the analysis reads, is made from
it; the project's configuration extends it (``resource-factories``).

``tests/test_knowledge_base.py`` checks every row of an installed library against the library
itself (the release method exists, is or is not a coroutine, the ``with`` exit calls it), and
``tests/test_equivalence.py`` measures the ``with`` forms LL002 may rewrite. The README's list
of libraries is generated from this table (``python -m leaklint.analysis.libraries``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from leaklint.analysis.kinds import ResourceType, WithForm
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


@record(frozen=True)
class Row:
    """One way of acquiring a resource."""

    call: str
    """The qualified call as code spells it: ``psycopg2.connect``, ``httpx.Client``."""
    kind: ResourceType
    returns: str = ""
    """The qualified class of what the call returns, where it is not the call itself (a
    function): what the knowledge-base test checks the release against."""


@record(frozen=True)
class Library:
    """A library's rows, and the version they were checked against."""

    name: str
    """The import name of its top-level package (``psycopg2``); the standard library's rows
    are under ``(standard library)``."""
    distribution: str
    """What ``pip install`` takes (``psycopg2-binary``); empty for the standard library."""
    checked: str
    """The version the rows were checked against (``2.9.13``, ``Python 3.11``)."""
    rows: tuple[Row, ...]


STANDARD_LIBRARY = "(standard library)"

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
REDIS_POOL = ResourceType("redis.ConnectionPool", release="disconnect")
ASYNC_REDIS_POOL = ResourceType(
    "redis.asyncio.ConnectionPool", release="disconnect", release_is_async=True
)
# redis-py 5 keeps `close()` as a deprecated coroutine alias of `aclose()`
ASYNC_REDIS = ResourceType(
    "redis.asyncio.Redis", release="aclose", release_is_async=True, lazy=True, ends_with=("close",)
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
# A pool of connections, closed as a whole (psycopg_pool, oracledb): its `close()` closes the
# idle connections, and those in use as they come back
CONNECTION_POOL = ResourceType("connection pool")
ASYNC_CONNECTION_POOL = ResourceType("async connection pool", release_is_async=True)
# aiomysql: `close()` is a plain method that drops the socket; `ensure_closed()` is the coroutine
# that says goodbye first. A connection acquired with `await` is async to the analysis, whose
# fix awaits the release: only `ensure_closed()` may be awaited. The analysis recognises a
# release by a list of method names that lacks it, hence `ends_with`.
AIOMYSQL_CONNECTION = ResourceType(
    "aiomysql.Connection",
    release="ensure_closed",
    release_is_async=True,
    ends_with=("ensure_closed",),
)
# document stores: pymongo's MongoClient starts its monitor threads and connects at
# construction; AsyncMongoClient (and Motor, which builds its MongoClient with connect=False)
# connect on the first operation. Motor's `close()` is pymongo's, a plain method.
MONGO_CLIENT = ResourceType("pymongo.MongoClient")
ASYNC_MONGO_CLIENT = ResourceType("pymongo.AsyncMongoClient", release_is_async=True, lazy=True)
MOTOR_CLIENT = ResourceType("motor.motor_asyncio.AsyncIOMotorClient", lazy=True)
# aiokafka: building a producer or consumer connects nothing, `await start()` does, and
# `await stop()` releases it. `stop` is not a name the analysis recognises as a release on
# its own (too common), hence `ends_with`. `opened_by` applies when it is built without
# positional arguments (a consumer given its topics positionally counts as opened at once); LL013
# reads it from a plain `producer.start()` statement, not yet from `await producer.start()`.
KAFKA_CLIENT = ResourceType(
    "aiokafka client",
    release="stop",
    release_is_async=True,
    opened_by=("start",),
    ends_with=("stop",),
)
# grpc: a channel connects on its first call
GRPC_CHANNEL = ResourceType("grpc.Channel", lazy=True)
ASYNC_GRPC_CHANNEL = ResourceType("grpc.aio.Channel", release_is_async=True, lazy=True)
# paramiko: `SSHClient()` holds nothing until `client.connect(host)`
SSH_CLIENT = ResourceType("paramiko.SSHClient", opened_by=("connect",))
# Elasticsearch and OpenSearch clients: a pool of HTTP connections made on the first request
SEARCH_CLIENT = ResourceType("search client", lazy=True)
ASYNC_SEARCH_CLIENT = ResourceType("async search client", release_is_async=True, lazy=True)
# RabbitMQ: both connect before returning
AMQP_CONNECTION = ResourceType("pika.BlockingConnection")
ASYNC_AMQP_CONNECTION = ResourceType("aio_pika.Connection", release_is_async=True)
# NATS: `nats.connect()` connects; `NATS()` holds nothing until `await nc.connect(servers)`.
# `await nc.drain()` releases it too: it closes the connection once the subscriptions are drained
NATS_CLIENT = ResourceType(
    "nats.aio.client.Client",
    release_is_async=True,
    opened_by=("connect",),
    ends_with=("drain",),
)
WEBSOCKET = ResourceType("websockets.sync.client.ClientConnection")
ASYNC_WEBSOCKET = ResourceType("websockets.asyncio.client.ClientConnection", release_is_async=True)
# neo4j: a driver connects when a session first needs a connection
GRAPH_DRIVER = ResourceType("neo4j.Driver", lazy=True)
ASYNC_GRAPH_DRIVER = ResourceType("neo4j.AsyncDriver", release_is_async=True, lazy=True)
# cassandra-driver: `Cluster(...)` connects on `cluster.connect()`, which starts its threads;
# `shutdown()` stops them and every session's connections
CASSANDRA_CLUSTER = ResourceType("cassandra.cluster.Cluster", release="shutdown", lazy=True)
# clickhouse-driver: the client connects on its first query
CLICKHOUSE_DRIVER_CLIENT = ResourceType("clickhouse_driver.Client", release="disconnect", lazy=True)
# a process pool or a thread pool: `terminate()` stops the workers (`close()` then `join()` lets
# them finish first); leaving `with` terminates
WORKER_POOL = ResourceType("multiprocessing.Pool", release="terminate")
# Selenium: the browser and its driver process start at construction; `quit()` stops both
# (`close()` only closes the current window)
BROWSER = ResourceType("selenium WebDriver", release="quit")
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


LIBRARIES: tuple[Library, ...] = (
    Library(
        "sqlalchemy",
        "SQLAlchemy",
        "2.1.9",
        (
            Row("sqlalchemy.orm.Session", SESSION),
            Row("sqlalchemy.orm.session.Session", SESSION),
            Row("sqlalchemy.ext.asyncio.AsyncSession", ASYNC_SESSION),
            Row("sqlalchemy.ext.asyncio.session.AsyncSession", ASYNC_SESSION),
            Row("sqlalchemy.create_engine", ENGINE, "sqlalchemy.engine.Engine"),
            Row(
                "sqlalchemy.ext.asyncio.create_async_engine",
                ASYNC_ENGINE,
                "sqlalchemy.ext.asyncio.AsyncEngine",
            ),
        ),
    ),
    Library(
        "sqlmodel",
        "sqlmodel",
        "0.0.50",
        (
            Row("sqlmodel.Session", SESSION),
            Row("sqlmodel.orm.session.Session", SESSION),
            Row("sqlmodel.ext.asyncio.session.AsyncSession", ASYNC_SESSION),
            Row("sqlmodel.create_engine", ENGINE, "sqlalchemy.engine.Engine"),
        ),
    ),
    Library(
        "psycopg2",
        "psycopg2-binary",
        "2.9.13",
        (Row("psycopg2.connect", TRANSACTION_SCOPED_CONNECTION, "psycopg2.extensions.connection"),),
    ),
    Library(
        "psycopg",
        "psycopg",
        "3.3.9",
        (
            Row("psycopg.connect", PSYCOPG_CONNECTION, "psycopg.Connection"),
            Row("psycopg.Connection.connect", PSYCOPG_CONNECTION, "psycopg.Connection"),
            Row(
                "psycopg.AsyncConnection.connect",
                ASYNC_PSYCOPG_CONNECTION,
                "psycopg.AsyncConnection",
            ),
        ),
    ),
    Library(
        "asyncpg",
        "asyncpg",
        "0.32.0",
        (
            Row("asyncpg.connect", ASYNC_CONNECTION, "asyncpg.connection.Connection"),
            Row("asyncpg.create_pool", ASYNC_CONNECTION, "asyncpg.pool.Pool"),
        ),
    ),
    # PyMySQL 1.0 made `with conn:` close the connection (0.x returned a cursor and committed);
    # checked with 1.2.4, and 1.1.1 from source
    Library(
        "pymysql",
        "PyMySQL",
        "1.2.4",
        (
            Row("pymysql.connect", CONNECTION),
            Row("pymysql.connections.Connection", CONNECTION),
        ),
    ),
    # `aiomysql.connect()` returns an awaitable context manager; awaited, the connection.
    # 0.2.0, checked from source, is the same. No row for `create_pool()`: its pool is released
    # by a plain `pool.close()` then `await pool.wait_closed()`, and a pool acquired with
    # `await` is async to the analysis, which would then ask for `await pool.close()` (LL007, a
    # TypeError at run time). Without a row the pool is a resource by evidence, as before.
    Library(
        "aiomysql",
        "aiomysql",
        "0.3.2",
        (Row("aiomysql.connect", AIOMYSQL_CONNECTION, "aiomysql.connection.Connection"),),
    ),
    Library(
        "aiosqlite",
        "aiosqlite",
        "0.22.1",
        (Row("aiosqlite.connect", ASYNC_CONNECTION, "aiosqlite.Connection"),),
    ),
    Library(
        "redis",
        "redis",
        "8.2.0",
        (
            Row("redis.Redis", REDIS),
            Row("redis.StrictRedis", REDIS),
            Row("redis.from_url", REDIS, "redis.Redis"),
            Row("redis.Redis.from_url", REDIS, "redis.Redis"),
            Row("redis.asyncio.Redis", ASYNC_REDIS),
            Row("redis.asyncio.from_url", ASYNC_REDIS, "redis.asyncio.Redis"),
            Row("redis.asyncio.Redis.from_url", ASYNC_REDIS, "redis.asyncio.Redis"),
            # a pool is released by disconnecting it; a Sentinel by closing its clients
            Row("redis.ConnectionPool", REDIS_POOL),
            Row("redis.BlockingConnectionPool", REDIS_POOL),
            Row("redis.asyncio.ConnectionPool", ASYNC_REDIS_POOL),
            Row("redis.asyncio.BlockingConnectionPool", ASYNC_REDIS_POOL),
            Row(
                "redis.sentinel.Sentinel",
                ResourceType("redis.sentinel.Sentinel", parts=("sentinels",)),
            ),
        ),
    ),
    Library(
        "httpx",
        "httpx",
        "0.29.0",
        (
            Row("httpx.Client", HTTP_CLIENT),
            Row("httpx.AsyncClient", ASYNC_HTTP_CLIENT),
            Row("httpx.AsyncHTTPTransport", ASYNC_HTTP_TRANSPORT),
            Row("httpx.ASGITransport", ASYNC_HTTP_TRANSPORT),
        ),
    ),
    Library(
        "aiohttp",
        "aiohttp",
        "3.14.5",
        (
            Row("aiohttp.ClientSession", AIOHTTP_SESSION),
            Row("aiohttp.TCPConnector", AIOHTTP_CONNECTOR),
            Row("aiohttp.UnixConnector", AIOHTTP_CONNECTOR),
        ),
    ),
    Library(
        "requests",
        "requests",
        "2.34.2",
        (
            Row("requests.Session", REQUESTS_SESSION),
            Row("requests.session", REQUESTS_SESSION, "requests.Session"),
        ),
    ),
    # document stores
    Library(
        "pymongo",
        "pymongo",
        "4.20.1",
        (
            Row("pymongo.MongoClient", MONGO_CLIENT),
            Row("pymongo.mongo_client.MongoClient", MONGO_CLIENT),
            Row("pymongo.AsyncMongoClient", ASYNC_MONGO_CLIENT),
        ),
    ),
    Library(
        "motor",
        "motor",
        "3.7.1",
        (Row("motor.motor_asyncio.AsyncIOMotorClient", MOTOR_CLIENT),),
    ),
    # message brokers
    Library(
        "aiokafka",
        "aiokafka",
        "0.14.0",
        (
            Row("aiokafka.AIOKafkaProducer", KAFKA_CLIENT),
            Row("aiokafka.AIOKafkaConsumer", KAFKA_CLIENT),
        ),
    ),
    # channels (`await connection.channel()`) are made by a method: no row can name them
    Library(
        "aio_pika",
        "aio-pika",
        "10.2.1",
        (
            Row("aio_pika.connect", ASYNC_AMQP_CONNECTION, "aio_pika.Connection"),
            Row("aio_pika.connect_robust", ASYNC_AMQP_CONNECTION, "aio_pika.RobustConnection"),
        ),
    ),
    Library("pika", "pika", "1.4.4", (Row("pika.BlockingConnection", AMQP_CONNECTION),)),
    Library(
        "nats",
        "nats-py",
        "2.16.0",
        (
            Row("nats.connect", NATS_CLIENT, "nats.aio.client.Client"),
            Row("nats.NATS", NATS_CLIENT),
            Row("nats.aio.client.Client", NATS_CLIENT),
        ),
    ),
    # RPC and remote shells
    Library(
        "grpc",
        "grpcio",
        "1.85.4",
        (
            Row("grpc.insecure_channel", GRPC_CHANNEL, "grpc._channel.Channel"),
            Row("grpc.secure_channel", GRPC_CHANNEL, "grpc._channel.Channel"),
            Row("grpc.aio.insecure_channel", ASYNC_GRPC_CHANNEL, "grpc.aio._channel.Channel"),
            Row("grpc.aio.secure_channel", ASYNC_GRPC_CHANNEL, "grpc.aio._channel.Channel"),
        ),
    ),
    Library(
        "paramiko",
        "paramiko",
        "5.1.0",
        (
            Row("paramiko.SSHClient", SSH_CLIENT),
            Row("paramiko.client.SSHClient", SSH_CLIENT),
            # given an address, it connects the socket at construction
            Row("paramiko.Transport", ResourceType("paramiko.Transport")),
        ),
    ),
    Library(
        "websockets",
        "websockets",
        "17.4",
        (
            # `await connect(uri)` gives the connection (`async with connect(uri) as ws` too)
            Row(
                "websockets.connect",
                ASYNC_WEBSOCKET,
                "websockets.asyncio.client.ClientConnection",
            ),
            Row(
                "websockets.asyncio.client.connect",
                ASYNC_WEBSOCKET,
                "websockets.asyncio.client.ClientConnection",
            ),
            Row(
                "websockets.sync.client.connect",
                WEBSOCKET,
                "websockets.sync.client.ClientConnection",
            ),
        ),
    ),
    # search engines
    Library(
        "elasticsearch",
        "elasticsearch",
        "9.5.1",
        (
            Row("elasticsearch.Elasticsearch", SEARCH_CLIENT),
            Row("elasticsearch.AsyncElasticsearch", ASYNC_SEARCH_CLIENT),
        ),
    ),
    Library(
        "opensearchpy",
        "opensearch-py",
        "3.2.0",
        (
            Row("opensearchpy.OpenSearch", SEARCH_CLIENT),
            Row("opensearchpy.AsyncOpenSearch", ASYNC_SEARCH_CLIENT),
        ),
    ),
    # graph and wide-column databases; a neo4j session (`driver.session()`) is made by a method:
    # no row can name it
    Library(
        "neo4j",
        "neo4j",
        "6.4.1",
        (
            Row("neo4j.GraphDatabase.driver", GRAPH_DRIVER, "neo4j.Driver"),
            Row("neo4j.AsyncGraphDatabase.driver", ASYNC_GRAPH_DRIVER, "neo4j.AsyncDriver"),
        ),
    ),
    # compiled with Cython: checked from the .py source it ships
    Library(
        "cassandra",
        "cassandra-driver",
        "3.30.1",
        (Row("cassandra.cluster.Cluster", CASSANDRA_CLUSTER),),
    ),
    # analytics databases
    Library(
        "clickhouse_connect",
        "clickhouse-connect",
        "1.13.0",
        (
            # both ask the server for its version and settings before returning
            Row(
                "clickhouse_connect.get_client",
                CONNECTION,
                "clickhouse_connect.driver.httpclient.HttpClient",
            ),
            Row(
                "clickhouse_connect.get_async_client",
                ASYNC_CONNECTION,
                "clickhouse_connect.driver.asyncclient.AsyncClient",
            ),
        ),
    ),
    Library(
        "clickhouse_driver",
        "clickhouse-driver",
        "0.2.11",
        (Row("clickhouse_driver.Client", CLICKHOUSE_DRIVER_CLIENT),),
    ),
    # a C++ extension: its `with` exit (closes, as documented) cannot be read
    Library(
        "duckdb",
        "duckdb",
        "2.0.1",
        (Row("duckdb.connect", CONNECTION, "duckdb.DuckDBPyConnection"),),
    ),
    Library(
        "snowflake",
        "snowflake-connector-python",
        "5.2.0",
        (
            Row(
                "snowflake.connector.connect",
                CONNECTION,
                "snowflake.connector.connection.SnowflakeConnection",
            ),
        ),
    ),
    # SQL drivers and pools
    Library(
        "mysql",
        "mysql-connector-python",
        "26.10.0",
        (
            # the C extension's connection or the pure one (a pooled one when given pool
            # arguments, whose `close()` gives it back): all share this base
            Row(
                "mysql.connector.connect",
                CONNECTION,
                "mysql.connector.abstracts.MySQLConnectionAbstract",
            ),
            Row("mysql.connector.MySQLConnection", CONNECTION),
            Row(
                "mysql.connector.aio.connect",
                ASYNC_CONNECTION,
                "mysql.connector.aio.connection.MySQLConnection",
            ),
        ),
    ),
    # `with conn:` commits and leaves the connection open (pyodbc's documented behaviour; a C
    # extension, so the knowledge-base test cannot read it)
    Library(
        "pyodbc",
        "pyodbc",
        "5.5.0",
        (Row("pyodbc.connect", TRANSACTION_SCOPED_CONNECTION, "pyodbc.Connection"),),
    ),
    Library(
        "oracledb",
        "oracledb",
        "26.1.0",
        (
            Row("oracledb.connect", CONNECTION, "oracledb.Connection"),
            Row("oracledb.create_pool", CONNECTION_POOL, "oracledb.ConnectionPool"),
            # `await oracledb.connect_async(...)`; the async pool is made without `await`
            Row("oracledb.connect_async", ASYNC_CONNECTION, "oracledb.AsyncConnection"),
            Row(
                "oracledb.create_pool_async",
                ASYNC_CONNECTION_POOL,
                "oracledb.AsyncConnectionPool",
            ),
        ),
    ),
    # pools open at construction unless given open=False
    Library(
        "psycopg_pool",
        "psycopg-pool",
        "3.3.3",
        (
            Row("psycopg_pool.ConnectionPool", CONNECTION_POOL),
            Row("psycopg_pool.NullConnectionPool", CONNECTION_POOL),
            Row("psycopg_pool.AsyncConnectionPool", ASYNC_CONNECTION_POOL),
            Row("psycopg_pool.AsyncNullConnectionPool", ASYNC_CONNECTION_POOL),
        ),
    ),
    # browsers; Playwright's are made by methods (`sync_playwright().start()`,
    # `playwright.chromium.launch()`): no row can name them
    Library(
        "selenium",
        "selenium",
        "4.51.0",
        (
            Row("selenium.webdriver.Chrome", BROWSER),
            Row("selenium.webdriver.Firefox", BROWSER),
            Row("selenium.webdriver.Edge", BROWSER),
            Row("selenium.webdriver.Safari", BROWSER),
            Row("selenium.webdriver.Remote", BROWSER),
        ),
    ),
    Library(
        STANDARD_LIBRARY,
        "",
        "Python 3.11",
        (
            Row("socket.socket", SOCKET),
            Row("socket.create_connection", SOCKET, "socket.socket"),
            Row("urllib.request.urlopen", FILE, "http.client.HTTPResponse"),
            # files
            Row("open", FILE, "io.TextIOWrapper"),
            Row("io.open", FILE, "io.TextIOWrapper"),
            Row("builtins.open", FILE, "io.TextIOWrapper"),
            Row("codecs.open", FILE, "codecs.StreamReaderWriter"),
            Row("gzip.open", FILE, "gzip.GzipFile"),
            Row("bz2.open", FILE, "bz2.BZ2File"),
            Row("lzma.open", FILE, "lzma.LZMAFile"),
            Row("tarfile.open", FILE, "tarfile.TarFile"),
            Row("zipfile.ZipFile", FILE),
            Row("tempfile.TemporaryFile", FILE, "io.BufferedRandom"),
            Row("tempfile.NamedTemporaryFile", FILE, "tempfile._TemporaryFileWrapper"),
            Row("tempfile.SpooledTemporaryFile", FILE),
            Row("tempfile.TemporaryDirectory", TEMPORARY_DIRECTORY),
            Row("shelve.open", FILE, "shelve.DbfilenameShelf"),
            Row("dbm.open", FILE),
            Row("wave.open", FILE, "wave.Wave_read"),
            Row("selectors.DefaultSelector", FILE),
            # clients
            Row(
                "smtplib.SMTP",
                ResourceType("smtplib.SMTP", release="quit", opened_by=("connect",)),
            ),
            Row(
                "smtplib.SMTP_SSL",
                ResourceType("smtplib.SMTP_SSL", release="quit", opened_by=("connect",)),
            ),
            Row("ftplib.FTP", ResourceType("ftplib.FTP", release="quit", opened_by=("connect",))),
            Row(
                "ftplib.FTP_TLS",
                ResourceType("ftplib.FTP_TLS", release="quit", opened_by=("connect",)),
            ),
            Row("imaplib.IMAP4", ResourceType("imaplib.IMAP4", release="logout")),
            Row("imaplib.IMAP4_SSL", ResourceType("imaplib.IMAP4_SSL", release="logout")),
            Row("poplib.POP3", ResourceType("poplib.POP3", release="quit")),
            Row("poplib.POP3_SSL", ResourceType("poplib.POP3_SSL", release="quit")),
            Row("http.client.HTTPConnection", ResourceType("http.client.HTTPConnection")),
            Row("http.client.HTTPSConnection", ResourceType("http.client.HTTPSConnection")),
            Row("sqlite3.connect", TRANSACTION_SCOPED_CONNECTION, "sqlite3.Connection"),
            # processes and workers
            Row("multiprocessing.Pool", WORKER_POOL, "multiprocessing.pool.Pool"),
            Row("multiprocessing.pool.Pool", WORKER_POOL),
            Row("multiprocessing.pool.ThreadPool", WORKER_POOL),
            Row("multiprocessing.dummy.Pool", WORKER_POOL, "multiprocessing.pool.ThreadPool"),
            Row("subprocess.Popen", PROCESS),
            Row("concurrent.futures.ThreadPoolExecutor", EXECUTOR),
            Row("concurrent.futures.ProcessPoolExecutor", EXECUTOR),
        ),
    ),
)
"""Every library leaklint knows, with its rows."""

FACTORIES: dict[str, ResourceType] = {
    row.call: row.kind for library in LIBRARIES for row in library.rows
}
"""The resource each known call returns: the table, by call."""


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
    # cassandra-driver 3.30.1: a session of the cluster, shut down on its own
    (CASSANDRA_CLUSTER, "connect"): ResourceType("cassandra.cluster.Session", release="shutdown"),
    # neo4j 6.4.1: a session borrows connections from the driver's pool until closed
    (GRAPH_DRIVER, "session"): ResourceType("neo4j.Session", lazy=True),
    (ASYNC_GRAPH_DRIVER, "session"): ResourceType(
        "neo4j.AsyncSession", release_is_async=True, lazy=True
    ),
    # pika 1.4.4 and aio-pika 10.2.1: a channel on the connection, closed on its own
    (AMQP_CONNECTION, "channel"): ResourceType("pika.channel.Channel"),
    (ASYNC_AMQP_CONNECTION, "channel"): ResourceType("aio_pika.Channel", release_is_async=True),
    # paramiko 5.1.0: an SFTP session over the client's transport
    (SSH_CLIENT, "open_sftp"): ResourceType("paramiko.SFTPClient"),
}
"""What a method of a known resource returns, where that is known: ``None`` when it is no
resource of the caller's, a kind when it is one of its own (a driver's session, a connection's
channel); ahead of :data:`METHOD_FACTORIES`, which answer for any receiver."""

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

LOCK = ResourceType("lock", release="release", guessed=True)
"""A lock held by ``lock.acquire()`` until ``lock.release()``: ``threading`` and
``multiprocessing`` locks and semaphores, ``asyncio``'s (``await lock.acquire()``, a plain
``release()``), redis and filelock locks. Recognised by the two calls on one name, not by a
factory: the lock itself is usually shared (a parameter, an attribute), what is held is the
acquisition. Which library it is is not known, so neither is whether ``release()`` is a
coroutine (asyncio's is not, redis.asyncio's is): ``guessed``, and the code's own release
calls are what fixes move."""

CONTEXT_VAR_TOKEN = ResourceType(
    "ContextVar token",
    release=None,
    exit_closes=False,
    exit_note="is not a context manager",
    undo=True,
)
"""What ``var.set(value)`` returns, held until ``var.reset(token)`` puts the previous value
back: until then every task and thread that copies this context sees the new value. Recognised
by the two calls on one variable and one token (a ``ContextVar`` of the module, of a class or
of another module, and libraries with the same pair); the reset is the release."""

TEMPORARY_FOLDER = ResourceType(
    "temporary folder", release=None, exit_closes=False, exit_note="is not a context manager"
)
"""A folder ``tempfile.mkdtemp()`` made, on disk until ``shutil.rmtree(path)`` removes it.
Recognised by the two calls on one name; the removal is the release."""

TEMPORARY_FILE = ResourceType(
    "temporary file", release=None, exit_closes=False, exit_note="is not a context manager"
)
"""A file ``fd, path = tempfile.mkstemp()`` made, on disk until ``os.remove(path)`` (or
``os.unlink``) removes it. Recognised by the two calls on one name; the removal is the
release."""

DISK_LEFTOVERS: dict[str, tuple[ResourceType, frozenset[str]]] = {
    "tempfile.mkdtemp": (TEMPORARY_FOLDER, frozenset({"shutil.rmtree"})),
    "tempfile.mkstemp": (TEMPORARY_FILE, frozenset({"os.remove", "os.unlink"})),
}
"""Calls that make a folder or a file the caller must remove (Python 3.9 to 3.13), and the
calls that remove the path passed first. A folder's removal is not ``os.rmdir``: it fails on a
folder that is not empty, which a failing body usually leaves, so in a ``finally`` it would
replace the caller's error with its own (an OpenHands evaluation helper, for one)."""

LEFTOVER_REMOVALS = frozenset(name for _, removals in DISK_LEFTOVERS.values() for name in removals)

LEFTOVER_HANDOVERS = frozenset({"os.replace", "os.rename", "shutil.move"})
"""Calls that give the path passed first a home of its own: an atomic write's temporary file
renamed over its target is the target now, not something to remove (requests'
``atomic_open`` removes it only when the write failed, rightly)."""

CHANGED_STATE = ResourceType(
    "changed state",
    release=None,
    exit_closes=False,
    exit_note="is not a context manager",
    undo=True,
)
"""A change the generator makes before its ``yield`` and undoes after it, recognised by the
shape of the two calls: the same call made again with a value saved before the change
(``previous = os.getcwd()``, ``os.chdir(path)``, then ``os.chdir(previous)``; ``old =
signal.signal(SIGTERM, handler)`` then ``signal.signal(SIGTERM, old)``; ``logger.setLevel``
with ``logger.level`` saved), or a registration and its counterpart on the same receiver with
the same argument (``UNDO_METHOD_PAIRS``). The undo is the release."""

MOCK_PATCHER = ResourceType(
    "mock patcher",
    release="stop",
    exit_closes=True,
    opened_by=("start",),
    undo=True,
)
"""A ``unittest.mock`` patcher: ``patcher = mock.patch(...)`` changes nothing until
``patcher.start()`` puts the replacement in place, and ``patcher.stop()`` puts the original
back. A patcher left started keeps the replacement for the rest of the process: every later
test, request or job sees the mock."""

PATCHER_FACTORIES = frozenset(
    {
        f"{module}.{name}"
        for module in ("unittest.mock", "mock")
        for name in ("patch", "patch.object", "patch.dict", "patch.multiple")
    }
)
"""Calls that make a patcher, in the standard library and in its backport ``mock`` (Python
3.9 to 3.13, mock 5)."""

UNDO_METHOD_PAIRS: tuple[tuple[str, str], ...] = (
    ("add_", "remove_"),
    ("register", "unregister"),
    ("subscribe", "unsubscribe"),
    ("connect", "disconnect"),
    ("attach", "detach"),
    ("enable_", "disable_"),
    ("addHandler", "removeHandler"),
    ("addFilter", "removeFilter"),
    ("append", "remove"),
    ("add", "remove"),
    ("add", "discard"),
    ("insert", "remove"),
)
"""Methods that register something and the ones that take it back, as pairs of names (a name
ending in ``_`` is a prefix: ``add_query_logger``/``remove_query_logger``). The argument
registered is the first one, or the last for ``insert`` (``sys.path.insert(0, folder)``)."""

SWITCH_PAIRS: tuple[tuple[str, str], ...] = (
    ("install_", "remove_"),
    ("install_", "uninstall_"),
    ("install", "uninstall"),
    ("enable_", "disable_"),
    ("enable", "disable"),
    ("disable", "enable"),
    ("push", "pop"),
    ("start", "stop"),
    ("freeze", "unfreeze"),
    ("lock", "unlock"),
)
"""Methods that turn something on and the ones that turn it back with no argument, on the
same receiver (leading underscores kept: ``op._install_proxy()`` and ``op._remove_proxy()``;
a name ending in ``_`` is a prefix): ``ctx.push()``/``ctx.pop()``, ``gc.disable()``/
``gc.enable()``, ``profiler.start()``/``profiler.stop()`` on something the generator did not
make (what it makes with a lifecycle is a resource of its own). Not ``stack.append(item)``/
``stack.pop()``: a list used as a recursion stack belongs to a visitor or a checker that an
error discards (mypy, pydantic, parso: nine such findings on site-packages, none worth a
report). A receiver that is a resource of the generator is released by its own release
instead."""

LIFECYCLES = (
    ("start", "stop"),
    ("start", "shutdown"),
    ("connect", "disconnect"),
    ("connect", "close"),
    ("open", "close"),
)
"""Method pairs that make a project class's instance a resource when the class has no exit:
the first opens it (``server.start()``), the second releases it (``server.stop()``); both must
do something."""

RELEASED_PER_THREAD = frozenset({"django.db.connections", "django.db.connection"})
"""Library objects a generator may release although every call shares them, because what they
release is the calling thread's own (Django 5.2: `connections.close_all()` closes this thread's
connections, and the next query opens a new one). Any other shared object released per call is
LL010's finding."""

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


def library_list() -> str:
    """The README's list of the libraries leaklint knows, made from the table."""
    lines = []
    for library in sorted(LIBRARIES, key=lambda library: library.name.lower()):
        calls = ", ".join(f"`{row.call}`" for row in library.rows)
        where = library.distribution or library.name
        lines.append(f"* **{where}** (checked with {library.checked}): {calls}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(library_list(), end="")
