"""The test matrix: the whole suite on every Python the package declares, each in a fresh
virtual environment.

    python -m pip install nox && python -m nox

The Pythons are the ``Programming Language :: Python :: 3.x`` classifiers of pyproject.toml, so
declaring a version is what puts it in the matrix. A declared Python missing from the machine
fails the run instead of being skipped. Interpreters are found on ``PATH`` or, where pyenv
manages them (``pyenv install 3.9`` ...), in pyenv's versions folder, whichever Python is
pyenv's global one. Each session runs the fast tests, spread over the machine's cores; the slow
integration tests (the ``slow`` marker: the sdist and the wheel, pre-commit, Neovim, PostgreSQL)
run once, on the default Python (``.ci/run`` runs both); extra arguments go to pytest
(``python -m nox -- -k fixtures``). ``python noxfile.py --others`` prints the declared Pythons
other than the one running it: ``.ci/run`` has just run the suite on that one.

nox rather than tox: the sessions are plain Python, which reads the version list from the
classifiers and finds pyenv's interpreters without a plugin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
CLASSIFIER = re.compile(r'"Programming Language :: Python :: (3\.\d+)"')


def declared_pythons() -> list[str]:
    """``["3.9", "3.10", ...]``: one per version classifier in pyproject.toml."""
    return CLASSIFIER.findall((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _runs(command: str) -> bool:
    found = shutil.which(command)
    if found is None:
        return False
    try:
        probe = subprocess.run([found, "-c", "pass"], capture_output=True, timeout=60)
    except OSError:
        return False
    return probe.returncode == 0  # a pyenv shim for a version that is not active fails here


def _version_key(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.name))


def _put_pyenv_pythons_on_path(versions: list[str]) -> None:
    """For each version whose ``pythonX.Y`` does not run from ``PATH``, put the newest pyenv
    build of it first on ``PATH``."""
    missing = [version for version in versions if not _runs(f"python{version}")]
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if not missing or not Path(root, "versions").is_dir():
        return
    folders = []
    for version in missing:
        builds = [
            build
            for build in Path(root, "versions").glob(f"{version}.*")
            if re.fullmatch(rf"{re.escape(version)}\.\d+", build.name)
            and (build / "bin" / f"python{version}").exists()
        ]
        if builds:
            folders.append(str(max(builds, key=_version_key) / "bin"))
    os.environ["PATH"] = os.pathsep.join([*folders, os.environ.get("PATH", "")])


PYTHONS = declared_pythons()
_put_pyenv_pythons_on_path(PYTHONS)

nox.options.error_on_missing_interpreters = True
nox.options.download_python = "never"  # the machine's own Pythons: no download stands in for one
nox.options.sessions = ["tests"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The fast tests (all but the ``slow`` marker's) on one Python."""
    session.install("-e", ".[test]")
    session.run("python", "--version")
    session.run("python", "-m", "pytest", "-n", "auto", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def equivalence_sqlalchemy20(session: nox.Session) -> None:
    """tests/test_equivalence.py on SQLAlchemy 2.0 (the test extra installs the newest, 2.1):
    what the exit of SQLAlchemy's async sessions and connections does under cancellation has
    changed between releases, and LL002's advice covers both lines. Not a default session; its
    PostgreSQL part needs initdb/pg_ctl, as the end-to-end test does."""
    session.install("-e", ".[test]")
    session.install("sqlalchemy[asyncio]>=2.0,<2.1")
    session.run("python", "-c", "import sqlalchemy; print('SQLAlchemy', sqlalchemy.__version__)")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/test_equivalence.py",
        "-m",
        "",  # the PostgreSQL cases too, which the slow marker keeps out of a default run
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


@nox.session
def knowledge_base(session: nox.Session) -> None:
    """tests/test_knowledge_base.py with every library of the knowledge base installed (the
    `kb` extra): each row checked against the library itself. Without them, the default run
    checks only the rows of the libraries the test extra installs. Not a default session."""
    session.install("-e", ".[test,kb]")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/test_knowledge_base.py",
        "-p",
        "no:cacheprovider",
        *session.posargs,
    )


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--others"]:
        sys.exit("usage: python noxfile.py --others")
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    print(" ".join(version for version in PYTHONS if version != running))
