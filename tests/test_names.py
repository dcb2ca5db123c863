"""Names belong to their module: a reference to a dependency or a session factory resolves
through the referring module's imports to one definition, and only that one."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import run

TWO_YIELDS = """\
def get_db():
    db = make_session()
    if READ_ONLY:
        yield db
    else:
        yield db
    db.close()
"""
"""Two yields: nothing but the project index makes this function a target."""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def findings(root: Path, *paths: str) -> set[tuple[str, str]]:
    result = run("--no-cache", "--output-format", "concise", *paths, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    found = set()
    for line in result.stdout.splitlines():
        if ": LL" in line:
            location, _, rest = line.partition(": ")
            found.add((location.rsplit(":", 2)[0] + ":" + location.split(":")[1], rest[:5]))
    return found


@pytest.mark.parametrize(
    "routes",
    [
        "from app.deps import get_db\nfrom fastapi import Depends\ndef r(db=Depends(get_db)): ...\n",
        "from .deps import get_db\nfrom fastapi import Depends\ndef r(db=Depends(get_db)): ...\n",
        "from app import deps\nfrom fastapi import Depends\ndef r(db=Depends(deps.get_db)): ...\n",
        "from . import deps\nfrom fastapi import Depends\ndef r(db=Depends(deps.get_db)): ...\n",
        "import app.deps\nfrom fastapi import Depends\ndef r(db=Depends(app.deps.get_db)): ...\n",
    ],
)
def test_a_dependency_resolves_to_its_definition(tmp_path: Path, routes: str) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/deps.py": TWO_YIELDS,
            "app/routes.py": routes,
            # the same name in a module nobody imports it from
            "scripts/deps.py": TWO_YIELDS,
        },
    )
    assert findings(tmp_path, ".") == {("app/deps.py:7", "LL001")}


def test_one_modules_depends_does_not_make_another_modules_function_a_dependency(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "api.py": "from fastapi import Depends\n\n"
            + TWO_YIELDS
            + "\ndef r(db=Depends(get_db)): ...\n",
            "tools.py": TWO_YIELDS,
        },
    )
    assert findings(tmp_path, ".") == {("api.py:9", "LL001")}
    # the file alone (as flake8 and pre-commit see it) gives the same answer
    assert findings(tmp_path, "tools.py") == set()


SESSION_USER = """\
{imports}


def get_db():
    db = {factory}()
    yield db
"""


@pytest.mark.parametrize(
    ("imports", "factory", "expected"),
    [
        ("from app.database import Sessions", "Sessions", {("app/deps.py:5", "LL003")}),
        ("from .database import Sessions", "Sessions", {("app/deps.py:5", "LL003")}),
        ("from app import database", "database.Sessions", {("app/deps.py:5", "LL003")}),
        # a local class of the same name wins over the other module's factory
        ("class Sessions:\n    pass", "Sessions", set()),
        # imported from somewhere else: not the factory this project binds
        ("from reporting import Sessions", "Sessions", set()),
    ],
)
def test_a_session_factory_resolves_through_imports(
    tmp_path: Path, imports: str, factory: str, expected: set[tuple[str, str]]
) -> None:
    write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/database.py": "from sqlalchemy.orm import sessionmaker\n\n"
            "Sessions = sessionmaker(bind=engine)\n",
            "app/deps.py": SESSION_USER.format(imports=imports, factory=factory),
        },
    )
    assert findings(tmp_path, ".") == expected


def test_a_factory_bound_inside_a_function_stays_there(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "reports.py": "from sqlalchemy.orm import sessionmaker\n\n\n"
            "def sessions(engine):\n    Session = sessionmaker(bind=engine)\n    return Session\n",
            "telemetry.py": "from contextlib import contextmanager\n\n\nclass Session:\n"
            "    def finish(self):\n        pass\n\n\n@contextmanager\ndef scope():\n"
            "    s = Session()\n    yield s\n",
        },
    )
    assert findings(tmp_path, ".") == set()


METHODS = """\
from fastapi import Depends


class Database:
    def session(self):
        db = make_session()
        if READ_ONLY:
            yield db
        else:
            yield db
        db.close()


class Telemetry:
    def session(self):
        span = start_span()
        if SAMPLED:
            yield span
        else:
            yield span
        span.close()


database = Database()


def route(db=Depends(database.session)): ...
"""


def test_a_method_reference_resolves_to_the_class_of_its_instance(tmp_path: Path) -> None:
    write(tmp_path, {"api.py": METHODS, "other.py": METHODS.split("database = ")[0]})
    # Database.session in api.py only: not Telemetry.session, not the copy in other.py
    assert findings(tmp_path, ".") == {("api.py:11", "LL001")}
    # an instance whose class cannot be told (made by a function) matches any method
    unknown = METHODS.replace("database = Database()", "database = connect_database()")
    write(tmp_path, {"api.py": unknown})
    assert findings(tmp_path, "api.py") == {("api.py:11", "LL001"), ("api.py:21", "LL001")}
