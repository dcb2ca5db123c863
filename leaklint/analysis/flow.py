"""The analysis's entry: find a module's generator functions and build each one's facts
(``facts``), with its driver (``targets``), its resources (``collector``) and the yield that
runs twice (``paths``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Container, Iterable, Iterator

from leaklint.analysis.collector import ResourceCollector
from leaklint.analysis.facts import GeneratorFacts, YieldSite
from leaklint.analysis.imports import ImportMap, statements
from leaklint.analysis.paths import YieldCounter
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase
from leaklint.analysis.syntax import TRY_NODE_NAMES, in_any, in_loop, own_scope
from leaklint.analysis.targets import (
    ModuleName,
    ProjectIndex,
    TargetKind,
    classify,
    presumed_driver,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional

    from leaklint.analysis.collector import Oracle
    from leaklint.analysis.targets import FunctionNode

__all__ = ["analyse_function", "analyse_module", "noreturn_functions"]


def analyse_module(
    tree: ast.Module,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    oracle: Optional[Oracle] = None,
    yield_rows: Optional[Iterable[int]] = None,
    module: ModuleName = (),
    noreturn: frozenset[str] = frozenset(),
    entered: Container[str] = frozenset(),
) -> Iterator[GeneratorFacts]:
    """The facts of every generator function in a module, nested ones included; ``entered``
    are the names the module enters with ``with`` (``targets.EnteredNames``).

    ``yield_rows``, when the caller knows them from the text, lets the functions be found by
    their line ranges in a walk over statements only, instead of a walk over every node."""
    if yield_rows is None:
        functions = _generator_functions(tree)
        classes = _functions_and_classes(tree)[1] if functions else {}
    else:
        every, classes = _functions_and_classes(tree)
        functions = _functions_spanning(every, yield_rows)
    delegators = _delegators(functions)
    for function in functions:
        delegated_by = None
        if function.name in delegators and function.col_offset == 0:
            # `yield from _make_app(config)` in a fixture: driven as the fixture is
            kinds = [
                classify(delegator, imports, index, knowledge, module, entered=entered)
                for delegator in delegators[function.name]
            ]
            # every generator that delegates to it is driven alike: so is it
            alike = all(kind.known and kind.names == kinds[0].names for kind in kinds)
            delegated_by = kinds[0] if alike else None
        facts = analyse_function(
            function,
            imports,
            index,
            knowledge,
            oracle,
            module,
            classes.get(id(function)),
            delegated_by,
            entered,
        )
        if facts is not None:
            facts.noreturn = noreturn
            facts.module_tree = tree
            yield facts


_NORETURN = re.compile(
    r"def\s+(\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*->\s*[\"']?(?:[\w.]+\.)?(?:NoReturn|Never)\b"
)


def noreturn_functions(text: str) -> frozenset[str]:
    """Names of the functions a module's text declares ``-> NoReturn`` or ``-> Never``."""
    if "NoReturn" not in text and "Never" not in text:
        return frozenset()
    return frozenset(_NORETURN.findall(text))


def _functions_and_classes(
    tree: ast.Module,
) -> tuple[list[FunctionNode], dict[int, ast.ClassDef]]:
    """Every function of the module, and the class each method is defined in (by the
    method's id), in one walk over its statements."""
    functions: list[FunctionNode] = []
    classes: dict[int, ast.ClassDef] = {}
    for statement in statements(tree.body):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(statement)
        elif isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    classes[id(item)] = statement
    return functions, classes


def _functions_spanning(functions: list[FunctionNode], rows: Iterable[int]) -> list[FunctionNode]:
    """The innermost function around each row (a function that does not really yield there
    is dropped later by the analysis)."""
    found: dict[int, FunctionNode] = {}
    for row in rows:
        around = [f for f in functions if f.lineno <= row <= (f.end_lineno or f.lineno)]
        if around:
            innermost = max(around, key=lambda f: f.lineno)
            found.setdefault(id(innermost), innermost)
    return sorted(found.values(), key=lambda node: (node.lineno, node.col_offset))


def _generator_functions(tree: ast.Module) -> list[FunctionNode]:
    """Functions whose own body holds a ``yield``, found in one walk of the module."""
    found: dict[int, FunctionNode] = {}
    stack: list[tuple[ast.AST, Optional[FunctionNode]]] = [(tree, None)]
    while stack:
        node, function = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)) and function is not None:
            found.setdefault(id(function), function)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node
        elif isinstance(node, (ast.Lambda, ast.ClassDef)):
            function = None  # a yield here is not the enclosing function's
        stack.extend((child, function) for child in ast.iter_child_nodes(node))
    return sorted(found.values(), key=lambda node: (node.lineno, node.col_offset))


