"""What the project's source declares is what astroid would answer: each definition below is
answered from the source and by astroid, and where the source answers, the answers agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from leaklint.analysis.declared import ASK, Definitions
from leaklint.analysis.inference import TypeOracle
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, HTTP_CLIENT
from leaklint.analysis.targets import ProjectIndex
from leaklint.parse import ParseFailure

MODULE = """\
import importlib
import io
import multiprocessing.connection
import typing
import unittest
from typing import Optional

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker


class Connection:
    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Channel:
    async def aclose(self):
        pass

    async def __aexit__(self, *exc):
        await self.aclose()


class Closer:
    def close(self):
        pass


class Exiter:
    def __exit__(self, *exc):
        pass


class Derived(Connection):
    pass


class Borrowed:
    close = Connection.close

    def __exit__(self, *exc):
        pass


class Tracker:
    @classmethod
    def track(cls) -> str:
        return "id"

    @property
    def label(self) -> str:
        return "label"


def label() -> str:
    return "label"


def counts() -> Optional[dict[str, int]]:
    return None


def names() -> "typing.List[Connection]":
    return [Connection()]


def either() -> int | None:
    return None


def connect() -> Connection:
    return Connection()


def client() -> httpx.Client:
    return httpx.Client()


def unannotated():
    return Connection()


@staticmethod
def decorated() -> str:
    return "x"


def make_engine(url):
    if not url:
        return create_engine("sqlite://")
    return create_engine(url, pool_pre_ping=True)


def engine_or_file(url):
    if url:
        return create_engine(url)
    return open(url)


def engine_or_none(url):
    if url:
        return create_engine(url)
    return None


def named_engine(url):
    built = create_engine(url)
    return built


def engines(url):
    yield create_engine(url)


class Skipped(unittest.SkipTest):
    pass


class Buffer(io.StringIO):
    def close(self):
        pass


def loaded(name):
    if not name:
        return None
    return importlib.import_module(name)


def loaded_or_connection(name):
    if name:
        return importlib.import_module(name)
    return Connection()


def workers(path):
    return multiprocessing.connection.Listener(path)


