"""Work shared with forked copies of the process (``leaklint.forked``), and the runner's use of
it. Each case runs in a process of its own: the test process has threads (a test runner's),
and a process with threads is never forked."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaklint import forked

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="work is shared by fork on Linux alone"
)


def _answer(script: str, cwd: Path = ROOT) -> object:
    """What ``script`` prints as JSON, run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,  # a process waiting on a pipe nobody reads fails, rather than hangs
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_item_is_answered_once_in_order_by_this_process_and_a_copy() -> None:
    found = _answer(
        """
        import json, os, time
        from leaklint import forked

        def work(item):
            time.sleep(0.01)  # long enough that both processes take items
            return item * item, os.getpid()

        items = list(range(40))
        answers = forked.map_shared(work, items, [item % 7 for item in items], 2)
        print(json.dumps({"answers": answers, "me": os.getpid(), "ok": forked.available()}))
        """
    )
    assert isinstance(found, dict)
    assert found["ok"] is True
    assert [square for square, _ in found["answers"]] == [item * item for item in range(40)]
    pids = {pid for _, pid in found["answers"]}
    assert len(pids) == 2 and found["me"] in pids


def test_what_a_copy_fails_to_answer_is_answered_here_and_a_real_failure_is_raised_here() -> None:
    found = _answer(
        """
        import json, os, time
        from leaklint import forked

        me = os.getpid()

        def only_here(item):
            time.sleep(0.01)
            if os.getpid() != me:
                raise RuntimeError("a copy fails")
            return item

        def nowhere(item):
            raise ValueError(f"item {item}")

        answers = forked.map_shared(only_here, list(range(20)), [1] * 20, 2)
        try:
            forked.map_shared(nowhere, [1, 2, 3], [1, 1, 1], 2)
        except ValueError as error:
            raised = str(error)
        else:
            raised = None
        print(json.dumps({"answers": answers, "raised": raised}))
        """
    )
    assert isinstance(found, dict) and found["answers"] == list(range(20))
    assert found["raised"] in ("item 1", "item 2", "item 3")  # whichever this process took


def test_copies_answer_with_their_own_function_when_given() -> None:
    found = _answer(
        """
        import json, os, time
        from leaklint import forked

        def here(item):
            time.sleep(0.01)
            return ["here", item]

        def there(item):
            time.sleep(0.01)
            return ["there", item]

        print(json.dumps(forked.map_shared(here, list(range(20)), [1] * 20, 2, in_copies=there)))
        """
    )
    assert isinstance(found, list)
    assert [item for _, item in found] == list(range(20))
    assert {where for where, _ in found} == {"here", "there"}


def test_a_process_with_another_thread_is_not_forked() -> None:
    found = _answer(
        """
        import json, threading
        from leaklint import forked

        before = forked.available()
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        during = forked.available()
        stop.set()
        thread.join()
        print(json.dumps([before, during, forked.available()]))
        """
    )
    assert found == [True, False, True]


def test_a_run_shared_with_copies_reports_what_one_process_does(tmp_path: Path) -> None:
    """Reading (the files that feed the index) and checking, each shared with a forked copy,
    give the findings, errors and cache entries of one process."""
    import shutil

    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / "fixtures" / "broken.py").write_text("def f(:\n    yield\n")
    found = _answer(
        """
        import json, os, sys
        from pathlib import Path
        from leaklint import forked, runner
        from leaklint.rules import RULES
        from leaklint.settings import Settings

        select = frozenset(rule.code for rule in RULES)
        shared = []
        original = forked.map_shared
        def counted(function, items, *args, **kwargs):
            shared.append(function.__name__)
            return original(function, items, *args, **kwargs)
        forked.map_shared = counted

        def report(jobs, name):
            cache = Path(f"cache-{name}").resolve()
            found = runner.run(["fixtures"], Settings(select=select, cache_dir=cache, jobs=jobs))
            [kept] = [name for name in os.listdir(cache) if name.startswith("results-")]
            with open(os.path.join(cache, kept)) as lines:
                entries = sorted(lines.read().splitlines())
            outcomes = [
                [o.filename, [repr(d) for d in o.diagnostics], repr(o.error)]
                for o in found.outcomes
            ]
            return outcomes, entries

        alone = report(1, "alone")
        os.cpu_count = lambda: 2
        runner.FORKED_READ_INDEXED = 1
        runner.PARALLEL_READ_INDEXED = runner.PARALLEL_READ_BYTES = 10**9  # no pool
        runner.FORKED_THRESHOLD = 1
        together = report(None, "together")
        print(json.dumps({"same": alone == together, "shared": shared,
                          "findings": sum(len(d) for _, d, _ in alone[0]),
                          "errors": sum(e != "None" for _, _, e in alone[0])}))
        """,
        cwd=tmp_path,
    )
    assert isinstance(found, dict)
    assert found["shared"] == ["here", "check_one"]  # reading, then checking
    assert found["same"] is True
    assert found["findings"] > 100 and found["errors"] >= 1


def test_nothing_is_forked_for_one_item_or_one_process() -> None:
    import os

    def answer(item: int) -> tuple[int, int]:
        return item + 1, os.getpid()

    me = os.getpid()
    assert forked.map_shared(answer, [1], [1], 2) == [(2, me)]
    assert forked.map_shared(answer, [1, 2, 3], [1, 1, 1], 1) == [(2, me), (3, me), (4, me)]


