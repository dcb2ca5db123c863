"""Installed as users install it: the sdist and the wheel built as a release builds them, the
wheel installed into a fresh virtual environment with no source tree beside it, and every way
in (the command, ``python -m leaklint``, flake8's plugin, the typed API) used from there.

Building and installing fetch build and runtime dependencies from the package index (pip's
cache makes repeats quick), so this is one of the slower tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from installed import command
from test_cli import SESSIONLOCAL, SESSIONLOCAL_FIXED

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = "Scripts" if sys.platform == "win32" else "bin"


def _run(*argv: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH and the like would let the source tree leak into the "installed" runs
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    return subprocess.run(
        [str(part) for part in argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    built = _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def user_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel installed; returns its scripts folder."""
    home = tmp_path_factory.mktemp("user")
    venv.create(home / "venv", with_pip=True)
    scripts = home / "venv" / BIN
    [wheel] = dist.glob("leaklint-*.whl")
    installed = _run(scripts / "python", "-m", "pip", "install", "-q", wheel, cwd=home)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield scripts


def test_the_sdist_carries_what_the_tests_need(dist: Path) -> None:
    [sdist] = dist.glob("leaklint-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in (
        "pyproject.toml",
        "setup.cfg",
        "README.md",
        "noxfile.py",
        ".pre-commit-hooks.yaml",
        "leaklint/py.typed",
        "tests/conftest.py",
        "fixtures/README.md",
        "benchmarks/bench.py",
        "examples/fastapi_sqlalchemy/app/deps.py",
    ):
        assert needed in names, needed
    tracked = [
        path.relative_to(ROOT).as_posix()
        for folder in ("tests", "fixtures", "examples")
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    assert sorted(set(tracked) - names) == []


def test_the_sdist_runs_its_own_tests(dist: Path, tmp_path: Path) -> None:
    [sdist] = dist.glob("leaklint-*.tar.gz")
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # from 3.9.17; the default from 3.14
            archive.extractall(tmp_path, filter="data")
        else:
            archive.extractall(tmp_path)
    [unpacked] = tmp_path.glob("leaklint-*")
    # `python -m pytest` from the unpacked folder imports leaklint from there, not from here
    where = _run(sys.executable, "-c", "import leaklint; print(leaklint.__file__)", cwd=unpacked)
    assert where.stdout.strip() == str(unpacked / "leaklint" / "__init__.py")
    tests = ["tests/test_fixtures.py", "tests/test_runtime.py", "tests/test_analysis.py"]
    result = _run(
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-n",
        "auto",
        "-p",
        "no:cacheprovider",
        *tests,
        cwd=unpacked,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


def test_the_wheel_holds_the_package_and_its_entry_points(dist: Path) -> None:
    [wheel] = dist.glob("leaklint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [entry_points] = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        declared = archive.read(entry_points).decode()
        [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
        classifiers = [
            line.split(" :: ")[-1]
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Classifier: Programming Language :: Python :: 3.")
        ]
    assert "leaklint/py.typed" in names
    assert not [name for name in names if name.startswith(("tests/", "fixtures/"))]
    assert "leaklint = leaklint.launch:main" in declared
    assert "LL = leaklint.flake8_plugin:Plugin" in declared
    assert "leaklint = leaklint.pytest_plugin" in declared
    assert "leaklint/watch/sources.py" in names
    # the interpreter running this test is one the package says it supports
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in classifiers


def test_the_installed_command_checks_and_fixes(user_env: Path, tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    where = _run(
        user_env / "python", "-c", "import leaklint; print(leaklint.__file__)", cwd=tmp_path
    )
    assert where.stdout.startswith(str(user_env.parent)), where.stdout + where.stderr
    checked = _run(user_env / "leaklint", "deps.py", cwd=tmp_path)
    assert checked.returncode == 1, checked.stderr
    assert checked.stdout.startswith("deps.py:7:5: LL001 [*]")
    as_module = _run(
        user_env / "python", "-m", "leaklint", "--output-format", "json", ".", cwd=tmp_path
    )
    assert as_module.returncode == 1 and '"code": "LL001"' in as_module.stdout
    fixed = _run(user_env / "leaklint", "--fix", "deps.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (tmp_path / "deps.py").read_text() == SESSIONLOCAL_FIXED
    assert "Traceback" not in checked.stderr + as_module.stderr + fixed.stderr


def test_the_installed_flake8_plugin(user_env: Path, tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    result = _run(user_env / "flake8", "--select", "LL", "deps.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("deps.py:7:5: LL001 ")


def test_the_installed_package_is_typed(user_env: Path, tmp_path: Path) -> None:
    mypy = command("mypy")
    assert mypy is not None, "mypy is in the test extra"
    (tmp_path / "user.py").write_text(
        "import leaklint\n\n"
        "for diagnostic in leaklint.check_source('x = 1\\n'):\n"
        "    row: int = diagnostic.location.row\n"
        "    code: str = diagnostic.code\n"
        "wrong: int = leaklint.fix_source('x = 1\\n')\n"
    )
    result = _run(
        mypy,
        "--strict",
        "--no-incremental",
        "--python-executable",
        user_env / "python",
        "user.py",
        cwd=tmp_path,
    )
    # without py.typed mypy would stop at the import: no library stubs or py.typed marker; with
    # it, the API's types reach the user's code and the one wrong assignment is caught
    [error, summary] = result.stdout.splitlines()
    assert error.startswith("user.py:6: error: Incompatible types in assignment"), result.stdout
    assert error.endswith('variable has type "int")  [assignment]')
    assert summary == "Found 1 error in 1 file (checked 1 source file)"
