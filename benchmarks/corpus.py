"""Precision and recall of leaklint, rule by rule, on a labelled corpus of real-world code.

The corpus lives in ``benchmarks/corpus/``: ``manifest.toml`` names public repositories, the
commit read in each and the files used; ``labels.toml`` gives, for every generator function in
those files, the codes a correct linter reports in it. No third-party code is kept in this
repository: the files are taken from checkouts of the listed commits under a mirror folder (one
bare git directory per repository, found under ``<mirror>/<owner>+<name>/``).

Usage::

    python benchmarks/corpus.py [--mirror /work/.mirror] [--json results.json] [--repo NAME]

Each repository's files are written to a temporary folder, keeping their repository-relative
paths, and ``python -m leaklint --no-cache --output-format json <folder>`` runs once per
repository, so that a dependency defined in one module and registered in another is resolved as
it would be in the real project. Every finding is attributed to the innermost labelled function
whose lines contain it. Counting is per (function, code): a function labelled ``["LL001"]`` with
two LL001 findings is one true positive.

Two tables are printed: with every label, and without the house-style LL002 labels (``style =
true``), where LL002 findings in those functions count neither way. Findings outside any labelled
function are listed as "unlabelled", so that the labels can be completed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # the backport leaklint itself depends on there
    import tomli as tomllib

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
RULES = ("LL001", "LL002", "LL003", "LL004", "LL005", "LL006", "LL007")


@dataclass
class Label:
    repo: str
    path: str
    name: str
    line: int
    driver: str
    expected: frozenset[str]
    style: bool
    why: str
    end: Optional[int] = None  # last row of the function, from the file's own syntax tree

    def key(self) -> tuple[str, str, str]:
        return (self.repo, self.path, self.name)


@dataclass
class Finding:
    repo: str
    path: str
    row: int
    code: str
    message: str


@dataclass
class Outcome:
    """What happened in one repository."""

    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load_corpus(manifest_path: Path, labels_path: Path) -> tuple[list[dict[str, Any]], list[Label]]:
    with manifest_path.open("rb") as handle:
        manifest = tomllib.load(handle)["repository"]
    with labels_path.open("rb") as handle:
        raw = tomllib.load(handle)["function"]
    labels = [
        Label(
            repo=item["repo"],
            path=item["path"],
            name=item["name"],
            line=int(item["line"]),
            driver=item.get("driver", "unknown"),
            expected=frozenset(item.get("expected", [])),
            style=bool(item.get("style", False)),
            why=item.get("why", ""),
        )
        for item in raw
    ]
    return manifest, labels


def find_git_dir(mirror: Path, repo: str) -> Optional[Path]:
    """The bare git directory of ``repo`` under the mirror (``<owner>+<name>/<something>``)."""
    base = mirror / repo.replace("/", "+")
    if not base.is_dir():
        return None
    level = [base]
    for _ in range(3):  # the folder itself, or up to two levels below it
        for candidate in level:
            if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
                return candidate
        level = sorted(child for folder in level for child in folder.iterdir() if child.is_dir())
    return None


def materialise(git_dir: Path, commit: str, paths: list[str], into: Path) -> list[str]:
    """Write each path at ``commit`` under ``into``; return the errors."""
    errors = []
    for path in paths:
        shown = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
            capture_output=True,
        )
        if shown.returncode != 0:
            errors.append(f"{path}: not found at {commit[:12]}: {shown.stderr.decode().strip()}")
            continue
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(shown.stdout)
    return errors


def run_leaklint(folder: Path, repo: str, options: Sequence[str] = ()) -> Outcome:
    outcome = Outcome()
    completed = subprocess.run(
        [sys.executable, "-m", "leaklint", "--no-cache", "--output-format", "json", *options, "."],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if completed.returncode not in (0, 1):
        outcome.errors.append(
            f"leaklint exited with {completed.returncode}: {completed.stderr.strip()}"
        )
        return outcome
    outcome.errors.extend(line for line in completed.stderr.splitlines() if line.strip())
    try:
        items = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError as error:
        outcome.errors.append(f"unreadable leaklint output: {error}")
        return outcome
    for item in items:
        filename = Path(item["filename"])
        absolute = filename if filename.is_absolute() else (folder / filename)
        relative = os.path.relpath(absolute.resolve(), folder.resolve())
        outcome.findings.append(
            Finding(
                repo,
                Path(relative).as_posix(),
                int(item["location"]["row"]),
                item["code"],
                item["message"],
            )
        )
    return outcome


def function_ends(source: str) -> dict[int, int]:
    """Row of each ``def`` (sync or async, nested or not) -> its last row."""
    tree = ast.parse(source)
    return {
        node.lineno: node.end_lineno or node.lineno
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def attach_ends(labels: list[Label], folder: Path) -> list[str]:
    """Fill ``Label.end`` from the materialised files; return the problems."""
    problems = []
    by_path: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        by_path[label.path].append(label)
    for path, group in by_path.items():
        file = folder / path
        try:
            ends = function_ends(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError) as error:
            problems.append(
                f"{path}: cannot read its functions ({error.__class__.__name__});"
                " its labels are left out"
            )
            continue
        for label in group:
            if label.line in ends:
                label.end = ends[label.line]
            else:
                problems.append(
                    f"{path}:{label.line}: no `def` of {label.name} there; label left out"
                )
    return problems


def owner(finding: Finding, labels: list[Label]) -> Optional[Label]:
    """The innermost labelled function of the finding's file that contains its row."""
    containing = [
        label
        for label in labels
        if label.path == finding.path
        and label.end is not None
        and label.line <= finding.row <= label.end
    ]
    return max(containing, key=lambda label: label.line, default=None)


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def precision(self) -> Optional[float]:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> Optional[float]:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision(),
            "recall": self.recall(),
        }


