"""Fuzzing at scale: ``leaklint --fix --unsafe-fixes`` on a copy of real code, then proof that
nothing broke.

Usage: ``python benchmarks/fuzz_fix.py [--site-packages] [--keep]``. Copies the running
interpreter's standard library (and, with ``--site-packages``, the test environment's
site-packages) into a temporary folder, fixes it twice, and reports:

* files, findings per rule before fixing, fixes applied;
* crashes (a traceback or exit code 2 with an internal error) — must be 0;
* files that no longer compile after the fix — must be 0 (files that did not compile before
  are left out);
* fixes the second run still finds to make (non-idempotent) — must be 0;
* files touched that had no finding — must be 0.

It is a script, not part of the test suite: it takes minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path


def _digests(root: Path) -> dict[Path, str]:
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*.py")
        if path.is_file() and not path.is_symlink()
    }


def _compiles(path: Path) -> bool:
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _leaklint(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "leaklint", "--no-cache", "--no-type-inference", *args]
    return subprocess.run(command, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-packages", action="store_true", help="also fix site-packages")
    parser.add_argument("--keep", action="store_true", help="keep the fixed copy")
    options = parser.parse_args()

    workspace = Path(tempfile.mkdtemp(prefix="leaklint-fuzz-"))
    sources = {"stdlib": Path(sysconfig.get_paths()["stdlib"])}
    if options.site_packages:
        sources["site-packages"] = Path(sysconfig.get_paths()["purelib"])
    for name, source in sources.items():
        # site-packages is skipped inside the stdlib copy: it is its own corpus
        shutil.copytree(
            source,
            workspace / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "site-packages"),
        )
    roots = [str(workspace / name) for name in sources]
    before = _digests(workspace)
    compiled_before = {path for path in before if _compiles(path)}

    started = time.perf_counter()
    report = _leaklint("--output-format", "json", "--exit-zero", "--unsafe-fixes", *roots)
    findings = json.loads(report.stdout or "[]")
    per_rule = Counter(record["code"] for record in findings)
    with_findings = {Path(record["filename"]).resolve() for record in findings}
    fixable = sum(1 for record in findings if record["fix"] is not None)

    first = _leaklint("--fix", "--unsafe-fixes", "--exit-zero", *roots)
    second = _leaklint("--diff", "--unsafe-fixes", *roots)
    elapsed = time.perf_counter() - started

    after = _digests(workspace)
    changed = {path for path in after if before.get(path) != after[path]}
    broken = sorted(path for path in changed if path in compiled_before and not _compiles(path))
    touched_without_finding = sorted(
        path for path in changed if path.resolve() not in with_findings
    )
    crashes = [
        run
        for run in (report, first, second)
        if "Traceback" in run.stderr or "internal error" in run.stderr
    ]
    non_idempotent = [line for line in second.stdout.splitlines() if line.startswith("+++ ")]

    print(f"corpus: {', '.join(f'{name} ({path})' for name, path in sources.items())}")
    print(f"python files: {len(before)}")
    by_rule = ", ".join(f"{code} {count}" for code, count in sorted(per_rule.items()))
    print(f"findings: {sum(per_rule.values())} ({by_rule})")
    print(f"fixable with --unsafe-fixes: {fixable}")
    print(f"files changed by --fix: {len(changed)}")
    print(f"crashes: {len(crashes)}")
    print(f"files that no longer compile: {len(broken)}")
    print(f"files a second --fix would change: {len(non_idempotent)}")
    print(f"files changed without a finding: {len(touched_without_finding)}")
    print(f"wall time of the three runs: {elapsed:.1f} s")
    for run in crashes:
        print(run.stderr[-2000:], file=sys.stderr)
    for path in [*broken, *touched_without_finding]:
        print(f"problem: {path}", file=sys.stderr)
    for line in non_idempotent:
        print(f"not idempotent: {line[4:]}", file=sys.stderr)
    if options.keep:
        print(f"fixed copy kept in {workspace}")
    else:
        shutil.rmtree(workspace, ignore_errors=True)
    failed = crashes or broken or non_idempotent or touched_without_finding
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
