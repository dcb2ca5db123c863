"""What the project's source declares is what astroid would answer: each definition below is
answered from the source and by astroid, and where the source answers, the answers agree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from leaklint.analysis.declared import ASK, Definitions, Returns
from leaklint.analysis.inference import TypeOracle

MODULE = """\
import typing
from typing import Optional

import httpx


class Connection:
    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Channel:
    async def aclose(self):
        pass

    async def __aexit__(self, *exc):
        await self.aclose()


class Closer:
    def close(self):
        pass


class Exiter:
    def __exit__(self, *exc):
        pass


class Derived(Connection):
    pass


class Borrowed:
    close = Connection.close

    def __exit__(self, *exc):
        pass


class Tracker:
    @classmethod
    def track(cls) -> str:
        return "id"

    @property
    def label(self) -> str:
        return "label"


def label() -> str:
    return "label"


def counts() -> Optional[dict[str, int]]:
    return None


def names() -> "typing.List[Connection]":
    return [Connection()]


def either() -> int | None:
    return None


def connect() -> Connection:
    return Connection()


def client() -> httpx.Client:
    return httpx.Client()


def unannotated():
    return Connection()


@staticmethod
def decorated() -> str:
    return "x"
"""

CASES = [
    (["Connection"], "resource"),
    (["Channel"], "resource"),
    (["Closer"], "nothing"),
    (["Exiter"], "nothing"),
    (["Derived"], "ask"),
    (["Borrowed"], "ask"),
    (["Tracker", "track"], "nothing"),
    (["Tracker", "label"], "ask"),
    (["label"], "nothing"),
    (["counts"], "nothing"),
    (["names"], "nothing"),
    (["either"], "nothing"),
    (["connect"], "resource"),
    (["client"], "returns"),
    (["unannotated"], "ask"),
    (["decorated"], "ask"),
    (["missing"], "ask"),
]


@pytest.mark.parametrize(("names", "kind"), CASES, ids=[".".join(n) for n, _ in CASES])
def test_the_source_answers_as_astroid_does(tmp_path: Path, names: list[str], kind: str) -> None:
    module = tmp_path / "mod.py"
    module.write_text(MODULE)
    declared = Definitions().answer(str(module), None, names, "mod")
    caller = f"from mod import {names[0]}\n\nvalue = {'.'.join(names)}()\n"
    call = ast.parse(caller).body[-1].value  # type: ignore[attr-defined]
    inferred = TypeOracle()._infer(str(tmp_path / "caller.py"), caller, call)
    if kind == "ask":
        assert declared is ASK
    elif kind == "returns":
        assert declared == Returns("httpx.Client")
    else:
        assert declared == inferred
        assert (declared is None) == (kind == "nothing")


def test_an_annotation_naming_a_known_class_is_answered_by_the_knowledge_base(
    tmp_path: Path,
) -> None:
    (tmp_path / "mod.py").write_text(MODULE)
    caller = tmp_path / "caller.py"
    caller.write_text("from mod import client\n\nvalue = client()\n")
    call = ast.parse(caller.read_text()).body[-1].value  # type: ignore[attr-defined]
    answer = TypeOracle().resource_type(str(caller), caller.read_text(), "mod.client", call, True)
    assert answer is not None and answer.name == "httpx.Client" and not answer.inferred