engine = create_engine("sqlite://")
made = make_engine("sqlite://")
maybe = engine_or_none("sqlite://")
named = named_engine("sqlite://")
generated = engines("sqlite://")
either_engine = engine_or_file("sqlite://")
rebound = create_engine("sqlite://")
rebound = create_engine("sqlite://")
Session = scoped_session(sessionmaker())
Maker = sessionmaker()
shared = httpx.Client()
"""

CASES = [
    (["Connection"], "resource"),
    (["Channel"], "resource"),
    (["Closer"], "nothing"),
    (["Exiter"], "nothing"),
    (["Derived"], "ask"),
    (["Skipped"], "nothing"),
    (["Buffer"], "ask"),
    (["loaded"], "nothing"),
    (["loaded_or_connection"], "ask"),
    (["Borrowed"], "ask"),
    (["Tracker", "track"], "nothing"),
    (["Tracker", "label"], "ask"),
    (["label"], "nothing"),
    (["counts"], "nothing"),
    (["names"], "nothing"),
    (["either"], "nothing"),
    (["connect"], "resource"),
    (["client"], "known"),
    (["unannotated"], "ask"),
    (["decorated"], "ask"),
    (["missing"], "ask"),
    (["engine", "execution_options"], "nothing"),
    (["made", "execution_options"], "nothing"),
    (["Session"], "nothing"),
    (["maybe", "execution_options"], "nothing"),
    (["named", "execution_options"], "ask"),
    (["generated", "execution_options"], "ask"),
    (["engine", "dispose"], "ask"),
    (["either_engine", "execution_options"], "ask"),
    (["rebound", "execution_options"], "ask"),
    (["Maker"], "ask"),
    (["shared"], "ask"),
    (["shared", "get"], "ask"),
]


@pytest.mark.parametrize(("names", "kind"), CASES, ids=[".".join(n) for n, _ in CASES])
def test_the_source_answers_as_astroid_does(tmp_path: Path, names: list[str], kind: str) -> None:
    module = tmp_path / "mod.py"
    module.write_text(MODULE)
    declared = Definitions().answer(str(module), None, names, "mod")
    caller = f"from mod import {names[0]}\n\nvalue = {'.'.join(names)}()\n"
    call = ast.parse(caller).body[-1].value  # type: ignore[attr-defined]
    inferred = TypeOracle()._infer(str(tmp_path / "caller.py"), caller, call)
    if kind == "ask":
        assert declared is ASK
    elif kind == "known":
        assert declared == HTTP_CLIENT
    else:
        assert declared == inferred
        assert (declared is None) == (kind == "nothing")


def test_an_annotation_naming_a_known_class_is_answered_by_the_knowledge_base(
    tmp_path: Path,
) -> None:
    (tmp_path / "mod.py").write_text(MODULE)
    caller = tmp_path / "caller.py"
    caller.write_text("from mod import client\n\nvalue = client()\n")
    call = ast.parse(caller.read_text()).body[-1].value  # type: ignore[attr-defined]
    answer = TypeOracle().resource_type(str(caller), caller.read_text(), "mod.client", call, True)
    assert answer is not None and answer.name == "httpx.Client" and not answer.inferred


def _question(caller: Path, line: str) -> tuple[str, ast.Call]:
    text = caller.read_text()
    call = ast.parse(text).body[-1].value  # type: ignore[attr-defined]
    assert ast.unparse(call) == line
    return text, call


def test_modules_are_found_where_a_test_runner_finds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package under ``src/``, and a test folder without ``__init__.py`` importing from the
    test package above it, are read from the source: astroid is never asked."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    package = tmp_path / "src" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "db.py").write_text(
        "from sqlalchemy import create_engine\n\nengine = create_engine('sqlite://')\n"
    )
    tests = tmp_path / "tests"
    (tests / "database").mkdir(parents=True)
    (tests / "__init__.py").write_text("")
    (tests / "registry.py").write_text(
        "from sqlalchemy.orm import scoped_session, sessionmaker\n\nSession = scoped_session(sessionmaker())\n"
    )
    caller = tests / "database" / "test_db.py"
    caller.write_text(
        "from app.db import engine\nfrom tests.registry import Session\n\n"
        "session = Session()\noptions = engine.execution_options(x=1)\n"
    )

    def unexpected(*args: object) -> None:
        raise AssertionError("astroid was asked")

    monkeypatch.setattr(TypeOracle, "_infer", unexpected)
    oracle = TypeOracle()
    text, call = _question(caller, "engine.execution_options(x=1)")
    assert (
        oracle.resource_type(str(caller), text, "app.db.engine.execution_options", call, True)
        is None
    )
    session = ast.parse(text).body[-2].value  # type: ignore[attr-defined]
    assert oracle.resource_type(str(caller), text, "tests.registry.Session", session, True) is None


def test_the_search_for_modules_stops_at_the_project(tmp_path: Path) -> None:
    """A module beside the project, outside it, is not the project's: astroid decides."""
    (tmp_path / "outside.py").write_text("def plain() -> str:\n    return ''\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "setup.cfg").write_text("")
    caller = project / "caller.py"
    caller.write_text("from outside import plain\n\nvalue = plain()\n")
    asked = []
    oracle = TypeOracle()
    oracle._infer = lambda *args: asked.append(args)  # type: ignore[method-assign]
    text, call = _question(caller, "plain()")
    oracle.resource_type(str(caller), text, "outside.plain", call, True)
    assert len(asked) == 1


def test_a_helper_returning_a_standard_library_value_is_answered_as_the_call_in_place(
    tmp_path: Path,
) -> None:
    """The knowledge base speaks for the standard library: a generator that calls
    ``multiprocessing.connection.Listener()`` itself is not asked about (astroid would call the
    listener a resource: it has ``close`` and ``__exit__``), and neither is one that calls a
    project helper returning it."""
    from leaklint import check_source

    module = tmp_path / "mod.py"
    module.write_text(MODULE)
    assert Definitions().answer(str(module), None, ["workers"], "mod") is None
    in_place = (
        "from contextlib import contextmanager\nfrom multiprocessing.connection import Listener\n"
        "\n\n@contextmanager\ndef working():\n    listener = Listener()\n    yield listener\n"
    )
    assert check_source(in_place) == []


CACHES = """\
from unittest import mock

import httpx

_clients = {}


def get_client(key) -> httpx.Client:
    existing = _clients.get(key)
    if existing is not None:
        return existing
    client = httpx.Client()
    _clients[key] = client
    return client


def new_client() -> httpx.Client:
    client = httpx.Client()
    client.headers["X-Service"] = "billing"
    return client


def mock_client() -> httpx.Client:
    return mock.Mock(spec=httpx.Client)


_shared = None


def shared_client() -> httpx.Client:
    global _shared
    if _shared is None:
        _shared = httpx.Client()
    return _shared
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get_client", None),
        ("new_client", HTTP_CLIENT),
        ("mock_client", None),
        ("shared_client", None),
    ],
)
def test_an_accessor_of_a_cache_or_a_double_hands_out_nothing_the_caller_owns(
    tmp_path: Path, name: str, expected: object
) -> None:
    """Where astroid answers the annotation, the source reads what the function does: a client
    kept in a module cache (looked up, or stored before it is returned) or in a global it
    fills once is the module's, and a function named as a stand-in returns no real client."""
    module = tmp_path / "clients.py"
    module.write_text(CACHES)
    assert Definitions().answer(str(module), None, [name], "clients") == expected


def test_a_module_added_between_checks_in_one_process_is_read(tmp_path: Path) -> None:
    # the oracle keeps the project's layout for a run; the next run, or a check from the
    # editor, looks at the file system again
    from leaklint.parse import parse
    from leaklint.rules import RULES
    from leaklint.runner import check_module, run
    from leaklint.settings import Settings

    (tmp_path / "pyproject.toml").write_text("")
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    deps = package / "deps.py"
    deps.write_text(
        "from contextlib import contextmanager\n\nfrom app.db import open_db\n\n\n"
        "@contextmanager\ndef get_db():\n    db = open_db()\n    yield db\n"
    )
    settings = Settings(select=frozenset(rule.code for rule in RULES))

    def codes() -> tuple[list[str], list[str]]:
        found = [d.code for d in run([str(tmp_path)], settings).diagnostics]
        parsed = parse(str(deps), deps.read_bytes())
        assert not isinstance(parsed, ParseFailure)
        alone = [d.code for d in check_module(parsed, ProjectIndex(), settings)]
        return found, alone

    assert codes() == ([], [])
    (package / "db.py").write_text(
        "import sqlite3\n\n\ndef open_db():\n    conn = sqlite3.connect(':memory:')\n"
        "    return conn\n"
    )
    assert codes() == (["LL003"], ["LL003"])
    (package / "db.py").unlink()
    assert codes() == ([], [])


SQLITE = DEFAULT_KNOWLEDGE.factory_type("sqlite3.connect")
TRICKY = '''\
import functools
import sqlite3

try:
    import shell
except ImportError:
    shell = None


def shell():
    return sqlite3.connect(":memory:")


def backend():
    return sqlite3.connect(":memory:")


def opener():
    import opener_backend as backend

    return backend.open()


def helper():
    conn = sqlite3.connect(":memory:")
    return conn


@functools.cache
def cached():
    return sqlite3.connect(":memory:")


def uses_helper():
    connection = helper()
    return connection


if sqlite3:
    def conditional():
        return sqlite3.connect(":memory:")


class Pool:
    """Mentions helper() in its docstring."""

    def __init__(self):
        self.conn = helper()

    def close(self):
        self.conn.close()

    def __exit__(self, *exc_info):
        self.close()
'''


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("shell", ASK),  # bound twice at the top: by the `try` and by the `def`
        ("helper", SQLITE),  # spelt in other functions and a class, bound once
        ("cached", ASK),  # decorated: its decorator is read with it
        ("uses_helper", SQLITE),  # follows `helper` in the same module
        ("conditional", ASK),  # defined under a condition
        ("backend", SQLITE),  # an import in a function binds nothing at the top
    ],
)
def test_a_module_read_in_part_answers_as_the_whole_parse(
    tmp_path: Path, name: str, expected: object
) -> None:
    module = tmp_path / "tricky.py"
    module.write_text(TRICKY)
    in_part = Definitions().answer(str(module), None, [name], "tricky")
    whole = Definitions(in_part=False).answer(str(module), None, [name], "tricky")
    assert in_part == whole == expected


