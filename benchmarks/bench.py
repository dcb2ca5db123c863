"""The performance harness (DESIGN §5): leaklint against ruff, and flake8 with and without the
leaklint plugin, run alternately on the same tree, reported as medians and ratios.

Usage: ``python benchmarks/bench.py [--repeat N] [--flake8-repeat N] [--corpus DIR]``.
The corpus is a copy of the running interpreter's standard library without site-packages (a
copy, because the original often sits in a git checkout whose .gitignore hides it). Needs
``ruff`` and ``flake8`` on PATH. It is a script, not part of the test suite: the machine is
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


def version(command: Sequence[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--flake8-repeat", type=int, default=3)
    parser.add_argument("--corpus", type=Path, help="an existing tree instead of a fresh copy")
    options = parser.parse_args()
    for tool in ("ruff", "flake8", "leaklint"):
        if shutil.which(tool) is None:
            print(f"{tool} is not on PATH", file=sys.stderr)
            return 2

    workspace = Path(tempfile.mkdtemp(prefix="leaklint-bench-"))
    corpus = options.corpus or workspace / "stdlib"
    files = sum(1 for _ in corpus.rglob("*.py")) if options.corpus else prepare_corpus(corpus)
    runner = workspace / "flake8_runner.py"
    runner.write_text(FLAKE8_RUNNER, encoding="utf-8")
    ruff = [
        "ruff",
        "check",
        "--no-cache",
        "--select",
        "SIM115",
        "--exit-zero",
        "--quiet",
        str(corpus),
    ]
    leaklint_cold = ["leaklint", "--no-cache", "--exit-zero", str(corpus)]
    leaklint_warm = ["leaklint", "--exit-zero", str(corpus)]
    cache = corpus / ".leaklint_cache"

    def clear_cache() -> None:
        shutil.rmtree(cache, ignore_errors=True)

    subprocess.run(leaklint_warm, cwd=corpus, capture_output=True)  # prime the cache
    speed = alternate(
        {"ruff": ruff, "cold": leaklint_cold, "warm": leaklint_warm},
        corpus,
        options.repeat,
        {},
    )
    flake8 = alternate(
        {
            "without": [
                sys.executable,
                str(runner),
                "without",
                "--exit-zero",
                "-j",
                "2",
                str(corpus),
            ],
            "with": [sys.executable, str(runner), "with", "--exit-zero", "-j", "2", str(corpus)],
        },
        corpus,
        options.flake8_repeat,
        {},
    )
    clear_cache()

    ruff_time = speed["ruff"][0]
    rows = [
        ("cold `leaklint --no-cache`", speed["cold"], ruff_time, "≤ 1.0 x ruff"),
        ("warm `leaklint` (cache)", speed["warm"], ruff_time, "≤ 0.2 x ruff"),
        ("`ruff check --no-cache --select SIM115`", speed["ruff"], ruff_time, "baseline"),
        (
            "`flake8` with the leaklint plugin",
            flake8["with"],
            flake8["without"][0],
            "≤ 1.03 x without",
        ),
        ("`flake8` without it", flake8["without"], flake8["without"][0], "baseline"),
    ]
    print(f"machine: {machine()}")
    print(
        f"corpus: {files} files ({corpus}); {version(['ruff', '--version'])}; "
        f"flake8 {version(['flake8', '--version']).split()[0]}; "
        f"{version(['leaklint', '--version'])}"
    )
    print(f"medians of {options.repeat} alternating runs ({options.flake8_repeat} for flake8)\n")
    print("| run | wall time | ratio | target | peak RSS |")
    print("|---|---|---|---|---|")
    for name, (elapsed, peak), baseline, target in rows:
        print(f"| {name} | {elapsed:.2f} s | {elapsed / baseline:.2f} | {target} | {peak:.0f} MB |")
    shutil.rmtree(workspace, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
