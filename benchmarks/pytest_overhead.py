"""What ``pytest --leaklint`` costs a test suite that makes many requests.

Usage: ``python benchmarks/pytest_overhead.py [--tests N] [--requests N] [--repeat N]``. The
bundled example app (examples/fastapi_sqlalchemy), fixed by ``leaklint --fix --unsafe-fixes`` so
that its suite passes, runs on SQLite (sqlite3 and aiosqlite) under a generated suite: ``--tests``
tests of ``--requests`` requests each, to sync and async endpoints through ``TestClient`` and
through httpx on an ``ASGITransport``. Three pytest runs alternate ``--repeat`` times:

* ``-p no:leaklint``: the plugin not loaded at all, the baseline;
* plain: the plugin installed but not asked for (its cost when inactive);
* ``--leaklint``: the watch on.

Each row is the median wall time of the whole pytest process and its ratio to the baseline. The
target is ``--leaklint`` within 1.10 of the baseline. It is a script, not a test: the machine is
shared and noisy, so only ratios measured side by side mean anything.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import alternate, machine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "fastapi_sqlalchemy" / "app"
TARGET = 1.10

CONFTEST = """
import os
from pathlib import Path

database = Path(__file__).resolve().parent / "bench.db"
os.environ["DATABASE_URL"] = f"sqlite:///{database}"
os.environ["ASYNC_DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
"""

SUITE = """
import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import app

client = TestClient(app, raise_server_exceptions=False)
REQUESTS = {requests}


@pytest.mark.parametrize("number", range({tests}))
def test_sync(number):
    for request in range(REQUESTS):
        path = ("/health", "/users/1", "/items/1", "/reports/1")[request % 4]
        assert client.get(path).status_code in (200, 404, 500)


@pytest.mark.parametrize("number", range({tests}))
@pytest.mark.anyio
async def test_async(number, anyio_backend):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        for request in range(REQUESTS):
            assert (await http.get(f"/async/items/{{request}}")).status_code == 404


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def prepare(folder: Path, tests: int, requests: int) -> None:
    shutil.copytree(EXAMPLE, folder / "app", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "leaklint", "--fix", "--unsafe-fixes", "--no-cache", "app"],
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_requests.py").write_text(SUITE.format(tests=tests, requests=requests))
    (folder / "pytest.ini").write_text("[pytest]\npythonpath = .\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=100, help="tests of each kind (sync, async)")
    parser.add_argument("--requests", type=int, default=10, help="requests per test")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leaklint-pytest-overhead-") as temporary:
        folder = Path(temporary)
        prepare(folder, options.tests, options.requests)
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        check = subprocess.run(
            [*pytest, "--leaklint"], cwd=folder, capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            print(check.stdout[-3000:], check.stderr[-3000:], sep="\n")
            return 1
        summary = next(line for line in check.stdout.splitlines() if " watched, " in line)
        commands = {
            "-p no:leaklint (baseline)": [*pytest, "-p", "no:leaklint"],
            "installed, not asked for": pytest,
            "--leaklint": [*pytest, "--leaklint"],
        }
        medians = alternate(commands, folder, options.repeat, {})
    baseline = medians["-p no:leaklint (baseline)"][0]
    total = 2 * options.tests * options.requests
    print(f"machine: {machine()}")
    print(f"suite: {2 * options.tests} tests, {total} requests; {summary}")
    print(f"{'run':<28}{'median':>9}{'ratio':>8}  target")
    for name, (seconds, _) in medians.items():
        ratio = seconds / baseline
        target = ""
        if name == "--leaklint":
            target = f"<= {TARGET:.2f} {'met' if ratio <= TARGET else 'NOT MET'}"
        print(f"{name:<28}{seconds:>8.2f}s{ratio:>8.3f}  {target}")
    added = (medians["--leaklint"][0] - baseline) / total * 1e6
    print(f"added per request: {added:.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
