"""Speed on real projects: leaklint with default options against ruff, side by side, as ratios.

The projects are in ``benchmarks/projects/manifest.toml``: a repository at a pinned commit (its
tree written from a mirror folder, as ``benchmarks/realworld.py`` does) or a package at a pinned
version (its wheel downloaded from PyPI and unpacked). For each project, cold (no cache for
either tool), the two commands alternate ``--repeat`` times::

    leaklint --no-cache .
    ruff check --no-cache --isolated --select SIM115 -q .

and the table gives the median wall seconds of each, their ratio (leaklint / ruff) and whether it
meets the target: each project at most 3.0 times ruff, the sum over the projects at most 2.0
times. ``leaklint`` and ``ruff`` are the commands installed beside the running interpreter.

Then the start-up rows: ``python -c pass``, ``leaklint --version`` and ``leaklint --no-cache``
on one small file (the 30-line dependency module of ``benchmarks/bench.py``), alternating
``--start-repeat`` times; targets 1.5 and 3.0 times ``python -c pass``.

With ``--deps DIR`` each project runs in its own environment (``DIR/<project>/``: a virtual
environment with leaklint from this repository, the same ruff, and the project's own
dependencies from the manifest's ``deps``), as users run leaklint. Default options read nothing
from the environment (type inference is opt-in), so this should not move the figures; the
option is there to show that it does not.

Usage::

    python benchmarks/projects.py [--mirror /work/.mirror] [--keep DIR] [--repeat 5]
                                  [--start-repeat 30] [--project NAME] [--deps DIR]
                                  [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # the backport leaklint itself depends on there
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import DB_MODULE, DEPENDENCY_MODULE, alternate, machine  # noqa: E402
from corpus import find_git_dir  # noqa: E402
from realworld import count_files, materialise  # noqa: E402

MANIFEST = HERE / "projects" / "manifest.toml"
REPOSITORY = HERE.parent
PROJECT_TARGET = 3.0
TOTAL_TARGET = 2.0
VERSION_TARGET = 1.5
SMALL_FILE_TARGET = 3.0
RUFF_ARGUMENTS = ["check", "--no-cache", "--isolated", "--select", "SIM115", "-q", "."]
LEAKLINT_ARGUMENTS = ["--no-cache", "--exit-zero", "."]
PACKAGE_STAMP = ".projects-package"
TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass
class Project:
    name: str
    kind: str
    repo: Optional[str] = None
    commit: Optional[str] = None
    package: Optional[str] = None
    version: Optional[str] = None
    deps: list[str] = field(default_factory=list)
    deps_note: str = ""

    @property
    def folder_name(self) -> str:
        return self.name.replace("/", "+")


@dataclass
class Timing:
    project: str
    kind: str
    files: int
    leaklint: list[float]
    ruff: list[float]
    environment: str
    findings: int

    @property
    def ratio(self) -> float:
        return statistics.median(self.leaklint) / statistics.median(self.ruff)


def load_manifest(path: Path = MANIFEST) -> list[Project]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    projects = []
    for item in data["project"]:
        name = item.get("repo") or item["package"]
        projects.append(
            Project(
                name=name,
                kind=item["kind"],
                repo=item.get("repo"),
                commit=item.get("commit"),
                package=item.get("package"),
                version=item.get("version"),
                deps=list(item.get("deps", [])),
                deps_note=item.get("deps_note", ""),
            )
        )
    return projects


def unpack_package(project: Project, into: Path) -> Optional[str]:
    """Download the project's pinned wheel and unpack it into ``into`` (reused when an earlier
    run unpacked the same version); an error, or ``None``."""
    pinned = f"{project.package}=={project.version}"
    stamp = into / PACKAGE_STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == pinned:
        return None
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as download:
        fetched = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.13",
                "-d",
                download,
                pinned,
            ],
            capture_output=True,
            text=True,
        )
        wheels = list(Path(download).glob("*.whl"))
        if fetched.returncode != 0 or not wheels:
            return f"pip download {pinned} failed: {fetched.stderr.strip()[-400:]}"
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extractall(into)
    stamp.write_text(pinned + "\n", encoding="utf-8")
    return None


def prepare(project: Project, keep: Path, mirror: Path) -> tuple[Optional[Path], Optional[str]]:
    folder = keep / project.folder_name
    if project.package:
        error = unpack_package(project, folder)
        return (None, error) if error else (folder, None)
    assert project.repo and project.commit
    git_dir = find_git_dir(mirror, project.repo)
    if git_dir is None:
        return None, f"no mirror of {project.repo} under {mirror}"
    error, _absent = materialise(git_dir, project.commit, folder)
    return (None, error) if error else (folder, None)


def tools_beside(python: Path) -> tuple[list[str], list[str]]:
    """The leaklint and ruff commands installed beside ``python``."""
    scripts = python.parent
    leaklint = scripts / "leaklint"
    ruff = scripts / "ruff"
    leaklint_command = [str(leaklint)] if leaklint.exists() else [str(python), "-m", "leaklint"]
    ruff_command = [str(ruff)] if ruff.exists() else [shutil.which("ruff") or "ruff"]
    return leaklint_command, ruff_command


def environment(project: Project, deps_root: Path, folder: Path) -> tuple[Path, str]:
    """A virtual environment for ``project`` with leaklint, ruff and the project's own
    dependencies; its interpreter and a word for the table."""
    if not project.deps:
        return Path(sys.executable), "none"
    venv = deps_root / project.folder_name
    python = venv / "bin" / "python"
    stamp = venv / ".deps"
    wanted = json.dumps([project.deps, str(REPOSITORY)])
    if not (stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        ruff_version = subprocess.run(
            tools_beside(Path(sys.executable))[1] + ["--version"], capture_output=True, text=True
        ).stdout.split()[-1]
        installed = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                str(REPOSITORY),
                f"ruff=={ruff_version}",
                *project.deps,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
        )
        if installed.returncode != 0:
            print(f"  {project.name}: installing its dependencies failed; run without them")
            print("  " + installed.stderr.strip()[-600:].replace("\n", "\n  "))
            return Path(sys.executable), "failed to install"
        stamp.write_text(wanted, encoding="utf-8")
    return python, "installed"


def timed(command: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True)
    return time.perf_counter() - started, completed


def measure(
    project: Project, folder: Path, python: Path, environment_word: str, repeat: int
) -> Timing:
    leaklint, ruff = tools_beside(python)
    leaklint_times: list[float] = []
    ruff_times: list[float] = []
    findings = 0
    # one unmeasured run of each: the file system cache holds the tree for both alike
    timed(leaklint + LEAKLINT_ARGUMENTS, folder)
    timed(ruff + RUFF_ARGUMENTS, folder)
    for turn in range(repeat):
        # alternate which goes first, so a drift in the machine's speed falls on both alike
        order = [("leaklint", leaklint), ("ruff", ruff)]
        for tool, command in order if turn % 2 == 0 else order[::-1]:
            arguments = LEAKLINT_ARGUMENTS if tool == "leaklint" else RUFF_ARGUMENTS
            seconds, completed = timed(command + arguments, folder)
            if completed.returncode not in (0, 1):
                raise SystemExit(
                    f"{project.name}: {tool} exited with {completed.returncode}: "
                    + completed.stderr.decode(errors="replace")[-600:]
                )
            if tool == "leaklint":
                leaklint_times.append(seconds)
                findings = sum(
                    1
                    for line in completed.stdout.decode(errors="replace").splitlines()
                    if ": LL" in line
                )
            else:
                ruff_times.append(seconds)
    return Timing(
        project.name,
        project.kind,
        count_files(folder, ["."]),
        leaklint_times,
        ruff_times,
        environment_word,
        findings,
    )


def table(timings: list[Timing], versions: str) -> str:
    rows = [
        f"machine: {machine()}",
        versions,
        "",
        "| project | kind | files | its dependencies | leaklint s | ruff s | ratio | target "
        "| met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for timing in timings:
        leaklint = statistics.median(timing.leaklint)
        ruff = statistics.median(timing.ruff)
        met = "yes" if timing.ratio <= PROJECT_TARGET else "no"
        rows.append(
            f"| {timing.project} | {timing.kind} | {timing.files:,} | {timing.environment} | "
            f"{leaklint:.2f} | "
            f"{ruff:.2f} | {timing.ratio:.1f} | ≤ {PROJECT_TARGET:.1f} {TIMES} | {met} |"
        )
    if timings:
        leaklint_total = sum(statistics.median(timing.leaklint) for timing in timings)
        ruff_total = sum(statistics.median(timing.ruff) for timing in timings)
        files = sum(timing.files for timing in timings)
        ratio = leaklint_total / ruff_total
        met = "yes" if ratio <= TOTAL_TARGET else "no"
        rows.append(
            f"| **all {len(timings)}** | | {files:,} | | {leaklint_total:.2f} | {ruff_total:.2f} | "
            f"{ratio:.1f} | ≤ {TOTAL_TARGET:.1f} {TIMES} | {met} |"
        )
    return "\n".join(rows)


def start_up(repeat: int) -> list[tuple[str, float, float, str]]:
    """Median wall seconds of ``python -c pass``, ``leaklint --version`` and a check of one
    small file, alternating; each row with its ratio to ``python -c pass`` and whether it
    meets its target."""
    leaklint, _ = tools_beside(Path(sys.executable))
    with tempfile.TemporaryDirectory() as workspace:
        small = Path(workspace) / "deps.py"
        small.write_text(DB_MODULE + DEPENDENCY_MODULE.format(n=0).split("\n\n\n", 1)[1])
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "leaklint --version": [*leaklint, "--version"],
            "leaklint --no-cache on one 30-line file": [*leaklint, "--no-cache", "deps.py"],
        }
        for command in commands.values():
            timed(command, Path(workspace))  # unmeasured: caches warm alike
        medians = alternate(commands, Path(workspace), repeat, {})
    python = medians["python -c pass"][0]
    rows = [("python -c pass", python, 1.0, "")]
    for name, target in (
        ("leaklint --version", VERSION_TARGET),
        ("leaklint --no-cache on one 30-line file", SMALL_FILE_TARGET),
    ):
        seconds = medians[name][0]
        met = "yes" if seconds / python <= target else "no"
        rows.append((name, seconds, seconds / python, f"≤ {target:.1f} {TIMES} | {met}"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--keep", type=Path, help="keep the project trees here between runs")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each tool")
    parser.add_argument("--start-repeat", type=int, default=30, help="runs of the start rows")
    parser.add_argument("--project", action="append", help="only this project (repeatable)")
    parser.add_argument("--deps", type=Path, help="run each project in its own environment")
    parser.add_argument("--json", type=Path, help="write every run's seconds here")
    options = parser.parse_args()
    projects = load_manifest()
    if options.project:
        projects = [project for project in projects if project.name in options.project]
    keep = options.keep or Path(tempfile.mkdtemp(prefix="leaklint-projects-"))
    timings: list[Timing] = []
    for project in projects:
        folder, error = prepare(project, keep, options.mirror)
        if folder is None:
            print(f"{project.name}: skipped: {error}")
            continue
        python, word = (
            environment(project, options.deps, folder)
            if options.deps
            else (Path(sys.executable), "not asked for")
        )
        timing = measure(project, folder, python, word, options.repeat)
        print(
            f"{project.name}: {timing.files:,} files, leaklint "
            f"{statistics.median(timing.leaklint):.2f} s, ruff {statistics.median(timing.ruff):.2f}"
            f" s, {timing.ratio:.1f} {TIMES}, {timing.findings} findings, environment: {word}",
            flush=True,
        )
        timings.append(timing)
    leaklint, ruff = tools_beside(Path(sys.executable))
    versions = (
        subprocess.run([*ruff, "--version"], capture_output=True, text=True).stdout.strip()
        + "; "
        + subprocess.run([*leaklint, "--version"], capture_output=True, text=True).stdout.strip()
        + f"; {options.repeat} alternating runs of each, median wall time, no cache"
    )
    print()
    print(table(timings, versions))
    print()
    print("| start-up | wall time | ratio to `python -c pass` | target | met |")
    print("|---|---|---|---|---|")
    for name, seconds, ratio, target in start_up(options.start_repeat):
        print(f"| `{name}` | {seconds * 1000:.0f} ms | {ratio:.2f} | {target or ' |'} |")
    if options.json:
        options.json.write_text(
            json.dumps([timing.__dict__ for timing in timings], indent=2), encoding="utf-8"
        )
    if not options.keep:
        shutil.rmtree(keep, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
