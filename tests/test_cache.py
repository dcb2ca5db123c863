"""The results cache: a warm run gives exactly the cold run's findings, and the project-wide
Depends index stays right when only the file that references a dependency changes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

import pytest
from test_cli import SESSIONLOCAL, run

from leaklint import forked

ROOT = Path(__file__).resolve().parent.parent
DEPENDENCY = (
    "def get_db():\n    db = make()\n    if flag:\n        yield db\n    else:\n"
    "        yield None\n    db.close()\n"
)


def _lines(result: object) -> list[str]:
    return [line for line in result.stdout.splitlines() if ": LL" in line]  # type: ignore[attr-defined]


def test_warm_run_reports_what_a_cold_run_reports(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    cold = run("--no-cache", "--output-format", "json", "fixtures", cwd=tmp_path)
    first = run("--output-format", "json", "fixtures", cwd=tmp_path)
    assert (tmp_path / ".leaklint_cache").is_dir()
    warm = run("--output-format", "json", "fixtures", cwd=tmp_path)
    assert cold.stdout == first.stdout == warm.stdout
    assert len(warm.stdout) > 1000


def test_a_change_to_the_referencing_file_rechecks_the_dependency(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(DEPENDENCY)
    routes = tmp_path / "routes.py"
    routes.write_text("from fastapi import Depends\n\n\ndef route():\n    return 1\n")
    assert _lines(run(".", cwd=tmp_path)) == []
    assert _lines(run(".", cwd=tmp_path)) == []  # from the cache
    routes.write_text(
        "from fastapi import Depends\nfrom deps import get_db\n\n\n"
        "def route(db=Depends(get_db)):\n    return db\n"
    )
    assert _lines(run(".", cwd=tmp_path)) == [
        "deps.py:7:5: LL001 [*] `db.close()` is skipped when an exception is thrown in at the"
        " `yield`; release `db` in a `finally`"
    ]
    routes.write_text("def route():\n    return 1\n")
    assert _lines(run(".", cwd=tmp_path)) == []


def test_changed_files_alone_are_checked_against_the_cached_project_index(
    tmp_path: Path,
) -> None:
    """pre-commit passes the changed files: `get_db` is a dependency because an unchanged
    module registers it, which the cache of the last run over the project remembers."""
    deps = tmp_path / "app" / "deps.py"
    deps.parent.mkdir()
    deps.write_text(DEPENDENCY)
    routes = tmp_path / "app" / "routes.py"
    routes.write_text(
        "from fastapi import Depends\nfrom app.deps import get_db\n\n\n"
        "def route(db=Depends(get_db)):\n    return db\n"
    )
    (tmp_path / "app" / "other.py").write_text("x = 1\n")
    expected = ["app/deps.py:7:5: LL001"]
    assert [line[:22] for line in _lines(run(".", cwd=tmp_path))] == expected
    deps.write_text(DEPENDENCY + "\n# changed\n")
    assert [line[:22] for line in _lines(run("app/deps.py", cwd=tmp_path))] == expected
    # without the cache only the file itself is known: no route registers `get_db`
    assert _lines(run("--no-cache", "app/deps.py", cwd=tmp_path)) == []
    # the fix hook reads the same index (and leaves the cache to the checks)
    assert "Would fix 1 error" in run("--diff", "app/deps.py", cwd=tmp_path).stderr
    assert "Would fix" not in run("--no-cache", "--diff", "app/deps.py", cwd=tmp_path).stderr
    # the partial run kept the other files' entries: the next full run reads nothing again
    [cache] = (tmp_path / ".leaklint_cache").glob("results-*.json")
    assert '"app/other.py"' in cache.read_text() and '"app/routes.py"' in cache.read_text()
    # a registration removed from an unchanged-looking file is not trusted: it changed
    routes.write_text("def route():\n    return 1\n")
    assert _lines(run("app/deps.py", cwd=tmp_path)) == []
    # and a file deleted since is forgotten by the next run over its folder
    (tmp_path / "app" / "other.py").unlink()
    run(".", cwd=tmp_path)
    assert '"app/other.py"' not in cache.read_text()


def test_an_edited_file_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "deps.py"
    path.write_text(SESSIONLOCAL)
    assert len(_lines(run(".", cwd=tmp_path))) == 1
    path.write_text(SESSIONLOCAL.replace("    db.close()\n", "    db.close()  # noqa\n"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert _lines(run(".", cwd=tmp_path)) == []


def test_a_run_that_finds_everything_cached_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    other = tmp_path / "other.py"
    other.write_text("x = 1\n")
    run(".", cwd=tmp_path)
    [cache] = (tmp_path / ".leaklint_cache").glob("results-*.json")
    before = cache.stat()
    assert len(_lines(run(".", cwd=tmp_path))) == 1  # all from the cache
    after = cache.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    other.write_text("x = 12\n")  # a changed file is written down again (a new file, atomically)
    assert len(_lines(run(".", cwd=tmp_path))) == 1
    assert cache.stat().st_ino != before.st_ino


def test_no_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    assert len(_lines(run("--no-cache", ".", cwd=tmp_path))) == 1
    assert not (tmp_path / ".leaklint_cache").exists()


def test_settings_have_their_own_cache(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    assert len(_lines(run(".", cwd=tmp_path))) == 1
    assert _lines(run("--ignore", "LL001", ".", cwd=tmp_path)) == []
    assert len(_lines(run(".", cwd=tmp_path))) == 1


def test_a_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "deps.py").write_text(SESSIONLOCAL)
    run(".", cwd=tmp_path)
    for cache_file in (tmp_path / ".leaklint_cache").glob("results-*.json"):
        cache_file.write_text("{not json")
    result = run(".", cwd=tmp_path)
    assert len(_lines(result)) == 1 and "Traceback" not in result.stderr


def test_one_or_two_workers_report_and_keep_the_same(tmp_path: Path) -> None:
    """Two workers read the files (and index them) and check them: the findings, the errors
    and the cache they leave are one worker's."""
    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / "fixtures" / "broken.py").write_text("def f(:\n    yield\n")
    # feeds the index and holds a generator: parsed whole, so the error after it counts
    (tmp_path / "fixtures" / "indexed_broken.py").write_text(
        "from fastapi import Depends\n\ndef get_db():\n    yield 1\n\n"
        "def route(db=Depends(get_db)): ...\n\nvalue = (\n"
    )
    runs = []
    for jobs in ("1", "2"):
        shutil.rmtree(tmp_path / ".leaklint_cache", ignore_errors=True)
        found = run("--jobs", jobs, "--output-format", "json", "fixtures", cwd=tmp_path)
        [kept] = (tmp_path / ".leaklint_cache").glob("results-*.json")
        runs.append((found.stdout, found.stderr, sorted(kept.read_text().splitlines())))
    (one, one_errors, one_kept), (two, two_errors, two_kept) = runs
    assert one == two and len(one) > 1000
    assert one_errors == two_errors and "broken.py:1:7: SyntaxError" in two_errors
    assert "indexed_broken.py:8:" in two_errors
    assert one_kept == two_kept and len(two_kept) > 100


