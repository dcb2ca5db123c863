"""The installed ``leaklint`` command, run as a subprocess the way users and CI run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from installed import command

from leaklint.rules import RULES

LEAKLINT = command("leaklint")
pytestmark = pytest.mark.skipif(LEAKLINT is None, reason="leaklint is not installed")

TEMPLATE_DEPENDENCY = """\
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session, create_engine

engine = create_engine("postgresql://app@db/app")


def get_session():
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
"""
TEMPLATE_FIXED = """\
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session, create_engine

engine = create_engine("postgresql://app@db/app")


def get_session():
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
"""
SESSIONLOCAL = """\
from .database import SessionLocal


def get_db():
    db = SessionLocal()
    yield db
    db.close()
"""
SESSIONLOCAL_FIXED = """\
from .database import SessionLocal


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert LEAKLINT is not None
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [LEAKLINT, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
    )


def test_version(tmp_path: Path) -> None:
    from leaklint import __version__

    result = run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"leaklint {__version__}"


def test_version_answers_before_loading_the_command_line() -> None:
    probe = (
        "import sys; sys.argv = ['leaklint', '--version'];"
        "from leaklint.launch import main; main();"
        "print(sorted(m for m in sys.modules if m.startswith(('leaklint.', 'click'))))"
    )
    fast = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    shown, loaded = fast.stdout.splitlines()
    assert loaded == "['leaklint.launch']"
    # the same line as the command line's own option
    full = subprocess.run(
        [sys.executable, "-c", "from leaklint.cli import main; main(['--version'])"],
        capture_output=True,
        text=True,
    )
    assert shown == full.stdout.strip()


def test_reports_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run("deps.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[0].startswith("deps.py:7:5: LL001 [*] `db.close()`")
    assert "[*] 1 fixable with the `--fix` option." in result.stdout


def test_clean_exits_0(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL_FIXED)
    result = run(".", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "All checks passed!")


def test_fix_produces_exactly_the_documented_snippets(tmp_path: Path) -> None:
    (tmp_path / "template.py").write_text(TEMPLATE_DEPENDENCY)
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run("--fix", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Found 2 errors (2 fixed, 0 remaining)." in result.stdout
    assert (tmp_path / "template.py").read_text() == TEMPLATE_FIXED
    assert (tmp_path / "deps.py").read_text() == SESSIONLOCAL_FIXED


def test_diff_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run("--diff", "deps.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "+    try:" in result.stdout and "-    yield db" in result.stdout
    assert (tmp_path / "deps.py").read_text() == SESSIONLOCAL


def test_unsafe_fixes_need_the_flag(tmp_path: Path) -> None:
    source = (
        "import psycopg2\n\n\ndef get_conn():\n"
        "    with psycopg2.connect('dbname=app') as conn:\n        yield conn\n"
    )
    (tmp_path / "pg.py").write_text(source)
    safe = run("--fix", "pg.py", cwd=tmp_path)
    assert safe.returncode == 1
    assert (tmp_path / "pg.py").read_text() == source
    assert "1 hidden fix can be enabled with the `--unsafe-fixes` option" in safe.stdout
    unsafe = run("--fix", "--unsafe-fixes", "pg.py", cwd=tmp_path)
    assert unsafe.returncode == 0, unsafe.stdout
    fixed = (tmp_path / "pg.py").read_text()
    assert "conn = psycopg2.connect('dbname=app')" in fixed
    assert "        with conn:\n            yield conn\n    finally:\n        conn.close()" in fixed


def test_select_and_ignore(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    assert run("--ignore", "LL001", "deps.py", cwd=tmp_path).returncode == 0
    assert run("--select", "LL002,LL003", "deps.py", cwd=tmp_path).returncode == 0
    assert run("--select", "LL", "deps.py", cwd=tmp_path).returncode == 1
    unknown = run("--select", "XX9", "deps.py", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown rule selector: XX9" in unknown.stderr


def test_json_follows_ruffs_schema(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run("--output-format", "json", "deps.py", cwd=tmp_path)
    assert result.returncode == 1
    [record] = json.loads(result.stdout)
    assert set(record) == {
        "cell",
        "code",
        "end_location",
        "filename",
        "fix",
        "location",
        "message",
        "name",
        "noqa_row",
        "severity",
        "url",
    }
    assert record["code"] == "LL001" and record["name"] == "unprotected-cleanup"
    assert record["location"] == {"row": 7, "column": 5}
    assert record["end_location"] == {"row": 7, "column": 15}
    assert record["fix"]["applicability"] == "safe"
    # applying the edits gives the fixed file
    lines = SESSIONLOCAL.splitlines(keepends=True)
    [edit] = record["fix"]["edits"]
    start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
    assert "".join(lines[:start]) + edit["content"] + "".join(lines[end:]) == SESSIONLOCAL_FIXED


ALL_RULES = [(rule.code, rule.name) for rule in RULES]


@pytest.mark.parametrize(("code", "name"), ALL_RULES)
def test_every_rule_is_documented_and_in_the_readme(tmp_path: Path, code: str, name: str) -> None:
    result = run("rule", code, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith(f"# {name} ({code})")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Fix safety"):
        assert section in result.stdout
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"| {code} | {name} |" in readme


def test_rule_docs(tmp_path: Path) -> None:
    for args in (("rule", "LL001"), ("--explain", "LL001"), ("rule", "unprotected-cleanup")):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 0
        for section in (
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Fix safety",
        ):
            assert section in result.stdout
    assert run("rule", "LL999", cwd=tmp_path).returncode == 2
    assert "## Use instead" in run("rule", "LL004", cwd=tmp_path).stdout


def test_broken_file_is_reported_and_others_still_checked(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    yield\n")
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run(".", cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.py:1:7: SyntaxError: invalid syntax" in result.stderr
    assert "Traceback" not in result.stderr
    assert "deps.py:7:5: LL001" in result.stdout


def test_missing_path_exits_2(tmp_path: Path) -> None:
    result = run("nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.py: no such file or directory" in result.stderr


def test_dependency_defined_in_one_module_used_in_another(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    # two yields: not context-manager shaped, found only through the Depends index
    (package / "deps.py").write_text(
        "from .database import SessionLocal, settings\n\n\n"
        "def get_db():\n    db = SessionLocal()\n    if settings.read_only:\n"
        "        yield ReadOnly(db)\n    else:\n        yield db\n    db.close()\n"
    )
    (package / "routes.py").write_text(
        "from typing import Annotated\nfrom fastapi import APIRouter, Depends\n"
        "from .deps import get_db\n\nrouter = APIRouter()\n\n\n@router.get('/items')\n"
        "def items(db: Annotated[object, Depends(get_db)]):\n    return []\n"
    )
    alone = run("app/deps.py", cwd=tmp_path)
    assert alone.returncode == 0, alone.stdout
    together = run("app", cwd=tmp_path)
    assert together.returncode == 1
    assert "deps.py:10:5: LL001" in together.stdout


def test_fix_keeps_crlf_tabs_bom_and_mode(tmp_path: Path) -> None:
    source = SESSIONLOCAL.replace("    ", "\t").replace("\n", "\r\n")
    path = tmp_path / "deps.py"
    path.write_bytes(b"\xef\xbb\xbf" + source.encode())
    path.chmod(0o640)
    result = run("--fix", "deps.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = SESSIONLOCAL_FIXED.replace("    ", "\t").replace("\n", "\r\n")
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.encode()
    assert path.stat().st_mode & 0o777 == 0o640


def test_module_entry_point(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = subprocess.run(
        [sys.executable, "-m", "leaklint", "deps.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "LL001" in result.stdout
