"""A real-world check: leaklint, default options, on whole public projects; every finding triaged.

The projects live in ``benchmarks/realworld/manifest.toml`` (repository, pinned commit, the
sub-folders to lint, what kind of project it is); the verdicts in
``benchmarks/realworld/verdicts.toml``, one ``[[finding]]`` per finding, decided by hand: whether
it is a real bug (``true``), the LL002 house style (``style``) or a false alarm (``false``), and
whether its fix is one a reviewer would merge (``good``), would not (``bad``) or there is none
(``none``). No third-party code is kept in this repository: each project's tree is written from
a mirror folder (one bare git directory per repository, under ``<mirror>/<owner>+<name>/``).

Usage::

    python benchmarks/realworld.py [--mirror /work/.mirror] [--keep DIR] [--project NAME]
                                   [--holdout | --tuning] [--json OUT]

For each project the pinned tree is extracted (``git archive``) into a temporary folder (or
into ``--keep DIR/<owner>+<name>``, reused by later runs while it holds the same commit), and
``python -m leaklint --no-cache --output-format json <paths>`` runs once in it, with default
options otherwise, timed. Each finding is attributed to the innermost function (sync or async,
nested or not) whose lines contain it, named with its enclosing classes and functions
(``Database.session``), and keyed by the stripped text of its reported line (``match``; a
later finding of the same code in the same function on a line that reads the same gets
`` #2``, `` #3``...). It is then looked up in the verdicts by (repo, path, function, code,
match).

Printed: per project the number of Python files under its paths, of findings and the wall
seconds of the run; the totals of verdicts and of fix judgements; every finding without a
verdict ("untriaged") and every verdict that matches no finding any more ("gone"). A verdict
may say since which leaklint commit its finding is no longer reported (``resolved``: a false
alarm or a house-style finding removed on purpose); those are counted apart, and listed as gone
if they match a finding again. A real bug cannot be resolved that way.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # the backport leaklint itself depends on there
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from corpus import find_git_dir  # noqa: E402  (the same mirror layout as the labelled corpus)

REALWORLD = HERE / "realworld"
VERDICTS = ("true", "style", "false")
FIXES = ("good", "bad", "none")
MATCH_WIDTH = 80
# Folders leaklint never enters while walking (its defaults, as documented in the README); only
# used to count the files a run looks at.
SKIPPED_FOLDERS = frozenset(
    {
        ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints",
        ".leaklint_cache", ".mypy_cache", ".nox", ".pants.d", ".pyenv", ".pytest_cache",
        ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", ".vscode", "__pycache__",
        "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
        "site-packages", "venv",
    }
)  # fmt: skip
STAMP = ".realworld-commit"


@dataclass
class Project:
    name: str
    commit: str
    paths: list[str]
    kind: str
    holdout: bool = False
    """Added after the changes the other projects drove, and triaged once: not for tuning."""


@dataclass
class Verdict:
    repo: str
    path: str
    function: str
    code: str
    match: str
    verdict: str
    fix: str
    why: str
    resolved: str = ""
    """The leaklint commit from which the finding is no longer reported (a false alarm or a
    house style removed on purpose); empty while it is reported."""

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.repo, self.path, self.function, self.code, self.match)


@dataclass
class Finding:
    repo: str
    path: str
    row: int
    code: str
    message: str
    function: str = "<module>"
    match: str = ""
    applicability: Optional[str] = None
    verdict: Optional[str] = None
    fix: Optional[str] = None

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.repo, self.path, self.function, self.code, self.match)


@dataclass
class ProjectRun:
    name: str
    commit: str
    files: int = 0
    seconds: float = 0.0
    ran: bool = False  # leaklint ran to the end and its output was read
    absent: list[str] = field(default_factory=list)  # content missing from the mirror
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_manifest(path: Path) -> list[Project]:
    with path.open("rb") as handle:
        raw = tomllib.load(handle).get("project", [])
    return [
        Project(
            name=item["name"],
            commit=item["commit"],
            paths=list(item.get("paths", ["."])) or ["."],
            kind=item.get("kind", ""),
            holdout=bool(item.get("holdout", False)),
        )
        for item in raw
    ]


def load_verdicts(path: Path) -> tuple[list[Verdict], list[str]]:
    """The verdicts, and the problems found in the file (bad values, duplicate keys)."""
    if not path.is_file():
        return [], []
    with path.open("rb") as handle:
        raw = tomllib.load(handle).get("finding", [])
    verdicts: list[Verdict] = []
    problems: list[str] = []
    seen: set[tuple[str, str, str, str, str]] = set()
    for number, item in enumerate(raw, start=1):
        try:
            verdict = Verdict(
                repo=item["repo"],
                path=item["path"],
                function=item["function"],
                code=item["code"],
                match=item["match"],
                verdict=item["verdict"],
                fix=item["fix"],
                why=item.get("why", ""),
                resolved=item.get("resolved", ""),
            )
        except KeyError as error:
            problems.append(f"verdict #{number}: missing field {error}")
            continue
        if verdict.verdict not in VERDICTS:
            problems.append(f"verdict #{number}: verdict must be one of {VERDICTS}")
        if verdict.fix not in FIXES:
            problems.append(f"verdict #{number}: fix must be one of {FIXES}")
        if not verdict.why.strip():
            problems.append(f"verdict #{number}: no `why`")
        if verdict.resolved and verdict.verdict == "true":
            problems.append(f"verdict #{number}: a real bug cannot be resolved by not reporting it")
        if verdict.key() in seen:
            problems.append(f"verdict #{number}: the same key as an earlier verdict")
        seen.add(verdict.key())
        verdicts.append(verdict)
    return verdicts, problems


def absent_blobs(git_dir: Path, commit: str) -> list[str]:
    """Paths of the tree whose content the mirror lacks (snapshots leave out very large files
    and Git LFS content); ``git archive`` would refuse the whole tree for one of them."""
    listed = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "--full-tree", commit],
        capture_output=True,
    )
    if listed.returncode != 0:
        return []
    blobs: dict[str, list[str]] = {}
    for entry in listed.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        _mode, kind, sha = meta.split()
        if kind == "blob":
            blobs.setdefault(sha, []).append(path)
    checked = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch-check"],
        input="\n".join(blobs) + "\n",
        capture_output=True,
        text=True,
    )
    absent = []
    for line in checked.stdout.splitlines():
        sha, _, status = line.partition(" ")
        if status == "missing":
            absent.extend(blobs.get(sha, []))
    return sorted(absent)


def materialise(git_dir: Path, commit: str, into: Path) -> tuple[Optional[str], list[str]]:
    """Extract the tree of ``commit`` into ``into`` (emptied first); return an error or None,
    and the paths left out because the mirror lacks their content.

    A folder stamped with the same commit by an earlier run is reused as it is."""
    stamp = into / STAMP
    if stamp.is_file():
        recorded = stamp.read_text(encoding="utf-8").split("\n")
        if recorded[0].strip() == commit:
            return None, [line for line in recorded[1:] if line]
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    absent = absent_blobs(git_dir, commit)
    excludes = [f":(exclude,literal){path}" for path in absent]
    archived = subprocess.run(
        ["git", "--git-dir", str(git_dir), "archive", "--format=tar", commit]
        + (["--", ".", *excludes] if excludes else []),
        capture_output=True,
    )
    if archived.returncode != 0:
        return f"git archive {commit[:12]} failed: {archived.stderr.decode().strip()}", absent
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
        members = [m for m in archive.getmembers() if m.isfile() or m.isdir() or m.issym()]
        if hasattr(tarfile, "data_filter"):
            archive.extractall(into, members=members, filter="data")
        else:  # Pythons without extraction filters: the archive is one git wrote
            archive.extractall(into, members=members)
    stamp.write_text("".join(line + "\n" for line in [commit, *absent]), encoding="utf-8")
    return None, absent


def count_files(folder: Path, paths: list[str]) -> int:
    """Python files under ``paths``, skipping the folders leaklint never enters."""
    total = 0
    for path in paths:
        start = folder / path
        if start.is_file():
            total += start.suffix in (".py", ".pyi")
            continue
        for _root, dirs, files in os.walk(start):
            dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS]
            total += sum(1 for name in files if name.endswith((".py", ".pyi")))
    return total


def run_leaklint(folder: Path, project: Project, run: ProjectRun) -> None:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "leaklint", "--no-cache", "--output-format", "json", *project.paths],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    run.seconds = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        run.errors.append(
            f"leaklint exited with {completed.returncode}: {completed.stderr.strip()}"
        )
        return
    run.errors.extend(line for line in completed.stderr.splitlines() if line.strip())
    try:
        items = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError as error:
        run.errors.append(f"unreadable leaklint output: {error}")
        return
    run.ran = True
    for item in items:
        filename = Path(item["filename"])
        absolute = filename if filename.is_absolute() else folder / filename
        relative = Path(os.path.relpath(absolute.resolve(), folder.resolve())).as_posix()
        fix = item.get("fix") or {}
        run.findings.append(
            Finding(
                repo=project.name,
                path=relative,
                row=int(item["location"]["row"]),
                code=item["code"],
                message=item["message"],
                applicability=fix.get("applicability"),
            )
        )


def functions(source: str) -> list[tuple[int, int, str]]:
    """(first row, last row, qualified name) of every function, nested ones included."""
    found: list[tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                # decorators belong to the function they decorate
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                found.append((first, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def attribute(folder: Path, findings: list[Finding], errors: list[str]) -> None:
    """Fill each finding's ``function`` and ``match`` from its file."""
    cache: dict[str, tuple[list[str], list[tuple[int, int, str]]]] = {}
    for finding in findings:
        if finding.path not in cache:
            try:
                source = (folder / finding.path).read_text(encoding="utf-8")
                cache[finding.path] = (source.splitlines(), functions(source))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError) as error:
                errors.append(f"{finding.path}: cannot read its functions ({error})")
                cache[finding.path] = ([], [])
        lines, spans = cache[finding.path]
        containing = [span for span in spans if span[0] <= finding.row <= span[1]]
        if containing:
            # the innermost: the latest start (a nested def starts inside its parent)
            finding.function = max(containing, key=lambda span: (span[0], -span[1]))[2]
        if 0 < finding.row <= len(lines):
            finding.match = lines[finding.row - 1].strip()[:MATCH_WIDTH]
    # Two findings of one code in one function on lines that read the same: the later ones are
    # told apart by their rank, "<text> #2", "<text> #3"...
    seen: Counter[tuple[str, str, str, str, str]] = Counter()
    for finding in sorted(findings, key=lambda f: (f.path, f.row)):
        seen[finding.key()] += 1
        if seen[finding.key()] > 1:
            finding.match = f"{finding.match} #{seen[finding.key()]}"


