"""The sieve: generator functions no rule could report are left unparsed, and nothing is lost."""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest
from test_cli import SESSIONLOCAL, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from sieve_parity import evidence, functions

from leaklint import parse as parse_module
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, ResourceType
from leaklint.analysis.sieve import Sieve
from leaklint.analysis.targets import ProjectIndex
from leaklint.parse import ParsedModule, may_feed_index, parse
from leaklint.rules import RULES
from leaklint.runner import build_index, check_module
from leaklint.settings import Settings

ALL = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)

ITERATOR = "def rows(cursor):\n    for row in cursor:\n        yield row\n"


def _kept(source: str, sieve: Sieve) -> list[str]:
    """The names of the functions a sieved parse of ``source`` holds."""
    parsed = parse("m.py", textwrap.dedent(source).encode(), whole=False, sieve=sieve)
    assert isinstance(parsed, ParsedModule)
    return [
        node.name
        for node in parsed.tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


@pytest.mark.parametrize(
    "body",
    [
        "    conn.close()\n",  # a release method
        "    await client.aclose()\n",
        "    conn.Close()\n",  # any case: a match only costs a parse
        "    close_db(conn)\n",  # a helper named for a release
        "    _teardown(conn)\n",
        "    pool.putconn(conn)\n",  # the owner releases it
        "    conn = pool.getconn()\n",  # a pool's checkout
        "    conn = engine.connect()\n",  # a factory method
        "    f = open(path)\n",  # a known factory
        "    proc = subprocess.Popen(args)\n",
        "    db = SessionLocal()\n",  # a conventional session factory
        "    with local_session() as db_session:\n        pass\n",  # a name for a session
        "    db.commit()\n",  # LL009
        "    stack.enter_context(closing(thing))\n",
        "    with thing:\n        pass\n    try:\n        pass\n    finally:\n        forget(thing)\n",  # any call may release
        "    with thing:\n        pass\n    try:\n        pass\n    except Exception:\n        forget(thing)\n",
        "    with thing:\n        pass\n    try:\n        pass\n    except:\n        forget(thing)\n",
        "    with thing:\n        pass\n    try:\n        pass\n    except GeneratorExit:\n        forget(thing)\n",
    ],
)
def test_a_generator_spelling_what_a_rule_reads_is_parsed(body: str) -> None:
    source = f"{ITERATOR}\n\ndef target(conn):\n    yield conn\n{body}"
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == ["target"]


@pytest.mark.parametrize(
    "body, kept",
    [
        ("    try:\n        yield\n    finally:\n        forget(thing)\n", False),
        ("    global thing\n    try:\n        yield\n    finally:\n        forget(thing)\n", True),
        ("    with thing:\n        yield\n    log(thing)\n", False),
        (
            "    with thing:\n        yield\n    try:\n        pass\n    except:\n        log(thing)\n",
            True,
        ),
    ],
)
def test_a_call_in_a_finally_matters_only_with_a_resource_that_spells_no_word(
    body: str, kept: bool
) -> None:
    """A call in a ``finally`` or a broad ``except`` releases what it is given only when that
    is a resource already; with no other word, only a ``with``'s or a ``global`` name is."""
    source = f"def target(thing):\n{body}"
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == (["target"] if kept else [])


@pytest.mark.parametrize(
    "decorator", ["@contextmanager", "@contextlib.asynccontextmanager", "@pytest.fixture()"]
)
def test_a_generator_a_decorator_hands_to_a_driver_is_parsed(decorator: str) -> None:
    source = f"{ITERATOR}\n\n{decorator}\ndef target():\n    yield 1\n"
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == ["target"]


def test_a_plain_iterator_is_not_parsed_nor_its_imports() -> None:
    source = (
        f"import contextlib\n\n{ITERATOR}\n\nasync def ticks():\n    while True:\n        yield 1\n"
    )
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == []
    # without the sieve, both generators and the import are parsed
    parsed = parse("m.py", source.encode(), whole=False)
    assert isinstance(parsed, ParsedModule) and len(parsed.tree.body) == 3


def test_words_in_a_docstring_or_comment_keep_a_generator() -> None:
    source = 'def rows(cursor):\n    """Rows; the caller must close the cursor."""\n    yield 1\n'
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == ["rows"]


def test_an_imported_alias_of_a_known_name_keeps_a_generator() -> None:
    source = (
        "from subprocess import (\n    Popen as Spawn,\n)\n\n\ndef run():\n    yield Spawn(['x'])\n"
    )
    sieve = Sieve(DEFAULT_KNOWLEDGE)
    assert _kept(source, sieve) == ["run"]
    assert _kept(source.replace("Popen", "check_output"), sieve) == []


def test_the_project_index_names_keep_a_generator() -> None:
    """A generator another module hands to ``Depends``, or that calls a session factory
    another module binds, is parsed: the sieve is built with the project index."""
    registered = "def get_items():\n    yield []\n"
    maker = "def items():\n    yield make_db()\n"
    assert _kept(registered, Sieve(DEFAULT_KNOWLEDGE)) == []
    assert _kept(maker, Sieve(DEFAULT_KNOWLEDGE)) == []
    depends = parse(
        "routes.py",
        b"from fastapi import Depends\nfrom m import get_items\n"
        b"def read(items=Depends(get_items)):\n    return items\n",
    )
    factory = parse("db.py", b"from sqlalchemy.orm import sessionmaker\nmake_db = sessionmaker()\n")
    assert isinstance(depends, ParsedModule) and isinstance(factory, ParsedModule)
    index = build_index([depends, factory])
    assert index.references and index.session_factories
    assert _kept(registered, Sieve(DEFAULT_KNOWLEDGE, index)) == ["get_items"]
    assert _kept(maker, Sieve(DEFAULT_KNOWLEDGE, index)) == ["items"]
    method = ProjectIndex(method_references={"get_items": {"fastapi"}})
    assert _kept(registered, Sieve(DEFAULT_KNOWLEDGE, method)) == ["get_items"]


def test_the_projects_own_knowledge_keeps_a_generator() -> None:
    source = "def pooled():\n    handle = grab_handle()\n    yield handle\n    handle.hand_back()\n"
    assert _kept(source, Sieve(DEFAULT_KNOWLEDGE)) == []
    factory = DEFAULT_KNOWLEDGE.extended(factories={"lib.grab_handle": ResourceType("handle")})
    assert _kept(source, Sieve(factory)) == ["pooled"]
    release = DEFAULT_KNOWLEDGE.extended(release_methods={"hand_back": False})
    assert _kept(source, Sieve(release)) == ["pooled"]
    named = DEFAULT_KNOWLEDGE.extended(factories={"lib.*.grab_handle": ResourceType("handle")})
    assert _kept(source, Sieve(named)) == ["pooled"]
    # a pattern over the last name itself: no word can tell, every generator is parsed
    pattern = DEFAULT_KNOWLEDGE.extended(factories={"lib.grab_*": ResourceType("handle")})
    assert _kept(source, Sieve(pattern)) == ["pooled"]
    assert _kept(ITERATOR, Sieve(pattern)) == ["rows"]


def test_a_module_with_a_session_factory_is_not_sieved(tmp_path: Path) -> None:
    """A method's ``self.make()`` names a factory its class keeps: no word in the method says
    so. Such a module feeds the index and is parsed whole; the sieve leaves it alone too."""
    source = (
        "from sqlalchemy.orm import sessionmaker\n\n\nclass Store:\n"
        "    def __init__(self, engine):\n        self.make = sessionmaker(engine)\n\n"
        "    def scope(self):\n        db = self.make()\n        yield db\n"
    )
    assert not Sieve(DEFAULT_KNOWLEDGE).sifts(source)
    assert Sieve(DEFAULT_KNOWLEDGE).sifts(ITERATOR)
    (tmp_path / "store.py").write_text(source)
    result = run("--no-cache", "--select", "LL003", ".", cwd=tmp_path)
    assert "store.py:9:14: LL003" in result.stdout, result.stdout


def test_a_function_that_may_be_cut_short_is_parsed_and_the_file_falls_back_whole() -> None:
    """The scans that cut a function out end it at a line at its ``def``'s indentation; a
    string at column 0 inside brackets ends it early. Cut short, it does not parse, and the
    whole file is parsed: the sieve must not drop it for the words it could not see."""
    source = (
        "def connection():\n    conn = connect_somewhere()\n    yield conn\n"
        "    note = (\n'at column 0'\n    )\n    conn.close()\n"
    )
    assert parse_module._cut_cleanly("def f():\n    yield (1)\n")
    assert not parse_module._cut_cleanly("def connection():\n    note = (\n")
    parsed = parse("m.py", source.encode(), whole=False, sieve=Sieve(DEFAULT_KNOWLEDGE))
    assert isinstance(parsed, ParsedModule)
    assert [d.code for d in check_module(parsed, build_index([parsed]), ALL)] == ["LL001"]


def test_the_sieve_loses_nothing_over_the_fixtures() -> None:
    """Every fixture, sieved with its own index, gives the findings of a whole parse; and
    every generator the sieve leaves out holds nothing any rule reads."""
    from fixture_support import all_fixtures

    compared = dropped = 0
    for fixture in all_fixtures():
        data = fixture.path.read_bytes()
        whole = parse(str(fixture.path), data)
        if not isinstance(whole, ParsedModule):
            continue
        index = build_index([whole])
        sieved = parse(str(fixture.path), data, whole=False, sieve=Sieve(DEFAULT_KNOWLEDGE, index))
        assert isinstance(sieved, ParsedModule)
        found = [
            [(d.location, d.end_location, d.code, d.message) for d in check_module(p, index, ALL)]
            for p in (whole, sieved)
        ]
        if not may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):  # else parsed whole
            assert found[0] == found[1], fixture.path
            compared += bool(found[0])
        partial = parse(str(fixture.path), data, whole=False)
        assert isinstance(partial, ParsedModule)
        left_out = functions(partial.tree) - functions(sieved.tree)
        for function, seen in evidence(whole, index).items():
            if function in left_out:
                dropped += 1
                assert not seen, (fixture.path, function, seen)
    assert compared > 15 and dropped >= 1