def test_contributions_kept_as_json_merge_into_the_index_fresh_ones_make() -> None:
    """Every fixture's contribution, twice over (a repeated reference is built once), with
    references, method references and session factories among them."""
    from fixture_support import FIXTURES

    from leaklint.analysis.resources import DEFAULT_KNOWLEDGE
    from leaklint.analysis.targets import ProjectIndex, index_module, module_name
    from leaklint.cache import IndexMerger, index_to_json
    from leaklint.parse import ParsedModule, parse

    method = (
        b"from fastapi import Depends\n\n"
        b"class Service:\n    def get_db(self): ...\n\n"
        b"def get_db(): ...\n\nservice = Service()\n\n"
        b"def route(a=Depends(request.app.get_db), b=Depends(service.get_db), c=Depends(get_db)):\n"
        b"    ...\n"
    )
    sources = [(str(path), path.read_bytes()) for path in FIXTURES.rglob("*.py")]
    sources += [(str(path), path.read_bytes()) for path in (ROOT / "examples").rglob("*.py")]
    fresh, merged = ProjectIndex(), ProjectIndex()
    merger = IndexMerger(merged)
    for filename, data in sorted([*sources, ("app/routes.py", method)]) * 2:
        parsed = parse(filename, data)
        if not isinstance(parsed, ParsedModule):
            continue
        module = module_name(filename)
        contribution = index_module(parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module)
        fresh.merge(contribution)
        merger.add(index_to_json(contribution))
    assert fresh.references and fresh.method_references and fresh.session_factories
    assert merged == fresh


