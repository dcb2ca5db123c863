"""The active half of ``pytest --leaklint``: hooks the libraries, and fails (or warns about) each
test whose requests left a resource behind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest

from leaklint.watch.explain import Explainer
from leaklint.watch.ledger import Leak
from leaklint.watch.sources import Watch


class LeakWarning(UserWarning):
    """A test's request left a resource behind (``leaklint_on_leak = warn``)."""


class LeakWatchPlugin:
    """Registered for the session when the watch is on."""

    def __init__(self, config: pytest.Config, *, warn: bool) -> None:
        self.config = config
        self.warn = warn
        self.watch = Watch()
        self.explainer = Explainer(config.rootpath)
        self.tests_with_leaks = 0
        self.leaks = 0
        self.workers = {"requests": 0, "leaks": 0, "tests": 0}
        """What pytest-xdist's workers watched, summed in the controller."""
        self.workers_problems: list[str] = []

    # --- life of the session --------------------------------------------------------------

    def start(self) -> None:
        """Hook what is already imported (conftest files import the app)."""
        self.watch.start()

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.watch.stop()

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.watch.install_new()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Generator[None, Any, None]:
        self.watch.install_new()
        yield

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.watch.install_new()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.watch.install_new()

    # --- a test's leaks -------------------------------------------------------------------

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        leaks = self.watch.ledger.take()
        if not leaks:
            return
        report = outcome.get_result()
        text = self.describe(leaks)
        self.leaks += len(leaks)
        self.tests_with_leaks += 1
        if self.warn:
            item.warn(LeakWarning(text))
            return
        if report.passed:
            report.outcome = "failed"
            report.longrepr = text
        else:
            report.sections.append(("leaklint", text))

    def describe(self, leaks: list[Leak]) -> str:
        """The failure text: a line per leak (the same leak in several requests once, counted)."""
        counted = Counter(leaks)
        lines = [f"leaklint: this test's requests left {_count(len(leaks), 'resource')} behind"]
        for leak, times in counted.items():
            lines.append(self.line(leak) + (f" ({times} times)" if times > 1 else ""))
        return "\n".join(lines)

    def line(self, leak: Leak) -> str:
        """One leak: what was left, where it was taken, and the finding that explains it."""
        if leak.by_collector:
            left = f"{leak.request} gave {leak.resource} back only when it was garbage collected"
        else:
            left = f"{leak.request} did not give back {leak.resource}"
        site = leak.site
        if site is None:
            return f"{left}; taken in library code only"
        kind = "generator" if site.generator else "function"
        place = f"{self.explainer.show(site.filename)}:{site.line}"
        where = f"taken in {kind} {site.module}.{site.function} ({place})"
        return f"{left}; {where}; {self.explainer.explain(site)}"

    # --- the summary ----------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        output = getattr(self.config, "workeroutput", None)
        if output is not None:  # a pytest-xdist worker: its counts go to the controller
            output["leaklint"] = {
                "requests": self.watch.ledger.requests,
                "leaks": self.leaks,
                "tests": self.tests_with_leaks,
                "problems": list(self.watch.problems),
            }

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        counts = getattr(node, "workeroutput", {}).get("leaklint")
        if not counts:
            return
        for name in self.workers:
            self.workers[name] += counts[name]
        for problem in counts["problems"]:
            if problem not in self.workers_problems:
                self.workers_problems.append(problem)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        requests = self.watch.ledger.requests + self.workers["requests"]
        leaks = self.leaks + self.workers["leaks"]
        tests = self.tests_with_leaks + self.workers["tests"]
        write = terminalreporter.write_line
        if requests == 0:
            write(
                "leaklint: no request was watched (the watch sees requests to an ASGI app "
                "through Starlette's or FastAPI's TestClient, or an httpx client on an "
                "ASGITransport)"
            )
        else:
            write(
                f"leaklint: {_count(requests, 'request')} watched, "
                f"{_count(leaks, 'resource')} left behind in {_count(tests, 'test')}"
            )
        for problem in dict.fromkeys([*self.watch.problems, *self.workers_problems]):
            write(f"leaklint: {problem}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
