"""A real editor: Neovim, headless, with a minimal configuration (``neovim_quickfix.lua``) that
starts ``leaklint server``, waits for the diagnostics of a leaking ``deps.py``, applies the quick
fix through Neovim's own code-action and workspace-edit machinery and writes the buffer. The
file must then be what ``leaklint --fix`` gives.

Needs ``nvim`` (Debian's ``neovim`` package); without it the test is skipped, except in CI
(``CI`` set), where it fails: ``.ci/run`` installs the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaklint import fix_source

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).with_name("neovim_quickfix.lua")
DEPS = textwrap.dedent(
    """\
    from collections.abc import Iterator

    from fastapi import Depends, FastAPI
    from sqlalchemy.orm import Session, sessionmaker

    from app.db import engine

    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db() -> Iterator[Session]:
        db = SessionLocal()
        yield db
        db.close()


    @app.get("/items")
    def items(db: Session = Depends(get_db)) -> list:
        return []
    """
)


def _nvim() -> str:
    found = shutil.which("nvim")
    if found is not None:
        return found
    reason = "Neovim is not installed (apt-get install neovim)"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}; CI must run the editor test", pytrace=False)
    pytest.skip(reason)


def test_neovim_applies_the_quick_fix(tmp_path: Path) -> None:
    pytest.importorskip("pygls", reason="the server extra is not installed")
    nvim = _nvim()
    deps = tmp_path / "deps.py"
    deps.write_text(DEPS)
    result = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-u", str(SCRIPT), str(deps)],
        cwd=tmp_path,
        env={**os.environ, "LEAKLINT_PYTHON": sys.executable, "LEAKLINT_ROOT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert deps.read_text() == fix_source(DEPS)
    assert deps.read_text() != DEPS
