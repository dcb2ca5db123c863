"""Where a resource was taken: the generator dependency on the acquisition stack.

The stack is walked from the frame that acquires. Frames of the libraries in between (the ORM,
the web framework, the async plumbing) are passed over; the innermost generator function left is
the dependency (FastAPI enters it through ``contextlib``, Litestar and others directly). SQLAlchemy
runs the sync half of its asyncio layer in a child greenlet whose stack does not reach the
caller's, so the walk goes on in the parent greenlet where that stack ends.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Optional

_GENERATOR_FLAGS = 0x20 | 0x200  # CO_GENERATOR | CO_ASYNC_GENERATOR
_DEPTH = 200
"""Frames looked at, at most: a request's stack is rarely a quarter of that."""

INFRASTRUCTURE = frozenset(
    {
        "_pytest",
        "aiohttp",
        "aiosqlite",
        "anyio",
        "asyncio",
        "asyncpg",
        "concurrent",
        "contextlib",
        "contextvars",
        "fastapi",
        "functools",
        "greenlet",
        "h11",
        "httpcore",
        "httpx",
        "httpx2",
        "leaklint",
        "pluggy",
        "psycopg",
        "psycopg_pool",
        "pytest",
        "pytest_asyncio",
        "sniffio",
        "sqlalchemy",
        "starlette",
        "threading",
        "typing",
        "unittest",
    }
)
"""Top-level packages whose frames stand between the application and a resource: never the
place a leak is reported at."""


@dataclass(frozen=True)
class Site:
    """A function of the application at the line where it took a resource."""

    module: str
    function: str
    filename: str
    line: int
    first_line: int
    last_line: int
    generator: bool
    """The function is a generator (a dependency with ``yield``, a context manager's body)."""

    def contains(self, line: int) -> bool:
        """The line is in the function (its decorators included)."""
        return self.first_line <= line <= self.last_line


BOUNDARIES: set[CodeType] = set()
"""Code of the functions that call the app for a request: the stack above them is the test's."""


def _frames(frame: Optional[FrameType]) -> list[FrameType]:
    frames: list[FrameType] = []
    greenlet = sys.modules.get("greenlet")
    current = greenlet.getcurrent() if greenlet is not None else None
    while True:
        while frame is not None and len(frames) < _DEPTH:
            if frame.f_code in BOUNDARIES:
                return frames
            frames.append(frame)
            frame = frame.f_back
        if current is None or current.parent is None or len(frames) >= _DEPTH:
            return frames
        current = current.parent
        frame = current.gr_frame


def _is_application(frame: FrameType) -> bool:
    module = frame.f_globals.get("__name__") or ""
    return module.partition(".")[0] not in INFRASTRUCTURE


_LAST_LINES: dict[CodeType, int] = {}


def _last_line(code: CodeType) -> int:
    last = _LAST_LINES.get(code)
    if last is None:
        last = _LAST_LINES[code] = _read_last_line(code)
    return last


def _read_last_line(code: CodeType) -> int:
    if sys.version_info >= (3, 10):
        lines = [line for _, _, line in code.co_lines() if line is not None]
    else:  # pragma: no cover - Python 3.9
        from dis import findlinestarts

        lines = [line for _, line in findlinestarts(code)]
    return max(lines, default=code.co_firstlineno)


def site_of(frame: FrameType) -> Site:
    """The site of one frame."""
    code = frame.f_code
    return Site(
        module=frame.f_globals.get("__name__") or "?",
        function=getattr(code, "co_qualname", code.co_name),
        filename=os.path.abspath(code.co_filename),
        line=frame.f_lineno,
        first_line=code.co_firstlineno,
        last_line=_last_line(code),
        generator=bool(code.co_flags & _GENERATOR_FLAGS),
    )


def acquisition_site(frame: Optional[FrameType]) -> Optional[Site]:
    """Where the stack that holds ``frame`` took its resource: the innermost generator of the
    application, else its innermost frame, else None (only library frames)."""
    innermost: Optional[FrameType] = None
    for candidate in _frames(frame):
        if not _is_application(candidate):
            continue
        if candidate.f_code.co_flags & _GENERATOR_FLAGS:
            return site_of(candidate)
        if innermost is None:
            innermost = candidate
    return site_of(innermost) if innermost is not None else None


def caller_frames(depth: int = 1) -> list[FrameType]:
    """The frames of the stack from ``depth`` levels above the caller, across greenlets."""
    return _frames(sys._getframe(depth + 1))
