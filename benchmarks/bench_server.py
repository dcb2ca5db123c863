"""The language server's benchmark: ``leaklint server`` and ``ruff server`` (SIM115 only), driven
over stdio by the same small client, side by side in one run.

Usage: ``python benchmarks/bench_server.py [--edits N] [--starts N] [--corpus DIR]``.

* Re-check latency: from sending ``textDocument/didChange`` (the whole new text) to receiving
  the ``publishDiagnostics`` of that version, for a 40-line dependency module and for a
  5,000-line module holding 50 generators. Each edit waits for its answer before the next one
  is sent, and the edits alternate between the two servers, so both see the same machine.
* Start: from sending ``initialize`` (right after the process is spawned, as an editor does)
  to the first diagnostics of a file opened in a workspace of the standard library.
* Peak RSS of each server process (``VmHWM``) once that workspace is indexed and checked.

Needs ``ruff`` and ``leaklint`` (with the ``server`` extra) on PATH. It is a script, not part of
the test suite: the machine is shared and noisy, so only figures measured side by side mean
anything.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import machine, prepare_corpus, version

Message = dict[str, Any]

CAPABILITIES: Message = {
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": False},
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": ["quickfix"]}}},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
    },
    "workspace": {
        "workspaceFolders": True,
        "didChangeWatchedFiles": {"dynamicRegistration": True},
    },
    "window": {"workDoneProgress": True},
}

SMALL = """\
# Dependencies of a small FastAPI application.
from collections.abc import Iterator

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db() -> Iterator[Session]:
    db = SessionLocal(info={"edit": 0})
    yield db
    db.close()


def get_report_db() -> Iterator[Session]:
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_export():
    handle = open("export.csv", "w")
    yield handle
    handle.close()


@app.get("/items")
def items(db: Session = Depends(get_db)) -> list[str]:
    return []


@app.get("/export")
def export(out=Depends(get_export), reports: Session = Depends(get_report_db)) -> None:
    return None
"""

GENERATOR = '''\
def get_resource_{n}():
    """Dependency number {n}."""
    handle = open("data-{n}.txt")
    yield handle
    handle.close()


def get_session_{n}():
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()


'''

FILLER = '''\
class Record{n}:
    """Plain code between the dependencies, as in a large module."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.history: list[int] = []

    def update(self, delta: int) -> int:
        self.history.append(self.value)
        self.value += delta
        if self.value > 1000:
            self.value = 1000
        return self.value


def compute_{n}(values: list[int]) -> int:
    total = 0
    for value in values:
        if value % 2:
            total += value
        else:
            total -= value
    return total


