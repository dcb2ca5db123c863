"""What leaklint knows about a kind of resource: how it is released, and what its ``with``
does. The knowledge base's table (``libraries``) is made of these."""

from __future__ import annotations

import enum

from leaklint.records import record, replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


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
    parts: tuple[str, ...] = ()
    """Attributes holding the parts it is made of, each released on its own releasing it (a
    redis ``Sentinel``'s ``sentinels``): ``for client in sentinel.sentinels: client.close()``."""
    quiet_methods: tuple[str, ...] = ()
    """Methods that do no I/O, so cannot fail between its acquisition and its ``try``: a
    SQLAlchemy connection's ``begin()`` sends nothing until the first statement (LL013)."""
    opened_by: tuple[str, ...] = ()
    """Methods that open it when it was built without arguments: ``ftp = FTP()`` holds no
    connection until ``ftp.connect(host)``, so a step before that leaks nothing (LL013)."""
    undo: bool = False
    """A change to the process's own state that its release puts back (a context variable's
    token): making it does no I/O and does not fail, so nothing before its ``try`` leaks it
    (LL013) and its binding inside the ``try`` is never unbound there (LL004)."""
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
        from leaklint.analysis.libraries import ASYNC_COUNTERPARTS

        counterpart = ASYNC_COUNTERPARTS.get((self.name, self.guessed))
        if counterpart is not None:
            return counterpart
        return replace(
            self,
            name=f"async {self.name}",
            release_is_async=True,
            with_form=WithForm.UNMEASURED,
        )
