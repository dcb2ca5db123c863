"""The performance harness (DESIGN §5): leaklint against ruff, and flake8 with and without the
leaklint plugin, run alternately on the same tree, reported as medians and ratios.

Usage: ``python benchmarks/bench.py [--repeat N] [--flake8-repeat N] [--start-repeat N]
[--corpus DIR] [--python PATH] [--project DIR ...]``. The corpus is a copy of the running
interpreter's standard library without site-packages (a copy, because the original often sits
in a git checkout whose .gitignore hides it); beside it, a FastAPI application of the usual
shape is generated (and a 2,000-file one for the pre-commit-shaped run), and one small file is
checked for the start-up rows. Needs ``ruff`` and ``flake8`` installed beside the interpreter
(``--python``) or on PATH, and fastapi, sqlalchemy and httpx for the type inference rows (as in
a user's environment); ``--project`` adds rows for a real project whose dependencies are
installed there too. It is a script, not part of the test suite: the machine is
shared and noisy, so only ratios measured side by side mean anything.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent

# flake8 with its plugin list filtered, so that "without leaklint" differs in nothing else
FLAKE8_RUNNER = """
import sys
import flake8.plugins.finder as finder
without = sys.argv.pop(1) == "without"
original = finder.find_plugins
def find_plugins(cfg, opts):
    plugins = original(cfg, opts)
    return [p for p in plugins if not (without and p.package == "leaklint")]
finder.find_plugins = find_plugins
from flake8.main.cli import main
sys.exit(main())
"""


def measure(command: Sequence[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident megabytes of one run of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, _, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, usage.ru_maxrss / 1024


def alternate(
    pairs: dict[str, Sequence[str]], cwd: Path, repeat: int, before_each: dict[str, object]
) -> dict[str, tuple[float, float]]:
    """Run the commands in turn ``repeat`` times; medians of time and memory for each."""
    times: dict[str, list[float]] = {name: [] for name in pairs}
    memory: dict[str, list[float]] = {name: [] for name in pairs}
    for _ in range(repeat):
        for name, command in pairs.items():
            prepare = before_each.get(name)
            if callable(prepare):
                prepare()
            elapsed, peak = measure(command, cwd)
            times[name].append(elapsed)
            memory[name].append(peak)
    return {
        name: (statistics.median(times[name]), statistics.median(memory[name])) for name in pairs
    }


def prepare_corpus(target: Path) -> int:
    source = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(
        source,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "site-packages"),
    )
    return sum(1 for _ in target.rglob("*.py"))


def machine() -> str:
    cores = os.cpu_count()
    with open("/proc/meminfo", encoding="utf-8") as handle:
        total = int(handle.readline().split()[1]) // 1024 // 1024
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if "model name" in line)
    except (OSError, StopIteration):
        pass
    python = platform.python_version()
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {cores} cores ({model}), {total} GiB, Python {python}"


Timing = tuple[float, float]
Row = tuple[str, Timing, float, str, Optional[bool]]
"""A table row: the run, its (time, memory), what the ratio is against, the target, whether
it is met (``None``: a row to compare against)."""


def within(name: str, timing: Timing, against: float, factor: float, label: str) -> Row:
    """A run whose target is ``factor`` times the time it is compared with."""
    return name, timing, against, f"≤ {factor} x {label}", timing[0] <= factor * against


def at_most(name: str, timing: Timing, against: float, milliseconds: int) -> Row:
    """A run whose target is a wall time, shown with its ratio to ``against``."""
    return name, timing, against, f"≤ {milliseconds} ms", timing[0] <= milliseconds / 1000


def reference(name: str, timing: Timing) -> Row:
    """The run the row above it is compared with."""
    return name, timing, timing[0], "", None


def findings_of(command: Sequence[str], cwd: Path) -> int:
    """How many findings ``command`` (a leaklint run) reports: a check that it really lints."""
    shown = subprocess.run(
        [*command, "--output-format", "concise"], cwd=cwd, capture_output=True, text=True
    )
    return sum(1 for line in shown.stdout.splitlines() if ": LL" in line)


def version(command: Sequence[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def tool(name: str, python: str) -> Optional[str]:
    """The console script ``name`` beside the interpreter ``python``, else on ``PATH``: a
    version manager's shim on ``PATH`` adds tens of milliseconds to every start."""
    beside = Path(python).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