@dataclass
class Score:
    tallies: dict[str, Tally]
    false_positives: list[tuple[Label, str, list[Finding]]]
    false_negatives: list[tuple[Label, str]]


Reported = dict[tuple[str, str, str], dict[str, list[Finding]]]


def score(labels: list[Label], reported: Reported, with_style: bool) -> Score:
    tallies: dict[str, Tally] = defaultdict(Tally)
    false_positives = []
    false_negatives = []
    for label in labels:
        if label.end is None:
            continue
        expected = set(label.expected)
        found = dict(reported.get(label.key(), {}))
        if not with_style and label.style:
            expected.discard("LL002")
            found.pop("LL002", None)
        for code in sorted(expected | set(found)):
            if code in expected and code in found:
                tallies[code].tp += 1
            elif code in found:
                tallies[code].fp += 1
                false_positives.append((label, code, found[code]))
            else:
                tallies[code].fn += 1
                false_negatives.append((label, code))
    return Score(dict(tallies), false_positives, false_negatives)


def percent(value: Optional[float]) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def print_table(title: str, result: Score) -> None:
    codes = sorted(set(RULES) | set(result.tallies))
    total = Tally()
    print(f"\n{title}")
    print(f"  {'rule':<7}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
    for code in codes:
        tally = result.tallies.get(code, Tally())
        total.tp, total.fp, total.fn = total.tp + tally.tp, total.fp + tally.fp, total.fn + tally.fn
        print(
            f"  {code:<7}{tally.tp:>5}{tally.fp:>5}{tally.fn:>5}"
            f"{percent(tally.precision()):>11}{percent(tally.recall()):>8}"
        )
    print(
        f"  {'all':<7}{total.tp:>5}{total.fp:>5}{total.fn:>5}"
        f"{percent(total.precision()):>11}{percent(total.recall()):>8}"
    )


@dataclass
class Run:
    """Everything one pass over the corpus produced."""

    labels: list[Label]
    reported: Reported
    unlabelled: list[Finding]
    problems: list[str]


def run_corpus(
    manifest: list[dict[str, Any]],
    labels: list[Label],
    mirror: Path,
    workspace: Path,
    options: Sequence[str] = (),
) -> Run:
    """Materialise and lint each repository; attribute every finding to its labelled function."""
    labels_by_repo: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        labels_by_repo[label.repo].append(label)
    reported: Reported = defaultdict(lambda: defaultdict(list))
    unlabelled: list[Finding] = []
    problems: list[str] = []
    skipped: set[str] = set()
    for entry in manifest:
        repo, commit = entry["name"], entry["commit"]
        git_dir = find_git_dir(mirror, repo)
        if git_dir is None:
            problems.append(f"{repo}: no git directory under {mirror}; skipped")
            skipped.add(repo)
            continue
        folder = workspace / repo.replace("/", "+")
        folder.mkdir(parents=True, exist_ok=True)
        paths = list(entry["files"]) + list(entry.get("context", []))
        problems.extend(f"{repo}: {error}" for error in materialise(git_dir, commit, paths, folder))
        repo_labels = labels_by_repo.get(repo, [])
        problems.extend(f"{repo}: {problem}" for problem in attach_ends(repo_labels, folder))
        outcome = run_leaklint(folder, repo, options)
        problems.extend(f"{repo}: {error}" for error in outcome.errors)
        for finding in outcome.findings:
            holder = owner(finding, repo_labels)
            if holder is None:
                unlabelled.append(finding)
            else:
                reported[holder.key()][finding.code].append(finding)
        print(f"{repo}: {len(outcome.findings)} finding(s)", file=sys.stderr)
    kept = [label for label in labels if label.repo not in skipped]
    return Run(kept, reported, unlabelled, problems)


def describe(label: Label) -> str:
    return f"[{label.name}, {label.driver}]"


def print_report(run: Run, with_style: Score, without_style: Score) -> None:
    counted = [label for label in run.labels if label.end is not None]
    print(
        f"corpus: {len({label.repo for label in counted})} repositories, "
        f"{len({(label.repo, label.path) for label in counted})} files, "
        f"{len(counted)} functions "
        f"({sum(1 for label in counted if label.expected)} with expected findings)"
    )
    print_table("All labels (LL002 house-style cases included):", with_style)
    print_table("Without the house-style LL002 labels:", without_style)

    print("\nFalse positives (reported, not expected):")
    for label, code, findings in with_style.false_positives:
        for finding in findings:
            print(
                f"  {label.repo}  {label.path}:{finding.row}  {code}  {describe(label)}"
                f"  {finding.message}"
            )
    if not with_style.false_positives:
        print("  none")
    print("\nFalse negatives (expected, not reported):")
    for label, code in with_style.false_negatives:
        style = " (style)" if label.style and code == "LL002" else ""
        print(f"  {label.repo}  {label.path}:{label.line}  {code}{style}  {describe(label)}")
        if label.why:
            print(f"      {label.why}")
    if not with_style.false_negatives:
        print("  none")
    print("\nUnlabelled findings (outside every labelled function):")
    for finding in run.unlabelled:
        print(f"  {finding.repo}  {finding.path}:{finding.row}  {finding.code}  {finding.message}")
    if not run.unlabelled:
        print("  none")
    if run.problems:
        print("\nProblems:")
        for problem in run.problems:
            print(f"  {problem}")


def as_document(run: Run, with_style: Score, without_style: Score) -> dict[str, Any]:
    counted = [label for label in run.labels if label.end is not None]
    return {
        "repositories": len({label.repo for label in counted}),
        "files": len({(label.repo, label.path) for label in counted}),
        "functions": len(counted),
        "with_style": {code: t.as_dict() for code, t in sorted(with_style.tallies.items())},
        "without_style": {code: t.as_dict() for code, t in sorted(without_style.tallies.items())},
        "false_positives": [
            {
                "repo": label.repo,
                "path": label.path,
                "function": label.name,
                "driver": label.driver,
                "code": code,
                "rows": [finding.row for finding in findings],
                "messages": [finding.message for finding in findings],
            }
            for label, code, findings in with_style.false_positives
        ],
        "false_negatives": [
            {
                "repo": label.repo,
                "path": label.path,
                "function": label.name,
                "line": label.line,
                "driver": label.driver,
                "code": code,
                "style": label.style and code == "LL002",
                "why": label.why,
            }
            for label, code in with_style.false_negatives
        ],
        "unlabelled": [
            {"repo": f.repo, "path": f.path, "row": f.row, "code": f.code, "message": f.message}
            for f in run.unlabelled
        ],
        "problems": run.problems,
    }


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--mirror",
        type=Path,
        default=Path("/work/.mirror"),
        help="folder holding <owner>+<name>/ bare git directories (default: %(default)s)",
    )
    parser.add_argument("--manifest", type=Path, default=CORPUS / "manifest.toml")
    parser.add_argument("--labels", type=Path, default=CORPUS / "labels.toml")
    parser.add_argument(
        "--repo", action="append", default=[], help="only this repository (repeatable)"
    )
    parser.add_argument("--json", type=Path, help="also write the numbers and lists to this file")
    parser.add_argument("--keep", type=Path, help="materialise into this folder and keep it")
    parser.add_argument(
        "--no-type-inference",
        action="store_true",
        help="run leaklint without type inference (to see what inference adds)",
    )
    args = parser.parse_args(argv)

    manifest, labels = load_corpus(args.manifest, args.labels)
    if args.repo:
        manifest = [entry for entry in manifest if entry["name"] in args.repo]
        labels = [label for label in labels if label.repo in args.repo]
    workspace = args.keep or Path(tempfile.mkdtemp(prefix="leaklint-corpus-"))
    try:
        options = ["--no-type-inference"] if args.no_type_inference else []
        run = run_corpus(manifest, labels, args.mirror, workspace, options)
    finally:
        if args.keep is None:
            shutil.rmtree(workspace, ignore_errors=True)
    with_style = score(run.labels, run.reported, with_style=True)
    without_style = score(run.labels, run.reported, with_style=False)
    print_report(run, with_style, without_style)
    if args.json:
        document = as_document(run, with_style, without_style)
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