def test_the_generators_the_sieve_drops_in_the_standard_library_hold_nothing_a_rule_reads() -> None:
    """The fixtures are about resources, so they leave almost nothing to drop; the standard
    library's generators are mostly iterators. Each one the sieve leaves out must hold no
    driver, acquisition, release, resource ``with`` or commit (what every rule starts from);
    ``benchmarks/sieve_parity.py`` does this, and compares findings, over whole trees."""
    library = Path(ast.__file__).parent
    dropped = 0
    for path in sorted([*library.glob("*.py"), *(library / "asyncio").glob("*.py")]):
        data = path.read_bytes()
        whole = parse(str(path), data)
        if not isinstance(whole, ParsedModule) or b"yield" not in data:
            continue
        index = build_index([whole])
        sieved = parse(str(path), data, whole=False, sieve=Sieve(DEFAULT_KNOWLEDGE, index))
        assert isinstance(sieved, ParsedModule)
        partial = parse(str(path), data, whole=False)
        assert isinstance(partial, ParsedModule)
        left_out = functions(partial.tree) - functions(sieved.tree)
        for function, seen in evidence(whole, index).items():
            if function in left_out:
                dropped += 1
                assert not seen, (path, function, seen)
    assert dropped > 50, dropped


def test_a_plain_iterator_with_a_syntax_error_is_not_parsed(tmp_path: Path) -> None:
    """Only the generators a rule could report are parsed, so a syntax error in another is
    not reported, as one outside every generator is not; the file's other generators are
    still checked."""
    (tmp_path / "broken.py").write_text(
        f"{SESSIONLOCAL}\n\ndef rows(cursor):\n    for row in cursor\n        yield row\n"
    )
    result = run("--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1 and "LL001" in result.stdout
    assert "error" not in result.stderr
    (tmp_path / "broken.py").write_text(
        f"{SESSIONLOCAL}\n\ndef rows(cursor):\n    for row in cursor\n        yield row.close()\n"
    )
    result = run("--no-cache", ".", cwd=tmp_path)
    row = SESSIONLOCAL.count("\n") + 4  # two blank lines, then the `def`
    assert f"broken.py:{row}:22: SyntaxError" in result.stderr, result.stderr
