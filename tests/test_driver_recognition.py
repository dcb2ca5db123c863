"""Which driver leaklint recognises for a generator, from the source alone, and what the rules
make of it: LL001 and LL005 only where the driver throws the caller's exception in."""

from __future__ import annotations

import ast
import subprocess
import textwrap
from pathlib import Path

import pytest
from installed import command
from test_cli import run

from leaklint import check_source
from leaklint.analysis.drivers import DRIVERS, Finalization
from leaklint.analysis.imports import ImportMap
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE
from leaklint.analysis.targets import classify, index_module, module_name

# (driver name, source of a module that hands `resource` to that driver)
REGISTRATIONS = [
    ("fastapi", "from fastapi import Depends\n{gen}\ndef route(r=Depends(resource)): ..."),
    ("fastapi", "import fastapi\n{gen}\ndef route(r=fastapi.Security(resource)): ..."),
    ("contextmanager", "from contextlib import contextmanager\n@contextmanager\n{gen}"),
    (
        "lifespan",
        "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n"
        "@asynccontextmanager\n{gen}\napp = FastAPI(lifespan=resource)",
    ),
    (
        "lifespan",
        "from starlette.applications import Starlette\n{gen}\napp = Starlette(lifespan=resource)",
    ),
    ("lifespan", "from fastapi import APIRouter\n{gen}\nrouter = APIRouter(lifespan=resource)"),
    ("litestar", "from litestar.di import Provide\n{gen}\ndeps = {{'r': Provide(resource)}}"),
    (
        "litestar-lifespan",
        "from litestar import Litestar\n{gen}\napp = Litestar(lifespan=[resource])",
    ),
    ("litestar", "from litestar import Provide\n{gen}\ndeps = {{'r': Provide(resource)}}"),
    (
        "fast-depends",
        "from fast_depends import Depends\n{gen}\ndef handler(r=Depends(resource)): ...",
    ),
    (
        "fast-depends",
        "from faststream import Depends\n{gen}\ndef handler(r=Depends(resource)): ...",
    ),
    ("pytest", "import pytest\n@pytest.fixture\n{gen}"),
    ("pytest", "import pytest_asyncio\n@pytest_asyncio.fixture(scope='session')\n{gen}"),
    ("dishka", "from dishka import provide, Scope\n@provide(scope=Scope.REQUEST)\n{gen}"),
    (
        "dishka",
        "from dishka import provide, Scope\n{gen}\nsource = provide(resource, scope=Scope.APP)",
    ),
    (
        "dishka",
        "from dishka import Provider, Scope\n{gen}\np = Provider()\np.provide(resource, scope=Scope.APP)",
    ),
    (
        "dependency-injector",
        "from dependency_injector import providers\n{gen}\nclient = providers.Resource(resource)",
    ),
    (
        "aiohttp-cleanup-ctx",
        "from aiohttp import web\n{gen}\napp = web.Application()\napp.cleanup_ctx.append(resource)",
    ),
    ("depends", "from app.markers import Depends\n{gen}\ndef route(r=Depends(resource)): ..."),
]

GENERATOR = "def resource(app=None):\n    conn = make()\n    yield conn\n    conn.close()\n"


def _drivers(source: str, filename: str = "module.py", *, text: bool = False) -> tuple[str, ...]:
    """The drivers of ``resource``; with ``text``, as the runner indexes (reading only the
    statements whose rows spell a registration)."""
    tree = ast.parse(source)
    imports = ImportMap(tree)
    module = module_name(filename)
    index = index_module(tree, imports, DEFAULT_KNOWLEDGE, module, source if text else None)
    [function] = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "resource"]
    return classify(function, imports, index, DEFAULT_KNOWLEDGE, module).names


@pytest.mark.parametrize(("driver", "template"), REGISTRATIONS)
def test_each_registration_names_its_driver(driver: str, template: str) -> None:
    source = template.format(gen=GENERATOR)
    assert _drivers(source) == (driver,)


