"""The project's own checks: ruff lint and format, mypy, and leaklint over its own sources."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import installed
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "leaklint", "tests", "benchmarks", "noxfile.py"),
        ("ruff", "format", "--check", "leaklint", "tests", "benchmarks", "noxfile.py"),
        # against the running interpreter's version: the branches for older Pythons are checked
        ("mypy", "--python-version", f"{sys.version_info[0]}.{sys.version_info[1]}"),
        ("leaklint", "leaklint", "tests", "benchmarks"),
        ("flake8", "leaklint", "tests", "benchmarks"),
    ],
    ids=lambda command: {"flake8": "flake8 plugin", "mypy": "mypy"}.get(
        command[0], " ".join(command[:2])
    ),
)
def test_project_check(command: tuple[str, ...]) -> None:
    executable = installed.command(command[0])
    if executable is None:
        pytest.fail(f"{command[0]} is not installed: install the test extra")
    result = _run(executable, *command[1:])
    assert result.returncode == 0, result.stdout + result.stderr


def test_leaklint_finds_the_bundled_example() -> None:
    result = _run(sys.executable, "-m", "leaklint", "examples")
    assert result.returncode == 1
    assert "LL001" in result.stdout


REMOVED_IN_PYTHON_3_14 = frozenset({"Num", "Str", "Bytes", "NameConstant", "Ellipsis"})
"""``ast`` names deprecated since 3.8 and gone in 3.14 (``ast.Constant`` replaces them all)."""


def test_no_ast_name_that_python_3_14_removed() -> None:
    used = []
    for path in sorted(
        p for folder in ("leaklint", "tests", "benchmarks") for p in (ROOT / folder).rglob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "ast"
                and node.attr in REMOVED_IN_PYTHON_3_14
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == "ast"
                and any(alias.name in REMOVED_IN_PYTHON_3_14 for alias in node.names)
            ):
                used.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert used == []
