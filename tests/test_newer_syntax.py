"""Code newer than the interpreter: a module that the running Python cannot parse whole is
checked statement by statement, with one warning naming what was left out and the Python that
could not parse it; a broken module is still an error."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from test_cli import run

from leaklint import runner
from leaklint.parse import ParsedModule, parse
from leaklint.rules import RULES
from leaklint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PEP_758 = ROOT / "fixtures" / "LL002" / "pep758_except_without_parentheses.py"
PEP_695 = ROOT / "fixtures" / "LL001" / "pep695_generic_repository.py"
VERSION = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
FIX = Settings(select=frozenset(rule.code for rule in RULES), fix=True, type_inference=False)


def _parses_whole(path: Path) -> bool:
    try:
        ast.parse(path.read_bytes())
    except SyntaxError:
        return False
    return True


NEWER_FILES = sum(not _parses_whole(path) for path in (PEP_758, PEP_695))


def newer_than_this_python(*paths: Path) -> pytest.MarkDecorator:
    """Run only where this Python cannot parse every one of ``paths`` whole."""
    parsed = [path.name for path in paths if _parses_whole(path)]
    return pytest.mark.skipif(bool(parsed), reason=f"{VERSION} parses {', '.join(parsed)} itself")


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("leaklint: warning: ")]


@newer_than_this_python(PEP_758)
def test_the_rest_of_the_module_is_checked_and_one_warning_names_the_python(
    tmp_path: Path,
) -> None:
    shutil.copy(PEP_758, tmp_path / "deps.py")
    result = run("--no-cache", "deps.py", cwd=tmp_path)
    assert result.returncode == 1  # for the finding: a warning alone does not fail the run
    assert result.stdout.startswith("deps.py:17:10: LL002 ")
    [warning] = _warnings(result.stderr)
    assert re.fullmatch(
        rf"leaklint: warning: deps\.py:28:\d+: {VERSION} cannot parse `read_claims` \(lines"
        r" 24-29\): SyntaxError: [^;]+; the rest of the file was checked \(leaklint parses with"
        r" the Python it runs on\)",
        warning,
    ), warning
    assert result.stderr.strip() == warning


@newer_than_this_python(PEP_758)
def test_a_warning_alone_exits_0(tmp_path: Path) -> None:
    source = PEP_758.read_text().replace(
        "    with Session(engine) as session:  # expect: LL002\n        yield session\n",
        "    session = Session(engine)\n    try:\n"
        "        yield session\n    finally:\n"
        "        session.close()\n",
    )
    (tmp_path / "deps.py").write_text(source)
    result = run("--no-cache", "deps.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert len(_warnings(result.stderr)) == 1


@newer_than_this_python(PEP_695)
def test_class_members_are_parsed_one_by_one(tmp_path: Path) -> None:
    shutil.copy(PEP_695, tmp_path / "repository.py")
    result = run("--no-cache", "repository.py", cwd=tmp_path)
    # the contextmanager method of the generic class, and the dependency after it
    assert [line.split(" ")[:2] for line in result.stdout.splitlines()[:2]] == [
        ["repository.py:29:9:", "LL001"],
        ["repository.py:38:5:", "LL001"],
    ]
    [warning] = _warnings(result.stderr)
    assert (
        f"{VERSION} cannot parse line 18, the header of class `Repository` (line 21) and `get`"
        " (lines 31-32): SyntaxError:" in warning
    )


@newer_than_this_python(PEP_758)
def test_fix_rewrites_what_parsed_and_keeps_the_rest_byte_for_byte(tmp_path: Path) -> None:
    for source in (PEP_758, PEP_695):
        shutil.copy(source, tmp_path / source.name)
    result = run("--no-cache", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Found 3 errors (3 fixed, 0 remaining)." in result.stdout
    for source in (PEP_758, PEP_695):
        snapshot = source.with_name(source.stem + ".fixed.py")
        assert (tmp_path / source.name).read_bytes() == snapshot.read_bytes()
    # the warning points at where the skipped statements are now, after the fix moved them
    assert "pep758_except_without_parentheses.py:31:" in result.stderr
    assert len(_warnings(result.stderr)) == NEWER_FILES


@newer_than_this_python(PEP_758)
def test_the_cache_workers_and_stdin_report_the_same_warning(tmp_path: Path) -> None:
    shutil.copy(PEP_758, tmp_path / "deps.py")
    shutil.copy(PEP_695, tmp_path / "repository.py")
    cold = run("--no-cache", ".", cwd=tmp_path)
    assert len(_warnings(cold.stderr)) == NEWER_FILES
    first = run(".", cwd=tmp_path)
    warm = run(".", cwd=tmp_path)  # from .leaklint_cache
    workers = run("--no-cache", "--jobs", "2", ".", cwd=tmp_path)
    for other in (first, warm, workers):
        assert (other.stdout, other.stderr) == (cold.stdout, cold.stderr)
    piped = run("-", "--stdin-filename", "deps.py", cwd=tmp_path, stdin=PEP_758.read_text())
    assert piped.stdout.startswith("deps.py:17:10: LL002")
    assert _warnings(piped.stderr) == [cold.stderr.splitlines()[0]]


@newer_than_this_python(PEP_758)
def test_add_noqa_on_a_module_with_newer_syntax(tmp_path: Path) -> None:
    shutil.copy(PEP_758, tmp_path / "deps.py")
    result = run("--add-noqa", "deps.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Added 1 noqa directive." in result.stdout
    assert (
        "    with Session(engine) as session:  # expect: LL002  # noqa: LL002\n"
        in (tmp_path / "deps.py").read_text()
    )


@newer_than_this_python(PEP_758)
def test_a_fix_that_would_touch_a_skipped_statement_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaklint.fixes

    path = tmp_path / "deps.py"
    shutil.copy(PEP_758, path)
    real_apply = leaklint.fixes.apply_plans

    def also_edits_read_claims(data: bytes, plans: object) -> bytes:
        fixed = real_apply(data, plans)  # type: ignore[arg-type]
        return fixed.replace(b"Malformed API key", b"Malformed key")

    monkeypatch.setattr(leaklint.fixes, "apply_plans", also_edits_read_claims)
    report = runner.run([str(path)], FIX)
    assert path.read_bytes() == PEP_758.read_bytes()
    [error] = report.errors
    assert error.internal
    assert "the fix for LL002: the result changes code this Python cannot parse" in error.message


def test_a_broken_module_is_still_an_error(tmp_path: Path) -> None:
    # newer syntax and a real mistake: LibCST rejects it too, so nothing is guessed
    broken = PEP_758.read_text().replace("def get_current_clerk(", "def get_current_clerk(:")
    (tmp_path / "deps.py").write_text(broken)
    result = run("--no-cache", "deps.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.strip() == "All checks passed!"
    [line] = result.stderr.splitlines()
    assert re.match(r"leaklint: error: deps\.py:\d+:\d+: SyntaxError: ", line), line


def test_statements_keep_their_rows_and_columns() -> None:
    source = (
        "import os\n\n"
        "type Pair = tuple[int, int]\n\n\n"
        "class Pool[T]:\n"
        "    size: int = 4\n\n"
        "    def open(self):\n"
        "        conn = os.open('x', 0)\n"
        "        yield conn\n"
    )
    parsed = parse("pool.py", source.encode())
    assert isinstance(parsed, ParsedModule)
    if sys.version_info >= (3, 12):
        assert parsed.skipped == ()
        return
    assert [(s.first_row, s.last_row, s.name, s.header_only) for s in parsed.skipped] == [
        (3, 3, None, False),
        (6, 6, "Pool", True),
    ]
    [imports, pool] = parsed.tree.body
    assert isinstance(imports, ast.Import) and isinstance(pool, ast.ClassDef)
    assert (pool.name, pool.lineno, pool.end_lineno) == ("Pool", 6, 11)
    size, method = pool.body
    assert (size.lineno, size.col_offset) == (7, 4)
    assert isinstance(method, ast.FunctionDef)
    assert (method.lineno, method.col_offset, method.end_lineno) == (9, 4, 11)
    yielded = method.body[1]
    assert (yielded.lineno, yielded.col_offset) == (11, 8)


ONLY_GENERATORS_PARSED = """\
from contextlib import contextmanager

