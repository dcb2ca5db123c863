"""Check that reading a module in part answers as parsing it whole does, over any trees of code.

Usage: ``python benchmarks/source_parity.py PATH [PATH ...]``.

The project source (``leaklint.analysis.declared.Definitions``) answers what calling a
module's top-level name returns. It reads a module as its imports and the top-level
statements that spell the name asked about, rather than parsing it whole. For every module
under the paths that parses, every name bound at its top (at most ``--names`` of them), and
every method of each class among them (``Class.method``, read from an outline of the class
with that method's body), is asked about both ways, each way with a fresh reader, and the
answers must be the same. Prints the counts, the time each way, and each name whose answers
differ; exits 1 if any does.
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

from leaklint.analysis.declared import Definitions, _bound_by


def names_of(tree: ast.Module) -> list[str]:
    """The names the module binds at its top, in order."""
    return sorted({name for statement in tree.body for name in _bound_by(statement)} - {"*"})


def questions_of(tree: ast.Module, names: list[str]) -> list[list[str]]:
    """Each of ``names`` alone, then ``[class, method]`` for the methods of the classes among
    them."""
    asked = set(names)
    methods = [
        [statement.name, item.name]
        for statement in tree.body
        if isinstance(statement, ast.ClassDef) and statement.name in asked
        for item in statement.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    return [[name] for name in names] + methods


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--names", type=int, default=40, help="names asked per module")
    arguments = parser.parse_args()
    modules = asked = 0
    differ: list[str] = []
    took = {True: 0.0, False: 0.0}
    for root in arguments.paths:
        for path in sorted(Path(root).rglob("*.py")):
            try:
                tree = ast.parse(path.read_bytes())
            except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
                continue
            questions = questions_of(tree, names_of(tree)[: arguments.names])
            if not questions:
                continue
            modules += 1
            asked += len(questions)
            answers = {}
            for in_part in (True, False):
                definitions = Definitions(in_part=in_part)
                started = time.perf_counter()
                answers[in_part] = [
                    definitions.answer(str(path), None, names, "module") for names in questions
                ]
                took[in_part] += time.perf_counter() - started
            for names, part, whole in zip(questions, answers[True], answers[False]):
                if part != whole:
                    name = ".".join(names)
                    differ.append(f"{path}: {name}: in part {part!r}, whole {whole!r}")
    print(f"modules: {modules}; questions asked: {asked}; answers that differ: {len(differ)}")
    print(f"answering: in part {took[True]:.2f} s, whole {took[False]:.2f} s")
    for line in differ:
        print(line)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
