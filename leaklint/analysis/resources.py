"""The resource knowledge base: which calls acquire a resource and how it is released.

What each library's calls return lives in one table (``libraries``), the kinds of resource in
``kinds``; this module puts them together with the project's own factories, release methods,
markers and drivers (``KnowledgeBase``), and re-exports the table's names the analysis reads.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping

from leaklint.analysis.drivers import DEFAULT_DRIVERS, Driver, DriverTable
from leaklint.analysis.kinds import ResourceType, WithForm
from leaklint.analysis.libraries import (
    AIOHTTP_CONNECTOR,
    AIOHTTP_SESSION,
    ASYNC_CONNECTION,
    ASYNC_COUNTERPARTS,
    ASYNC_ENGINE,
    ASYNC_HTTP_CLIENT,
    ASYNC_HTTP_TRANSPORT,
    ASYNC_POOLED_CONNECTION,
    ASYNC_PSYCOPG_CONNECTION,
    ASYNC_REDIS,
    ASYNC_SESSION,
    ASYNC_SQLALCHEMY_CONNECTION,
    BORROWING_KEYWORDS,
    CONNECTION,
    CONVENTIONAL_SESSION_FACTORIES,
    ENGINE,
    EXECUTOR,
    FACTORIES,
    FILE,
    HTTP_CLIENT,
    LIBRARIES,
    METHOD_FACTORIES,
    METHOD_RESULTS,
    NAMED_ASYNC_SESSION,
    NAMED_SESSION,
    OWNERSHIP_TRANSFERS,
    POOL_CHECKOUTS,
    POOLED_CONNECTION,
    PROCESS,
    PSYCOPG_CONNECTION,
    REDIS,
    REQUESTS_SESSION,
    SESSION,
    SESSION_FACTORY_MAKERS,
    SESSION_REGISTRIES,
    SOCKET,
    SQLALCHEMY_CONNECTION,
    TEMPORARY_DIRECTORY,
    TRANSACTION_SCOPED_CONNECTION,
    OwnershipTransfer,
    session_factory_product,
)
from leaklint.records import field, record

__all__ = [
    "AIOHTTP_CONNECTOR",
    "AIOHTTP_SESSION",
    "ASYNC_CONNECTION",
    "ASYNC_COUNTERPARTS",
    "ASYNC_ENGINE",
    "ASYNC_HTTP_CLIENT",
    "ASYNC_HTTP_TRANSPORT",
    "ASYNC_POOLED_CONNECTION",
    "ASYNC_PSYCOPG_CONNECTION",
    "ASYNC_REDIS",
    "ASYNC_SESSION",
    "ASYNC_SQLALCHEMY_CONNECTION",
    "BORROWING_KEYWORDS",
    "CONNECTION",
    "CONVENTIONAL_SESSION_FACTORIES",
    "COROUTINE_RELEASE_METHODS",
    "DEFAULT_KNOWLEDGE",
    "DEPENDENCY_MARKERS",
    "ENGINE",
    "EXECUTOR",
    "FACTORIES",
    "FILE",
    "HTTP_CLIENT",
    "LIBRARIES",
    "METHOD_FACTORIES",
    "METHOD_RESULTS",
    "NAMED_ASYNC_SESSION",
    "NAMED_SESSION",
    "OWNERSHIP_TRANSFERS",
    "OWNER_RELEASE_METHODS",
    "POOLED_CONNECTION",
    "POOL_CHECKOUTS",
    "PROCESS",
    "PSYCOPG_CONNECTION",
    "REDIS",
    "RELEASE_HELPER_WORDS",
    "RELEASE_METHODS",
    "REQUESTS_SESSION",
    "SESSION",
    "SESSION_FACTORY_MAKERS",
    "SESSION_REGISTRIES",
    "SOCKET",
    "SQLALCHEMY_CONNECTION",
    "TEMPORARY_DIRECTORY",
    "TRANSACTION_SCOPED_CONNECTION",
    "KnowledgeBase",
    "OwnershipTransfer",
    "ResourceType",
    "WithForm",
    "session_factory_product",
]

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
        dependency overrides, session factories, engines."""
        words = {"dependency_overrides", "sessionmaker", *self.dependency_markers}
        words |= {"create_engine", "create_async_engine"}  # engines whose connect() is known
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

    @functools.cached_property
    def classes(self) -> dict[str, ResourceType]:
        """The classes of the table's resources, by qualified name: what a call returns."""
        return {row.returns or row.call: row.kind for lib in LIBRARIES for row in lib.rows}

    def class_type(self, qualified: str) -> Optional[ResourceType]:
        """The resource an object of the class ``qualified`` is (an annotation says a value is
        one: ``-> sqlite3.Connection``), when the knowledge base's table knows the class."""
        return self.classes.get(qualified)

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
