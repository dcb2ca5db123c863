"""Bad input never crashes a run or loses data: each case gets one line naming the file, every
other file is still checked, and ``--fix`` writes nothing it has not verified."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from installed import command
from test_cli import LEAKLINT, SESSIONLOCAL, SESSIONLOCAL_FIXED, run

from leaklint import runner
from leaklint.rules import RULES
from leaklint.settings import Settings

ALL = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
FIX = Settings(select=ALL.select, fix=True, type_inference=False)

MATRIX: dict[str, tuple[bytes, str]] = {  # the file's bytes, a pattern for its line on stderr
    "syntax_error.py": (
        b"def f(:\n    yield\n",
        r"error: syntax_error\.py:1:7: SyntaxError: invalid syntax",
    ),
    "python2.py": (
        b'def gen():\n    print "hi"\n    log = open("log")\n    yield log\n',
        # the column is the parser's: 11 on Python 3.9, 5 from 3.10
        r"error: python2\.py:2:\d+: SyntaxError: Missing parentheses in call to 'print'",
    ),
    "latin1_without_cookie.py": (
        b'def gen():\n    x = "caf\xe9"\n    yield x\n',
        re.escape(
            "error: latin1_without_cookie.py: cannot decode the file as UTF-8 (invalid continuation"
            " byte at byte 23); if it is in another encoding, declare it with a coding comment"
            " (PEP 263)"
        ),
    ),
    "nul_bytes.py": (
        b"\0" * 64 + b"yield",
        r"error: nul_bytes\.py:1:1: cannot parse the file: it contains a NUL byte",
    ),
    "deep_parentheses.py": (
        b"def f():\n    db = SessionLocal()\n    yield " + b"(" * 500 + b"db" + b")" * 500 + b"\n",
        # valid Python that CPython's parser refuses: LibCST finds the statement, only it is lost
        r"warning: deep_parentheses\.py:3:211: Python 3\.\d+ cannot parse `f` \(lines 1-3\):"
        " SyntaxError: too many nested parentheses; the rest of the file was checked",
    ),
    "deep_blocks.py": (
        b"def f():\n    db = SessionLocal()\n"
        + b"".join(b"    " * (i + 1) + b"if x:\n" for i in range(500))
        + b"    " * 501
        + b"yield db\n",
        r"error: deep_blocks\.py:102:1: SyntaxError: too many levels of indentation",
    ),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A project with one real leak beside every kind of bad file."""
    (tmp_path / "good.py").write_text(SESSIONLOCAL)
    for name, (content, _) in MATRIX.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "latin1_with_cookie.py").write_bytes(
        b'# -*- coding: latin-1 -*-\ndef gen():\n    x = "caf\xe9"\n    yield x\n'
    )
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "broken_link.py").symlink_to(tmp_path / "missing.py")
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    (tmp_path / "package.py").mkdir()
    (tmp_path / "package.py" / "inner.py").write_text(SESSIONLOCAL.replace("get_db", "inner"))
    return tmp_path


def test_every_bad_file_gets_one_line_and_the_rest_is_checked(tree: Path) -> None:
    result = run("--no-cache", ".", cwd=tree)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    for _, expected in MATRIX.values():
        assert len([line for line in errors if re.match(f"leaklint: {expected}", line)]) == 1
    assert (
        "leaklint: error: broken_link.py: cannot read the file: No such file or directory" in errors
    )
    assert (
        "leaklint: error: loop_a.py: cannot read the file: Too many levels of symbolic links"
        in errors
    )
    assert len(errors) == len(MATRIX) + 3  # the two loop links and the broken link
    # the good files are still checked; the latin-1 file with a cookie and the empty file parse
    assert "good.py:7:5: LL001" in result.stdout
    assert "package.py/inner.py:7:5: LL001" in result.stdout  # a folder named x.py is a folder
    assert "latin1_with_cookie" not in result.stdout + result.stderr
    assert "empty.py" not in result.stdout + result.stderr


def test_fix_leaves_bad_files_untouched(tree: Path) -> None:
    before = {path.name: path.read_bytes() for path in tree.iterdir() if path.is_file()}
    result = run("--no-cache", "--fix", ".", cwd=tree)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (tree / "good.py").read_text() == SESSIONLOCAL_FIXED
    for name, content in before.items():
        if name != "good.py":
            assert (tree / name).read_bytes() == content, name


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(SESSIONLOCAL)
    result = run("nope.py", "good.py", cwd=tmp_path)
    assert result.returncode == 2  # the run could not do what it was asked
    assert result.stderr.strip() == "leaklint: error: nope.py: no such file or directory"
    assert "good.py:7:5: LL001" in result.stdout


@pytest.mark.skipif(shutil.which("capsh") is None, reason="capsh is needed to drop root's rights")
def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(SESSIONLOCAL)
    secret = tmp_path / "secret.py"
    secret.write_text("def g():\n    yield 1\n")
    secret.chmod(0)
    command = f"{LEAKLINT} --no-cache secret.py good.py"
    if os.geteuid() == 0:  # root reads anything: drop the rights that let it
        argv = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", command]
    else:
        argv = ["sh", "-c", command]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "leaklint: error: secret.py: cannot read the file: Permission denied"
    )
    assert "good.py:7:5: LL001" in result.stdout


