"""The request boundary: the app as a test client's transport calls it.

Starlette's and FastAPI's ``TestClient`` call the app from their transport's ``handle_request``,
in a thread that runs an event loop; ``httpx.AsyncClient`` with an ``ASGITransport`` calls it in
the test's own task. Either way the transport's ``app`` is wrapped, on its first request, in a
:class:`WatchedApp` that opens a request in the ledger for each ``http`` and ``websocket`` call
and closes it when the call returns: by then FastAPI has run (or skipped) the cleanup of every
dependency of the request, and Starlette has run its background tasks.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from leaklint.watch.ledger import CURRENT, Ledger
from leaklint.watch.patches import Patches
from leaklint.watch.sites import BOUNDARIES

ACTIVE: list[tuple[Ledger, Callable[[], None]]] = []
"""The running test session's ledger and the call that hooks libraries imported since the last
request, when the watch is on. A list changed in place: a wrapped app may outlive one
in-process session, and must then serve the next one's watch, or pass calls through."""

_REQUEST_SCOPES = frozenset({"http", "websocket"})


class WatchedApp:
    """An ASGI app, with each request recorded; every other attribute is the app's (tests read
    ``client.app.dependency_overrides`` and the like through the transport)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not ACTIVE or scope.get("type") not in _REQUEST_SCOPES:
            await self.app(scope, receive, send)
            return
        ledger, install_new = ACTIVE[0]
        install_new()
        request = ledger.begin(scope)
        token = CURRENT.set(request)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)
            ledger.end(request)


BOUNDARIES.add(WatchedApp.__call__.__code__)


def _wrap(transport: Any) -> None:
    app = getattr(transport, "app", None)
    if app is not None and not isinstance(app, WatchedApp):
        transport.app = WatchedApp(app)


def watch_transport(
    patches: Patches, transport_class: Any, method: str, *, is_async: bool
) -> Optional[str]:
    """Wrap the app of every ``transport_class`` on its first request through ``method``.
    Returns why not, when the class has no such method."""
    original = getattr(transport_class, method, None)
    if original is None:
        return f"{transport_class.__module__}.{transport_class.__qualname__} has no {method}()"
    if is_async:

        async def handle_async(self: Any, request: Any) -> Any:
            _wrap(self)
            return await original(self, request)

        patches.replace(transport_class, method, handle_async)
    else:

        def handle(self: Any, request: Any) -> Any:
            _wrap(self)
            return original(self, request)

        patches.replace(transport_class, method, handle)
    return None
