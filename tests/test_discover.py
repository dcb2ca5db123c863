"""Discovery's quick answer for ``.gitignore`` patterns is pathspec's answer, and pathspec is
asked only about the paths the quick answer cannot rule out."""

from __future__ import annotations

import itertools
import random

import pathspec

from leaklint.discover import Patterns

GITIGNORE = [
    "__pycache__/",
    "*.py[cod]",
    "build/",
    "/dist",
    ".env",
    "!keep.env",
    "docs/_build/",
    "**/generated/*.py",
    "migrations/**",
    "!migrations/env.py",
    "a?c.py",
    "[Tt]emp*",
    "node_modules",
    "src/**/vendored/",
    "*.egg-info/",
    "!important/",
    "logs/*.log",
    "Icon\r",
    "space name.py",
    r"\#literal.py",
    "(?P<x>odd).py",
    "/db",
    "env/",
    "log/*",
    "src/app/_version.py",
    "/lib/",
    "a/**/b",
    "docs/**",
    "**/cache",
    "[]x]y",
    "trailing ",
    " leading",
    " !spaced",
]
COMPONENTS = [
    "app", "src", "build", "dist", "migrations", "generated", "vendored", "docs", "_build",
    "important", "Temp", "temp", "keep.env", ".env", "env.py", "abc.py", "ab.py", "x.pyc",
    "main.py", "node_modules", "logs", "x.log", "pkg.egg-info", "space name.py", "#literal.py",
    "(?P<x>odd).py", "__pycache__", "db", "db.py", "env", "environment", "log", "lib", "a",
    "b", "cache", "_version.py", "]y", "xy", "trailing", "trailing ", "docker-build", " leading", "leading", " !spaced",
]  # fmt: skip


def test_the_quick_answer_is_pathspecs_on_every_path() -> None:
    generator = random.Random(11)
    paths = {"/".join(parts) for parts in itertools.product(COMPONENTS[:8], COMPONENTS)}
    for _ in range(4000):
        parts = generator.choices(COMPONENTS, k=generator.randint(1, 5))
        paths.add("/".join(parts))
    plain = [line for line in GITIGNORE if not line[:1].isspace()]  # quick answer for all
    plain_answers = 0
    names = ["build/", "*.log", "tmp*", "node_modules", "*.egg-info/", "env", "generated/"]
    for lines in [
        GITIGNORE,
        GITIGNORE[:6],
        [line for line in plain if "!" not in line],
        plain,
        names,  # every pattern answered here
    ]:
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        patterns = Patterns(lines)
        if lines is not GITIGNORE:  # the quick answer is really being compared
            assert patterns._anywhere is not None
            assert patterns._anchored is None or patterns._anchored.pattern
        plain_answers += patterns._plain is not None
        for path in sorted(paths):
            for name in (path, f"{path}/"):
                expected = spec.match_file(name)
                assert patterns.match_file(name) == expected, (lines, name)
                # as the walk asks: a folder's path, then the name of an entry in it
                cut = name.rstrip("/").rfind("/") + 1
                assert patterns.match_in(name[:cut], name[cut:]) == expected, (lines, name)
    assert plain_answers == 2  # the lines without negations: answered here where they can be


def test_pathspec_compiles_the_patterns_only_for_a_path_some_pattern_matches() -> None:
    # a pattern with leading white space is left to pathspec for every path
    assert Patterns([" leading"]).match_file("app/main.py") is False
    patterns = Patterns([line for line in GITIGNORE if not line[:1].isspace()])
    for path in ("app/main.py", "src/app/", "app/models/user.py"):
        assert not patterns.match_file(path)
    assert patterns._spec is None
    assert patterns.match_file("app/x.pyc") and patterns._spec is not None
    # without negations, a name or suffix pattern that matches is the answer on its own
    plain = Patterns(["generated/", "*.log", "tmp*", "/dist", "src/**/vendored/"])
    assert plain.match_file("src/generated/") and plain.match_file("a/generated/x.py")
    assert plain.match_file("logs/today.log") and plain.match_file("tmpfiles/x.py")
    assert not plain.match_file("app/main.py") and plain._spec is None
    assert not plain.match_file("src/generated") and plain._spec is not None  # `/dist`...
    # and when they are all the patterns, what none of them matches is not excluded either
    alone = Patterns(["generated/", "*.log", "tmp*", "node_modules"])
    assert not alone.match_file("src/generated") and not alone.match_file("a.log.py")
    assert alone.match_file("web/node_modules") and alone._spec is None


def test_the_walk_gives_files_in_order_and_follows_no_folder_link(tmp_path) -> None:
    from leaklint.discover import Exclusions, discover

    for name in ("b/z.py", "b/a/y.py", "a/x.py", "a.py", "c/.venv/lib/v.py", "env/pyvenv.cfg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "env" / "inside.py").write_text("")  # a virtual environment: skipped
    (tmp_path / "b" / "notes.txt").write_text("")
    (tmp_path / "linked").symlink_to(tmp_path / "b", target_is_directory=True)
    (tmp_path / "b" / "alias.py").symlink_to(tmp_path / "a.py")  # a file link is a file
    found = [
        path.relative_to(tmp_path).as_posix()
        for path in discover([str(tmp_path)], Exclusions(root=tmp_path))
    ]
    assert found == ["a.py", "a/x.py", "b/alias.py", "b/z.py", "b/a/y.py"]


def test_files_are_read_as_path_read_bytes_reads_them(tmp_path) -> None:
    import pytest

    from leaklint.discover import read_bytes

    for size in (0, 1, 4095, 70_000, 300_001):
        path = tmp_path / f"f{size}.py"
        path.write_bytes(bytes(random.Random(size).getrandbits(8) for _ in range(size)))
        assert read_bytes(path) == path.read_bytes() and len(read_bytes(str(path))) == size
    for unreadable in (tmp_path / "missing.py", tmp_path):
        with pytest.raises(OSError):
            read_bytes(unreadable)