def test_a_20_megabyte_generated_file(tmp_path: Path) -> None:
    rows = [
        f'ROW_{i} = ("{i:08d}", {i}, {i * 0.5}, "generated row number {i}")\n'
        for i in range(300_000)
    ]
    data = "".join(rows)
    while len(data) < 20_000_000:
        data += data[: 20_000_000 - len(data)].rpartition("\n")[0] + "\n"
    (tmp_path / "generated.py").write_text(SESSIONLOCAL + "\n\n" + data)
    result = run("--no-cache", "generated.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("generated.py:7:5: LL001")


def test_file_that_vanishes_between_discovery_and_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.py").write_text(SESSIONLOCAL)
    (tmp_path / "gone.py").write_text(SESSIONLOCAL)
    real_read = runner.read_bytes

    def vanish_then_read(path: Path) -> bytes:
        if path.name == "gone.py":
            path.unlink()
        return real_read(path)

    monkeypatch.setattr(runner, "read_bytes", vanish_then_read)
    report = runner.run([str(tmp_path)], ALL)
    [error] = report.errors
    assert (
        error.line() == f"{tmp_path / 'gone.py'}: cannot read the file: No such file or directory"
    )
    assert [d.code for d in report.diagnostics] == ["LL001"]


def test_a_file_changed_while_being_fixed_is_not_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deps.py"
    path.write_text(SESSIONLOCAL)
    edited = SESSIONLOCAL + "\n# edited in the editor meanwhile\n"
    real_fix = runner.fix_module

    def fix_while_someone_edits(*args: object, **kwargs: object) -> object:
        result = real_fix(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(edited)
        return result

    monkeypatch.setattr(runner, "fix_module", fix_while_someone_edits)
    report = runner.run([str(tmp_path)], FIX)
    assert path.read_text() == edited
    [error] = report.errors
    assert "changed while it was being fixed; it was not rewritten" in error.message
    assert [d.code for d in report.diagnostics] == ["LL001"]  # reported instead


def test_an_invalid_transform_is_caught_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import libcst as cst

    import leaklint.fixes.move_to_finally

    path = tmp_path / "deps.py"
    path.write_text(SESSIONLOCAL)

    real_try_finally = leaklint.fixes.move_to_finally.try_finally

    def invalid_code(protected: list[cst.BaseStatement], released: object) -> cst.Try:
        # a deliberate fault: a statement LibCST prints but Python cannot parse
        garbage = cst.SimpleStatementLine([cst.Expr(cst.Name("class"))])
        return real_try_finally(protected, [garbage])

    def crashing(protected: object, released: object) -> cst.Try:
        # and one whose rewrite raises: LibCST refuses a name with a space
        cst.Name("db close")
        raise AssertionError("unreachable")

    def dropped_statements(protected: object, released: object) -> cst.Try:
        # another: LibCST prints empty blocks as `pass`, which parses but loses the code
        empty = cst.IndentedBlock(body=[])
        return cst.Try(body=empty, finalbody=cst.Finally(body=empty))

    faults = (
        (invalid_code, "does not parse"),
        (dropped_statements, "would drop `yield <name> | yield from <iterable>`"),
        (crashing, "the rewrite failed: CSTValidationError"),
    )
    for fault, symptom in faults:
        monkeypatch.setattr(leaklint.fixes.move_to_finally, "try_finally", fault)
        report = runner.run([str(tmp_path)], FIX)
        assert path.read_text() == SESSIONLOCAL
        [error] = report.errors
        assert error.internal
        assert error.message.startswith("internal error, nothing was written: the fix for LL001")
        assert symptom in error.message


def test_a_write_that_fails_midway_leaves_the_original(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "deps.py"
    path.write_text(SESSIONLOCAL)

    def disk_full(source: object, destination: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    report = runner.run([str(tmp_path)], FIX)
    assert path.read_text() == SESSIONLOCAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deps.py"]  # no temporary file left
    [error] = report.errors
    assert "No space left on device" in error.message


def test_trailing_newline_or_its_absence_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "deps.py"
    path.write_text(SESSIONLOCAL.rstrip("\n"))
    assert run("--fix", "deps.py", cwd=tmp_path).returncode == 0
    assert path.read_text() == SESSIONLOCAL_FIXED.rstrip("\n")


def test_a_function_whose_lines_cannot_stand_alone_is_fixed_through_the_whole_module(
    tmp_path: Path,
) -> None:
    # the docstring's second line sits left of the method's `def`: the slow path takes over
    source = (
        "class Repo:\n    def session(self):\n        '''Open one.\nLeft-aligned text.'''\n"
        "        db = SessionLocal()\n        yield db\n        db.close()\n\n\n"
        "def route(db=Depends(Repo.session)):\n    pass\n"
    )
    (tmp_path / "repo.py").write_text(source)
    assert run("--fix", "repo.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "repo.py").read_text() == source.replace(
        "        yield db\n        db.close()\n",
        "        try:\n            yield db\n        finally:\n            db.close()\n",
    )


def test_rows_are_counted_as_python_counts_them(tmp_path: Path) -> None:
    # a form feed (old GNU style) is whitespace to Python, not a line break as for str.splitlines

    def paged(source: str) -> bytes:
        page = source.replace("\n\n\n", "\n\x0c\n\n")
        return page.replace("def get_db():", "def get_db():  # page\x0c break").encode()

    path = tmp_path / "deps.py"
    path.write_bytes(paged(SESSIONLOCAL))
    flake8 = command("flake8")
    assert flake8 is not None
    assert run("--no-cache", "deps.py", cwd=tmp_path).stdout.startswith("deps.py:7:5: LL001")
    plugin = subprocess.run(
        [flake8, "--select", "LL", "deps.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert plugin.stdout.startswith("deps.py:7:5: LL001"), plugin.stdout + plugin.stderr
    assert run("--fix", "deps.py", cwd=tmp_path).returncode == 0
    assert path.read_bytes() == paged(SESSIONLOCAL_FIXED)
    # a noqa comment on the reported row is found on that row
    path.write_bytes(paged(SESSIONLOCAL.replace("    db.close()", "    db.close()  # noqa: LL001")))
    assert run("--no-cache", "deps.py", cwd=tmp_path).returncode == 0
