"""The pre-commit hooks, through the real ``pre-commit try-repo`` against a throwaway repository.

pre-commit builds its own virtualenv and installs this repository into it from the package
registry's dependencies, so this is the slowest test; it runs once for both hooks.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import installed
import pytest
from test_cli import SESSIONLOCAL, SESSIONLOCAL_FIXED

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = installed.command("pre-commit")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed")
def test_check_hook_fails_and_fix_hook_rewrites(tmp_path: Path) -> None:
    assert PRE_COMMIT is not None
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "deps.py").write_text(SESSIONLOCAL)
    (project / "app" / "fine.py").write_text(SESSIONLOCAL_FIXED)
    _git("init", "-q", cwd=project)
    _git("add", ".", cwd=project)
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }

    def try_repo(hook: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PRE_COMMIT, "try-repo", str(ROOT), hook, "--all-files", "--verbose"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    checked = try_repo("leaklint")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "app/deps.py:7:5: LL001" in checked.stdout
    assert "app/fine.py" not in checked.stdout.split("- hook id: leaklint")[-1]
    assert (project / "app" / "deps.py").read_text() == SESSIONLOCAL

    fixed = try_repo("leaklint-fix")
    # pre-commit fails a hook that modified files, so that the fix is reviewed and staged
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert (project / "app" / "deps.py").read_text() == SESSIONLOCAL_FIXED
    assert try_repo("leaklint").returncode == 0