def check(
    projects: list[Project], verdicts: list[Verdict], mirror: Path, workspace: Path
) -> tuple[list[ProjectRun], list[Verdict]]:
    """Run every project; return the runs and the verdicts that matched no finding."""
    by_key = {verdict.key(): verdict for verdict in verdicts}
    used: set[tuple[str, str, str, str, str]] = set()
    runs = []
    for project in projects:
        run = ProjectRun(project.name, project.commit)
        runs.append(run)
        git_dir = find_git_dir(mirror, project.name)
        if git_dir is None:
            run.errors.append(f"no git directory under {mirror}; skipped")
            continue
        folder = workspace / project.name.replace("/", "+")
        error, absent = materialise(git_dir, project.commit, folder)
        if error is not None:
            run.errors.append(error)
            continue
        run.absent = absent
        # a Python file the mirror lacks would be a file leaklint never saw: say so
        run.errors.extend(
            f"{path}: not in the mirror, not linted"
            for path in absent
            if path.endswith((".py", ".pyi"))
        )
        run.files = count_files(folder, project.paths)
        run_leaklint(folder, project, run)
        attribute(folder, run.findings, run.errors)
        for finding in run.findings:
            verdict = by_key.get(finding.key())
            if verdict is not None:
                finding.verdict, finding.fix = verdict.verdict, verdict.fix
                used.add(verdict.key())
        print(
            f"{project.name}: {len(run.findings)} finding(s) in {run.seconds:.1f} s",
            file=sys.stderr,
        )
    # only where leaklint really ran: a project it could not check says nothing about its verdicts
    ran = {run.name for run in runs if run.ran}
    # a resolved verdict is expected to match nothing; one that matches again is back
    gone = [v for v in verdicts if v.repo in ran and (v.key() in used) == bool(v.resolved)]
    return runs, gone