@pytest.mark.parametrize(
    ("driver", "template"),
    [
        *REGISTRATIONS,
        ("fastapi", "from fastapi import Depends as D\n{gen}\ndef route(r=D(resource)): ..."),
        (
            "fastapi",
            "from fastapi import APIRouter, Depends\nrouter = APIRouter()\n{gen}\n"
            '@router.get(\n    "/",\n    dependencies=[\n        Depends(resource),\n    ],\n)\n'
            "def route(): ...",
        ),
        (
            "fastapi",
            "from fastapi import Depends\r\n{gen}\r\ndef route(r=Depends(resource)): ...",
        ),
        (  # deep in a class: only the nodes around the registration are walked
            "fastapi",
            "from fastapi import Depends\n{gen}\nclass Routes:\n    def other(self):\n"
            "        return [1]\n\n    def build(self, app):\n        @app.get('/')\n"
            "        def route(\n            r=Depends(\n                resource\n"
            "            ),\n        ): ...\n        return route\n",
        ),
        (  # a route made in a function, registering in its decorator only
            "fastapi",
            "from fastapi import Depends, FastAPI\n{gen}\ndef build():\n    app = FastAPI()\n\n"
            "    @app.post(\n        '/push',\n        dependencies=[Depends(resource)],\n    )\n"
            "    async def push(): ...\n\n    return app\n",
        ),
    ],
)
def test_reading_only_the_registering_statements_loses_no_registration(
    driver: str, template: str
) -> None:
    source = template.format(gen=GENERATOR)
    assert _drivers(source, text=True) == _drivers(source) == (driver,)


def test_reading_only_the_registering_statements_of_every_fixture_loses_nothing() -> None:
    from fixture_support import FIXTURES

    from leaklint.parse import ParsedModule, may_feed_index, parse

    trees = [*FIXTURES.rglob("*.py"), *(FIXTURES.parent / "examples").rglob("*.py")]
    compared = 0
    for path in trees:
        data = path.read_bytes()
        if not may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):
            continue
        parsed = parse(str(path), data)
        assert isinstance(parsed, ParsedModule), path
        module = module_name(str(path))
        everything = index_module(parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module)
        assert everything == index_module(
            parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module, parsed.text
        ), path
        compared += everything != type(everything)()
    assert compared > 40


ROUTES = """\
# Depends(not_a_registration) in a comment
from fastapi import APIRouter, Depends, FastAPI

from app.deps import get_db, get_user, lifespan

router = APIRouter()


def helper(values):
    return sorted(values)


@router.get("/items")
@router.get(
    "/all",
    dependencies=[Depends(get_user)],
)
def items(db=Depends(get_db)):
    return helper([])


app = FastAPI(
    lifespan=lifespan,
)
app.dependency_overrides[get_db] = get_user
"""


@pytest.mark.parametrize(
    ("source", "whole_only"),
    [
        (ROUTES, False),
        (ROUTES.replace("\n", "\r\n"), False),
        (ROUTES + "SessionLocal = sessionmaker()\n", True),  # factories: every assignment
        (ROUTES + "db = Database()\n\n\ndef route(s=Depends(db.session)): ...\n", True),
        (ROUTES.replace("def helper(values):", "def helper(values) ->:"), False),
    ],
)
def test_a_module_without_yield_is_indexed_from_its_registering_statements(
    source: str, whole_only: bool
) -> None:
    from leaklint.parse import ParsedModule, parse
    from leaklint.runner import registrations_of

    data = source.encode()
    partial = registrations_of("app/routes.py", data, DEFAULT_KNOWLEDGE)
    if whole_only:
        assert partial is None
        return
    assert partial is not None
    assert sorted(partial.references) == ["get_db", "get_user", "lifespan"]
    whole = parse("app/routes.py", data)
    if isinstance(whole, ParsedModule):  # the broken helper: only the partial read can tell
        module = module_name("app/routes.py")
        assert partial == index_module(whole.tree, whole.imports, DEFAULT_KNOWLEDGE, module)


