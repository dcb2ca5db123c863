"""A plain check is read without click (``leaklint.command``), and must be read as click reads it:
every command line the plain reader accepts gives click's own parameters, and every one it refuses
is one click has something to say about."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import click
import pytest

import leaklint
from leaklint.cli import main
from leaklint.command import plain_check_options

TOKENS = [
    "app", "deps.py", "-", "check", "rule", "server", "--fix", "--diff", "--no-cache", "--statistics",
    "--exit-zero", "--unsafe-fixes", "--show-fixes", "--force-exclude", "--add-noqa",
    "--no-type-inference", "--select", "--select=LL001,LL002", "--extend-select", "--ignore=LL006",
    "LL001", "--output-format", "--output-format=json", "concise", "nope", "--jobs", "-j", "--jobs=2",
    "-j0", "0", "1", "3", "1.5", "--config", "--config=pyproject.toml", "--stdin-filename", "x.py",
    "--explain", "--help", "-h", "--version", "--", "--fix=1", "--unknown", "-x", "tests",
]  # fmt: skip


def _click_reads(arguments: list[str]) -> Optional[dict[str, Any]]:
    """The check command's parameters as click parses ``arguments``, or ``None`` when click stops
    (an error, help, the version, another subcommand)."""
    check = main.commands["check"]
    rest = arguments[1:] if arguments[:1] == ["check"] else arguments
    if arguments[:1] != ["check"] and arguments[:1] and arguments[0] in main.commands:
        return None
    if arguments[:1] and arguments[0] in ("--help", "-h", "--version"):
        return None
    try:
        with check.make_context("check", list(rest), resilient_parsing=False) as context:
            return dict(context.params)
    except (click.exceptions.Exit, click.UsageError, click.BadParameter):
        return None


@pytest.mark.parametrize(
    "arguments",
    [
        [],
        ["app"],
        ["check", "app", "tests"],
        ["--fix", "--select", "LL001,LL002", "--select", "LL009", "app"],
        ["--output-format=json", "--jobs", "2", "-j", "3", "--config", "pyproject.toml", "-"],
        ["--stdin-filename", "x.py", "--fix", "-"],
        ["-j", "1", "--jobs=1", "app"],
        ["--ignore=LL006", "--extend-select", "LL013", "--explain", "LL001"],
    ],
)
def test_the_plain_reader_reads_as_click_reads(arguments: list[str]) -> None:
    plain = plain_check_options(arguments)
    assert plain is not None
    assert plain == _click_reads(arguments)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--help"],
        ["check", "-h"],
        ["rule", "LL001"],
        ["--jobs", "0", "app"],
        ["-j", "x"],
        ["--output-format", "nope"],
        ["--fix=yes"],
        ["--select"],
        ["--unknown"],
        ["--", "-weird.py"],
        ["--config", "."],
    ],
)
def test_the_plain_reader_leaves_help_subcommands_and_errors_to_click(arguments: list[str]) -> None:
    assert plain_check_options(arguments) is None


def test_random_command_lines_are_read_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").mkdir()  # a folder, which --config refuses
    generator = random.Random(20261126)
    accepted = 0
    for _ in range(3000):
        arguments = generator.choices(TOKENS, k=generator.randint(0, 6))
        plain = plain_check_options(arguments)
        if plain is not None:
            accepted += 1
            assert plain == _click_reads(arguments), arguments
    assert accepted > 300  # the comparison ran on many accepted lines, not only on refusals


def test_a_plain_check_loads_neither_click_nor_typing(tmp_path: Path) -> None:
    """(Nor anything else that only click, dataclasses or annotations need.)"""
    (tmp_path / "deps.py").write_text(
        "def get_db():\n    db = open('x')\n    yield db\n    db.close()\n"
    )
    probe = (
        "import sys; started = set(sys.modules)\nfrom leaklint.launch import main\n"
        "sys.argv = ['leaklint', '--no-cache', '--select', 'LL001', sys.argv[1]]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "loaded = ('click', 'typing', 'inspect', 'dataclasses')\n"
        "print(code, sorted(set(loaded) & set(sys.modules) - started), file=sys.stderr)\n"
    )
    # -S: without site, which may load typing itself (an editable install's finder does)
    package_parent = str(Path(leaklint.__file__).resolve().parents[1])
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path / "deps.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": package_parent},
    )
    assert "LL001" in result.stdout
    # a file without a coding cookie is decoded without importlib.util, which imports typing
    # itself before Python 3.10
    assert result.stderr.strip().splitlines()[-1] == "1 []", result.stderr


def test_a_reader_that_goes_away_ends_a_plain_check_quietly(tmp_path: Path) -> None:
    for number in range(300):
        (tmp_path / f"deps_{number}.py").write_text(
            "def get_db():\n    db = open('x')\n    yield db\n    db.close()\n"
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "leaklint", "--no-cache", "--output-format", "concise", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `| head -1` does
    error = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1
    assert error == ""