def totals(runs: list[ProjectRun]) -> tuple[Counter[str], Counter[str]]:
    verdict_counts: Counter[str] = Counter()
    fix_counts: Counter[str] = Counter()
    for run in runs:
        for finding in run.findings:
            if finding.verdict is not None:
                verdict_counts[finding.verdict] += 1
                fix_counts[finding.fix or "none"] += 1
    return verdict_counts, fix_counts


def print_report(
    runs: list[ProjectRun],
    gone: list[Verdict],
    problems: list[str],
    resolved_verdicts: list[Verdict],
) -> None:
    width = max([len(run.name) for run in runs] + [7])
    print(f"{'project':<{width}}  {'commit':<12}  {'files':>6}  {'findings':>8}  {'seconds':>7}")
    for run in runs:
        print(
            f"{run.name:<{width}}  {run.commit[:12]:<12}  {run.files:>6}  "
            f"{len(run.findings):>8}  {run.seconds:>7.1f}"
        )
    print(
        f"{'total':<{width}}  {'':<12}  {sum(r.files for r in runs):>6}  "
        f"{sum(len(r.findings) for r in runs):>8}  {sum(r.seconds for r in runs):>7.1f}"
    )
    for run in runs:
        if run.absent:
            print(
                f"  ({run.name}: {len(run.absent)} file(s) absent from the mirror, left out,"
                f" {sum(p.endswith(('.py', '.pyi')) for p in run.absent)} of them Python)"
            )
    verdict_counts, fix_counts = totals(runs)
    by_code: dict[str, Counter[str]] = {}
    for run in runs:
        for finding in run.findings:
            by_code.setdefault(finding.code, Counter())[finding.verdict or "untriaged"] += 1
    print("\nverdicts: " + ", ".join(f"{name} {verdict_counts[name]}" for name in VERDICTS))
    print("fixes:    " + ", ".join(f"{name} {fix_counts[name]}" for name in FIXES))
    print("\nby rule:")
    for code in sorted(by_code):
        counts = by_code[code]
        shown = ", ".join(f"{name} {counts[name]}" for name in (*VERDICTS, "untriaged"))
        print(f"  {code}: {shown}")

    untriaged = [f for run in runs for f in run.findings if f.verdict is None]
    print(f"\nUntriaged findings ({len(untriaged)}):")
    for finding in untriaged:
        print(
            f"  {finding.repo}  {finding.path}:{finding.row}  {finding.code}"
            f"  [{finding.function}]  {finding.message}"
        )
        print(f"      match = {json.dumps(finding.match)}")
    if not untriaged:
        print("  none")
    print(
        f"\nGone verdicts (no finding matches them any more; or, marked resolved, one does"
        f" again) ({len(gone)}):"
    )
    for verdict in gone:
        # a real bug no longer reported is lost recall; a false alarm gone is a fix
        note = "  LOST: a real bug is no longer reported" if verdict.verdict == "true" else ""
        if verdict.resolved:
            note = f"  BACK: resolved at {verdict.resolved}, reported again"
        print(
            f"  {verdict.repo}  {verdict.path}  {verdict.code}  [{verdict.function}]"
            f"  {verdict.verdict}: {json.dumps(verdict.match)}{note}"
        )
    if not gone:
        print("  none")
    resolved = Counter(
        (verdict.verdict, verdict.fix) for verdict in resolved_verdicts if verdict not in gone
    )
    if resolved:
        print("\nResolved (triaged when reported, no longer reported, as intended):")
        for (verdict_name, fix), count in sorted(resolved.items()):
            print(f"  {verdict_name:<5}  fix {fix:<4}  {count}")
    errors = [f"{run.name}: {error}" for run in runs for error in run.errors]
    if problems or errors:
        print("\nProblems:")
        for problem in problems + errors:
            print(f"  {problem}")