def _delegators(functions: list[FunctionNode]) -> dict[str, list[FunctionNode]]:
    """The generators of the module that hand their ``yield`` over to another function of it
    (``yield from _make_app(config)``), by the name they call."""
    found: dict[str, list[FunctionNode]] = {}
    for function in functions:
        # `yield from f(...)` as a statement, or the value of one (`x = yield from f()`,
        # `return (yield from f())`): a walk over statements, not every expression
        for statement in statements(function.body):
            node = getattr(statement, "value", None)
            if (
                isinstance(node, ast.YieldFrom)
                and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
            ):
                found.setdefault(node.value.func.id, []).append(function)
    return found


def _presumed(
    function: FunctionNode,
    imports: ImportMap,
    module: ModuleName,
    yields: list[YieldSite],
    builder: ResourceCollector,
) -> Optional[TargetKind]:
    """The driver a generator no known driver takes is presumed to have, from its own source
    (``targets.presumed_driver``): only for one ``yield``, not in a loop, or the loop of a
    generator handed on (``async for session in session_scope(): yield session``)."""
    if len(yields) != 1 or isinstance(yields[0].node, ast.YieldFrom):
        return None
    node = yields[0].node
    handing_on = yields[0].in_loop and _hands_on_a_generator(node, builder.parent)
    if yields[0].in_loop and not handing_on:
        return None
    holds = handing_on or any(
        resource.acquisition is not None or resource.managing_withs or resource.release_sites
        for resource in builder.resources.values()
    )
    driver = presumed_driver(function, imports, module, node.value is not None, holds)
    return TargetKind((driver,)) if driver is not None else None


def _hands_on_a_generator(node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    """The ``yield`` is the whole body of a ``for``/``async for`` over a call."""
    statement = parent.get(node)
    loop = parent.get(statement) if statement is not None else None
    return (
        isinstance(loop, (ast.For, ast.AsyncFor))
        and isinstance(loop.iter, ast.Call)
        and len(loop.body) == 1
        and loop.body[0] is statement
    )


def analyse_function(
    function: FunctionNode,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    oracle: Optional[Oracle] = None,
    module: ModuleName = (),
    owner_class: Optional[ast.ClassDef] = None,
    delegated_by: Optional[TargetKind] = None,
    entered: Container[str] = frozenset(),
) -> Optional[GeneratorFacts]:
    """The facts of one function, or ``None`` when it is not a generator; ``owner_class`` is
    the class a method is defined in (its ``self.<attr>`` factories are read from there);
    ``delegated_by`` is how the one generator that hands its ``yield`` over to this function is
    driven, when this function has no driver of its own."""
    parent: dict[ast.AST, ast.AST] = {}
    own_nodes = list(own_scope(function, parent))
    yields = [
        YieldSite(node, in_loop(node, parent, function))
        for node in own_nodes
        if isinstance(node, (ast.Yield, ast.YieldFrom))
    ]
    if not yields:
        return None
    target = classify(
        function,
        imports,
        index,
        knowledge,
        module,
        owner_class.name if owner_class else None,
        entered,
    )
    if not target.known and delegated_by is not None:
        target = delegated_by
    # inference only where a finding can follow: generators with a known driver, or of the
    # shape whose driver may be presumed from what it holds (`_presumed`)
    presumable = (
        not target.known
        and not function.decorator_list
        and not function.col_offset
        and len(yields) == 1
    )
    infer = oracle if oracle is not None and (target.known or presumable) else None
    builder = ResourceCollector(
        function, imports, index, parent, yields, knowledge, infer, module, owner_class
    )
    builder.collect(own_nodes)
    if not target.known:
        target = _presumed(function, imports, module, yields, builder) or target
    counter = YieldCounter(
        [site.node for site in yields],
        parent,
        thrown_in=not target.known or target.throws,
    )
    return GeneratorFacts(
        node=function,
        target=target,
        yields=yields,
        resources=list(builder.resources.values()),
        anonymous_acquisitions=builder.anonymous,
        parent=parent,
        parameters=frozenset(builder.parameters),
        knowledge=knowledge,
        handlers_around_yield=[
            handler
            for node in own_nodes
            if type(node).__name__ in TRY_NODE_NAMES
            and any(in_any([node.body], site.node, parent) for site in yields)  # type: ignore[attr-defined]
            for handler in node.handlers  # type: ignore[attr-defined]
        ],
        extra_yield=counter.block(function.body, 0).extra,
        imports=imports,
        module=module,
    )
