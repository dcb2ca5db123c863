"""The flake8 plugin: the same rules, on the tree flake8 has already parsed.

flake8 runs every plugin on every file, so a file without ``yield`` costs one search of its text.
flake8 sees one file at a time: dependencies are found through ``Depends`` references in the same
file and through their shape (one ``yield`` with a resource acquired before it).
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence

from leaklint import __version__
from leaklint.analysis.drivers import project_driver
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase, ResourceType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

Problem = tuple[int, int, str, type]


class Plugin:
    """flake8 extension ``LL``: reports leaklint's findings as ``LL0xx`` codes."""

    name = "leaklint"
    version = __version__

    knowledge: ClassVar[KnowledgeBase] = DEFAULT_KNOWLEDGE
    type_inference: ClassVar[bool] = False

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, option_manager: Any) -> None:
        """Register the ``[tool.leaklint]`` knobs as flake8 options (readable from setup.cfg,
        .flake8 and tox.ini)."""
        option_manager.add_option(
            "--leaklint-resource-factories",
            default="",
            parse_from_config=True,
            comma_separated_list=True,
            help="Calls that return a resource, as NAME=RELEASE or NAME=RELEASE:async "
            "(e.g. app.db.get_connection=close). NAME may be a pattern such as *.connect.",
        )
        option_manager.add_option(
            "--leaklint-release-methods",
            default="",
            parse_from_config=True,
            comma_separated_list=True,
            help="More release methods, NAME or NAME:async for coroutines (e.g. finish).",
        )
        option_manager.add_option(
            "--leaklint-dependency-markers",
            default="",
            parse_from_config=True,
            comma_separated_list=True,
            help="Calls and decorators besides Depends/Security that take a dependency.",
        )
        option_manager.add_option(
            "--leaklint-drivers",
            default="",
            parse_from_config=True,
            comma_separated_list=True,
            help="More drivers, as FINALIZATION:CALL or FINALIZATION:@DECORATOR, FINALIZATION"
            " being throw or resume (e.g. throw:taskiq.TaskiqDepends).",
        )
        option_manager.add_option(
            "--leaklint-type-inference",
            action="store_true",
            default=False,
            parse_from_config=True,
            help="Ask astroid about calls the knowledge base does not know (slower).",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Build the knowledge base from the options once per flake8 run."""
        factories = {}
        for entry in options.leaklint_resource_factories:
            name, _, release = entry.partition("=")
            method, _, flavour = (release or "close").partition(":")
            factories[name.strip()] = ResourceType(
                name.strip(), release=method.strip(), release_is_async=flavour.strip() == "async"
            )
        release_methods = {
            name.strip(): flavour.strip() == "async"
            for name, _, flavour in (
                entry.partition(":") for entry in options.leaklint_release_methods
            )
        }
        drivers = []
        for entry in options.leaklint_drivers:
            finalization, _, target = entry.strip().partition(":")
            decorator = target.startswith("@")
            try:
                drivers.append(
                    project_driver(
                        target,
                        finalization,
                        decorators=[target[1:]] if decorator else [],
                        calls=[] if decorator else [target],
                    )
                )
            except ValueError as error:
                raise ValueError(f"--leaklint-drivers {entry.strip()!r}: {error}") from None
        cls.knowledge = DEFAULT_KNOWLEDGE.extended(
            factories, release_methods, options.leaklint_dependency_markers, drivers
        )
        cls.type_inference = bool(options.leaklint_type_inference)

    def run(self) -> Iterator[Problem]:
        """Yield ``(row, column, "LL0xx message", type)`` for each finding in the file."""
        text = "".join(self.lines)
        if "yield" not in text or not isinstance(self.tree, ast.Module):
            return
        # the analysis is imported only for files that can have a finding
        from leaklint.analysis.imports import ImportMap
        from leaklint.analysis.targets import ProjectIndex
        from leaklint.parse import ParsedModule, may_feed_index, rows_with
        from leaklint.rules import RULES
        from leaklint.runner import build_index, check_module
        from leaklint.settings import Settings

        parsed = ParsedModule(
            self.filename, text.encode("utf-8"), text, self.tree, ImportMap(self.tree)
        )
        settings = Settings(
            select=frozenset(rule.code for rule in RULES),
            knowledge=self.knowledge,
            type_inference=self.type_inference,
        )
        types = None
        if self.type_inference:
            from leaklint.analysis.inference import TypeOracle

            types = TypeOracle(knowledge=self.knowledge)
        # the index matters only where this file references a dependency itself
        if may_feed_index(parsed.data, self.knowledge.index_markers):
            index = build_index([parsed], self.knowledge)
        else:
            index = ProjectIndex()
        # rows with `yield` locate the generators without walking every expression
        yield_rows = [index + 1 for index in rows_with(("yield",), self.lines)]
        for diagnostic in check_module(parsed, index, settings, types, yield_rows):
            location = diagnostic.location
            # flake8 columns are 0-based; it adds one when it prints them
            yield (
                location.row,
                location.column - 1,
                f"{diagnostic.code} {diagnostic.message}",
                type(self),
            )