from sqlmodel import Session

from inventory.db import engine


@contextmanager
def session_scope():
    with Session(engine) as session:
        yield session


def parse_claims(api_key):
    try:
        return dict(part.split("=", 1) for part in api_key.split(";"))
    except KeyError, ValueError:
        return {}
"""


@newer_than_this_python(PEP_758)
def test_json_diff_and_fix_agree_on_a_module_whose_generators_alone_were_parsed(
    tmp_path: Path,
) -> None:
    # nothing registers a generator here, so only `session_scope` and the imports are parsed
    # for the check, and the statement this Python cannot parse is found only when fixing
    (tmp_path / "db.py").write_text(ONLY_GENERATORS_PARSED)
    listed = run("--no-cache", "--output-format", "json", "db.py", cwd=tmp_path)
    [finding] = json.loads(listed.stdout)
    assert finding["code"] == "LL002" and finding["fix"]["applicability"] == "safe"
    [edit] = finding["fix"]["edits"]
    lines = ONLY_GENERATORS_PARSED.splitlines(keepends=True)
    start, end = edit["location"]["row"] - 1, edit["end_location"]["row"] - 1
    expected = "".join(lines[:start]) + edit["content"] + "".join(lines[end:])

    shown = run("--no-cache", "--diff", "db.py", cwd=tmp_path)
    assert shown.returncode == 1 and "+    session = Session(engine)" in shown.stdout, shown
    assert "leaklint: error" not in shown.stderr
    fixed = run("--no-cache", "--fix", "db.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert (tmp_path / "db.py").read_text() == expected


# Layouts where a line at column 0 does not start a statement, each beside a statement no
# Python before 3.14 parses (PEP 758), so the cuts are exercised on every supported version.
_TRICKY_PARTS = {
    "docstring": '"""Module.\n\ndef looks_like_code():\n    pass\n"""\n',
    "string_in_function": ("def text():\n    return '''\nclass Fake:\n    pass\n'''\n"),
    "brackets": "SETTINGS = {\n'a': 1,\n'b': [\n2,\n],\n}\nvalue = call(\n1,\n)\n",
    "continued": "total = 1 + \\\n2\n",
    "branches": "if SETTINGS:\n    x = 1\nelif x:\n    x = 2\nelse:\n    x = 3\n",
    "handlers": "try:\n    import fast\nexcept ImportError:\n    fast = None\nfinally:\n    pass\n",
    "decorated": "@decorator(\n    option=1,\n)\n\n# a comment\n@other\ndef decorated():\n    yield 1\n",
    "long_header": (
        "class Store(\n    Base,\n    metaclass=Meta,\n):\n    x = 1\n\n"
        "    def read(self):\n        try:\n            yield self\n"
        "        except ValueError, TypeError:\n            pass\n"
        "    '''\nloose\n'''\n"
    ),
    "newer": (
        "def risky():\n    try:\n        yield 1\n    except ValueError, TypeError:\n        pass\n"
    ),
}


def _dumped(salvaged: object) -> object:
    if salvaged is None:
        return None
    return (
        [ast.dump(node, include_attributes=True) for node in salvaged.body],  # type: ignore[attr-defined]
        salvaged.skipped,  # type: ignore[attr-defined]
    )


@pytest.mark.parametrize("name", sorted(_TRICKY_PARTS))
def test_cuts_read_the_module_as_libcst_does(name: str) -> None:
    from leaklint import salvage
    from leaklint.parse import source_lines

    parts = [_TRICKY_PARTS[name], _TRICKY_PARTS["newer"], _TRICKY_PARTS[name]]
    text = "import os\n\n" + "\n".join(parts)
    with pytest.raises(SyntaxError):
        ast.parse(text)
    lines = source_lines(text, keepends=True)
    cut = salvage.salvage(lines)
    assert cut is not None and cut.skipped
    assert _dumped(cut) == _dumped(salvage._salvage_whole(lines))


@pytest.mark.parametrize(
    "mistake",
    [
        "def risky(:\n    pass\n",
        "class Broken[T]:\n    def f(self:\n        pass\n",
        "type Alias[] = int\n",
        "x = (\n",
    ],
)
def test_cuts_still_find_a_broken_module(mistake: str) -> None:
    from leaklint import salvage
    from leaklint.parse import source_lines

    text = _TRICKY_PARTS["newer"] + "\n" + mistake + "\n" + _TRICKY_PARTS["docstring"]
    lines = source_lines(text, keepends=True)
    assert salvage.salvage(lines) is None
    assert salvage._salvage_whole(lines) is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason=f"{VERSION} parses PEP 695 itself")
def test_generic_definitions_are_checked_without_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    # PEP 695 is most of what an older Python rejects; checking it costs a plain parse
    import libcst

    from leaklint import salvage
    from leaklint.parse import source_lines

    text = (
        "type Pair = tuple[int, int]\n"
        "type Call[**P, R] = Callable[P, R]\n\n"
        "def first[T: (int, str)](items: list[T]) -> T:\n    return items[0]\n\n"
        "@dataclass\nclass Box[\n    T,\n](Base):\n    item: T\n\n"
        "    def get[U = int](self) -> U:\n        return self.item\n"
    )
    lines = source_lines(text, keepends=True)
    expected = _dumped(salvage._salvage_whole(lines))

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("LibCST was asked")

    monkeypatch.setattr(libcst, "parse_module", refuse)
    cut = salvage.salvage(lines)
    assert _dumped(cut) == expected
    assert [(s.first_row, s.name, s.header_only) for s in cut.skipped] == [  # type: ignore[union-attr]
        (1, None, False),
        (2, None, False),
        (4, "first", False),
        (7, "Box", True),
        (13, "get", False),
    ]
