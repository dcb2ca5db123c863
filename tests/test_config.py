"""``[tool.leaklint]``: teaching leaklint a project's own resources, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import run

DEPENDENCY = """\
from fastapi import Depends

from app.db import get_connection


def get_conn():
    conn = get_connection()
    yield conn


def get_cursor():
    cursor = make_cursor()
    yield cursor
    cursor.finish()


def route(conn=Depends(get_conn), cursor=Depends(get_cursor)):
    return conn
"""


def project(tmp_path: Path, config: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[project]\nname = 'demo'\n\n{config}")
    (tmp_path / "deps.py").write_text(DEPENDENCY)
    return tmp_path


def test_without_configuration_the_project_resources_are_unknown(tmp_path: Path) -> None:
    result = run("deps.py", cwd=project(tmp_path, ""))
    assert result.returncode == 0, result.stdout


def test_configured_factory_and_release_method(tmp_path: Path) -> None:
    config = (
        "[tool.leaklint]\nrelease-methods = ['finish']\n\n"
        "[tool.leaklint.resource-factories]\n'app.db.get_connection' = 'close'\n"
    )
    result = run("deps.py", cwd=project(tmp_path, config))
    assert result.returncode == 1
    assert "deps.py:7:12: LL003" in result.stdout
    assert "deps.py:14:5: LL001" in result.stdout
    fixed = run("--fix", "deps.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout
    assert "    finally:\n        conn.close()\n" in (tmp_path / "deps.py").read_text()


def test_factory_patterns_and_async_release(tmp_path: Path) -> None:
    config = (
        "[tool.leaklint.resource-factories]\n"
        "'*.get_connection' = { release = 'aclose', async = true }\n"
    )
    source = DEPENDENCY.replace("def get_conn", "async def get_conn")
    project(tmp_path, config)
    (tmp_path / "deps.py").write_text(source)
    result = run("--fix", "deps.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "        await conn.aclose()\n" in (tmp_path / "deps.py").read_text()


def test_dependency_markers(tmp_path: Path) -> None:
    source = (
        "from di import Provide\n\n\ndef get_db():\n    db = make()\n    if flag:\n"
        "        yield db\n    else:\n        yield None\n    db.close()\n\n\n"
        "def route(db=Provide(get_db)):\n    return db\n"
    )
    (tmp_path / "deps.py").write_text(source)
    assert run("deps.py", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\ndependency-markers = ['Provide']\n")
    result = run("deps.py", cwd=tmp_path)
    assert "deps.py:10:5: LL001" in result.stdout


def test_select_from_the_file_and_flags_override(tmp_path: Path) -> None:
    config = "[tool.leaklint]\nselect = ['LL002']\nrelease-methods = ['finish']\n"
    project(tmp_path, config)
    assert run("deps.py", cwd=tmp_path).returncode == 0
    assert run("--select", "LL001", "deps.py", cwd=tmp_path).returncode == 1


def test_config_found_by_walking_up_from_the_path(tmp_path: Path) -> None:
    project(tmp_path, "[tool.leaklint]\nrelease-methods = ['finish']\n")
    nested = tmp_path / "src" / "app"
    nested.mkdir(parents=True)
    (tmp_path / "deps.py").rename(nested / "deps.py")
    result = run("src/app", cwd=tmp_path)
    assert "LL001" in result.stdout


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.leaklint]\nselcet = ['LL001']\n", "[tool.leaklint] selcet: unknown key"),
        ("[tool.leaklint]\nselect = 'LL001'\n", "[tool.leaklint] select: expected a list"),
        ("[tool.leaklint]\nrelease-methods = 3\n", "[tool.leaklint] release-methods: expected"),
        (
            "[tool.leaklint.resource-factories]\n'x.y' = { release = 'close', asnyc = true }\n",
            "resource-factories.x.y: unknown key 'asnyc'",
        ),
        ("[tool.leaklint\n", "not valid TOML"),
        ("[tool.leaklint]\nrule-url = 'docs/{code}'\n", "rule-url: expected an http(s) URL"),
        (
            "[tool.leaklint]\nrule-url = 'https://x.example/{rule}'\n",
            "rule-url: only {code} and {name} can be filled in (KeyError: 'rule')",
        ),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, config: str, message: str) -> None:
    project(tmp_path, config)
    result = run("deps.py", cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert str(tmp_path / "pyproject.toml") in result.stderr
    assert "Traceback" not in result.stderr


def test_config_option_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(DEPENDENCY)
    (tmp_path / "custom.toml").write_text("[tool.leaklint]\nrelease-methods = ['finish']\n")
    result = run("--config", "custom.toml", "deps.py", cwd=tmp_path)
    assert "LL001" in result.stdout


def test_the_readme_configuration_example_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [example] = [
        block.split("```", 1)[0]
        for block in readme.split("```toml\n")[1:]
        if block.startswith("[tool.leaklint]")
    ]
    (tmp_path / "pyproject.toml").write_text(example)
    (tmp_path / "deps.py").write_text(DEPENDENCY)
    result = run("deps.py", cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr
    assert "error" not in result.stderr


def test_a_configured_rule_url_reaches_the_json(tmp_path: Path) -> None:
    project(tmp_path, "[tool.leaklint]\nrule-url = 'https://wiki.example/leaklint/{code}'\n")
    (tmp_path / "deps.py").write_text(
        "def get_db():\n    db = SessionLocal()\n    yield db\n    db.close()\n"
    )
    result = run("--output-format", "json", "deps.py", cwd=tmp_path)
    [record] = json.loads(result.stdout)
    assert record["url"] == "https://wiki.example/leaklint/LL001"
