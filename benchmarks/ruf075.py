"""leaklint beside ruff's RUF075 (fallible-context-manager, preview) on the real-world projects.

RUF075 reports every ``@contextmanager``/``@asynccontextmanager`` function whose ``yield`` is not
in a ``try``: what follows the ``yield`` is skipped when the ``with`` body raises. Some of what
it reports are real bugs (an undo or a release skipped), some are right as they are (a step meant
for success only, a log line). Every RUF075 finding on the projects of
``benchmarks/realworld/manifest.toml`` has a hand-made verdict in
``benchmarks/realworld/ruf075.toml``: ``bug`` or ``not-a-bug``, with what kind of step is skipped
and why.

Usage::

    python benchmarks/ruf075.py [--mirror /work/.mirror] [--keep DIR] [--project NAME]

The trees are extracted as ``realworld.py`` does (``--keep`` shares its folders); in each, ruff
(``ruff check --no-cache --isolated --preview --select RUF075``, the ruff of the test extra) and
leaklint (default options) run on the project's paths. A RUF075 finding counts as found by
leaklint when leaklint reports anything in the same function. Printed:

* RUF075's findings that are bugs: found by both, or by RUF075 only (what leaklint misses);
* RUF075's findings that are not bugs: left alone by leaklint, or reported by it too;
* leaklint's real bugs (``verdict = "true"`` in ``verdicts.toml``) in functions RUF075 does not
  report, by code: what only leaklint finds;
* RUF075 findings without a verdict, and verdicts that match no finding (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import realworld

VERDICTS = realworld.REALWORLD / "ruf075.toml"


@dataclass
class Judged:
    repo: str
    path: str
    function: str
    verdict: str
    kind: str
    why: str

    def key(self) -> tuple[str, str, str]:
        return (self.repo, self.path, self.function)


@dataclass
class Reported:
    repo: str
    path: str
    row: int
    function: str = "<module>"
    leaklint: tuple[str, ...] = ()
    judged: Optional[Judged] = None

    def key(self) -> tuple[str, str, str]:
        return (self.repo, self.path, self.function)


def load_judgements(path: Path) -> list[Judged]:
    data = realworld.tomllib.loads(path.read_text(encoding="utf-8"))
    judged = [Judged(**entry) for entry in data.get("finding", [])]
    for entry in judged:
        if entry.verdict not in ("bug", "not-a-bug"):
            raise SystemExit(f"{path}: {entry.key()}: verdict must be bug or not-a-bug")
    return judged


def run_ruff(folder: Path, project: realworld.Project) -> list[Reported]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--isolated",
            "--preview",
            "--select",
            "RUF075",
            "--output-format",
            "json",
            "--exit-zero",
            *project.paths,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    found = []
    for item in json.loads(completed.stdout or "[]"):
        if item.get("code") != "RUF075":
            continue  # a syntax error ruff reports whatever is selected
        relative = Path(os.path.relpath(Path(item["filename"]).resolve(), folder.resolve()))
        found.append(Reported(project.name, relative.as_posix(), int(item["location"]["row"])))
    return found


def function_of(folder: Path, reported: Reported) -> str:
    try:
        source = (folder / reported.path).read_text(encoding="utf-8")
        spans = realworld.functions(source)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return "<module>"
    containing = [span for span in spans if span[0] <= reported.row <= span[1]]
    if not containing:
        return "<module>"
    return max(containing, key=lambda span: (span[0], -span[1]))[2]


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--keep", type=Path, help="extract the trees here, keep and reuse them")
    parser.add_argument("--project", action="append", default=[], help="only this project")
    args = parser.parse_args(argv)

    projects = realworld.load_manifest(realworld.REALWORLD / "manifest.toml")
    if args.project:
        projects = [project for project in projects if project.name in args.project]
    judgements = load_judgements(VERDICTS)
    by_key = {entry.key(): entry for entry in judgements}
    verdicts, _ = realworld.load_verdicts(realworld.REALWORLD / "verdicts.toml")
    true_bugs = [v for v in verdicts if v.verdict == "true" and not v.resolved]

    workspace = args.keep or Path(tempfile.mkdtemp(prefix="leaklint-ruf075-"))
    reported: list[Reported] = []
    leaklint_functions: dict[tuple[str, str, str], list[str]] = {}
    problems: list[str] = []
    try:
        for project in projects:
            folder = workspace.resolve() / project.name.replace("/", "+")
            error, _ = realworld.materialise(
                args.mirror.resolve() / project.name.replace("/", "+"), project.commit, folder
            )
            if error is not None:
                problems.append(f"{project.name}: {error}")
                continue
            run = realworld.ProjectRun(project.name, project.commit)
            realworld.run_leaklint(folder, project, run)
            realworld.attribute(folder, run.findings, run.errors)
            for finding in run.findings:
                key = (finding.repo, finding.path, finding.function)
                leaklint_functions.setdefault(key, []).append(f"{finding.code}:{finding.row}")
            for found in run_ruff(folder, project):
                found.function = function_of(folder, found)
                found.leaklint = tuple(leaklint_functions.get(found.key(), ()))
                found.judged = by_key.get(found.key())
                reported.append(found)
    finally:
        if args.keep is None:
            shutil.rmtree(workspace, ignore_errors=True)

    # counted by function: RUF075 reports each `yield` of a function, the verdict is the
    # function's (and a finding of leaklint anywhere in it counts)
    by_function: dict[tuple[str, str, str], Reported] = {}
    for found in reported:
        kept = by_function.setdefault(found.key(), found)
        kept.leaklint = tuple(dict.fromkeys(kept.leaklint + found.leaklint))
    table: Counter[tuple[str, bool]] = Counter()
    for found in by_function.values():
        if found.judged is not None:
            table[(found.judged.verdict, bool(found.leaklint))] += 1
    print(
        f"RUF075 findings: {len(reported)} in {len(by_function)} functions"
        f" on {len(projects)} projects; by function:"
    )
    print(f"  bugs, found by leaklint too:      {table[('bug', True)]}")
    print(f"  bugs, found by RUF075 only:       {table[('bug', False)]}")
    print(f"  not bugs, left alone by leaklint: {table[('not-a-bug', False)]}")
    print(f"  not bugs, reported by leaklint:   {table[('not-a-bug', True)]}")
    flagged = {found.key() for found in reported}
    only = [v for v in true_bugs if (v.repo, v.path, v.function) not in flagged]
    print(f"leaklint's real bugs in functions RUF075 does not report: {len(only)}")
    for code, count in sorted(Counter(v.code for v in only).items()):
        print(f"  {code}: {count}")

    print("\nEvery RUF075 finding:")
    for found in sorted(reported, key=lambda f: (f.repo, f.path, f.row)):
        verdict = found.judged.verdict if found.judged else "UNJUDGED"
        leak = ", ".join(found.leaklint) or "-"
        where = f"{found.repo} {found.path}:{found.row} {found.function}"
        print(f"  {verdict:9} leaklint {leak:22} {where}")
    unjudged = [found for found in reported if found.judged is None]
    seen = {found.key() for found in reported}
    stale = [
        entry
        for entry in judgements
        if entry.key() not in seen and entry.repo in {project.name for project in projects}
    ]
    for entry in stale:
        problems.append(f"verdict matches no RUF075 finding: {entry.key()}")
    for problem in problems:
        print(f"problem: {problem}")
    return 1 if unjudged or problems else 0


if __name__ == "__main__":
    sys.exit(main())