def test_the_cache_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaklint.write import replace_file

    target = tmp_path / "results.json"
    replace_file(target, b'{"first": 1}')
    assert target.read_text() == '{"first": 1}'

    def refused(source: object, destination: object) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(OSError, match="rename refused"):
        replace_file(target, b'{"second": 2}')
    assert target.read_text() == '{"first": 1}'
    assert [path.name for path in tmp_path.iterdir()] == ["results.json"]  # no temporary left


def test_a_sample_read_first_decides_whether_workers_read_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``--jobs``, a sample spread over the files is read here first; when it says
    the rest is large, workers read the rest, and the run reports what one process does."""
    from leaklint import runner
    from leaklint.rules import RULES
    from leaklint.settings import Settings

    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    settings = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # a one-core machine never spreads
    monkeypatch.setattr(forked, "available", lambda: False)  # the pool, as without fork
    spread: list[bool] = []
    decide = runner._worth_workers
    monkeypatch.setattr(
        runner, "_worth_workers", lambda *args: spread.append(decide(*args)) or spread[-1]
    )

    def report() -> list[tuple[str, list[object], object]]:
        found = runner.run([str(tmp_path / "fixtures")], settings)
        return [(o.filename, o.diagnostics, o.error) for o in found.outcomes]

    alone = report()
    monkeypatch.setattr(runner, "PARALLEL_READ_BYTES", 1)
    spread_out = report()
    assert spread == [False, True]
    assert spread_out == alone and sum(len(d) for _, d, _ in alone) > 100


def test_a_large_tree_is_read_by_workers_while_discovery_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From ``PIPELINE_FILES`` files found, batches go to reading workers as discovery finds
    them; the findings, errors and cache are those of one process."""
    from leaklint import runner
    from leaklint.rules import RULES
    from leaklint.settings import Settings

    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / "fixtures" / "broken.py").write_text("def f(:\n    yield\n")
    select = frozenset(rule.code for rule in RULES)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(forked, "available", lambda: False)  # checked in a pool too
    sent: list[int] = []
    send = runner._Reads._send
    monkeypatch.setattr(
        runner._Reads, "_send", lambda reads: sent.append(reads.sent) or send(reads)
    )

    def report(jobs: Optional[int]) -> tuple[list[tuple[str, list[object], object]], list[str]]:
        cache = tmp_path / f"cache-{jobs}"
        found = runner.run(
            [str(tmp_path / "fixtures")], Settings(select=select, cache_dir=cache, jobs=jobs)
        )
        [kept] = cache.glob("results-*.json")
        outcomes = [(o.filename, o.diagnostics, o.error) for o in found.outcomes]
        return outcomes, sorted(kept.read_text().splitlines())

    alone, alone_kept = report(1)
    assert sent == []
    monkeypatch.setattr(runner, "PIPELINE_FILES", 5)
    monkeypatch.setattr(runner, "PIPELINE_BATCH", 7)
    spread, spread_kept = report(None)
    assert len(sent) > 10 and sent[:2] == [0, 7]  # batches sent while files were being found
    assert spread == alone and sum(len(d) for _, d, _ in alone) > 100
    assert any(error is not None for _, _, error in alone)
    assert spread_kept == alone_kept


