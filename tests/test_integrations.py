"""Where users meet leaklint: suppressions, stdin, statistics, exclusions and flake8 — each
driven through the real command as a subprocess."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from installed import command
from test_cli import SESSIONLOCAL, SESSIONLOCAL_FIXED, run

ROOT = Path(__file__).resolve().parent.parent
FLAKE8 = command("flake8")


# suppression ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # noqa", True),
        ("  # noqa: LL001", True),
        ("  # noqa: LL001, LL003", True),
        ("  # noqa:LL0", True),
        ("  # NOQA: ll001", True),
        ("  # noqa: LL003", False),
        ("  # noqa: E501", False),
    ],
)
def test_line_noqa(tmp_path: Path, comment: str, suppressed: bool) -> None:
    (tmp_path / "deps.py").write_text(
        SESSIONLOCAL.replace("    db.close()\n", f"    db.close(){comment}\n")
    )
    assert run("deps.py", cwd=tmp_path).returncode == (0 if suppressed else 1)


def test_file_level_noqa(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text("# leaklint: noqa\n" + SESSIONLOCAL)
    assert run("deps.py", cwd=tmp_path).returncode == 0
    (tmp_path / "deps.py").write_text("# leaklint: noqa: LL003\n" + SESSIONLOCAL)
    assert run("deps.py", cwd=tmp_path).returncode == 1


def test_noqa_also_stops_the_fix(tmp_path: Path) -> None:
    source = SESSIONLOCAL.replace("    db.close()\n", "    db.close()  # noqa: LL001\n")
    (tmp_path / "deps.py").write_text(source)
    assert run("--fix", "deps.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "deps.py").read_text() == source


def test_add_noqa_adopts_a_codebase(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(
        SESSIONLOCAL.replace("    db.close()\n", "    db.close()  # noqa: E501\n")
    )
    (tmp_path / "other.py").write_text(
        "from contextlib import contextmanager\n\n\n@contextmanager\ndef f():\n"
        "    conn = make()\n    yield conn\n    conn.close()\n"
    )
    result = run("--add-noqa", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Added 2 noqa directives."
    assert "    db.close()  # noqa: E501, LL001\n" in (tmp_path / "deps.py").read_text()
    assert "    conn.close()  # noqa: LL001\n" in (tmp_path / "other.py").read_text()
    assert run(".", cwd=tmp_path).returncode == 0


# stdin ---------------------------------------------------------------------------------------


def test_stdin_check_uses_the_given_filename(tmp_path: Path) -> None:
    result = run("--stdin-filename", "app/deps.py", "-", cwd=tmp_path, stdin=SESSIONLOCAL)
    assert result.returncode == 1
    assert result.stdout.startswith("app/deps.py:7:5: LL001")


def test_stdin_fix_writes_the_fixed_source_to_stdout(tmp_path: Path) -> None:
    result = run("--fix", "-", cwd=tmp_path, stdin=SESSIONLOCAL)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SESSIONLOCAL_FIXED
    unchanged = run("--fix", "-", cwd=tmp_path, stdin=SESSIONLOCAL_FIXED)
    assert (unchanged.returncode, unchanged.stdout) == (0, SESSIONLOCAL_FIXED)


def test_stdin_syntax_error(tmp_path: Path) -> None:
    result = run("--stdin-filename", "x.py", "-", cwd=tmp_path, stdin="def f(:\n")
    assert result.returncode == 1
    assert (
        "x.py:1:7: SyntaxError: invalid syntax" in result.stderr
        and "Traceback" not in result.stderr
    )


# reporting -----------------------------------------------------------------------------------


def test_statistics(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SESSIONLOCAL)
    (tmp_path / "b.py").write_text(SESSIONLOCAL.replace("get_db", "get_other"))
    (tmp_path / "c.py").write_text("def get_db():\n    db = SessionLocal()\n    yield db\n")
    result = run("--statistics", ".", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "    2\tLL001\t[*] unprotected-cleanup"
    assert lines[1] == "    1\tLL003\t[*] resource-never-released"


def test_show_fixes(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = run("--fix", "--show-fixes", ".", cwd=tmp_path)
    assert "Fixed 1 error:\n- deps.py:\n    1 × LL001 (unprotected-cleanup)\n" in result.stdout  # noqa: RUF001


# which files ---------------------------------------------------------------------------------


def _tree(root: Path) -> None:
    for name in (
        "app/deps.py",
        "build/gen.py",
        "migrations/v1.py",
        "tests/test_x.py",
        "scratch/t.py",
    ):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SESSIONLOCAL)


def _reported(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {line.split(":", 1)[0] for line in result.stdout.splitlines() if ": LL" in line}


def test_default_exclusions_and_gitignore(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / ".gitignore").write_text("scratch/\n")
    assert _reported(run(".", cwd=tmp_path)) == {
        "app/deps.py",
        "migrations/v1.py",
        "tests/test_x.py",
    }
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nrespect-gitignore = false\n")
    assert "scratch/t.py" in _reported(run(".", cwd=tmp_path))


def test_exclude_extend_exclude_and_per_file_ignores(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.leaklint]\nextend-exclude = ['migrations/']\n\n"
        "[tool.leaklint.per-file-ignores]\n'tests/*' = ['LL001']\n"
    )
    assert _reported(run(".", cwd=tmp_path)) == {"app/deps.py", "scratch/t.py"}
    # exclude replaces the defaults: build/ is checked again
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\nexclude = ['scratch']\n")
    assert "build/gen.py" in _reported(run(".", cwd=tmp_path))
    # a file named on the command line is checked whatever the exclusions say
    assert _reported(run("scratch/t.py", cwd=tmp_path)) == {"scratch/t.py"}


# flake8 --------------------------------------------------------------------------------------

needs_flake8 = pytest.mark.skipif(FLAKE8 is None, reason="flake8 is not installed")


def _flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert FLAKE8 is not None
    return subprocess.run([FLAKE8, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@needs_flake8
def test_flake8_plugin_reports_what_the_cli_reports(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    flake8 = _flake8("--isolated", "--select", "LL", "deps.py", cwd=tmp_path)
    assert flake8.returncode == 1, flake8.stderr
    cli = run("deps.py", cwd=tmp_path)
    assert flake8.stdout.splitlines() == [
        line.replace(" [*]", "") for line in cli.stdout.splitlines() if ": LL" in line
    ]


@needs_flake8
def test_flake8_options_from_setup_cfg_and_noqa(tmp_path: Path) -> None:
    (tmp_path / "setup.cfg").write_text(
        "[flake8]\nselect = LL\nleaklint-release-methods = finish\n"
        "leaklint-resource-factories = app.db.get_connection=close\n"
    )
    (tmp_path / "deps.py").write_text(
        "from contextlib import contextmanager\nfrom app.db import get_connection\n\n\n"
        "@contextmanager\ndef conn():\n    c = get_connection()\n    yield c\n\n\n"
        "@contextmanager\ndef cursor():\n    cur = make()\n    yield cur\n    cur.finish()\n\n\n"
        "@contextmanager\ndef quiet():\n    cur = make()\n    yield cur\n    cur.finish()  # noqa: LL001\n"
    )
    result = _flake8("deps.py", cwd=tmp_path)
    assert [line.split(" ", 2)[:2] for line in result.stdout.splitlines()] == [
        ["deps.py:7:9:", "LL003"],
        ["deps.py:15:5:", "LL001"],
    ]


@needs_flake8
def test_cli_and_flake8_agree_on_the_whole_fixtures_tree() -> None:
    """Every flake8 finding is a CLI finding; the CLI finds more only where the project-wide
    Depends index sees a dependency in another module, which flake8 (one file at a time)
    cannot, and in modules newer than this Python, which flake8 cannot parse (E999) while the
    CLI checks the statements it can."""
    flake8 = _flake8("--isolated", "--select", "LL,E999", "fixtures", cwd=ROOT)
    cli = run("--no-cache", "--no-type-inference", "fixtures", cwd=ROOT)
    pattern = re.compile(r"^(\S+?:\d+:\d+): (LL\d{3})")

    def findings(output: str) -> set[tuple[str, str]]:
        return {m.groups() for m in map(pattern.match, output.splitlines()) if m}  # type: ignore[misc]

    from_flake8, from_cli = findings(flake8.stdout), findings(cli.stdout)
    unparsed = {line.split(":")[0] for line in flake8.stdout.splitlines() if " E999 " in line}
    newer = {line.split(":")[2].strip() for line in cli.stderr.splitlines() if "warning" in line}
    # the files this Python cannot parse whole: the CLI warns about those it parses whole (a
    # module that registers nothing has only its generators and imports parsed, and says
    # nothing about the statements it did not read)
    assert newer <= unparsed and len(newer) >= 2, (newer, unparsed)
    assert len(from_flake8) > 50
    assert from_flake8 <= from_cli, sorted(from_flake8 - from_cli)
    extra = {where.split(":")[0] for where, _ in from_cli - from_flake8}
    assert extra - unparsed == {"fixtures/LL001/cross_module/database.py"}


def test_gitignore_files_apply_up_to_the_repository_root(tmp_path: Path) -> None:
    from leaklint.discover import Exclusions, discover

    outer = tmp_path / "outer"
    repository = outer / "repo"
    (repository / ".git").mkdir(parents=True)
    (repository / "pkg").mkdir()
    (outer / ".gitignore").write_text("*.py\n")  # above the repository: does not apply
    (repository / ".gitignore").write_text("skipped.py\n")
    (repository / "pkg" / ".gitignore").write_text("generated_*.py\n")
    for name in ("kept.py", "skipped.py", "pkg/also_kept.py", "pkg/generated_x.py"):
        (repository / name).write_text("x = 1\n")
    found = discover([str(repository)], Exclusions(root=repository))
    names = sorted(str(path.relative_to(repository)) for path in found if isinstance(path, Path))
    assert names == ["kept.py", "pkg/also_kept.py"]


@needs_flake8
@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        (
            ROOT / "fixtures" / "LL005" / "dependencies_module_alone",
            {("22:12", "LL005"), ("30:5", "LL010"), ("34:5", "LL011")},
        ),
        # the connection comes from a function of another module of the project
        (ROOT / "fixtures" / "LL003" / "project_factories", {("16:12", "LL003")}),
    ],
    ids=["dependencies_module_alone", "project_factories"],
)
def test_flake8_on_the_dependencies_module_alone_reports_what_the_project_view_reports(
    unit: Path, expected: set[tuple[str, str]]
) -> None:
    """The common layout: the dependencies in deps.py, their `Depends(...)` in the routers.
    flake8 hands the plugin deps.py alone (pre-commit passes it alone too); the module's name
    and each function's shape must give the verdict the whole project gives."""
    project = run("--no-cache", "--output-format", "concise", ".", cwd=unit)
    alone = run("--no-cache", "--output-format", "concise", "deps.py", cwd=unit)
    flake8 = _flake8("--isolated", "--select", "LL", "deps.py", cwd=unit)
    pattern = re.compile(r"^(?:\./)?deps\.py:(\d+:\d+): (LL\d{3})")

    def findings(output: str) -> set[tuple[str, str]]:
        return {m.groups() for m in map(pattern.match, output.splitlines()) if m}  # type: ignore[misc]

    assert findings(project.stdout) == expected, project.stdout
    assert findings(alone.stdout) == expected, alone.stdout
    assert findings(flake8.stdout) == expected, flake8.stdout
