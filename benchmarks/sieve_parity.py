"""Check that the sieve (generators no rule could report are left unparsed) loses nothing, over
any trees of code.

Usage: ``python benchmarks/sieve_parity.py PATH [PATH ...]``.

Each PATH is one project: its index is built as a run builds it. Every file with ``yield``
that a run parses in part (it does not feed the index) is checked three ways: parsed whole,
cut into its generators, and cut into the generators the sieve keeps. The sieved findings must
equal the cut ones, and every generator the sieve leaves out must hold nothing a rule reads
(no driver, acquisition, release, resource ``with`` or commit, read from the whole parse).
Cut and whole findings that differ are listed too, apart: that is the older shortcut's
parity, which the sieve does not change. Exits 1 if the sieve loses anything.
"""

from __future__ import annotations

import ast
import sys
import time
from pathlib import Path

from leaklint.analysis.flow import analyse_module
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE
from leaklint.analysis.sieve import Sieve
from leaklint.analysis.targets import ProjectIndex, index_module, module_name
from leaklint.parse import ParsedModule, may_feed_index, may_have_targets, parse
from leaklint.rules import RULES
from leaklint.runner import check_module
from leaklint.settings import Settings

SETTINGS = Settings(select=frozenset(rule.code for rule in RULES), type_inference=False)


def functions(tree: ast.Module) -> set[tuple[str, int]]:
    return {
        (node.name, node.lineno)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def evidence(module: ParsedModule, index: ProjectIndex) -> dict[tuple[str, int], list[str]]:
    """What a rule reads in each generator function of a whole parse."""
    found: dict[tuple[str, int], list[str]] = {}
    facts_of_module = analyse_module(
        module.tree, module.imports, index, DEFAULT_KNOWLEDGE, None, None,
        module_name(module.filename),
    )  # fmt: skip
    for facts in facts_of_module:
        seen = ["a driver"] if facts.target.known else []
        seen += ["a yielded acquisition"] if facts.anonymous_acquisitions else []
        for resource in facts.resources:
            kind = resource.resource_type
            if kind is not None and kind.undo and not facts.target.known:
                # an undo (`markers[id] = o` ... `del markers[id]` in a plain iterator) is read
                # only where a driver throws in (LL001) or in a `finally` (LL014), and the
                # sieve keeps both by their words; a generator without either reports nothing
                continue
            if resource.acquisition is not None or resource.lost_acquisitions:
                seen.append(f"an acquisition of {resource.key}")
            if resource.release_sites:
                seen.append(f"a release of {resource.key}")
            if any(managing.resource_type for managing in resource.managing_withs):
                seen.append(f"a `with` over {resource.key}")
        seen += [
            "a commit"
            for node in ast.walk(facts.node)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "commit"
        ]
        found[(facts.node.name, facts.node.lineno)] = seen
    return found


def _findings(parsed: ParsedModule, index: ProjectIndex) -> list[tuple[object, ...]]:
    return [
        (d.location, d.end_location, d.code, d.message)
        for d in check_module(parsed, index, SETTINGS)
    ]


def main(roots: list[str]) -> int:
    files = generators = dropped = findings = 0
    lost: list[str] = []
    older: list[str] = []
    cut_time = sieved_time = 0.0
    for root in roots:
        sources: list[tuple[Path, bytes]] = []
        index = ProjectIndex()
        for path in sorted(Path(root).rglob("*.py")):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if len(data) > 3_000_000:
                continue
            if may_feed_index(data, DEFAULT_KNOWLEDGE.index_markers):
                parsed = parse(str(path), data)
                if isinstance(parsed, ParsedModule):
                    index.merge(
                        index_module(
                            parsed.tree,
                            parsed.imports,
                            DEFAULT_KNOWLEDGE,
                            module_name(str(path)),
                            parsed.text,
                        )
                    )
            elif may_have_targets(data):
                sources.append((path, data))
        sieve = Sieve(DEFAULT_KNOWLEDGE, index)
        for path, data in sources:
            whole = parse(str(path), data)
            if not isinstance(whole, ParsedModule):
                continue
            started = time.perf_counter()
            cut = parse(str(path), data, whole=False)
            cut_time += time.perf_counter() - started
            started = time.perf_counter()
            sieved = parse(str(path), data, whole=False, sieve=sieve)
            sieved_time += time.perf_counter() - started
            if not isinstance(cut, ParsedModule) or not isinstance(sieved, ParsedModule):
                lost.append(f"{path}: a cut parse failed where the whole one did not")
                continue
            files += 1
            cut_found, sieved_found = _findings(cut, index), _findings(sieved, index)
            findings += len(cut_found)
            if sieved_found != cut_found:
                lost.append(f"{path}: findings {cut_found} cut, {sieved_found} sieved")
            if cut_found != _findings(whole, index):
                older.append(f"{path}: the cut findings differ from the whole parse's")
            left_out = functions(cut.tree) - functions(sieved.tree)
            for function, seen in evidence(whole, index).items():
                generators += 1
                if function in left_out:
                    dropped += 1
                    if seen:
                        lost.append(f"{path}:{function[1]}: `{function[0]}` left out: {seen}")
    print(
        f"files cut into generators: {files}; generator functions: {generators}, left out by "
        f"the sieve: {dropped}; findings: {findings}; lost by the sieve: {len(lost)}"
    )
    print(f"cut parse {cut_time:.2f} s, sieved {sieved_time:.2f} s (one process)")
    for line in lost:
        print(line)
    if older:
        print(f"cut and whole parses differ in {len(older)} files (not the sieve's doing):")
        for line in older:
            print(f"  {line}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