SIMPLE_CALLS = """\
from fastapi import Depends, FastAPI, params
from fastapi import Security as Guard

from app import deps
from app.db import get_db, get_cache, get_user, get_other, lifespan
from app.db import not_a_dependency, get_hidden, get_first

app = FastAPI(title, lifespan=lifespan)
note = "Depends(not_a_dependency)"  # in a string: nothing registered


def read(db=Depends(get_db), cache=params.Depends(deps.get_cache)):  # Depends(get_hidden)
    return db


def write(user=Guard(get_user), other=Depends(get_other, use_cache=False)): ...


def again(db=Depends(get_db), cache=params.Depends(deps.get_cache)): ...


def first(db=Depends(get_db), first=Depends(get_first)): ...


def unset(db=Depends(get_db), nothing=Depends(None)): ...
"""


def test_simple_calls_are_read_without_a_parse_as_a_parse_reads_them() -> None:
    """`Depends(name)` is read from the line, once per module; strings, comments, keywords
    and aliases are left to the parser."""
    from leaklint.parse import parse
    from leaklint.runner import registrations_of

    data = SIMPLE_CALLS.encode()
    partial = registrations_of("app/routes.py", data, DEFAULT_KNOWLEDGE)
    assert partial is not None
    assert sorted(partial.references) == [
        "get_cache",
        "get_db",
        "get_first",
        "get_other",
        "get_user",
        "lifespan",
    ]
    whole = parse("app/routes.py", data)
    module = module_name("app/routes.py")
    assert partial == index_module(whole.tree, whole.imports, DEFAULT_KNOWLEDGE, module)  # type: ignore[union-attr]


ROUTE_BODIES = """\
from fastapi import APIRouter, Depends, FastAPI

from app.db import get_db, get_user, override

router = APIRouter()
app = FastAPI()


@router.get(
    "/items/{item_id}",
    dependencies=[Depends(get_user)],
)
async def read_item(item_id: int, db=Depends(dependency=get_db)) -> dict[str, int]:
    rows = db.execute("select 1")
    return {"count": len(rows)}


def configure() -> None:
    app.dependency_overrides[get_db] = override
"""


def test_a_route_is_indexed_from_its_header_and_a_registering_body_whole() -> None:
    """A route's body is not parsed when it spells no registering word; a function whose
    body registers (an override) is parsed whole."""
    from leaklint.parse import parse
    from leaklint.runner import registrations_of

    data = ROUTE_BODIES.encode()
    partial = registrations_of("app/routes.py", data, DEFAULT_KNOWLEDGE)
    assert partial is not None
    whole = parse("app/routes.py", data)
    module = module_name("app/routes.py")
    assert partial == index_module(whole.tree, whole.imports, DEFAULT_KNOWLEDGE, module)  # type: ignore[union-attr]
    assert sorted(partial.references) == ["get_db", "get_user", "override"]

    from leaklint.parse import parse_registrations
    from leaklint.runner import registration_words

    parsed = parse_registrations(
        "app/routes.py", data, lambda imports: registration_words(imports, DEFAULT_KNOWLEDGE)
    )
    assert parsed is not None
    functions = {node.name: node for node in parsed.tree.body if hasattr(node, "name")}
    assert [type(node).__name__ for node in functions["read_item"].body] == ["Pass"]
    assert functions["read_item"].lineno == 13
    assert type(functions["configure"].body[0]).__name__ == "Assign"


def test_every_fixture_without_yield_is_indexed_as_a_whole_parse_would() -> None:
    from fixture_support import FIXTURES

    from leaklint.parse import ParsedModule, may_feed_index, may_have_targets, parse
    from leaklint.runner import registrations_of

    compared = 0
    for path in [*FIXTURES.rglob("*.py"), *(FIXTURES.parent / "examples").rglob("*.py")]:
        data = path.read_bytes()
        if may_have_targets(data) or not may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):
            continue
        partial = registrations_of(str(path), data, DEFAULT_KNOWLEDGE)
        whole = parse(str(path), data)
        assert isinstance(whole, ParsedModule), path
        module = module_name(str(path))
        expected = index_module(whole.tree, whole.imports, DEFAULT_KNOWLEDGE, module)
        assert partial in (None, expected), path
        compared += partial is not None and expected != type(expected)()
    assert compared >= 2  # the two route modules