'''


def large_module() -> str:
    """About 5,000 lines: 25 pairs of dependencies (50 generators), plain classes and
    functions between them, and the routes that register the dependencies."""
    head = (
        '"""A large module of dependencies."""\n\n'
        "from fastapi import Depends, FastAPI\n"
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import sessionmaker\n\n"
        'SessionLocal = sessionmaker(bind=create_engine("sqlite://"))\n'
        "app = FastAPI()\n\n\n"
    )
    parts = [head]
    for n in range(25):
        parts.append(GENERATOR.format(n=n))
        parts.extend(FILLER.format(n=f"{n}_{k}") for k in range(6))
    for n in range(25):
        parts.append(
            f'@app.get("/r{n}")\n'
            f"def route_{n}(r=Depends(get_resource_{n}), s=Depends(get_session_{n})) -> None:\n"
            "    return None\n\n\n"
        )
    text = "".join(parts)
    lines = text.count("\n")
    padding = max(0, 5000 - lines)
    return text + "".join(f"CONSTANT_{k} = {k}\n" for k in range(padding))


def edited(text: str, number: int) -> str:
    """The text with one line inside a generator changed: a real edit, not a no-op."""
    if '{"edit": 0}' in text:
        return text.replace('{"edit": 0}', f'{{"edit": {number}}}', 1)
    return text.replace('open("data-12.txt")', f'open("data-12-{number}.txt")', 1)


class Client:
    """A language client over a server's stdin and stdout, timing every message it gets."""

    def __init__(self, name: str, command: Sequence[str], cwd: Path) -> None:
        self.name = name
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.messages: queue.Queue[Optional[tuple[float, Message]]] = queue.Queue()
        self.writing = threading.Lock()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _write(self, message: Message) -> float:
        body = json.dumps(message).encode("utf-8")
        assert self.process.stdin is not None
        with self.writing:
            sent = time.perf_counter()
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()
        return sent

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            message = json.loads(stream.read(length))
            received = time.perf_counter()
            if "method" in message and "id" in message:  # a request: answer at once
                self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
                continue
            self.messages.put((received, message))

    def notify(self, method: str, params: object) -> float:
        return self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: object) -> tuple[float, Message]:
        self.next_id += 1
        number = self.next_id
        sent = self._write({"jsonrpc": "2.0", "id": number, "method": method, "params": params})
        received, message = self.wait(lambda m: m.get("id") == number and "method" not in m)
        return received - sent, message

    def wait(
        self, wanted: Callable[[Message], bool], timeout: float = 120
    ) -> tuple[float, Message]:
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            try:
                item = self.messages.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise TimeoutError(f"{self.name}: no answer in {timeout} s") from None
            if item is None:
                raise RuntimeError(f"{self.name} exited")
            if wanted(item[1]):
                return item

    def initialize(self, root: Path, options: Message) -> None:
        uri = root.as_uri()
        self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": root.name}],
                "capabilities": CAPABILITIES,
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})

    def diagnostics_of(self, uri: str, number: Optional[int] = None) -> Callable[[Message], bool]:
        def wanted(message: Message) -> bool:
            if message.get("method") != "textDocument/publishDiagnostics":
                return False
            params = message["params"]
            return params["uri"] == uri and (number is None or params.get("version") == number)

        return wanted

    def open(self, path: Path, text: str) -> Message:
        uri = path.as_uri()
        document = {"uri": uri, "languageId": "python", "version": 0, "text": text}
        self.notify("textDocument/didOpen", {"textDocument": document})
        return self.wait(self.diagnostics_of(uri))[1]

    def change(self, path: Path, text: str, number: int) -> float:
        """Seconds from sending the new text to receiving its diagnostics."""
        uri = path.as_uri()
        sent = self.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": number}, "contentChanges": [{"text": text}]},
        )
        received, _ = self.wait(self.diagnostics_of(uri, number))
        return received - sent

    def peak_rss(self) -> float:
        """The process's peak resident set so far, in megabytes."""
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait()


def servers(leaklint: str) -> dict[str, tuple[list[str], Message]]:
    """Each server's command and initialization options."""
    return {
        "leaklint": ([leaklint, "server"], {}),
        "ruff": (["ruff", "server"], {"settings": {"lint": {"select": ["SIM115"]}}}),
    }


def latencies(
    commands: dict[str, tuple[list[str], Message]], workspace: Path, edits: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Re-check latency of each file for each server, edits alternating between servers."""
    files = {
        "small": (workspace / "deps.py", SMALL),
        "large": (workspace / "large.py", large_module()),
    }
    for path, text in files.values():
        path.write_text(text, encoding="utf-8")
    clients = {name: Client(name, command, workspace) for name, (command, _) in commands.items()}
    found: dict[str, dict[str, list[float]]] = {name: {} for name in clients}
    try:
        for name, client in clients.items():
            client.initialize(workspace, commands[name][1])
        for label, (path, text) in files.items():
            for name, client in clients.items():
                opened = client.open(path, text)
                codes = sorted({str(d.get("code")) for d in opened["params"]["diagnostics"]})
                print(f"{name} on the {label} module: {', '.join(codes) or 'nothing'}")
            for number in range(1, warmup + edits + 1):
                for name, client in clients.items():
                    elapsed = client.change(path, edited(text, number), number)
                    if number > warmup:
                        found[name].setdefault(label, []).append(elapsed)
        # the floor under any answer: a request that does no work (a hover on a blank line)
        path = files["small"][0]
        for number in range(warmup + edits):
            for name, client in clients.items():
                elapsed, _ = client.request(
                    "textDocument/hover",
                    {
                        "textDocument": {"uri": path.as_uri()},
                        "position": {"line": 1, "character": 0},
                    },
                )
                if number >= warmup:
                    found[name].setdefault("floor", []).append(elapsed)
    finally:
        for client in clients.values():
            client.close()
    return found


def start(command: list[str], options: Message, corpus: Path) -> tuple[float, float]:
    """Seconds from ``initialize`` to the first diagnostics of a file opened at once in
    ``corpus``, and the peak RSS by then."""
    opened = corpus / "contextlib.py"
    started = time.perf_counter()
    client = Client(command[0], command, corpus)
    try:
        client.initialize(corpus, options)
        client.open(opened, opened.read_text(encoding="utf-8"))
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # anything still running after the first answer counts towards memory
        return elapsed, client.peak_rss()
    finally:
        client.close()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200, help="edits measured per file")
    parser.add_argument("--warmup", type=int, default=10, help="edits sent before measuring")
    parser.add_argument("--starts", type=int, default=5, help="server starts on the stdlib")
    parser.add_argument("--corpus", type=Path, help="an existing tree instead of a stdlib copy")
    options = parser.parse_args()
    leaklint = shutil.which("leaklint")
    if leaklint is None or shutil.which("ruff") is None:
        print("leaklint and ruff must both be on PATH", file=sys.stderr)
        return 2
    commands = servers(leaklint)

    scratch = Path(tempfile.mkdtemp(prefix="leaklint-bench-server-"))
    try:
        workspace = scratch / "app"
        workspace.mkdir()
        (workspace / "pyproject.toml").write_text(
            '[tool.ruff.lint]\nselect = ["SIM115"]\n', encoding="utf-8"
        )
        found = latencies(commands, workspace, options.edits, options.warmup)
        corpus = options.corpus or scratch / "stdlib"
        files = sum(1 for _ in corpus.rglob("*.py")) if options.corpus else prepare_corpus(corpus)
        starts: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(options.starts):
            for name, (command, init) in commands.items():
                starts[name].append(start(command, init, corpus))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    lines = {"small": SMALL.count("\n"), "large": large_module().count("\n")}
    print(f"machine: {machine()}")
    print(f"{version(['ruff', '--version'])}; {version([leaklint, '--version'])}")
    print(
        f"re-check: {options.edits} edits per file after {options.warmup} unmeasured, "
        f"alternating between the servers; start: median of {options.starts} starts on "
        f"{files} files\n"
    )
    print("| measurement | leaklint server | ruff server (SIM115) | ratio | target | met |")
    print("|---|---|---|---|---|---|")

    def row(name: str, ours: str, theirs: str, ratio: float, goal: str, met: bool) -> None:
        print(f"| {name} | {ours} | {theirs} | {ratio:.1f} | {goal} | {'yes' if met else 'no'} |")

    for label, median_goal, p95_goal in (("small", 0.015, 0.050), ("large", 0.100, None)):
        ours, theirs = found["leaklint"][label], found["ruff"][label]
        median, p95 = statistics.median(ours), percentile(ours, 0.95)
        ratio = median / statistics.median(theirs)
        goal = f"median ≤ {median_goal * 1000:.0f} ms" + (
            f", p95 ≤ {p95_goal * 1000:.0f} ms" if p95_goal else ""
        )
        row(
            f"re-check, {lines[label]}-line module: median / p95",
            f"{median * 1000:.1f} / {p95 * 1000:.1f} ms",
            f"{statistics.median(theirs) * 1000:.1f} / {percentile(theirs, 0.95) * 1000:.1f} ms",
            ratio,
            goal,
            median <= median_goal and (p95_goal is None or p95 <= p95_goal),
        )
        row(
            f"re-check, {lines[label]}-line module: against ruff",
            "",
            "",
            ratio,
            "≤ 3 x",
            ratio <= 3,
        )
    ours, theirs = found["leaklint"]["floor"], found["ruff"]["floor"]
    print(
        f"| round trip of a request that does no work (hover on a blank line): median / p95 "
        f"| {statistics.median(ours) * 1000:.1f} / {percentile(ours, 0.95) * 1000:.1f} ms "
        f"| {statistics.median(theirs) * 1000:.1f} / {percentile(theirs, 0.95) * 1000:.1f} ms "
        f"| {statistics.median(ours) / statistics.median(theirs):.1f} | (for reference) | |"
    )
    first = {name: statistics.median(t for t, _ in runs) for name, runs in starts.items()}
    memory = {name: statistics.median(m for _, m in runs) for name, runs in starts.items()}
    row(
        "`initialize` to first diagnostics, stdlib workspace",
        f"{first['leaklint']:.2f} s",
        f"{first['ruff']:.2f} s",
        first["leaklint"] / first["ruff"],
        "≤ 2 s",
        first["leaklint"] <= 2,
    )
    row(
        "peak RSS, stdlib workspace",
        f"{memory['leaklint']:.0f} MB",
        f"{memory['ruff']:.0f} MB",
        memory["leaklint"] / memory["ruff"],
        "≤ 150 MB",
        memory["leaklint"] <= 150,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