def as_document(runs: list[ProjectRun], gone: list[Verdict], problems: list[str]) -> dict[str, Any]:
    verdict_counts, fix_counts = totals(runs)
    return {
        "projects": [
            {
                "name": run.name,
                "commit": run.commit,
                "files": run.files,
                "findings": len(run.findings),
                "seconds": round(run.seconds, 2),
                "ran": run.ran,
                "absent": run.absent,
                "errors": run.errors,
            }
            for run in runs
        ],
        "verdicts": {name: verdict_counts[name] for name in VERDICTS},
        "fixes": {name: fix_counts[name] for name in FIXES},
        "findings": [asdict(f) for run in runs for f in run.findings],
        "untriaged": [asdict(f) for run in runs for f in run.findings if f.verdict is None],
        "gone": [asdict(v) for v in gone],
        "problems": problems,
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--mirror",
        type=Path,
        default=Path("/work/.mirror"),
        help="folder holding <owner>+<name>/ bare git directories (default: %(default)s)",
    )
    parser.add_argument("--manifest", type=Path, default=REALWORLD / "manifest.toml")
    parser.add_argument("--verdicts", type=Path, default=REALWORLD / "verdicts.toml")
    parser.add_argument(
        "--keep", type=Path, help="extract the trees into this folder, keep and reuse them"
    )
    parser.add_argument(
        "--project", action="append", default=[], help="only this project (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--holdout", action="store_true", help="only the held-out projects (holdout = true)"
    )
    chosen.add_argument(
        "--tuning", action="store_true", help="only the projects whose findings drove changes"
    )
    args = parser.parse_args(argv)

    projects = load_manifest(args.manifest)
    if args.project:
        unknown = set(args.project) - {project.name for project in projects}
        if unknown:
            parser.error(f"not in the manifest: {', '.join(sorted(unknown))}")
        projects = [project for project in projects if project.name in args.project]
    if args.holdout or args.tuning:
        projects = [project for project in projects if project.holdout == args.holdout]
    verdicts, problems = load_verdicts(args.verdicts)
    ran_for = {project.name for project in projects}
    resolved = [v for v in verdicts if v.resolved and v.repo in ran_for]
    listed = {project.name for project in load_manifest(args.manifest)}
    problems.extend(
        f"verdicts for {repo}, which is not in the manifest"
        for repo in sorted({verdict.repo for verdict in verdicts} - listed)
    )
    workspace = args.keep or Path(tempfile.mkdtemp(prefix="leaklint-realworld-"))
    workspace.mkdir(parents=True, exist_ok=True)
    try:
        runs, gone = check(projects, verdicts, args.mirror.resolve(), workspace.resolve())
    finally:
        if args.keep is None:
            shutil.rmtree(workspace, ignore_errors=True)
    print_report(runs, gone, problems, resolved)
    if args.json:
        document = as_document(runs, gone, problems)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    untriaged = any(f.verdict is None for run in runs for f in run.findings)
    return 1 if untriaged or gone or problems or any(run.errors for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
