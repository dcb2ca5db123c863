"""Check that the shortcuts the project index takes lose nothing, over any trees of code.

Usage: ``python benchmarks/index_parity.py PATH [PATH ...]``.

For every file that may feed the index, the index read by walking only the statements that
spell a registration (``index_module`` with the text) must equal the full walk; for every such
file without ``yield``, the index read from its registering statements alone
(``registrations_of``, no whole parse) must equal it too, or decline; and a file whose
markers are all in comment lines (so it is not read for the index) must contribute nothing.
Prints the counts and each file that differs; exits 1 if any does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from leaklint.analysis.resources import DEFAULT_KNOWLEDGE
from leaklint.analysis.targets import ProjectIndex, index_module, module_name
from leaklint.parse import ParsedModule, may_feed_index, may_have_targets, parse
from leaklint.runner import registrations_of


def main(roots: list[str]) -> int:
    checked = declined = commented = 0
    differ: list[str] = []
    whole_time = partial_time = 0.0
    for root in roots:
        for path in sorted(Path(root).rglob("*.py")):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > 3_000_000:
                continue
            if not may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):
                if any(marker in data for marker in DEFAULT_KNOWLEDGE.index_markers):
                    # its markers are all in comment lines: it must contribute nothing
                    commented += 1
                    parsed = parse(str(path), data)
                    if (
                        isinstance(parsed, ParsedModule)
                        and index_module(
                            parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module_name(str(path))
                        )
                        != ProjectIndex()
                    ):
                        differ.append(f"{path}: a registration in a file read as comments only")
                continue
            started = time.perf_counter()
            parsed = parse(str(path), data)
            if not isinstance(parsed, ParsedModule):
                continue
            module = module_name(str(path))
            full = index_module(parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module)
            elapsed = time.perf_counter() - started
            walked = index_module(
                parsed.tree, parsed.imports, DEFAULT_KNOWLEDGE, module, parsed.text
            )
            if walked != full:
                differ.append(f"{path}: walking the registering statements only")
            checked += 1
            if may_have_targets(data):
                continue
            whole_time += elapsed
            started = time.perf_counter()
            partial = registrations_of(str(path), data, DEFAULT_KNOWLEDGE)
            partial_time += time.perf_counter() - started
            if partial is None:
                declined += 1
            elif partial != full:
                differ.append(f"{path}: parsing the registering statements only")
    print(
        f"files that may feed the index: {checked}; without yield, read in part declined: "
        f"{declined}; markers in comment lines only: {commented}; differ: {len(differ)}"
    )
    print(
        f"parse + index of the files without yield: whole {whole_time:.2f} s, "
        f"in part {partial_time:.2f} s"
    )
    for line in differ:
        print(line)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
