"""Type-aware resources: astroid settles what the knowledge base cannot, only where it matters."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest
from test_cli import run as run_command

from leaklint.analysis.inference import CACHE_VERSION


def run(*args: str, cwd: Path) -> Any:
    """The command with type inference asked for (it is off by default), unless the line
    turns it off itself."""
    if "--no-type-inference" in args:
        return run_command(*args, cwd=cwd)
    return run_command("--type-inference", *args, cwd=cwd)


OWN_RESOURCE = """\
from fastapi import Depends


class Connection:
    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_connection():
    return Connection()


def get_conn():
    conn = open_connection()
    yield conn


def route(conn=Depends(get_conn)):
    return conn
"""

ASYNC_OWN_RESOURCE = """\
from contextlib import asynccontextmanager


class Channel:
    async def close(self):
        await self.transport.aclose()

    async def __aexit__(self, *exc):
        await self.close()


@asynccontextmanager
async def channel():
    chan = Channel()
    try:
        yield chan
    finally:
        chan.close()
"""

STDLIB_CLASS = """\
import smtplib
from contextlib import contextmanager


@contextmanager
def mailer(host="localhost"):
    server = smtplib.SMTP(host)
    yield server
"""

INSTALLED_PACKAGE = """\
import httpx
from contextlib import contextmanager


@contextmanager
def transport():
    pool = httpx.HTTPTransport(retries=2)
    yield pool