ROUTE_MODULE = """\
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from app.db import get_db
from app.deps.dep_{dep} import get_resource_{dep}

router = APIRouter(prefix="/r{n}")


class Item{n}(BaseModel):
    name: str
    price: float = 0.0


def price_with_tax(item: Item{n}) -> float:
    return round(item.price * 1.2, 2)

"""

ROUTE = """
@router.get("/{k}")
def read_{k}(item_id: int, db=Depends(get_db), resource=Depends(get_resource_{dep})) -> dict:
    if item_id < 0:
        raise HTTPException(status_code=404, detail="not found")
    return {{"id": item_id, "route": {k}}}

"""

DEPENDENCY_MODULE = """\
from app.clients import Gateway, make_client
from app.db import SessionLocal


def get_resource_{n}():
    session = SessionLocal()
    client = make_client()
    gateway = Gateway("http://service-{n}")
    yield session
    session.close()
    client.close()


def helper_{n}(values: list[int]) -> int:
    return sum(value for value in values if value > 0)
"""

DB_MODULE = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""

CLIENTS_MODULE = """\
import httpx

from app.db import engine


class Gateway:
    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = engine.connect()

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "Gateway":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_client() -> httpx.Client:
    return httpx.Client(timeout=5)
"""

MODEL_MODULE = """\
from dataclasses import dataclass


@dataclass
class Model{n}:
    id: int
    name: str

    def describe(self) -> str:
        return f"{{self.id}}: {{self.name}}"
"""