@pytest.mark.parametrize(("driver", "template"), REGISTRATIONS)
def test_ll001_follows_the_drivers_finalization(driver: str, template: str) -> None:
    source = template.format(gen=GENERATOR)
    [row] = [row for row, line in enumerate(source.splitlines(), 1) if "conn.close()" in line]
    found = {(d.location.row, d.code) for d in check_source(source)}
    throws = next(d for d in DRIVERS if d.name == driver).finalization is Finalization.THROW
    assert ((row, "LL001") in found) is throws, found


def test_a_depends_from_an_unrelated_module_is_not_fastapis() -> None:
    # Depends imported from fastapi is FastAPI's; from faststream it is FastDepends'
    fastapi = "from fastapi import Depends\n{gen}\ndef route(r=Depends(resource)): ..."
    faststream = "from faststream import Depends\n{gen}\ndef route(r=Depends(resource)): ..."
    assert _drivers(fastapi.format(gen=GENERATOR)) == ("fastapi",)
    assert _drivers(faststream.format(gen=GENERATOR)) == ("fast-depends",)


def test_method_registration_needs_dishka_imported() -> None:
    source = f"{GENERATOR}\nregistry = Registry()\nregistry.provide(resource)\n"
    assert _drivers(source) == ()


def test_a_lifespan_still_gets_ll003_when_it_releases_nothing() -> None:
    source = textwrap.dedent(
        """\
        from contextlib import asynccontextmanager

        import httpx
        from fastapi import FastAPI


        @asynccontextmanager
        async def lifespan(app):
            client = httpx.AsyncClient()
            yield {"client": client}


        app = FastAPI(lifespan=lifespan)
        """
    )
    assert [(d.location.row, d.code) for d in check_source(source)] == [(9, "LL003")]


def test_a_lifespan_that_swallows_is_not_ll005() -> None:
    source = textwrap.dedent(
        """\
        from contextlib import asynccontextmanager
        from fastapi import FastAPI


        @asynccontextmanager
        async def lifespan(app):
            try:
                yield
            except Exception:
                log("shutdown failed")


        app = FastAPI(lifespan=lifespan)
        """
    )
    assert check_source(source) == []
    # registered out of sight (another module, a factory, a registry): its name says lifespan
    assert check_source(source.replace("app = FastAPI(lifespan=lifespan)\n", "")) == []
    # the same body entered by application code is a context manager, which LL005 is about
    # (one that does more than report the error: a handler that only logs is an error boundary)
    entered = (
        source.replace("app = FastAPI(lifespan=lifespan)\n", "")
        .replace("async def lifespan(app):", "async def reporting_errors(app):")
        .replace('log("shutdown failed")', "app.state.cache.reset()")
    )
    assert [d.code for d in check_source(entered)] == ["LL005"]


@pytest.mark.parametrize(
    "header",
    [
        "async def lifespan(app):",
        "async def app_lifespan(app):",
        "async def startup(app: FastAPI):",
        "async def startup(application: fastapi.FastAPI):",
        "@lifespan_manager.register\nasync def startup(app):",
    ],
)
def test_a_lifespan_out_of_sight_is_known_by_its_name_or_its_app(header: str) -> None:
    source = (
        "import fastapi\nfrom contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n"
        "from .lifespans import lifespan_manager\n\nclient = make_client()\n\n\n"
        f"@asynccontextmanager\n{header}\n    yield\n    await client.aclose()\n"
    )
    assert check_source(source) == []
    per_call = source.replace(header, "async def scoped(app):")
    assert [d.code for d in check_source(per_call)] == ["LL010"]


