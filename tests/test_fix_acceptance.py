"""A fix must never make code worse: every ``.fixed.py`` snapshot is checked again, by leaklint
itself and by the other linters a project is likely to run beside it.

* **leaklint**: every finding on the fixed file was on the input too (same code, same
  function), and none that the input had a fix for (with the applicability the snapshot was
  made with) is left. Findings without a fix (LL006...) may stay.
* **ruff** (``SIM115``, ``RUF075``) and **pylint** (``R1732``, ``W0135``): no code gets more
  findings on the fixed file than on its input.

ruff and pylint each run once, over a temporary folder holding a copy of every input and of
every snapshot (the module-scoped fixtures below); each fixture is then its own case, so a
failure names it. The folder also holds a known-bad canary, so that a run which finds nothing
because of an option or an output format that changed cannot pass for a clean one.

pylint is told to ignore the third-party modules the files import (``--ignored-modules``: to
astroid they are then as if not installed). Following them into FastAPI, SQLAlchemy...
multiplies its run time by about five, and neither check needs them: every call R1732 knows is
in the standard library, and the standard library is still inferred.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import installed
import pytest
from fixture_support import FIXTURES, Fixture, all_fixtures
from linting import ALL_CODES, check_fixture, parsed_unit

from leaklint.analysis.collector import standard_library
from leaklint.model import Diagnostic
from leaklint.parse import ParsedModule, parse
from leaklint.runner import build_index, check_module
from leaklint.settings import Settings

SNAPSHOTTED = [fixture for fixture in all_fixtures() if fixture.snapshot.exists()]

RUFF_CODES = ("SIM115", "RUF075")
PYLINT_CODES = ("R1732", "W0135")

CANARY = """\
from contextlib import contextmanager

log = open("log.txt")  # SIM115, R1732


@contextmanager
def opened():  # RUF075
    handle = open("data.txt")
    yield handle
    handle.close()


def lines():  # W0135
    with opened() as handle:
        yield from handle
"""
"""Bad on every code checked, so that a run finding nothing is seen to be broken."""


def _id(fixture: Fixture) -> str:
    return fixture.path.relative_to(FIXTURES).as_posix()


@dataclass(frozen=True)
class Finding:
    """One finding of another linter: what the failure message shows."""

    code: str
    row: int
    message: str

    def __str__(self) -> str:
        return f"{self.row}: {self.code} {self.message}"


@dataclass(frozen=True)
class Copies:
    """The temporary folder the linters run over, and which copy is which."""

    folder: Path
    inputs: dict[Path, Path]
    """Fixture path -> the copy of the fixture."""
    outputs: dict[Path, Path]
    """Fixture path -> the copy of its snapshot."""
    canary: Path

    @property
    def files(self) -> list[Path]:
        return sorted([*self.inputs.values(), *self.outputs.values(), self.canary])


Found = dict[Path, list[Finding]]
"""A linter's findings, by the copy they are on."""


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Copies:
    folder = tmp_path_factory.mktemp("fix_acceptance")
    inputs, outputs = {}, {}
    for fixture in SNAPSHOTTED:
        # a flat folder of distinct module names: pylint keys what it parses by module name
        stem = "__".join(fixture.path.relative_to(FIXTURES).with_suffix("").parts)
        inputs[fixture.path] = folder / f"{stem}__input.py"
        outputs[fixture.path] = folder / f"{stem}__fixed.py"
        shutil.copyfile(fixture.path, inputs[fixture.path])
        shutil.copyfile(fixture.snapshot, outputs[fixture.path])
    canary = folder / "canary.py"
    canary.write_text(CANARY, encoding="utf-8")
    return Copies(folder, inputs, outputs, canary)


def _command(name: str) -> str:
    executable = installed.command(name)
    if executable is None:
        pytest.fail(f"{name} is not installed: install the test extra")
    return executable