def prepare_application(target: Path, routes: int = 600) -> int:
    """A FastAPI application of the usual shape, written afresh: ``routes`` route modules
    whose routes take dependencies, 50 dependency modules (each leaves a project class's
    gateway open, which only type inference recognises as a resource), 100 model modules,
    the database and the clients modules (756 files with the packages' `__init__.py` for 600
    route modules, about the size of a large public application)."""
    app = target / "app"
    for folder in ("routers", "deps", "models"):
        (app / folder).mkdir(parents=True)
        (app / folder / "__init__.py").write_text("", encoding="utf-8")
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "db.py").write_text(DB_MODULE, encoding="utf-8")
    (app / "clients.py").write_text(CLIENTS_MODULE, encoding="utf-8")
    for n in range(50):
        (app / "deps" / f"dep_{n}.py").write_text(DEPENDENCY_MODULE.format(n=n), encoding="utf-8")
    for n in range(100):
        (app / "models" / f"m_{n}.py").write_text(MODEL_MODULE.format(n=n), encoding="utf-8")
    for n in range(routes):
        text = ROUTE_MODULE.format(n=n, dep=n % 50)
        text += "".join(ROUTE.format(k=k, dep=n % 50) for k in range(8))
        (app / "routers" / f"r_{n}.py").write_text(text, encoding="utf-8")
    return sum(1 for _ in target.rglob("*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--flake8-repeat", type=int, default=3)
    parser.add_argument("--start-repeat", type=int, default=15, help="runs of the start rows")
    parser.add_argument("--corpus", type=Path, help="an existing tree instead of a fresh copy")
    parser.add_argument(
        "--project",
        type=Path,
        action="append",
        default=[],
        help="a real project (its dependencies installed beside leaklint) for the type"
        " inference rows; repeatable",
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter of the installation to time (a clean virtual environment with"
        " leaklint, ruff and flake8 installed, as users have it); this one by default",
    )
    options = parser.parse_args()
    python = options.python
    tools = {name: tool(name, python) for name in ("ruff", "flake8", "leaklint")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        print(f"not installed: {', '.join(missing)}", file=sys.stderr)
        return 2
    ruff_exe, leaklint = str(tools["ruff"]), str(tools["leaklint"])

    workspace = Path(tempfile.mkdtemp(prefix="leaklint-bench-"))
    corpus = options.corpus or workspace / "stdlib"
    files = sum(1 for _ in corpus.rglob("*.py")) if options.corpus else prepare_corpus(corpus)
    application = workspace / "application"
    application_files = prepare_application(application)
    project = workspace / "project"
    project_files = prepare_application(project, routes=1844)
    changed = [f"app/routers/r_{n}.py" for n in range(0, 1800, 180)]
    changed += [f"app/deps/dep_{n}.py" for n in range(0, 50, 5)]
    edits = iter(range(1_000_000))

    def change_twenty() -> None:
        """An edit to each of the 20 files, as a commit brings (size and time change)."""
        edit = next(edits)
        for name in changed:
            with open(project / name, "a", encoding="utf-8") as handle:
                handle.write(f"# edit {edit}\n")

    inference_ready = (
        subprocess.run(
            [python, "-c", "import fastapi, sqlalchemy, httpx"], capture_output=True
        ).returncode
        == 0
    )
    small = workspace / "small" / "deps.py"
    small.parent.mkdir()
    small.write_text(DB_MODULE + DEPENDENCY_MODULE.format(n=0).split("\n\n\n", 1)[1])
    runner = workspace / "flake8_runner.py"
    runner.write_text(FLAKE8_RUNNER, encoding="utf-8")

    def ruff(tree: Path) -> list[str]:
        options = ["--no-cache", "--select", "SIM115", "--exit-zero", "--quiet"]
        return [ruff_exe, "check", *options, str(tree)]

    leaklint_cold = [leaklint, "--no-cache", "--exit-zero", str(corpus)]
    leaklint_warm = [leaklint, "--exit-zero", str(corpus)]
    subprocess.run(leaklint_warm, cwd=corpus, capture_output=True)  # prime the cache
    speed = alternate(
        {"ruff": ruff(corpus), "cold": leaklint_cold, "warm": leaklint_warm},
        corpus,
        options.repeat,
        {},
    )
    shutil.rmtree(corpus / ".leaklint_cache", ignore_errors=True)
    cold_app = [leaklint, "--no-cache", "--exit-zero", str(application)]
    inference_cache = [leaklint, "--type-inference", "--exit-zero", str(application)]
    subprocess.run(inference_cache, cwd=application, capture_output=True)  # keep its answers

    def checkout() -> None:
        """As in a CI job that keeps .leaklint_cache: the files' times are new, so no finding
        is reused, but the inference answers are."""
        for results in (application / ".leaklint_cache").glob("results-*.json"):
            results.unlink()

    app = alternate(
        {
            "ruff": ruff(application),
            "cold": [*cold_app, "--no-type-inference"],
            "inference": [*cold_app, "--type-inference"],
            "kept": inference_cache,
        },
        application,
        options.repeat,
        {"kept": checkout},
    )
    findings = {
        name: findings_of([*cold_app, *extra], application)
        for name, extra in (("inference", ["--type-inference"]), ("cold", ["--no-type-inference"]))
    }
    subprocess.run([leaklint, "--exit-zero", "."], cwd=project, capture_output=True)  # the index
    precommit = alternate(
        {
            "ruff": [*ruff(project)[:-1], *changed],
            "leaklint": [leaklint, "--exit-zero", *changed],
        },
        project,
        options.start_repeat,
        {"leaklint": change_twenty},
    )
    projects = {}
    for tree in options.project:
        cold_tree = [leaklint, "--no-cache", "--exit-zero", str(tree)]
        projects[tree] = alternate(
            {
                "ruff": ruff(tree),
                "cold": [*cold_tree, "--no-type-inference"],
                "inference": [*cold_tree, "--type-inference"],
            },
            tree,
            options.repeat,
            {},
        )
    start = alternate(
        {
            "python": [python, "-c", "pass"],
            "version": [leaklint, "--version"],
            "file": [leaklint, "--no-cache", "--exit-zero", str(small)],
            "ruff": ruff(small),
        },
        small.parent,
        options.start_repeat,
        {},
    )
    flake8 = alternate(
        {
            "without": [
                python,
                str(runner),
                "without",
                "--exit-zero",
                "-j",
                "2",
                str(corpus),
            ],
            "with": [python, str(runner), "with", "--exit-zero", "-j", "2", str(corpus)],
        },
        corpus,
        options.flake8_repeat,
        {},
    )

    def seconds(value: float) -> str:
        return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"

    ruff_time = speed["ruff"][0]
    with_inference = "with type inference" + (
        "" if inference_ready else " (fastapi, sqlalchemy, httpx not installed)"
    )
    # (run, (time, memory), what the ratio is against, the target, whether it is met)
    rows: list[Row] = [
        within("cold `leaklint --no-cache`, stdlib", speed["cold"], ruff_time, 1.0, "ruff"),
        within("warm `leaklint` (cache), stdlib", speed["warm"], ruff_time, 0.5, "ruff"),
        reference("`ruff check --no-cache --select SIM115`, stdlib", speed["ruff"]),
        within(
            f"cold `leaklint --no-cache --no-type-inference`, FastAPI application"
            f" ({application_files} files)",
            app["cold"],
            app["ruff"][0],
            1.0,
            "ruff",
        ),
        reference("`ruff check ...`, FastAPI application", app["ruff"]),
        within(
            f"cold `leaklint --no-cache` {with_inference}, FastAPI application",
            app["inference"],
            app["cold"][0],
            1.5,
            "without",
        ),
        within(
            "... with the inference answers of an earlier run kept (CI keeping the cache)",
            app["kept"],
            app["cold"][0],
            1.5,
            "without",
        ),
        reference("... with `--no-type-inference`", app["cold"]),
    ]
    for tree, timed in projects.items():
        size = sum(1 for _ in tree.rglob("*.py"))
        rows += [
            within(
                f"cold `leaklint --no-cache` {with_inference}, {tree.name} ({size} files)",
                timed["inference"],
                timed["cold"][0],
                1.5,
                "without",
            ),
            within("... with `--no-type-inference`", timed["cold"], timed["ruff"][0], 1.0, "ruff"),
            reference(f"`ruff check ...`, {tree.name}", timed["ruff"]),
        ]
    rows += [
        within(
            f"`leaklint` on 20 changed files of {project_files}, project index cached",
            precommit["leaklint"],
            precommit["ruff"][0],
            1.0,
            "ruff",
        ),
        reference("`ruff check ...` on those 20 files", precommit["ruff"]),
        at_most("`leaklint --no-cache` on one 30-line file", start["file"], start["ruff"][0], 50),
        reference("`ruff check ...` on that file", start["ruff"]),
        at_most("`leaklint --version`", start["version"], start["python"][0], 35),
        reference("`python -c pass`", start["python"]),
        within(
            "`flake8` with the leaklint plugin, stdlib",
            flake8["with"],
            flake8["without"][0],
            1.03,
            "without",
        ),
        reference("`flake8` without it", flake8["without"]),
    ]
    print(f"machine: {machine()}")
    print(
        f"stdlib: {files} files ({corpus}); {version([ruff_exe, '--version'])}; "
        f"flake8 {version([str(tools['flake8']), '--version']).split()[0]}; "
        f"{version([leaklint, '--version'])}"
    )
    print(
        f"medians of {options.repeat} alternating runs ({options.flake8_repeat} for flake8, "
        f"{options.start_repeat} for one file and --version); the ratio is against the row "
        "below it\n"
    )
    print("| run | wall time | ratio | target | met | peak RSS |")
    print("|---|---|---|---|---|---|")
    for name, (elapsed, peak), baseline, target, met in rows:
        verdict = "" if met is None else ("yes" if met else "no")
        ratio = f"{elapsed / baseline:.2f}"
        print(f"| {name} | {seconds(elapsed)} | {ratio} | {target} | {verdict} | {peak:.0f} MB |")
    peak = max(memory for name, (_, memory), _, _, _ in rows if "leaklint" in name)
    print(
        "\nfindings on the FastAPI application: "
        f"{findings['inference']} with type inference, {findings['cold']} without"
    )
    print(f"\nlargest peak RSS of a leaklint process: {peak:.0f} MB (target ≤ 150 MB)")
    shutil.rmtree(workspace, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
