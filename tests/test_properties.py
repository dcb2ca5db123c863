"""Property-based tests: generators built from a small grammar (acquire / yield / cleanup, sync
and async, with/try/except/finally, comments and blank lines, spaces or tabs, LF or CRLF).

For every one: fixing does not fail, the result parses, a second fix changes nothing, every byte
outside the generator is unchanged, leaklint finds nothing on the result that it did not find on
the input nor anything it had a fix for, and when a fix was applied the runtime check finds no
leak (and no swallowed error) under the driver a context manager gets.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import Boom, drive, load_function

from leaklint import check_source, fix_source
from leaklint.parse import decode

PRELUDE = """\
import httpx
from contextlib import asynccontextmanager, contextmanager
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

engine = create_async_engine("postgresql+asyncpg://app@db/app")
SessionLocal = sessionmaker()
AsyncSessionLocal = sessionmaker(engine, class_=AsyncSession)


def log(message):
    return message

"""
POSTLUDE = """

def unrelated(values):
    # stays byte for byte
    return [value * 2 for value in values]
"""

SYNC_FACTORIES = [
    ("SessionLocal()", "close"),
    ("httpx.Client()", "close"),
    ("open('data.txt')", "close"),
]
ASYNC_FACTORIES = [
    ("AsyncSession(engine)", "close"),
    ("httpx.AsyncClient()", "aclose"),
    # SQLAlchemy 1.4's spelling: the sessions are async although the maker is the sync one
    ("AsyncSessionLocal()", "close"),
]
SHAPES = ["cleanup_after", "with", "never", "acquire_in_try", "swallow", "await_missing"]


@dataclass(frozen=True)
class Case:
    source: bytes
    prelude: bytes
    postlude: bytes
    shape: str


@st.composite
def cases(draw: st.DrawFn) -> Case:
    is_async = draw(st.booleans())
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    driver = draw(st.sampled_from(["contextmanager", "depends", "plain"]))
    shapes = SHAPES if is_async else [shape for shape in SHAPES if shape != "await_missing"]
    shape = draw(st.sampled_from(shapes))
    factory, release = draw(st.sampled_from(ASYNC_FACTORIES if is_async else SYNC_FACTORIES))
    awaiting = "await " if is_async else ""
    filler = st.lists(st.sampled_from(["", "# a note", "# it's, (odd): text"]), max_size=2)
    after_yield = st.lists(st.sampled_from(["log('done')", "r.commit()"]), max_size=2)
    # a step between the acquisition and the yield, which can fail and leak (LL013)
    setup = draw(st.sampled_from(["", "r.headers.update({})", "log('ready')"]))

    lines: list[tuple[int, str]] = []

    def add(depth: int, text: str) -> None:
        for extra in draw(filler):
            lines.append((depth if extra else 0, extra))
        lines.append((depth, text))

    if shape == "cleanup_after":
        add(1, f"r = {factory}")
        if setup:
            add(1, setup)
        add(1, "yield r")
        for statement in draw(after_yield):
            add(1, statement)
        add(1, f"{awaiting}r.{release}()")
    elif shape == "with":
        add(1, f"{'async ' if is_async else ''}with {factory} as r:")
        add(2, "yield r")
    elif shape == "never":
        add(1, f"r = {factory}")
        if setup:
            add(1, setup)
        add(1, "yield r")
        for statement in draw(after_yield):
            add(1, statement)
    elif shape == "acquire_in_try":
        add(1, "try:")
        add(2, f"r = {factory}")
        add(2, "yield r")
        add(1, "finally:")
        add(2, f"{awaiting}r.{release}()")
    else:  # swallow, await_missing
        add(1, f"r = {factory}")
        add(1, "try:")
        add(2, "yield r")
        if shape == "swallow":
            add(1, "except Exception:")
            add(2, "log('failed')")
        add(1, "finally:")
        add(2, f"{awaiting if shape == 'swallow' else ''}r.{release}()")

    decorator = {"contextmanager": "@asynccontextmanager" if is_async else "@contextmanager"}
    header = [decorator[driver]] if driver in decorator else []
    header.append(f"{'async ' if is_async else ''}def target():")
    body = [indent * depth + text if text else "" for depth, text in lines]
    postlude = POSTLUDE + (
        "\n\ndef route(resource=Depends(target)):\n    return resource\n"
        if driver == "depends"
        else ""
    )
    function = "\n".join([*header, *body]) + "\n"
    encode = lambda text: text.replace("\n", newline).encode()  # noqa: E731
    return Case(
        source=encode(PRELUDE + function + postlude),
        prelude=encode(PRELUDE),
        postlude=encode(postlude),
        shape=shape,
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fixes_are_sound_on_generated_generators(case: Case) -> None:
    fixed = fix_source(case.source, unsafe_fixes=True)
    assert isinstance(fixed, bytes)
    text = decode(fixed)
    ast.parse(text)
    assert fix_source(fixed, unsafe_fixes=True) == fixed, "a second fix changed the file"
    assert fixed.startswith(case.prelude) and fixed.endswith(case.postlude)
    before = check_source(case.source)
    after = [d.code for d in check_source(fixed)]
    had_fix = {d.code for d in before if d.fix is not None}
    assert set(after) <= {d.code for d in before} - had_fix, (
        f"{case.shape}: leaklint on the fixed code: {after}"
    )
    if fixed == case.source:
        return
    function, tracker = load_function(text, "<generated>", "target")
    result = drive(function, "contextmanager", tracker)
    assert not result.left_open, f"{case.shape}: still open after the fix: {result.left_open}"
    assert not result.never_awaited, result.never_awaited
    assert isinstance(result.escaped, Boom), f"{case.shape}: the caller's error: {result.escaped!r}"


_SOURCE_PIECES = st.sampled_from(
    [
        b"x = 1",
        b"\r",
        b"\n",
        b"\r\n",
        b"\xc3\xa9",
        b"\xe9",
        b"# coding: latin-1",
        b"# -*- coding: utf-8 -*-",
        b"\xef\xbb\xbf",
        b"#",
        b" ",
        b"coding",
        b"\x00",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_SOURCE_PIECES, max_size=10).map(b"".join))
def test_source_is_decoded_as_the_interpreter_decodes_it(data: bytes) -> None:
    """The decoding done here for files without a BOM or a cookie (most files) gives what the
    interpreter's own decoding gives: the text, line endings and all, or the same error."""
    import importlib.util

    def outcome(decoding: object) -> object:
        try:
            return decoding(data)  # type: ignore[operator]
        except (SyntaxError, UnicodeDecodeError, LookupError) as error:
            return type(error), str(error)

    assert outcome(decode) == outcome(importlib.util.decode_source)