def test_a_damaged_line_costs_its_own_file_and_odd_names_survive(tmp_path: Path) -> None:
    """The cache is read line by line: a line cut short is that file's entry lost (it is
    checked again), not the others'; names with tabs, quotes or other scripts round-trip."""
    names = ["plain.py", "tab\there.py", 'quote"d.py', "caf\u00e9.py"]
    for name in names:
        (tmp_path / name).write_text(SESSIONLOCAL)
    first = _lines(run(".", cwd=tmp_path))
    assert len(first) == 4
    [cache] = (tmp_path / ".leaklint_cache").glob("results-*.json")
    lines = cache.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5  # the header and one line per file
    assert all(" is skipped " in line for line in first)
    damaged = [line[: len(line) // 2] if "plain" in line else line for line in lines]
    # the other lines are read: a message changed in one of them comes back as it is
    marked = [
        line.replace(" is skipped ", " IS SKIPPED ") if "caf" in line else line for line in damaged
    ]
    cache.write_text("\n".join(marked) + "\n", encoding="utf-8")
    second = _lines(run(".", cwd=tmp_path))
    assert [line.replace(" IS SKIPPED ", " is skipped ") for line in second] == first
    assert sum(" IS SKIPPED " in line for line in second) == 1
    # the damaged line is written anew, as it was first; the others as they were read
    plain = [line for line in lines if "plain" in line]
    expected = [line for line in marked if "plain" not in line] + plain
    assert sorted(cache.read_text(encoding="utf-8").splitlines()) == sorted(expected)


def test_a_worker_reads_what_it_checks_and_sends_the_bytes_back_only_with_findings(
    tmp_path: Path,
) -> None:
    """Files read by workers are not sent to this process and back: the checking worker
    reads them again, and returns their bytes only when the output will show their lines."""
    from leaklint import runner
    from leaklint.analysis.targets import ProjectIndex
    from leaklint.rules import RULES
    from leaklint.settings import Settings

    settings = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)
    runner._start_worker(ProjectIndex(), settings)
    leak, rows, gone = tmp_path / "deps.py", tmp_path / "rows.py", tmp_path / "gone.py"
    leak.write_text(SESSIONLOCAL)
    rows.write_text("def rows(cursor):\n    for row in cursor:\n        yield row\n")
    (found, error, _, _), _, data, size = runner._check_in_worker((str(leak), leak, b"", False))
    assert [d.code for d in found] == ["LL001"] and error is None
    assert data == leak.read_bytes() and size == len(data)
    (found, error, _, _), _, data, size = runner._check_in_worker((str(rows), rows, b"", False))
    assert found == [] and data == b"" and size == rows.stat().st_size
    # sent with its bytes, it sends nothing back
    sent = leak.read_bytes()
    (found, _, _, _), _, data, _ = runner._check_in_worker((str(leak), leak, sent, False))
    assert len(found) == 1 and data == b""
    # gone between reading and checking: one clear error
    (found, error, _, _), _, data, _ = runner._check_in_worker((str(gone), gone, b"", False))
    assert found == [] and error is not None and error.message.startswith("cannot read the file")


def test_findings_read_from_another_module_follow_its_changes(tmp_path: Path) -> None:
    """A module's findings that depend on another module of the project (a factory, a class it
    imports) are checked again when that module changes, though the module itself did not."""
    (tmp_path / "pyproject.toml").write_text("")
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    clients = package / "clients.py"
    clients.write_text("class FakeClient:\n    def close(self):\n        pass\n")
    (package / "deps.py").write_text(
        "from fastapi import Depends\n\nfrom app.clients import FakeClient\n\n\n"
        "def get_client():\n    client = FakeClient()\n    yield client\n    client.close()\n\n\n"
        "def route(client=Depends(get_client)):\n    return client\n"
    )
    assert _lines(run("app", cwd=tmp_path)) == []  # a stand-in's close holds nothing
    clients.write_text("class FakeClient:\n    def close(self):\n        self.sock.close()\n")
    assert [line.split(" ")[:2] for line in _lines(run("app", cwd=tmp_path))] == [
        ["app/deps.py:9:5:", "LL001"]
    ]