CONFIGURED = """\
from taskiq import TaskiqDepends


def get_conn():
    conn = engine.connect()
    yield conn
    conn.close()


async def task(conn=TaskiqDepends(get_conn)): ...
"""


def test_a_project_declares_its_own_driver(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(CONFIGURED)
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nselect = ['LL']\n")
    # unknown driver: a generator shaped like a context manager, assumed to be thrown into
    assert "tasks.py:7:5: LL001" in run("--no-cache", "tasks.py", cwd=tmp_path).stdout
    (tmp_path / "pyproject.toml").write_text(
        "[[tool.leaklint.drivers]]\nname = 'taskiq'\nfinalization = 'resume'\n"
        "calls = ['taskiq.TaskiqDepends']\n"
    )
    result = run("--no-cache", "tasks.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("name = 'x'\nfinalization = 'sometimes'\ncalls = ['a.b']", "expected 'throw' or 'resume'"),
        ("name = 'x'\nfinalization = 'throw'", "at least one of calls, decorators, methods"),
        ("finalization = 'throw'\ncalls = ['a.b']", "drivers[1].name: expected a string"),
        ("name = 'x'\nfinalization = 'throw'\nmethods = ['append']", "receiver.method"),
        ("name = 'x'\nfinalization = 'throw'\ncalls = ['a.b']\nscope = 1", "unknown key 'scope'"),
    ],
)
def test_a_bad_driver_is_a_clear_error(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "tasks.py").write_text(CONFIGURED)
    (tmp_path / "pyproject.toml").write_text(f"[[tool.leaklint.drivers]]\n{table}\n")
    result = run("--no-cache", "tasks.py", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "pyproject.toml" in result.stderr, result.stderr


def test_flake8_takes_drivers_as_an_option(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(CONFIGURED)
    (tmp_path / "setup.cfg").write_text("[flake8]\nselect = LL\n")
    before = subprocess.run(
        [command("flake8"), "tasks.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert "tasks.py:7:5: LL001" in before.stdout, before.stdout + before.stderr
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\nselect = LL\nleaklint-drivers = resume:taskiq.TaskiqDepends\n"
    )
    after = subprocess.run(
        [command("flake8"), "tasks.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert after.returncode == 0, after.stdout + after.stderr


@pytest.mark.parametrize(
    "data, feeds",
    [
        (b"def f():\n    # Depends on the platform\n    yield 1\n", False),
        (b'"""\n  # Depends\n"""\n', False),  # a line of a string, not code either
        (b"x = 1  # Depends\n", True),  # after code: not told apart from `"#"; Depends(f)`
        (b"# see below\r\nitems = Depends(get_items)\n", True),
        (b"# a comment ends at a carriage return\rDepends(get_items)\n", True),
        (b"# Depends\nrouter = APIRouter(dependencies=[Depends(auth)])\n", True),
    ],
)
def test_a_marker_only_in_comment_lines_does_not_feed_the_index(data: bytes, feeds: bool) -> None:
    from leaklint.parse import may_feed_index

    assert may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers) is feeds


@pytest.mark.parametrize(
    ("source", "feeds"),
    [
        (b"from fastapi import Security\n", True),
        (b"user = Security(get_user, scopes=['me'])\n", True),
        (b"from fastapi import Security as Guard\n", True),
        (b"class SecurityRequestBuilder(BaseRequestBuilder): ...\n", False),
        (b"from .security_request_builder import SecurityRequestBuilder\n", False),
        (b"order = DependsOn(first)\n", False),
        (b"Session = async_sessionmaker(engine)\n", True),  # a marker ending a longer name
        (b"router.lifespan_context = lifespan\n", True),
        (b"# Depends(get_db) is commented out\n", False),
    ],
)
def test_a_class_like_marker_that_runs_on_into_a_longer_name_is_that_name(
    source: bytes, feeds: bool
) -> None:
    from leaklint.parse import may_feed_index

    assert may_feed_index(source, DEFAULT_KNOWLEDGE.index_markers) is feeds
