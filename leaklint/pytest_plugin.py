"""``pytest --leaklint``: fail a test whose requests to the app leave a resource behind.

This module is pytest's entry point into leaklint (``pytest11``), so pytest imports it in every
environment where leaklint is installed. It only declares the options: the watch is imported and
started when ``--leaklint`` is given or ``leaklint = true`` is in the pytest configuration, and
costs nothing otherwise. Disable it altogether with ``-p no:leaklint``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import pytest

_MODES = ("fail", "warn")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leaklint", "leaklint: resources left behind by requests")
    group.addoption(
        "--leaklint",
        action="store_true",
        default=None,
        help="watch each request to an ASGI app (TestClient, httpx ASGITransport) and fail a "
        "test whose requests leave a pooled connection or an open client behind",
    )
    group.addoption(
        "--leaklint-on-leak",
        choices=_MODES,
        default=None,
        help="fail the test (default) or only warn",
    )
    parser.addini("leaklint", type="bool", default=False, help="turn on --leaklint")
    parser.addini("leaklint_on_leak", default="fail", help="what a leak does: fail or warn")


def pytest_configure(config: pytest.Config) -> None:
    option = config.getoption("leaklint")
    if not (option if option is not None else config.getini("leaklint")):
        return
    mode = config.getoption("leaklint_on_leak") or config.getini("leaklint_on_leak")
    if mode not in _MODES:
        import pytest

        raise pytest.UsageError(f"leaklint_on_leak must be fail or warn, not {mode!r}")
    from leaklint.watch.plugin import LeakWatchPlugin

    plugin = LeakWatchPlugin(config, warn=mode == "warn")
    config.pluginmanager.register(plugin, "leaklint-watch")
    plugin.start()
