"""Targets and precision: what is analysed, what is left alone, through the public API."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from leaklint import check_source, fix_source
from leaklint.api import SourceError


def codes(source: str) -> list[tuple[int, str]]:
    return [(d.location.row, d.code) for d in check_source(textwrap.dedent(source))]


@pytest.mark.parametrize(
    "decorator_import, decorator",
    [
        ("from contextlib import contextmanager", "@contextmanager"),
        ("from contextlib import contextmanager as cm", "@cm"),
        ("import contextlib", "@contextlib.contextmanager"),
        ("import contextlib as cl", "@cl.contextmanager"),
    ],
)
def test_contextmanager_under_any_alias(decorator_import: str, decorator: str) -> None:
    # no resource acquired in the function: found only because of the decorator
    source = f"{decorator_import}\n\n{decorator}\ndef locked():\n    LOCK.acquire()\n    yield\n    LOCK.release()\n"
    assert codes(source) == [(7, "LL001")]


def test_undecorated_without_acquisition_is_not_a_target() -> None:
    assert codes("def counted():\n    COUNTER.open()\n    yield\n    COUNTER.close()\n") == []


def test_a_lock_acquired_before_the_yield_is_an_acquisition() -> None:
    """`lock.acquire()` then `lock.release()` after the `yield`: held across it, so the
    generator is shaped like a context manager, and the release is skipped on the error path."""
    source = "def locked():\n    LOCK.acquire()\n    yield\n    LOCK.release()\n"
    assert codes(source) == [(4, "LL001")]
    # a non-blocking attempt whose result is kept is no acquisition statement
    attempt = source.replace("    LOCK.acquire()", "    got = LOCK.acquire(False)")
    assert codes(attempt) == []


@pytest.mark.parametrize(
    "reference",
    [
        "def route(db=Depends(get_db)): ...",
        "def route(db: Annotated[Session, Depends(get_db)]): ...",
        "def route(db: Annotated[Session, Depends(dependency=get_db)]): ...",
        "def route(user=Security(get_db, scopes=['me'])): ...",
        "router = APIRouter(dependencies=[Depends(get_db)])",
        "app.dependency_overrides[other] = get_db",
        "app.dependency_overrides.update({other: get_db})",
        "def route(db=fastapi.Depends(dependency=get_db)): ...",
    ],
)
def test_dependency_references(reference: str) -> None:
    # two yields: only the Depends index makes this a target
    source = (
        "import fastapi\nfrom fastapi import Depends, Security, APIRouter\n\n"
        "def get_db():\n    db = make()\n    if flag:\n        yield db\n    else:\n"
        "        yield None\n    db.close()\n\n" + reference + "\n"
    )
    assert codes(source) == [(10, "LL001")]
    assert codes(source.replace(reference, "")) == []


@pytest.mark.parametrize(
    "decorator",
    [
        "@pytest.fixture",
        "@pytest.fixture()",
        "@pytest.fixture(scope='session')",
        "@fixture",
        "@pytest_asyncio.fixture",
    ],
)
def test_pytest_fixtures_are_exempt_from_ll001(decorator: str) -> None:
    source = (
        "import pytest, pytest_asyncio\nfrom pytest import fixture\n\n"
        f"{decorator}\ndef db():\n    session = SessionLocal()\n    yield session\n"
        "    session.close()\n"
    )
    assert codes(source) == []


def test_pytest_fixture_that_never_releases_is_ll003() -> None:
    source = "import pytest\n\n@pytest.fixture\ndef db():\n    session = SessionLocal()\n    yield session\n"
    assert codes(source) == [(5, "LL003")]


@pytest.mark.parametrize(
    "source",
    [
        # loops of yield
        "def chunks(f):\n    while True:\n        data = f.read(10)\n        if not data:\n"
        "            break\n        yield data\n    f.close()\n",
        # with open around a for ... yield
        "def lines(path):\n    with open(path) as f:\n        for line in f:\n            yield line\n",
        # yield from
        "def lines(path):\n    f = open(path)\n    yield from f\n    f.close()\n",
        # already correct
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n",
        # lock as a with
        "from contextlib import contextmanager\n@contextmanager\ndef locked(lock):\n"
        "    with lock:\n        yield\n",
        # a transaction, not a resource
        "def get_conn():\n    with engine.begin() as conn:\n        yield conn\n",
        # acquired after the yield: nothing is held while the caller runs
        "def get_db():\n    yield\n    db = SessionLocal()\n    db.close()\n",
        # handed to an ExitStack
        "def get_db(stack):\n    db = SessionLocal()\n    stack.callback(db.close)\n    yield db\n",
        # captured by a closure that another thread runs (and closes)
        "import contextlib, socket, threading\n@contextlib.contextmanager\ndef server():\n"
        "    sock = socket.socket()\n    thread = threading.Thread(target=lambda: serve(sock))\n"
        "    thread.start()\n    yield sock.getsockname()\n",
        # a catch-all clause around the yield falls through: the release after it runs on
        # every path (pluggy's hook wrapper)
        "def wrapper(teardown):\n"
        "    try:\n        yield\n    except BaseException as exc:\n        error = exc\n"
        "    teardown.close()\n",
        # a project's wrapper around pytest.fixture (sqlalchemy's config.fixture)
        "from sqlalchemy.testing import config\n@config.fixture()\ndef conn():\n"
        "    conn = engine.connect()\n    yield conn\n    conn.close()\n",
        # stored on purpose
        "def start(app):\n    client = httpx.Client()\n    app.state.client = client\n    yield\n",
    ],
)
def test_no_noise(source: str) -> None:
    assert codes(source) == []


def test_attribute_resources() -> None:
    source = """\
    from contextlib import asynccontextmanager
    import httpx

    @asynccontextmanager
    async def shared_client(app):
        app.state.client = httpx.AsyncClient()
        yield
        await app.state.client.aclose()
    """
    assert codes(source) == [(8, "LL001")]
    fixed = fix_source(textwrap.dedent(source))
    assert (
        "    try:\n        yield\n    finally:\n        await app.state.client.aclose()\n" in fixed
    )


def test_async_release_gains_await() -> None:
    source = """\
    from sqlalchemy.ext.asyncio import AsyncSession

    async def get_session():
        session = AsyncSession(engine)
        yield session
        session.close()
    """
    fixed = fix_source(textwrap.dedent(source))
    assert "    finally:\n        await session.close()\n" in fixed


def test_commit_stays_inside_try() -> None:
    source = (
        "def get_db():\n    db = SessionLocal()\n    yield db\n    db.commit()\n    db.close()\n"
    )
    assert fix_source(source) == (
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
        "        db.commit()\n    finally:\n        db.close()\n"
    )


def test_comments_travel_with_their_statements() -> None:
    source = (
        "def get_db():\n    db = SessionLocal()  # one per request\n    # hand it over\n"
        "    yield db\n\n    # give the connection back\n    db.close()  # always\n"
    )
    assert fix_source(source) == (
        "def get_db():\n    db = SessionLocal()  # one per request\n    # hand it over\n"
        "    try:\n        yield db\n    finally:\n        # give the connection back\n"
        "        db.close()  # always\n"
    )


def test_syntax_error_raises_source_error() -> None:
    with pytest.raises(SourceError, match="SyntaxError"):
        check_source("def f(:\n")


def test_checking_never_imports_libcst_or_astroid() -> None:
    script = (
        "import sys\nfrom leaklint import check_source\n"
        "check_source('def get_db():\\n    db = SessionLocal()\\n    yield db\\n    db.close()\\n')\n"
        "print(sorted(m for m in ('libcst', 'astroid') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_fix_keeps_a_latin1_coding_cookie() -> None:
    source = (
        "# -*- coding: latin-1 -*-\ndef get_db():\n    db = SessionLocal()  # caf\xe9\n"
        "    yield db\n    db.close()\n"
    ).encode("latin-1")
    fixed = fix_source(source)
    assert isinstance(fixed, bytes)
    assert fixed.decode("latin-1") == (
        "# -*- coding: latin-1 -*-\ndef get_db():\n    db = SessionLocal()  # caf\xe9\n"
        "    try:\n        yield db\n    finally:\n        db.close()\n"
    )


def test_columns_count_characters_not_bytes() -> None:
    source = "def get_db():\n    db = SessionLocal()\n    yield db\n    é = 1; db.close()\n"
    [diagnostic] = check_source(source)
    assert (diagnostic.location.row, diagnostic.location.column) == (4, 12)


def test_parsing_only_the_generators_finds_what_parsing_the_whole_file_finds() -> None:
    from fixture_support import all_fixtures

    from leaklint.analysis.resources import DEFAULT_KNOWLEDGE
    from leaklint.parse import ParsedModule, may_feed_index, parse
    from leaklint.rules import RULES
    from leaklint.runner import build_index, check_module
    from leaklint.settings import Settings

    settings = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
    compared = 0
    for fixture in all_fixtures():
        data = fixture.path.read_bytes()
        if may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):
            continue  # the runner parses these whole: they feed the project index
        whole, partial = parse("f.py", data), parse("f.py", data, whole=False)
        assert isinstance(whole, ParsedModule) and isinstance(partial, ParsedModule)
        # the rows the partial parse found spelling `yield` are the text's
        assert partial.yield_rows is None or list(partial.yield_rows) == [
            row for row, line in enumerate(whole.lines, start=1) if "yield" in line
        ]
        index = build_index([whole])
        found = [
            [
                (d.location, d.end_location, d.code, d.message)
                for d in check_module(p, index, settings)
            ]
            for p in (whole, partial)
        ]
        assert found[0] == found[1], fixture.path
        compared += bool(found[0])
    assert compared > 12


@pytest.mark.parametrize(
    "source",
    [
        # a nested function between the `def` and a `yield` indented deeper than it
        "def get_db():\n    db = SessionLocal()\n\n    def log(message):\n        print(message)\n\n"
        "    if db is not None:\n        yield db\n    db.close()\n",
        # triple quotes inside one-line strings open no string
        "QUOTES = ('\"\"\"', \"'''\")  # and one more: '''\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    yield db\n    db.close()\n",
        "NOTE = 'it\\'s \"\"\"'\n\n\ndef get_db():\n    db = SessionLocal()\n    yield db\n    db.close()\n",
        # a `yield` in a string is not a generator's; a one-line `def` holds its own
        "WORDS = {\n    'yield': 'a keyword',  # yield\n}\n\n\nclass Waiter:\n"
        "    def __await__(self): yield\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    yield db\n    db.close()\n",
    ],
)
def test_the_generators_cut_out_of_the_text_are_the_real_ones(source: str) -> None:
    from leaklint.parse import ParsedModule, parse
    from leaklint.rules import RULES
    from leaklint.runner import build_index, check_module
    from leaklint.settings import Settings

    settings = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
    whole, partial = parse("f.py", source.encode()), parse("f.py", source.encode(), whole=False)
    assert isinstance(whole, ParsedModule) and isinstance(partial, ParsedModule)
    assert partial.yield_rows is not None  # cut out, not parsed whole
    index = build_index([whole])
    found = [[d.code for d in check_module(p, index, settings)] for p in (whole, partial)]
    assert found == [["LL001"], ["LL001"]]


def test_finding_generators_by_the_rows_that_spell_yield_misses_none() -> None:
    """``check_module`` looks only at the functions around rows that spell ``yield``; handed
    every row, it considers every function: the findings must be the same."""
    from fixture_support import all_fixtures

    from leaklint.parse import ParsedModule, parse
    from leaklint.rules import RULES
    from leaklint.runner import build_index, check_module
    from leaklint.settings import Settings

    settings = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
    compared = 0
    for fixture in all_fixtures():
        parsed = parse(str(fixture.path), fixture.path.read_bytes())
        assert isinstance(parsed, ParsedModule)
        index = build_index([parsed])
        every_row = range(1, len(parsed.lines) + 1)
        by_text, by_walk = (
            [
                (d.location, d.code, d.message)
                for d in check_module(parsed, index, settings, None, rows)
            ]
            for rows in (None, every_row)
        )
        assert by_text == by_walk, fixture.path
        compared += bool(by_text)
    assert compared > 80


def test_code_inside_docstrings_is_not_read_as_code() -> None:
    from leaklint.parse import ParsedModule, parse

    source = b'def helper():\n    """Example:\n\ndef get_db():\n    db = SessionLocal()\n    yield db\n    db.close()\n"""\n    return 1\n'
    parsed = parse("f.py", source, whole=False)
    assert isinstance(parsed, ParsedModule)
    assert not any(isinstance(node, ast.FunctionDef) for node in ast.walk(parsed.tree))


def test_child_nodes_and_walk_are_asts_but_the_shared_markers() -> None:
    """Every node of the fixtures, the package's own source and (where this Python has it)
    a type alias: the children the analysis walks are ``ast``'s, less the operator and
    context markers."""
    import ast
    import sys
    from pathlib import Path

    from fixture_support import FIXTURES

    from leaklint.analysis.syntax import child_nodes, walk

    markers = (ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop)
    sources = [path.read_text(encoding="utf-8") for path in FIXTURES.rglob("*.py")]
    sources += [p.read_text(encoding="utf-8") for p in Path(ast.__file__).parent.glob("a*.py")]
    if sys.version_info >= (3, 12):
        sources.append("type Alias[T] = list[T]\n")
    compared = 0
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a fixture of newer syntax than this Python's
        for node in ast.walk(tree):
            expected = [c for c in ast.iter_child_nodes(node) if not isinstance(c, markers)]
            assert child_nodes(node) == expected, ast.dump(node)[:200]
            compared += 1
        everything = [node for node in ast.walk(tree) if not isinstance(node, markers)]
        assert sorted(map(id, walk(tree))) == sorted(map(id, everything))
    assert compared > 50_000