@pytest.fixture(scope="module")
def ruff_found(copies: Copies) -> Found:
    command = [
        _command("ruff"),
        *("check", "--no-cache", "--isolated", "--preview"),
        *("--select", ",".join(RUFF_CODES), "--output-format", "json"),
        *map(str, copies.files),
    ]
    result = subprocess.run(command, cwd=copies.folder, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 1: findings
    found: Found = {}
    for item in json.loads(result.stdout):
        found.setdefault(Path(item["filename"]), []).append(
            Finding(item["code"] or "syntax-error", item["location"]["row"], item["message"])
        )
    return found


def third_party_modules(paths: Iterable[Path]) -> list[str]:
    """Every module the files import by absolute name outside the standard library, with the
    packages that hold it (``fastapi``, ``sqlalchemy``, ``sqlalchemy.orm``...)."""
    names: set[str] = set()
    for path in paths:
        try:
            tree = ast.parse(path.read_bytes())
        except SyntaxError:  # newer syntax than this Python's: pylint cannot read it either
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from a import b` may import the module a.b
                modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] in standard_library():
                    continue
                names.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return sorted(names)


@pytest.fixture(scope="module")
def pylint_found(copies: Copies) -> Found:
    # an empty rcfile: no pylintrc, setup.cfg or pyproject.toml around the folder is read
    rcfile = copies.folder / "empty-pylintrc"
    rcfile.write_text("", encoding="utf-8")
    ignored = third_party_modules(copies.files)
    command = [
        _command("pylint"),
        f"--rcfile={rcfile}",
        "--persistent=n",
        "--disable=all",
        f"--enable={','.join(PYLINT_CODES)}",
        "--output-format=json",
        *([f"--ignored-modules={','.join(ignored)}"] if ignored else []),
        *map(str, copies.files),
    ]
    result = subprocess.run(command, cwd=copies.folder, capture_output=True, text=True, timeout=600)
    # the exit status is a bit mask of the kinds of messages; 32: pylint could not run
    assert not result.returncode & 32, result.stdout + result.stderr
    found: Found = {}
    for item in json.loads(result.stdout):
        path = Path(item["path"])
        found.setdefault(path if path.is_absolute() else copies.folder / path, []).append(
            Finding(item["message-id"], item["line"], item["message"])
        )
    return found


def test_linters_see_the_canary(copies: Copies, ruff_found: Found, pylint_found: Found) -> None:
    codes = {f.code for f in ruff_found.get(copies.canary, [])}
    codes |= {f.code for f in pylint_found.get(copies.canary, [])}
    assert codes >= {*RUFF_CODES, *PYLINT_CODES}, (
        f"the canary's findings: {sorted(codes)}; a check that finds nothing proves nothing"
    )


ACCEPTED: dict[tuple[str, str], str] = {
    ("LL009/async_commit_in_finally_only.py", "RUF075"): (
        "the commit must follow a bare `yield` (skipped when the caller fails), which RUF075"
        " reports by design; the fix is unsafe and LL009's docs say so"
    ),
}
"""(fixture, code) pairs where a fix is allowed to add another linter's finding, each with its
reason; the fix must be unsafe and its rule's documentation must name the code."""


def test_accepted_findings_are_unsafe_and_documented() -> None:
    from leaklint.rules import RULES

    for (name, code), _reason in ACCEPTED.items():
        fixture = next(f for f in SNAPSHOTTED if _id(f) == name)
        assert fixture.unsafe_fixes, f"{name}: only an unsafe fix may add {code}"
        rule = next(rule for rule in RULES if rule.code == name.split("/")[0])
        assert code in rule.docs, f"{rule.code}'s docs do not say that its fix adds {code}"


def _no_worse(fixture: Fixture, copies: Copies, found: Found, linter: str) -> None:
    before = Counter(f.code for f in found.get(copies.inputs[fixture.path], []))
    after_findings = found.get(copies.outputs[fixture.path], [])
    after = Counter(f.code for f in after_findings)
    worse = sorted(
        code
        for code in after
        if after[code] > before[code] and (_id(fixture), code) not in ACCEPTED
    )
    assert not worse, f"{linter} finds more on {fixture.snapshot.name} than on its input:\n" + (
        "\n".join(
            f"  {code}: {before[code]} -> {after[code]}\n"
            + "\n".join(f"    {f}" for f in after_findings if f.code == code)
            for code in worse
        )
    )


@pytest.mark.parametrize("fixture", SNAPSHOTTED, ids=_id)
def test_ruff_finds_no_more(fixture: Fixture, copies: Copies, ruff_found: Found) -> None:
    _no_worse(fixture, copies, ruff_found, "ruff")


@pytest.mark.parametrize("fixture", SNAPSHOTTED, ids=_id)
def test_pylint_finds_no_more(fixture: Fixture, copies: Copies, pylint_found: Found) -> None:
    _no_worse(fixture, copies, pylint_found, "pylint")


def _functions(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(first row, last row, dotted name) of every function, outer ones before inner ones."""
    spans = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    spans.append((first, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return spans


def _keyed(diagnostics: list[Diagnostic], tree: ast.Module) -> list[tuple[tuple[str, str], str]]:
    """((code, function), description) per finding; the function is the innermost one that
    holds the finding's row."""
    spans = _functions(tree)
    keyed = []
    for d in diagnostics:
        row = d.location.row
        holders = [name for first, last, name in spans if first <= row <= last]
        function = holders[-1] if holders else "<module>"
        keyed.append(((d.code, function), f"{row}: {d.code} in {function}: {d.message}"))
    return keyed


def _check_snapshot(fixture: Fixture) -> tuple[list[Diagnostic], ParsedModule]:
    """The findings on the snapshot, linted as the fixture is, in its place in its unit."""
    target, modules = parsed_unit(fixture)
    fixed = parse(str(fixture.path), fixture.snapshot.read_bytes())
    assert isinstance(fixed, ParsedModule), fixed
    index = build_index(fixed if module is target else module for module in modules)
    return check_module(fixed, index, Settings(select=ALL_CODES)), fixed


@pytest.mark.parametrize("fixture", SNAPSHOTTED, ids=_id)
def test_leaklint_accepts_fix(fixture: Fixture) -> None:
    target, _ = parsed_unit(fixture)
    settings = Settings(select=ALL_CODES, fix=True, unsafe_fixes=fixture.unsafe_fixes)
    before = check_fixture(fixture)
    had = Counter(key for key, _ in _keyed(before, target.tree))
    unfixed = Counter(
        key
        for d, (key, _) in zip(before, _keyed(before, target.tree))
        if d.fix is None or not settings.allows(d.fix.applicability)
    )
    after, fixed = _check_snapshot(fixture)
    left = _keyed(after, fixed.tree)
    counts = Counter(key for key, _ in left)
    new = [text for key, text in left if counts[key] > had[key]]
    kept = [text for key, text in left if had[key] >= counts[key] > unfixed[key]]
    problems = [f"  new, not on the input: {text}" for text in new]
    problems += [f"  left although the input's was fixed: {text}" for text in kept]
    assert not problems, f"leaklint on {fixture.snapshot.name}:\n" + "\n".join(problems)
