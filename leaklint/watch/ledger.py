"""Requests, what each one took, and what it left behind.

A request is one call of the ASGI app for an ``http`` or ``websocket`` scope. What a request
takes is recorded against it through a context variable, which follows the request into the
threads of sync endpoints and dependencies (Starlette copies the context) and into SQLAlchemy's
greenlets. A resource that a fixture or the app's lifespan took is taken outside any request,
so it is never counted against one.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from leaklint.watch.sites import Site


@dataclass(eq=False)
class Request:
    """One call of the app."""

    method: str
    path: str
    acquisitions: list[Acquisition] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``GET /items/1``, as a log line names a request."""
        return f"{self.method} {self.path}" if self.method else self.path


CURRENT: ContextVar[Optional[Request]] = ContextVar("leaklint_request", default=None)
"""The request the running code serves, if any."""


@dataclass(eq=False)
class Acquisition:
    """A resource that a request took and must give back before it ends."""

    describe: Callable[[], str]
    """What the resource is, in words (asked only when it leaks)."""
    site: Optional[Site]
    request: Request
    key: Hashable = None
    released: bool = False
    by_collector: bool = False
    """It went back only when the garbage collector freed its owner."""
    is_released: Optional[Callable[[], bool]] = None
    """For a resource that can be asked (a client's ``is_closed``): asked when the request ends
    (it keeps the object alive until then)."""


@dataclass(frozen=True)
class Leak:
    """A resource a request took and did not give back."""

    request: str
    resource: str
    site: Optional[Site]
    by_collector: bool = False


class Ledger:
    """Every request of a test session, and the leaks found when each ended.

    Acquisitions and releases arrive from any thread (the app's event loop, the worker threads
    of sync code, the garbage collector), so the ledger's state is changed under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[Hashable, Acquisition] = {}
        self.leaks: list[Leak] = []
        self._taken = 0
        self.requests = 0

    def begin(self, scope: Any) -> Request:
        """A request starts: the app is called for ``scope``."""
        method = scope.get("method") or ("WEBSOCKET" if scope.get("type") == "websocket" else "")
        with self._lock:
            self.requests += 1
        return Request(method=method, path=scope.get("path") or "")

    def acquired(
        self,
        request: Request,
        describe: Callable[[], str],
        site: Optional[Site],
        key: Hashable = None,
        *,
        is_released: Optional[Callable[[], bool]] = None,
    ) -> Acquisition:
        """``request`` took a resource; ``key`` is what its release names (None: it is asked
        with ``is_released`` instead)."""
        acquisition = Acquisition(describe, site, request, key, is_released=is_released)
        with self._lock:
            request.acquisitions.append(acquisition)
            if key is not None:
                self._open[key] = acquisition
        return acquisition

    def is_open(self, key: Hashable) -> bool:
        """A request took the resource under ``key`` and has not given it back."""
        return key in self._open

    def released(self, key: Hashable, *, by_collector: bool = False) -> None:
        """The resource taken under ``key`` was given back."""
        with self._lock:
            acquisition = self._open.pop(key, None)
        if acquisition is not None:
            acquisition.released = True
            acquisition.by_collector = by_collector

    def end(self, request: Request) -> list[Leak]:
        """The request ended: what it took and still holds is leaked."""
        leaks: list[Leak] = []
        with self._lock:
            acquisitions, request.acquisitions = request.acquisitions, []
            for acquisition in acquisitions:
                if acquisition.key is not None and not acquisition.released:
                    self._open.pop(acquisition.key, None)
        for acquisition in acquisitions:
            if acquisition.is_released is not None:
                kept = not acquisition.is_released()
            else:
                kept = not acquisition.released or acquisition.by_collector
            acquisition.is_released = None
            if kept:
                leaks.append(
                    Leak(
                        request.label,
                        acquisition.describe(),
                        acquisition.site,
                        by_collector=acquisition.by_collector,
                    )
                )
        if leaks:
            with self._lock:
                self.leaks.extend(leaks)
        return leaks

    def take(self) -> list[Leak]:
        """The leaks found since the last call."""
        with self._lock:
            new = self.leaks[self._taken :]
            self._taken = len(self.leaks)
        return new