def test_an_item_too_long_for_a_chunk_is_answered_here_and_the_rest_still_travel() -> None:
    found = _answer(
        """
        import json, os, time
        from leaklint import forked

        def answer(item):
            time.sleep(0.002)
            return [os.getpid(), len(item)]

        stream = forked.Stream(answer, 1)
        items = [b"x" * (5000 if key % 25 == 0 else 20) for key in range(200)]
        for key, item in enumerate(items):
            stream.put(key, item)
            stream.flush()
        here = {}
        while True:
            stream.flush()
            taken = stream.take()
            if taken is None:
                break
            here[taken[0]] = len(taken[1])
        there = stream.close()
        print(json.dumps({
            "all": sorted([*here, *there]) == list(range(200)),
            "long here": all(key in here for key in range(0, 200, 25)),
            "lengths": all(there[key][1] == len(items[key]) for key in there),
            "shared": len(there) > 0,
        }))
        """
    )
    assert found == {"all": True, "long here": True, "lengths": True, "shared": True}


def test_a_stream_is_answered_by_the_copies_and_what_they_were_not_sent_here() -> None:
    found = _answer(
        """
        import json, os, time
        from leaklint import forked

        def slow(item):
            time.sleep(0.002)
            return [os.getpid(), item.decode().upper()]

        stream = forked.Stream(slow, 1)
        names = [f"file-{n}.py" for n in range(300)]
        for key, name in enumerate(names):
            stream.put(key, name.encode())
            if key % 10 == 0:
                stream.flush()
                time.sleep(0.001)  # finding the next files takes a while
        here = {}
        while True:
            stream.flush()
            taken = stream.take()
            if taken is None:
                break
            here[taken[0]] = taken[1].decode().upper()
        there = stream.close()
        keys = sorted([*here, *there])
        print(json.dumps({
            "keys": keys == list(range(300)),
            "overlap": sorted(set(here) & set(there)),
            "right": all(there[key][1] == names[key].upper() for key in there)
            and all(here[key] == names[key].upper() for key in here),
            "copy": len({pid for pid, _ in there.values()} - {os.getpid()}),
            "split": [len(here) > 0, len(there) > 0],
        }))
        """
    )
    assert found == {"keys": True, "overlap": [], "right": True, "copy": 1, "split": [True, True]}


def test_a_large_tree_read_by_forked_copies_as_discovery_goes_reports_what_one_process_does(
    tmp_path: Path,
) -> None:
    import shutil

    shutil.copytree(ROOT / "fixtures", tmp_path / "fixtures")
    (tmp_path / "fixtures" / "broken.py").write_text("def f(:\n    yield\n")
    found = _answer(
        """
        import json, os
        from pathlib import Path
        from leaklint import forked, runner
        from leaklint.rules import RULES
        from leaklint.settings import Settings

        select = frozenset(rule.code for rule in RULES)
        streams = []
        original = forked.Stream.__init__
        def counted(self, *args):
            streams.append(args[1])
            original(self, *args)
        forked.Stream.__init__ = counted

        def report(jobs, name):
            cache = Path(f"cache-{name}").resolve()
            found = runner.run(["fixtures"], Settings(select=select, cache_dir=cache, jobs=jobs))
            [kept] = cache.glob("results-*.json")
            outcomes = [
                [o.filename, [repr(d) for d in o.diagnostics], repr(o.error)]
                for o in found.outcomes
            ]
            return outcomes, sorted(kept.read_text().splitlines())

        alone = report(1, "alone")
        os.cpu_count = lambda: 2
        runner.PIPELINE_FILES = 5
        runner.STREAM_FLUSH = 3
        together = report(None, "together")
        me, read_sent = os.getpid(), runner._read_sent
        def failing(name):  # a copy that fails midway: what it did not answer is read here
            if os.getpid() != me:
                raise MemoryError
            return read_sent(name)
        runner._read_sent = failing
        failed = report(None, "failed")
        print(json.dumps({"same": alone == together == failed, "streams": streams,
                          "findings": sum(len(d) for _, d, _ in alone[0]),
                          "errors": sum(e != "None" for _, _, e in alone[0])}))
        """,
        cwd=tmp_path,
    )
    assert found == {"same": True, "streams": [1, 1], "findings": found["findings"], "errors": 1}
    assert isinstance(found["findings"], int) and found["findings"] > 100


def test_items_a_pipe_cannot_hold_are_answered_here_alone() -> None:
    # a user over the system's limit of pipe memory gets one-page pipes: the indexes of all
    # the items do not fit before any process reads, and nothing is shared (or waits)
    found = _answer(
        """
        import fcntl, json, os
        from leaklint import forked

        opened = os.pipe
        def one_page():
            reading, writing = opened()
            fcntl.fcntl(writing, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
            return reading, writing
        os.pipe = one_page
        answers = forked.map_shared(lambda item: [item, os.getpid()], list(range(3000)),
                                    [1] * 3000, 2)
        print(json.dumps({"items": [item for item, _ in answers] == list(range(3000)),
                          "here": {pid for _, pid in answers} == {os.getpid()}}))
        """
    )
    assert found == {"items": True, "here": True}