"""


def test_a_projects_own_resource_class(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(
        OWN_RESOURCE.replace("open_connection()\n    yield", "Connection()\n    yield")
    )
    found = run("--no-cache", "deps.py", cwd=tmp_path)
    assert "deps.py:20:12: LL003" in found.stdout, found.stdout + found.stderr
    # a class without bases that defines an exit and a release: its source says it, without
    # astroid (the project's own code answers by default)
    without = run("--no-cache", "--no-type-inference", "deps.py", cwd=tmp_path)
    assert "deps.py:20:12: LL003" in without.stdout, without.stdout


def test_a_factory_imported_from_another_module(tmp_path: Path) -> None:
    database, _, dependency = OWN_RESOURCE.partition("def get_conn")
    (tmp_path / "database.py").write_text(database.replace("from fastapi import Depends\n", ""))
    (tmp_path / "deps.py").write_text(
        "from fastapi import Depends\n\nfrom database import open_connection\n\n\n"
        "def get_conn" + dependency
    )
    found = run("--no-cache", "deps.py", cwd=tmp_path)
    assert "deps.py:7:12: LL003" in found.stdout, found.stdout + found.stderr


def test_an_async_close_found_by_inference(tmp_path: Path) -> None:
    (tmp_path / "channel.py").write_text(ASYNC_OWN_RESOURCE)
    found = run("--no-cache", "channel.py", cwd=tmp_path)
    assert "channel.py:18:9: LL007" in found.stdout, found.stdout + found.stderr
    without = run("--no-cache", "--no-type-inference", "channel.py", cwd=tmp_path)
    assert "channel.py:18:9: LL007" in without.stdout, without.stdout  # the source says it too
    fixed = run("--no-cache", "--fix", "channel.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout
    assert "        await chan.close()\n" in (tmp_path / "channel.py").read_text()


def test_a_standard_library_class(tmp_path: Path) -> None:
    (tmp_path / "mail.py").write_text(STDLIB_CLASS)
    assert "mail.py:7:14: LL003" in run("--no-cache", "mail.py", cwd=tmp_path).stdout


def test_results_for_installed_packages_are_cached_by_version(tmp_path: Path) -> None:
    (tmp_path / "transport.py").write_text(INSTALLED_PACKAGE)
    first = run("transport.py", cwd=tmp_path)
    assert "transport.py:7:12: LL003" in first.stdout, first.stdout + first.stderr
    cache = tmp_path / ".leaklint_cache" / "inference-v1.json"
    stored = json.loads(cache.read_text())["types"]
    [key] = [key for key in stored if key.startswith("httpx.HTTPTransport@httpx==")]
    assert stored[key]["release"] == "close" and stored[key]["async"] is False
    assert (tmp_path / ".leaklint_cache" / ".gitignore").read_text().endswith("*\n")
    # a second run answers from the cache: make the stored answer say "not a resource"
    stored[key] = None
    cache.write_text(json.dumps({"version": CACHE_VERSION, "types": stored}))
    for results in cache.parent.glob("results-*.json"):
        results.unlink()  # the file is unchanged: without this its findings come back as they were
    assert run("transport.py", cwd=tmp_path).returncode == 0
    assert run("--no-cache", "transport.py", cwd=tmp_path).returncode == 1


def test_in_memory_streams_are_not_resources(tmp_path: Path) -> None:
    source = (
        "import io\nfrom contextlib import contextmanager\n\n\n@contextmanager\n"
        "def buffer():\n    stream = io.StringIO()\n    yield stream\n"
    )
    (tmp_path / "buf.py").write_text(source)
    assert run("--no-cache", "buf.py", cwd=tmp_path).returncode == 0


def test_what_holds_nothing_outside_is_not_a_resource(tmp_path: Path) -> None:
    """An in-memory stream's subclass, and a TestClient never entered (no lifespan started)."""
    (tmp_path / "streams.py").write_text(
        "import io\n\n\nclass StreamWrapper(io.StringIO):\n    @classmethod\n"
        "    def from_stream(cls, stream):\n        return cls()\n"
    )
    (tmp_path / "capture.py").write_text(
        "from contextlib import contextmanager\n\nimport pytest\n"
        "from fastapi import FastAPI\nfrom fastapi.testclient import TestClient\n\n"
        "from streams import StreamWrapper\n\n\n@contextmanager\ndef captured():\n"
        "    fake = StreamWrapper.from_stream(None)\n    yield fake\n\n\n@pytest.fixture\n"
        "def client():\n    client = TestClient(FastAPI())\n    yield client\n"
    )
    result = run("--no-cache", "capture.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # the same shape with a class that does hold something is still reported
    (tmp_path / "streams.py").write_text(
        "import socket\n\n\nclass StreamWrapper(socket.socket):\n    @classmethod\n"
        "    def from_stream(cls, stream):\n        return cls()\n"
    )
    assert "capture.py:12:12: LL003" in run("--no-cache", "capture.py", cwd=tmp_path).stdout


def test_a_probe_does_not_stand_in_for_its_module(tmp_path: Path) -> None:
    """Inference in ``database.py`` builds a probe under that module's name; a later question
    from ``deps.py`` about ``database.open_connection`` must see the real module."""
    database, _, dependency = OWN_RESOURCE.partition("def get_conn")
    (tmp_path / "helpers.py").write_text("def make_label():\n    return 'label'\n")
    (tmp_path / "database.py").write_text(
        database.replace("from fastapi import Depends\n", "from contextlib import contextmanager\n")
        + "from helpers import make_label\n\n\n@contextmanager\ndef labelled():\n"
        "    label = make_label()\n    yield label\n"
    )
    (tmp_path / "deps.py").write_text(
        "from fastapi import Depends\n\nfrom database import open_connection\n\n\n"
        "def get_conn" + dependency
    )
    found = run("--no-cache", "--jobs", "1", "database.py", "deps.py", cwd=tmp_path)
    assert found.stdout.count("LL003") == 1, found.stdout + found.stderr
    assert "deps.py:7:12: LL003" in found.stdout, found.stdout + found.stderr


def test_answers_about_the_projects_code_are_kept_while_its_modules_are_unchanged(
    tmp_path: Path,
) -> None:
    database, _, dependency = OWN_RESOURCE.partition("def get_conn")
    (tmp_path / "database.py").write_text(database.replace("from fastapi import Depends\n", ""))
    (tmp_path / "deps.py").write_text(
        "from fastapi import Depends\n\nfrom database import open_connection\n\n\n"
        "def get_conn" + dependency
    )
    assert "deps.py:7:12: LL003" in run("deps.py", cwd=tmp_path).stdout
    cache = tmp_path / ".leaklint_cache" / "inference-v1.json"
    document = json.loads(cache.read_text())
    [(key, entry)] = document["local"].items()
    assert key == "database.open_connection"
    assert entry["answer"]["name"] == "database.Connection"
    assert list(entry["files"]) == [str((tmp_path / "database.py").resolve())]

    def run_afresh() -> str:
        for results in cache.parent.glob("results-*.json"):
            results.unlink()  # the findings of unchanged files would come back from there
        return run("deps.py", cwd=tmp_path).stdout

    # a second run answers from the cache: make the stored answer say "not a resource"
    entry["answer"] = None
    cache.write_text(json.dumps(document))
    assert "LL003" not in run_afresh()
    # a change to the module the answer was read from asks again
    (tmp_path / "database.py").write_text(database.replace("from fastapi import Depends\n", "#\n"))
    assert "deps.py:7:12: LL003" in run_afresh()
    # so does another set of installed distributions
    document = json.loads(cache.read_text())
    document["local"]["database.open_connection"]["answer"] = None
    document["environment"] = "another"
    cache.write_text(json.dumps(document))
    assert "deps.py:7:12: LL003" in run_afresh()


def test_what_worker_processes_learn_is_kept(tmp_path: Path) -> None:
    database, _, _ = OWN_RESOURCE.partition("def get_conn")
    (tmp_path / "database.py").write_text(database.replace("from fastapi import Depends\n", ""))
    for name in ("deps_a", "deps_b", "deps_c"):  # nothing to index: checked in the workers
        (tmp_path / f"{name}.py").write_text(
            "from contextlib import contextmanager\n\nfrom database import open_connection\n"
            "\n\n@contextmanager\ndef connection():\n    conn = open_connection()\n"
            "    yield conn\n"
        )
    found = run("--jobs", "2", ".", cwd=tmp_path)
    assert found.stdout.count("LL003") == 3, found.stdout + found.stderr
    stored = json.loads((tmp_path / ".leaklint_cache" / "inference-v1.json").read_text())
    assert stored["local"]["database.open_connection"]["answer"]["release"] == "close"


def test_a_run_that_asks_nothing_reads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored answers and the environment's fingerprint cost a few milliseconds: a run
    whose generators ask no question (most runs) pays neither."""
    from leaklint.analysis import inference

    def forbidden(*_: object) -> object:
        raise AssertionError("read without a question")

    monkeypatch.setattr(inference, "_environment", forbidden)
    monkeypatch.setattr(inference, "_load", forbidden)
    oracle = inference.TypeOracle(tmp_path / "inference-v1.json")
    call = ast.parse("print(1)").body[0].value  # type: ignore[attr-defined]
    assert oracle.resource_type("x.py", "print(1)\n", "print", call, False) is None
    oracle.save()
    assert oracle.hand_over() is None


SUBCLASS_OF_A_LIBRARY = """\
import httpx
from fastapi import Depends


class ApiClient(httpx.Client):
    def fetch(self, path):
        return self.get(path).json()


def get_api():
    client = ApiClient(base_url="https://api.example.com")
    yield client


def route(api=Depends(get_api)):
    return api.fetch("/items")
"""


def test_inference_is_asked_for_by_flag_or_configuration(tmp_path: Path) -> None:
    # a subclass of a library's client: only astroid can tell what its base releases
    (tmp_path / "deps.py").write_text(SUBCLASS_OF_A_LIBRARY)
    assert run_command("--no-cache", "deps.py", cwd=tmp_path).returncode == 0  # off by default
    assert run_command("--no-cache", "--type-inference", "deps.py", cwd=tmp_path).returncode == 1
    (tmp_path / "pyproject.toml").write_text("[tool.leaklint]\ntype-inference = true\n")
    assert run_command("--no-cache", "deps.py", cwd=tmp_path).returncode == 1
    assert run_command("--no-cache", "--no-type-inference", "deps.py", cwd=tmp_path).returncode == 0