MISREAD = '''\
import sqlite3


def sample():
    return """
    code = \\"""
    """


def opened():
    return sqlite3.connect(":memory:")
'''


@pytest.mark.parametrize("tail", ["", '\n\ndef later():\n    return """\n    text\n    """\n'])
def test_a_module_whose_strings_the_scan_misreads_is_parsed_whole(
    tmp_path: Path, tail: str
) -> None:
    # the escaped quotes make the scan for strings take `def opened` for text: the module is
    # parsed whole rather than answered as if `opened` were not defined
    module = tmp_path / "misread.py"
    module.write_text(MISREAD + tail)
    assert Definitions().answer(str(module), None, ["opened"], "misread") == SQLITE


CLASSES = '''\
import sqlite3
import threading


class Store:
    """A store whose methods are asked about one at a time.

    def looks_like_a_method(self):
    """

    kind = "sqlite"

    def __init__(self, path):
        self.path = path

    def connect(
        self,
        timeout: float = 5.0,
    ):
        conn = sqlite3.connect(self.path, timeout=timeout)
        return conn

    def label(self): return "store"

    def report(self):
        text = """
not code
"""
        return text

    def close(self):
        self.conn.close()

    def __exit__(self, *exc_info):
        self.close()


class Worker:
    def start(self):
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while True:
            pass

    def stop(self):
        self.thread.join()
'''


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Store"], {"name": "store_mod.Store", "release": "close", "async": False}),
        (["Store", "connect"], SQLITE),  # its body is parsed in when asked about
        (["Store", "report"], None),
        (["Store", "label"], None),  # a body on the `def` line: kept whole
        (
            ["Worker"],  # start and stop are read: both do something
            {"name": "store_mod.Worker", "release": "stop", "async": False, "opened_by": "start"},
        ),
    ],
)
def test_a_class_read_as_an_outline_answers_as_the_whole_parse(
    tmp_path: Path, names: list[str], expected: object
) -> None:
    module = tmp_path / "store_mod.py"
    module.write_text(CLASSES)
    definitions = Definitions()
    # asked about the class first, then its method: the outline is filled in, not re-read
    in_part = [
        definitions.answer(str(module), None, asked, "store_mod") for asked in (names[:1], names)
    ]
    whole = Definitions(in_part=False).answer(str(module), None, names, "store_mod")
    assert in_part[-1] == whole == expected


def test_a_class_outline_reads_the_bodies_asked_for_at_their_rows() -> None:
    from leaklint.parse import ModuleInPart

    part = ModuleInPart(CLASSES)
    outline = part.naming("Store", frozenset({"close"}))
    assert outline is not None
    (store,) = [node for node in outline if isinstance(node, ast.ClassDef)]
    whole = next(n for n in ast.parse(CLASSES).body if isinstance(n, ast.ClassDef))
    methods = {node.name: node for node in store.body if isinstance(node, ast.FunctionDef)}
    real = {node.name: node for node in whole.body if isinstance(node, ast.FunctionDef)}
    assert [type(node) for node in store.body] == [type(node) for node in whole.body]
    assert {name: node.lineno for name, node in methods.items()} == {
        name: node.lineno for name, node in real.items()
    }
    assert [type(node) for node in methods["report"].body] == [ast.Pass]
    assert [type(node) for node in methods["connect"].body] == [ast.Pass]
    assert ast.dump(methods["close"], include_attributes=True) == ast.dump(
        real["close"], include_attributes=True
    )
    assert ast.dump(methods["label"]) == ast.dump(real["label"])  # one line: kept whole
    # asked again for another method: parsed in at its real rows, the same node
    again = part.naming("Store", frozenset({"connect"}))
    assert again is not None
    (same,) = [node for node in again if isinstance(node, ast.ClassDef)]
    assert same is store
    connect = next(n for n in same.body if isinstance(n, ast.FunctionDef) and n.name == "connect")
    assert ast.dump(connect, include_attributes=True) == ast.dump(
        real["connect"], include_attributes=True
    )
