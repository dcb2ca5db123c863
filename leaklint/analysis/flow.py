"""Resource facts for each generator: where it is acquired, yielded and released, on which paths.

Paths, in the design's words: **N** the generator is resumed normally and runs to its end; **T** an
exception is thrown in at the ``yield`` (or ``GeneratorExit`` on ``close()``). A release protects
the T path when it sits in the ``finally`` of a ``try`` around the ``yield``, in a handler that
catches what is thrown in, or is done by a ``with`` around the ``yield``.
"""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from leaklint.analysis.imports import ImportMap, dotted_name, dotted_parts
from leaklint.analysis.resources import (
    CONVENTIONAL_SESSION_FACTORIES,
    DEFAULT_KNOWLEDGE,
    METHOD_FACTORIES,
    NAMED_ASYNC_SESSION,
    NAMED_SESSION,
    OWNER_RELEASE_METHODS,
    OWNERSHIP_TRANSFERS,
    POOL_CHECKOUTS,
    SESSION_FACTORY_MAKERS,
    KnowledgeBase,
    ResourceType,
)
from leaklint.analysis.targets import (
    FunctionNode,
    ModuleName,
    ProjectIndex,
    TargetKind,
    classify,
)

Oracle = Callable[[str, ast.Call, bool], Optional[ResourceType]]
"""Type inference for a call the knowledge base does not know: (qualified callee, call,
callee imported) to a resource type."""

Statement = ast.stmt
YieldNode = Union[ast.Yield, ast.YieldFrom]

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_TRY_NODE_NAMES = frozenset({"Try", "TryStar"})  # `except*` (TryStar) exists from Python 3.11
_BROAD_HANDLERS = frozenset({"BaseException", "Exception", "GeneratorExit"})
_REGISTRATION_CALLS = frozenset(
    {
        "enter_context",
        "enter_async_context",
        "push",
        "push_async_exit",
        "callback",
        "push_async_callback",
        "closing",
        "aclosing",
        "addfinalizer",
        "add_task",
        "register",
        "finalize",
    }
)
"""Calls that take over a resource or its release: ExitStack, ``closing``, finalizers."""
_CONTAINER_STORES = frozenset({"append", "add", "put", "put_nowait", "extend", "setdefault"})


@dataclass(frozen=True)
class YieldSite:
    """A ``yield`` or ``yield from`` in the generator's own body."""

    node: YieldNode
    in_loop: bool


@dataclass(frozen=True)
class ReleaseSite:
    """A call that releases a resource: ``db.close()``, ``await client.aclose()``,
    ``pool.putconn(conn)``."""

    call: ast.Call
    statement: Statement
    awaited: bool
    protects_throw_path: bool
    """In a ``finally`` or catching handler of a ``try`` around a ``yield``."""
    after_yield: bool
    in_handler: bool
    guarding_try: Optional[ast.stmt] = None
    """The ``try`` around a ``yield`` whose ``finally`` (or handler) holds this release."""
    discarded: bool = False
    """The call is a statement of its own: its result (a coroutine, say) is dropped."""
    helper: bool = False
    """The resource is an argument of the call, not its receiver: ``await shutdown(engine)``,
    a call in ``finally`` that takes the resource over."""

    @property
    def method(self) -> str:
        """The release method's name: ``close``, ``aclose``, ``putconn``..."""
        return self.call.func.attr if isinstance(self.call.func, ast.Attribute) else ""

    @property
    def normal_path_only(self) -> bool:
        """Runs after the ``yield`` when the generator is resumed normally, and only then."""
        return self.after_yield and not self.protects_throw_path and not self.in_handler


@dataclass(frozen=True)
class Acquisition:
    """``key = factory(...)`` before a ``yield``."""

    statement: Statement
    call: ast.Call
    awaited: bool
    resource_type: Optional[ResourceType]
    owner: Optional[str] = None
    """The pool a connection was checked out of, for ``pool.putconn(conn)``."""
    owner_release: Optional[str] = None


@dataclass(frozen=True)
class ManagingWith:
    """A ``with`` statement around a ``yield`` that manages a resource."""

    statement: Union[ast.With, ast.AsyncWith]
    item: ast.withitem
    resource_type: Optional[ResourceType]
    """Known when the ``with`` item is a factory call: ``with Session(engine) as session``."""
    explicit_closing: bool = False
    """``with closing(conn)``: released whatever the type."""


@dataclass
class ResourceFacts:
    """Everything the rules need to know about one resource in one generator."""

    key: str
    """The name or attribute chain that holds it: ``db``, ``app.state.client``."""
    acquisition: Optional[Acquisition] = None
    bound_before_yield: bool = False
    bindings: list[ast.stmt] = field(default_factory=list)
    """Statements that assign the key (or bind it with ``with ... as``)."""
    bound_only_after_yield: bool = False
    """Every binding comes after the ``yield``: nothing is held while the caller runs."""
    release_sites: list[ReleaseSite] = field(default_factory=list)
    managing_withs: list[ManagingWith] = field(default_factory=list)
    registered: bool = False
    """Handed to an ExitStack, a finalizer or ``closing()``: released by someone else."""
    escapes: bool = False
    """Stored or returned so it outlives the generator on purpose."""
    used_after_yield: bool = False
    """A method of it is called after the ``yield`` (a release leaklint may not know)."""
    handed_to_owner: bool = False
    """Passed to a resource that closes it: an httpx transport to its client."""
    lost_acquisitions: list[Acquisition] = field(default_factory=list)
    """Acquisitions whose name was bound again before anything used or released them."""

    @property
    def resource_type(self) -> Optional[ResourceType]:
        """The knowledge base's type, from the acquisition or a managing ``with``."""
        if self.acquisition is not None and self.acquisition.resource_type is not None:
            return self.acquisition.resource_type
        for managing in self.managing_withs:
            if managing.resource_type is not None:
                return managing.resource_type
        return None

    @property
    def is_local_name(self) -> bool:
        """A plain local name, not an attribute chain."""
        return "." not in self.key

    @property
    def released_by_with(self) -> bool:
        """A ``with`` around the ``yield`` releases it on every path."""
        for managing in self.managing_withs:
            if managing.explicit_closing:
                return True
            resource_type = managing.resource_type or self.resource_type
            if resource_type is None or resource_type.exit_closes:
                return True
        return False

    @property
    def throw_path_protected(self) -> bool:
        """Released when an exception is thrown in at the ``yield``."""
        return (
            self.registered
            or self.released_by_with
            or any(site.protects_throw_path for site in self.release_sites)
        )


@dataclass
class GeneratorFacts:
    """The analysis of one generator function."""

    node: FunctionNode
    target: TargetKind
    yields: list[YieldSite]
    resources: list[ResourceFacts]
    anonymous_acquisitions: list[tuple[YieldNode, ast.Call, ResourceType]]
    """``yield SessionLocal()``: a resource yielded without a name, never released."""
    parent: dict[ast.AST, ast.AST]
    parameters: frozenset[str]
    knowledge: KnowledgeBase
    handlers_around_yield: list[ast.ExceptHandler] = field(default_factory=list)
    """``except`` clauses of a ``try`` whose body yields: what is thrown in lands there."""
    extra_yield: Optional[ast.AST] = None
    """A ``yield`` that runs a second time on some path (in a loop, or after another)."""
    noreturn: frozenset[str] = frozenset()
    """Functions of the module declared never to return (``-> NoReturn``/``-> Never``)."""

    @property
    def is_async(self) -> bool:
        """An ``async def`` generator."""
        return isinstance(self.node, ast.AsyncFunctionDef)

    @property
    def is_context_manager_shaped(self) -> bool:
        """One plain ``yield``, not in a loop, with a resource bound before it."""
        if len(self.yields) != 1:
            return False
        only = self.yields[0]
        if only.in_loop or isinstance(only.node, ast.YieldFrom):
            return False
        return any(
            resource.bound_before_yield or resource.managing_withs for resource in self.resources
        ) or bool(self.anonymous_acquisitions)

    @property
    def is_target(self) -> bool:
        """Driven like a context manager: by a known driver, or shaped like one."""
        return self.target.known or self.is_context_manager_shaped

    @property
    def throws_in(self) -> bool:
        """The caller's exception is thrown in at the ``yield``: a known driver does that, or
        no driver is known and the generator is shaped like a context manager (whatever drives
        it, an abandoned generator is closed with ``GeneratorExit`` at the ``yield``)."""
        if self.target.known:
            return self.target.throws
        return self.is_context_manager_shaped

    def block_of(self, statement: Statement) -> Optional[list[Statement]]:
        """The statement list that holds ``statement`` directly."""
        return _block_holding(statement, self.parent)

    @functools.cached_property
    def local_names(self) -> frozenset[str]:
        """Names the function binds itself: parameters, assignments and other stores, and
        names it declares ``global``/``nonlocal``."""
        names = set(self.parameters)
        for node in ast.walk(self.node):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
        return frozenset(names)

    def statement_of(self, node: ast.AST) -> Statement:
        """The statement that holds ``node`` (a node of the generator's own body)."""
        current = node
        while not isinstance(current, ast.stmt):
            current = self.parent[current]
        return current

    def ancestor_in(self, node: ast.AST, block: list[Statement]) -> Optional[Statement]:
        """The statement of ``block`` that contains ``node``, if any."""
        return _ancestor_in(node, block, self.parent)


def analyse_module(
    tree: ast.Module,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    oracle: Optional[Oracle] = None,
    yield_rows: Optional[Iterable[int]] = None,
    module: ModuleName = (),
    noreturn: frozenset[str] = frozenset(),
) -> Iterator[GeneratorFacts]:
    """The facts of every generator function in a module, nested ones included.

    ``yield_rows``, when the caller knows them from the text, lets the functions be found by
    their line ranges in a walk over statements only, instead of a walk over every node."""
    functions = (
        _generator_functions(tree) if yield_rows is None else _functions_spanning(tree, yield_rows)
    )
    classes = _method_classes(tree) if functions else {}
    for function in functions:
        facts = analyse_function(
            function, imports, index, knowledge, oracle, module, classes.get(id(function))
        )
        if facts is not None:
            facts.noreturn = noreturn
            yield facts


_NORETURN = re.compile(
    r"def\s+(\w+)\s*\((?:[^()]|\([^()]*\))*\)\s*->\s*[\"']?(?:[\w.]+\.)?(?:NoReturn|Never)\b"
)


def noreturn_functions(text: str) -> frozenset[str]:
    """Names of the functions a module's text declares ``-> NoReturn`` or ``-> Never``."""
    if "NoReturn" not in text and "Never" not in text:
        return frozenset()
    return frozenset(_NORETURN.findall(text))


def _method_classes(tree: ast.Module) -> dict[int, ast.ClassDef]:
    """The class each method is defined in, by the method's id (statements only)."""
    found: dict[int, ast.ClassDef] = {}
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        statement = stack.pop()
        if isinstance(statement, ast.ClassDef):
            for item in statement.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[id(item)] = statement
        for field_name in ("body", "orelse", "finalbody"):
            stack.extend(getattr(statement, field_name, ()))
        for handler in getattr(statement, "handlers", ()):
            stack.extend(handler.body)
    return found


@functools.cache
def standard_library() -> frozenset[str]:
    """Top-level module names of the running interpreter's standard library."""
    names = getattr(sys, "stdlib_module_names", None)  # from Python 3.10
    if names is None:
        import pkgutil
        import sysconfig

        library = sysconfig.get_paths()["stdlib"]
        folders = [library, os.path.join(library, "lib-dynload")]
        names = {module.name for module in pkgutil.iter_modules(folders)}
        names |= set(sys.builtin_module_names)
    # `test` is the standard library's own test package, not listed in stdlib_module_names
    return frozenset(names) | {"builtins", "test"}


def _functions_spanning(tree: ast.Module, rows: Iterable[int]) -> list[FunctionNode]:
    """The innermost function around each row (a function that does not really yield there
    is dropped later by the analysis)."""
    functions: list[FunctionNode] = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        statement = stack.pop()
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            functions.append(statement)
        for field_name in ("body", "orelse", "finalbody"):
            stack.extend(getattr(statement, field_name, ()))
        for handler in getattr(statement, "handlers", ()):
            stack.extend(handler.body)
        for case in getattr(statement, "cases", ()):
            stack.extend(case.body)
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


def analyse_function(
    function: FunctionNode,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    oracle: Optional[Oracle] = None,
    module: ModuleName = (),
    owner_class: Optional[ast.ClassDef] = None,
) -> Optional[GeneratorFacts]:
    """The facts of one function, or ``None`` when it is not a generator; ``owner_class`` is
    the class a method is defined in (its ``self.<attr>`` factories are read from there)."""
    parent: dict[ast.AST, ast.AST] = {}
    own_nodes = list(_own_scope(function, parent))
    yields = [
        YieldSite(node, _in_loop(node, parent, function))
        for node in own_nodes
        if isinstance(node, (ast.Yield, ast.YieldFrom))
    ]
    if not yields:
        return None
    target = classify(
        function, imports, index, knowledge, module, owner_class.name if owner_class else None
    )
    # inference only where a finding can follow: generators with a known driver
    infer = oracle if oracle is not None and target.known else None
    builder = _ResourceCollector(
        function, imports, index, parent, yields, knowledge, infer, module, owner_class
    )
    builder.collect(own_nodes)
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
            if type(node).__name__ in _TRY_NODE_NAMES
            and any(_in_any([node.body], site.node, parent) for site in yields)  # type: ignore[attr-defined]
            for handler in node.handlers  # type: ignore[attr-defined]
        ],
        extra_yield=_YieldCounter().block(function.body, 0).extra,
    )


@dataclass(frozen=True)
class _PathCount:
    """Yields run so far on the worst path, whether every path has left, the first extra one."""

    count: int
    terminated: bool = False
    extra: Optional[ast.AST] = None


class _YieldCounter:
    """Counts the yields a single run can pass through, to find the one that runs twice.

    Branches take the larger count; a ``try`` adds its handlers' yields to its body's (what is
    thrown in at a yield lands in a handler); a loop whose body yields can yield again.
    """

    def block(self, statements: list[ast.stmt], before: int) -> _PathCount:
        count, extra = before, None
        for statement in statements:
            result = self.statement(statement, count)
            extra = extra or result.extra
            count = result.count
            if result.terminated:
                return _PathCount(count, True, extra)
        return _PathCount(count, False, extra)

    def statement(self, statement: ast.stmt, before: int) -> _PathCount:
        if isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
            inner = _own_yields(statement.body)
            if inner:
                return _PathCount(before + len(inner), extra=inner[0])
            return self._branches([statement.body, statement.orelse], before)
        if isinstance(statement, ast.If):
            return self._branches([statement.body, statement.orelse], before)
        if isinstance(statement, (ast.With, ast.AsyncWith)):
            heads = [y for item in statement.items for y in _own_yields([item.context_expr])]
            return self.block(statement.body, self._add(heads, before).count)
        if type(statement).__name__ in _TRY_NODE_NAMES:
            body = self.block(statement.body, before)  # type: ignore[attr-defined]
            exits = [self.block(statement.orelse, body.count)] if not body.terminated else []  # type: ignore[attr-defined]
            exits += [self.block(handler.body, body.count) for handler in statement.handlers]  # type: ignore[attr-defined]
            live = [result for result in exits if not result.terminated] or exits or [body]
            count = max(result.count for result in live)
            extra = body.extra or next((r.extra for r in exits if r.extra), None)
            final = self.block(statement.finalbody, count)  # type: ignore[attr-defined]
            terminated = bool(exits) and all(result.terminated for result in exits)
            return _PathCount(final.count, terminated or final.terminated, extra or final.extra)
        if type(statement).__name__ == "Match":  # `match` exists from Python 3.10
            cases = [case.body for case in statement.cases]  # type: ignore[attr-defined]
            return self._branches([*cases, []], before)
        result = self._add(_own_yields([statement]), before)
        terminated = isinstance(statement, (ast.Return, ast.Raise))
        return _PathCount(result.count, terminated, result.extra)

    def _branches(self, blocks: list[list[ast.stmt]], before: int) -> _PathCount:
        results = [self.block(block, before) for block in blocks]
        live = [result for result in results if not result.terminated]
        extra = next((result.extra for result in results if result.extra), None)
        count = max(result.count for result in (live or results))
        return _PathCount(count, not live, extra)

    @staticmethod
    def _add(yields: list[ast.AST], before: int) -> _PathCount:
        total = before + len(yields)
        extra = yields[max(0, 1 - before)] if yields and total >= 2 else None
        return _PathCount(total, extra=extra)


def _own_yields(nodes: list[Any]) -> list[ast.AST]:
    """The yields in ``nodes``, not counting nested functions, in source order."""
    found: list[ast.AST] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            found.append(node)
        if isinstance(node, _SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return sorted(found, key=_position)


def _own_scope(function: FunctionNode, parent: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    """Nodes of the function's body, not descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = []
    for statement in function.body:
        parent[statement] = function
        stack.append(statement)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        for child in ast.iter_child_nodes(node):
            parent[child] = node
            stack.append(child)


def _in_loop(node: ast.AST, parent: dict[ast.AST, ast.AST], function: FunctionNode) -> bool:
    current = parent.get(node)
    while current is not None and current is not function:
        if isinstance(current, _LOOPS):
            return True
        if isinstance(current, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return True
        current = parent.get(current)
    return False


def _position(node: ast.AST) -> tuple[int, int]:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def _contains(ancestor: ast.AST, node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    current: Optional[ast.AST] = node
    while current is not None:
        if current is ancestor:
            return True
        current = parent.get(current)
    return False


def _in_any(blocks: list[list[ast.stmt]], node: ast.AST, parent: dict[ast.AST, ast.AST]) -> bool:
    return any(_contains(statement, node, parent) for block in blocks for statement in block)


def _leaves(handler: ast.ExceptHandler) -> bool:
    """The clause raises or returns somewhere (nested functions aside)."""
    stack: list[ast.AST] = list(handler.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Raise, ast.Return)):
            return True
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return False


def _is_broad_handler(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted_name(kind) in _BROAD_HANDLERS for kind in kinds)


_SESSION_FACTORY_SUFFIXES = ("session", "sessionmaker", "session_factory", "sessionlocal")
"""How projects name their SQLAlchemy session factories (``local_session``,
``SessionLocal``, ``async_session_factory``)."""

_STOP_METHODS = frozenset({"cancel", "kill"})
"""Releases that stop something; on an attribute chain (``nursery.cancel_scope.cancel()``)
they end what an enclosing ``with`` manages, and are not evidence of a resource."""

_VERBS = frozenset(
    {"get", "provide", "open", "create", "make", "new", "start", "begin", "use", "scoped"}
)

_HELPER_ONLY_WORDS = frozenset({"teardown", "stop", "destroy"})
"""Words that name a release helper (``teardown_db(engine)``) but not a release method: a
``.stop()`` method is too common to be evidence of a resource on its own."""


def is_release_helper(name: str, release_methods: frozenset[str]) -> bool:
    """A function named for releasing what it is given: ``close_db``, ``shutdown``,
    ``dispose_all``, ``release_connection``, ``_teardown`` (its first word is a release
    method's name, or teardown/stop/destroy)."""
    words = name.lower().strip("_").split("_")
    return bool(words) and (words[0] in release_methods or words[0] in _HELPER_ONLY_WORDS)


def _is_truth_test(load: ast.Name, parent: dict[ast.AST, ast.AST]) -> bool:
    """The value is only tested: ``if acquired``, ``if not acquired``, ``assert acquired``."""
    current: ast.AST = load
    owner = parent.get(current)
    while isinstance(owner, (ast.UnaryOp, ast.BoolOp)) and (
        not isinstance(owner, ast.UnaryOp) or isinstance(owner.op, ast.Not)
    ):
        current, owner = owner, parent.get(owner)
    if isinstance(owner, (ast.If, ast.While, ast.IfExp, ast.Assert)):
        return getattr(owner, "test", None) is current
    return False


def _creates(node: ast.AST) -> bool:
    if isinstance(node, ast.withitem):
        return True
    value = getattr(node, "value", None)
    if isinstance(value, ast.Await):
        value = value.value
    return isinstance(value, (ast.Call, ast.Dict, ast.List, ast.Set))


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, ast.AnnAssign):
        return [node.target]
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars]
    return []


def _ancestor_in(
    node: ast.AST, block: list[ast.stmt], parent: dict[ast.AST, ast.AST]
) -> Optional[ast.stmt]:
    current: Optional[ast.AST] = node
    while current is not None:
        if isinstance(current, ast.stmt) and any(item is current for item in block):
            return current
        current = parent.get(current)
    return None


def _block_holding(statement: ast.stmt, parent: dict[ast.AST, ast.AST]) -> Optional[list[ast.stmt]]:
    owner = parent.get(statement)
    for name in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(owner, name, None)
        if isinstance(block, list) and any(item is statement for item in block):
            return block
    return None


def _index_of(block: list[ast.stmt], statement: ast.stmt) -> int:
    return next(position for position, item in enumerate(block) if item is statement)


def _class_factories(definition: ast.ClassDef, imports: ImportMap) -> dict[str, ResourceType]:
    """Session factories a class keeps: ``Session = sessionmaker(...)`` in its body,
    ``self.session_factory = async_sessionmaker(engine)`` in its methods."""
    found: dict[str, ResourceType] = {}
    for item in definition.body:
        candidates: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(item, ast.Assign):
            candidates += [(target, item.value) for target in item.targets]
        elif isinstance(item, ast.AnnAssign) and item.value is not None:
            candidates.append((item.target, item.value))
        elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(item):
                if isinstance(node, ast.Assign):
                    candidates += [
                        (target, node.value)
                        for target in node.targets
                        if isinstance(target, ast.Attribute)
                        and isinstance(target.value, ast.Name)
                        and target.value.id in ("self", "cls")
                    ]
                elif isinstance(node, ast.AnnAssign) and node.value is not None:
                    candidates.append((node.target, node.value))
        for target, value in candidates:
            if not isinstance(value, ast.Call):
                continue
            made = SESSION_FACTORY_MAKERS.get(imports.qualified_name(value.func) or "")
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if made is not None and name:
                found[name] = made
    return found


class _ResourceCollector:
    """Walks one generator's own nodes once and files each fact under its resource."""

    def __init__(
        self,
        function: FunctionNode,
        imports: ImportMap,
        index: ProjectIndex,
        parent: dict[ast.AST, ast.AST],
        yields: list[YieldSite],
        knowledge: KnowledgeBase,
        oracle: Optional[Oracle] = None,
        module: ModuleName = (),
        owner_class: Optional[ast.ClassDef] = None,
    ) -> None:
        self.knowledge = knowledge
        self.oracle = oracle
        self.module = module
        self.owner_class = owner_class
        self._class_factories: Optional[dict[str, ResourceType]] = None
        self.function = function
        self.imports = imports
        self.index = index
        self.parent = parent
        self.yields = yields
        self.first_yield = min(_position(site.node) for site in yields)
        self.resources: dict[str, ResourceFacts] = {}
        self.anonymous: list[tuple[YieldNode, ast.Call, ResourceType]] = []
        arguments = function.args
        self.parameters = {
            argument.arg
            for argument in [
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *filter(None, [arguments.vararg, arguments.kwarg]),
            ]
        }
        self._bindings: dict[str, list[ast.stmt]] = {}
        self._loads: dict[str, list[ast.Name]] = {}
        self._bound: Optional[set[str]] = None
        self._assigned: Optional[set[str]] = None
        self._argless_releases: set[str] = set()
        """Receivers of ``release()`` with no argument: locks, not pools."""

    def _resource(self, key: str) -> ResourceFacts:
        if key not in self.resources:
            self.resources[key] = ResourceFacts(key)
        return self.resources[key]

    def collect(self, nodes: list[ast.AST]) -> None:
        """File every acquisition, release, managing ``with`` and escape under its resource."""
        for node in sorted(nodes, key=_position):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                self._assignment(node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                self._with(node)
            elif isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Attribute):
                self._method_reference(node)
            elif isinstance(node, ast.Return) and node.value is not None:
                self._escape(node.value)
            elif isinstance(node, _SCOPES):
                self._captured(node)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                for name in node.names:
                    self._resource(name).escapes = True
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self._loads.setdefault(node.id, []).append(node)
            elif isinstance(node, ast.Yield) and isinstance(node.value, ast.Call):
                resource_type = self._call_type(node.value, awaited=False)
                if resource_type is not None and resource_type[0] is not None:
                    self.anonymous.append((node, node.value, resource_type[0]))
        self._settle_flags()
        self._settle_bindings()

    # acquisitions -------------------------------------------------------------------------
    def _assignment(self, node: Union[ast.Assign, ast.AnnAssign]) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:
            return
        for target in targets:
            key = dotted_name(target)
            if key is None:
                if isinstance(target, (ast.Subscript, ast.Attribute)):
                    self._escape(value)
                continue
            self._bindings.setdefault(key, []).append(node)
            if "." in key:
                self._escape(value)  # self.conn = conn: kept on purpose
            awaited = isinstance(value, ast.Await)
            call = value.value if isinstance(value, ast.Await) else value
            if not isinstance(call, ast.Call):
                if dotted_name(value) in self.resources:
                    self._escape(value)  # aliasing: other = conn
                continue
            self._rebind(key, node, value)
            if _position(node) > self.first_yield:
                continue
            typed = self._call_type(call, awaited) or self._inferred_type(call)
            if typed is None:
                continue
            resource_type, owner, owner_release = typed
            self._transfer_ownership(call)
            self._resource(key).acquisition = Acquisition(
                node, call, awaited, resource_type, owner, owner_release
            )

    def _call_type(
        self, call: ast.Call, awaited: bool
    ) -> Optional[tuple[Optional[ResourceType], Optional[str], Optional[str]]]:
        """The resource a call acquires: its type, and the pool it came from, if any."""
        func = call.func
        if isinstance(func, ast.Call):
            # sessionmaker(bind=engine)() makes a session straight away
            maker = self.imports.qualified_name(func.func)
            made = SESSION_FACTORY_MAKERS.get(maker or "")
            return (made, None, None) if made is not None else None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in self.class_factories()
        ):
            return self.class_factories()[func.attr], None, None  # self.session_factory()
        qualified = self.imports.qualified_name(func)
        if qualified is None:
            return None
        known = self.knowledge.factory_type(qualified)
        if known is not None:
            return known, None, None
        session = self.index.session_factory(qualified, self.module) or self._conventional(func)
        if session is not None:
            return session, None, None
        if not isinstance(func, ast.Attribute):
            return None
        receiver = dotted_name(func.value)
        if func.attr in POOL_CHECKOUTS and receiver is not None:
            if func.attr == "acquire" and not awaited:
                return None  # lock.acquire() returns a bool, not a connection
            owner_release, pooled = POOL_CHECKOUTS[func.attr]
            return pooled, receiver, owner_release
        if func.attr in METHOD_FACTORIES:
            method_type = METHOD_FACTORIES[func.attr]
            if awaited:
                return ResourceType(method_type.name, release_is_async=True), None, None
            return method_type, None, None
        return None

    def _conventional(self, func: ast.expr) -> Optional[ResourceType]:
        """``SessionLocal()`` where the factory is defined in a file not being linted: the
        names the FastAPI and SQLAlchemy documentation use, unless this module defines the
        name itself (its own class wins)."""
        parts = dotted_parts(func)
        if not parts or parts[0] in ("self", "cls"):
            return None
        name = parts[-1]
        if len(parts) == 1 and (
            name in self.imports.module_classes or name in self._assigned_names()
        ):
            return None  # this module's own class, or `SessionLocal = get_sessionmaker()` here
        return CONVENTIONAL_SESSION_FACTORIES.get(name)

    def _assigned_names(self) -> set[str]:
        if self._assigned is None:
            self._assigned = {
                node.id
                for node in ast.walk(self.function)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
            }
        return self._assigned

    def _named_session(
        self, call: ast.Call, target: Optional[str], is_async: bool
    ) -> Optional[tuple[Optional[ResourceType], Optional[str], Optional[str]]]:
        """``with local_session() as session`` where ``local_session`` is imported from a file
        not being linted: a factory named for sessions, bound to a name for sessions, is a
        SQLAlchemy session factory."""
        parts = dotted_parts(call.func)
        if not parts or target is None or "session" not in target.lower():
            return None
        if not self.imports.is_imported(parts[0]) or call.args:
            return None
        name = parts[-1].lower()
        if not name.endswith(_SESSION_FACTORY_SUFFIXES) or name.split("_", 1)[0] in _VERBS:
            return None  # get_session() is as often a context manager as a factory
        return (NAMED_ASYNC_SESSION if is_async else NAMED_SESSION), None, None

    def _transfer_ownership(self, call: ast.Call) -> None:
        """``httpx.AsyncClient(transport=transport)``: the client closes its transport."""
        qualified = self.imports.qualified_name(call.func) or ""
        for keyword in call.keywords:
            condition = OWNERSHIP_TRANSFERS.get((qualified, keyword.arg or ""))
            if condition is None:
                continue
            owned = dotted_name(keyword.value)
            if owned is None or owned not in self.resources:
                continue
            if any(
                other.arg == condition.keyword
                and isinstance(other.value, ast.Constant)
                and other.value.value == condition.refused_by
                for other in call.keywords
            ):
                continue  # ClientSession(connector=..., connector_owner=False)
            self.resources[owned].handed_to_owner = True

    def _rebind(self, key: str, statement: ast.stmt, value: Optional[ast.expr]) -> None:
        """``db = SessionLocal()`` then ``db = ...`` or ``with ... as db`` before ``db`` was
        used or released: the first resource is lost."""
        facts = self.resources.get(key)
        if facts is None or facts.acquisition is None:
            return
        first = facts.acquisition.statement
        if first is statement:
            return
        block = _block_holding(first, self.parent)
        holder = None if block is None else _ancestor_in(statement, block, self.parent)
        if block is None or holder is None or _index_of(block, holder) <= _index_of(block, first):
            return  # another branch, or not on the same path
        since = _position(first)
        used = any(_position(load) > since for load in self._loads.get(key.split(".")[0], ()))
        if value is not None and any(
            isinstance(node, ast.Name) and node.id == key for node in ast.walk(value)
        ):
            used = True  # db = wrap(db)
        if used or facts.release_sites or facts.escapes or facts.registered:
            return
        facts.lost_acquisitions.append(facts.acquisition)
        facts.acquisition = None

    def _inferred_type(
        self, call: ast.Call
    ) -> Optional[tuple[Optional[ResourceType], Optional[str], Optional[str]]]:
        if self.oracle is None:
            return None
        qualified = self.imports.qualified_name(call.func)
        parts = dotted_parts(call.func)
        if qualified is None or parts is None:
            return None
        imported = self.imports.is_imported(parts[0])
        top = qualified.lstrip(".").split(".", 1)[0]
        # The knowledge base covers the standard library. Local variables, `self.x()` and this
        # module's functions are seldom resources and costly to follow (astroid must infer a
        # return value): ask only about imported names and classes defined in this module.
        if top in standard_library():
            return None
        if not imported and not (len(parts) == 1 and self._may_be_resource_class(parts[0])):
            return None
        inferred = self.oracle(qualified, call, imported)
        return (inferred, None, None) if inferred is not None else None

    def _may_be_resource_class(self, name: str) -> bool:
        """A class of this module that defines a release or exit method, or inherits from
        outside the standard library (where one may come from)."""
        definition = self.imports.module_classes.get(name)
        if definition is None:
            return False
        own = {
            item.name
            for item in definition.body
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
        }
        if own & {"close", "aclose", "__exit__", "__aexit__"}:
            return True
        bases = [self.imports.qualified_name(base) or "object" for base in definition.bases]
        return any(
            base != "object" and base.lstrip(".").split(".", 1)[0] not in standard_library()
            for base in bases
        )

    def _with(self, node: Union[ast.With, ast.AsyncWith]) -> None:
        around_yield = any(_contains(node, site.node, self.parent) for site in self.yields)
        for item in node.items:
            context = item.context_expr
            if isinstance(context, ast.Call):
                qualified = self.imports.qualified_name(context.func) or ""
                if qualified.rsplit(".", 1)[-1] in ("closing", "aclosing") and context.args:
                    key = dotted_name(context.args[0])
                    if key is not None:
                        facts = self._resource(key)
                        facts.registered = facts.registered or around_yield
                        facts.escapes = True
                    continue
                target = dotted_name(item.optional_vars) if item.optional_vars else None
                typed = self._call_type(context, awaited=False) or self._named_session(
                    context, target, isinstance(node, ast.AsyncWith)
                )
                if typed is not None:
                    self._transfer_ownership(context)
                if target is not None:
                    self._rebind(target, node, context)
                if typed is None or typed[0] is None or target is None or not around_yield:
                    continue
                facts = self._resource(target)
                facts.managing_withs.append(ManagingWith(node, item, typed[0]))
                self._bindings.setdefault(target, []).append(node)
            else:
                key = dotted_name(context)
                if key is None:
                    continue
                if around_yield:
                    self._resource(key).managing_withs.append(ManagingWith(node, item, None))
                else:
                    self._resource(key).escapes = True  # used and released elsewhere

    # releases ------------------------------------------------------------------------------
    def _call(self, call: ast.Call) -> None:
        func = call.func
        self._helper_release(call)
        self._closes_every_session(call)
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in _REGISTRATION_CALLS or func.attr in _CONTAINER_STORES:
            for argument in call.args:
                self._escape(argument, registered=func.attr in _REGISTRATION_CALLS)
            if func.attr in _REGISTRATION_CALLS:
                return
        receiver = dotted_name(func.value)
        if receiver in self.resources and _position(call) > self.first_yield:
            self.resources[receiver].used_after_yield = True
        key: Optional[str] = None
        if func.attr == "release" and not call.args and receiver is not None:
            self._argless_releases.add(receiver)
        if func.attr in OWNER_RELEASE_METHODS and call.args:
            key = dotted_name(call.args[0])
        elif func.attr in self.knowledge.release_methods and not call.args:
            key = dotted_name(func.value)
            if key is not None and "." in key and func.attr in _STOP_METHODS:
                return  # tg.cancel_scope.cancel(): stopping what a `with` already manages
        if key is None:
            return
        self._resource(key).release_sites.append(self._site(call, helper=False))

    def _closes_every_session(self, call: ast.Call) -> None:
        """``close_all_sessions()`` releases every session, this generator's included (too
        broadly: LL012 says so)."""
        parts = dotted_parts(call.func)
        if not parts or parts[-1] != "close_all_sessions" or call.args:
            return
        for facts in self.resources.values():
            acquired = facts.acquisition
            if acquired is None or acquired.resource_type is None:
                continue
            if "Session" not in acquired.resource_type.name:
                continue
            facts.release_sites.append(self._site(call, helper=True))

    def _site(self, call: ast.Call, helper: bool) -> ReleaseSite:
        guarding_try = self._guarding_try(call)
        return ReleaseSite(
            call=call,
            statement=self._statement_of(call),
            awaited=isinstance(self.parent.get(call), ast.Await),
            protects_throw_path=guarding_try is not None or self._after_swallow(call),
            after_yield=any(_position(call) > _position(s.node) for s in self.yields),
            in_handler=self._in_handler(call),
            guarding_try=guarding_try,
            discarded=isinstance(self.parent.get(call), ast.Expr),
            helper=helper,
        )

    def _helper_release(self, call: ast.Call) -> None:
        """A resource passed to a call that releases it: a release helper anywhere
        (``await close_db(engine)``), or any call in a ``finally`` around the ``yield``
        (``dispose_all(pool, client)``): the resource is handed over on every path."""
        func = call.func
        if isinstance(func, ast.Attribute) and (
            func.attr in _REGISTRATION_CALLS
            or func.attr in _CONTAINER_STORES
            or func.attr in OWNER_RELEASE_METHODS
        ):
            return
        parts = dotted_parts(func)
        named_release = parts is not None and is_release_helper(
            parts[-1], self.knowledge.release_methods
        )
        if not named_release and (
            not any(dotted_name(argument) in self.resources for argument in call.args)
            or self._guarding_try(call) is None
        ):
            return
        # what a release helper is given is evidence of a resource, as `x.close()` is: a name
        # the generator itself binds (not a parameter, an attribute or a loop variable)
        keys = [
            key
            for argument in call.args
            for key in [dotted_name(argument)]
            if key is not None
            and not self._loop_variable(key, call)
            and (key in self.resources or key in self._bound_names())
        ]
        if keys:
            site = self._site(call, helper=True)
            for key in keys:
                self._resource(key).release_sites.append(site)

    def class_factories(self) -> dict[str, ResourceType]:
        """The session factories the method's class keeps (read when a ``self.x()`` call is
        first met: most methods make none)."""
        if self._class_factories is None:
            owner = self.owner_class
            if owner is not None and self.imports.imports_any(SESSION_FACTORY_MAKERS):
                self._class_factories = _class_factories(owner, self.imports)
            else:
                self._class_factories = {}
        return self._class_factories

    def _bound_names(self) -> set[str]:
        """Plain names the generator binds to something it creates (a call, a new container,
        ``with ... as``), not to an alias of what it was given; walked when first needed."""
        if self._bound is None:
            self._bound = {
                target.id
                for node in ast.walk(self.function)
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.withitem)) and _creates(node)
                for target in _targets(node)
                if isinstance(target, ast.Name)
            }
        return self._bound

    def _loop_variable(self, name: str, node: ast.AST) -> bool:
        """``for fd in opened: os.close(fd)``: the name is the loop's, not a resource's."""
        current = self.parent.get(node)
        while current is not None and current is not self.function:
            if isinstance(current, (ast.For, ast.AsyncFor)) and any(
                isinstance(target, ast.Name) and target.id == name
                for target in ast.walk(current.target)
            ):
                return True
            current = self.parent.get(current)
        return False

    def _method_reference(self, node: ast.Attribute) -> None:
        """``stack.callback(conn.close)``: a release method passed on, not called."""
        if node.attr not in self.knowledge.release_methods:
            return
        owner = self.parent.get(node)
        if isinstance(owner, ast.Call) and owner.func is node:
            return
        key = dotted_name(node.value)
        if key is not None:
            facts = self._resource(key)
            facts.registered = True
            facts.escapes = True

    def _captured(self, scope: ast.AST) -> None:
        """A nested function or lambda that uses a resource may release it, or keep it alive."""
        for inner in ast.walk(scope):
            if isinstance(inner, ast.Name) and inner.id in self.resources:
                self.resources[inner.id].escapes = True

    def _escape(self, value: ast.expr, registered: bool = False) -> None:
        key = dotted_name(value)
        if key is None and isinstance(value, ast.Call) and value.args:
            # closing(conn) passed to enter_context
            key = dotted_name(value.args[0])
        if key is None or key not in self.resources:
            return
        facts = self.resources[key]
        facts.escapes = True
        facts.registered = facts.registered or registered

    # paths ---------------------------------------------------------------------------------
    def _statement_of(self, node: ast.AST) -> ast.stmt:
        current: ast.AST = node
        while not isinstance(current, ast.stmt):
            current = self.parent[current]
        return current

    def _guarding_try(self, call: ast.Call) -> Optional[ast.stmt]:
        """The ``try`` around a ``yield`` whose ``finally`` or catching handler holds ``call``."""
        child: ast.AST = call
        current = self.parent.get(call)
        while current is not None and current is not self.function:
            if type(current).__name__ in _TRY_NODE_NAMES:
                finalbody: list[ast.stmt] = getattr(current, "finalbody", [])
                guarded = [getattr(current, "body", []), getattr(current, "orelse", [])]
                guarded += [handler.body for handler in getattr(current, "handlers", [])]
                protected = any(_in_any(guarded, site.node, self.parent) for site in self.yields)
                if protected and any(item is child for item in finalbody):
                    return current  # type: ignore[return-value]
            if isinstance(current, ast.ExceptHandler) and _is_broad_handler(current):
                try_node = self.parent.get(current)
                if isinstance(try_node, ast.Try) and any(
                    _in_any([try_node.body], site.node, self.parent) for site in self.yields
                ):
                    return try_node
            child = current
            current = self.parent.get(current)
        return None

    def _after_swallow(self, call: ast.Call) -> bool:
        """After a ``try`` around the ``yield`` whose catch-all clause falls through: what is
        thrown in is caught there, and the code after the ``try`` runs on that path too."""
        for node in self.parent:
            if (
                isinstance(node, ast.Try)
                and (node.end_lineno or node.lineno) < call.lineno
                and any(_in_any([node.body], site.node, self.parent) for site in self.yields)
                and any(
                    _is_broad_handler(handler) and not _leaves(handler) for handler in node.handlers
                )
            ):
                return True
        return False

    def _in_handler(self, node: ast.AST) -> bool:
        current = self.parent.get(node)
        while current is not None and current is not self.function:
            if isinstance(current, ast.ExceptHandler):
                return True
            current = self.parent.get(current)
        return False

    def _settle_flags(self) -> None:
        """``acquired = await lock.acquire()`` holds a bool: the lock is released with
        ``lock.release()``, and the value is only tested for truth. A pool checkout is given
        back with ``pool.release(conn)``."""
        for facts in self.resources.values():
            acquisition = facts.acquisition
            if acquisition is None or acquisition.owner is None:
                continue
            if acquisition.owner_release != "release":
                continue
            loads = self._loads.get(facts.key, [])
            truth_only = bool(loads) and all(_is_truth_test(load, self.parent) for load in loads)
            if acquisition.owner in self._argless_releases or truth_only:
                facts.acquisition = None

    def _settle_bindings(self) -> None:
        for key, facts in self.resources.items():
            root = key.split(".", 1)[0]
            bound = self._bindings.get(key, [])
            facts.bindings = bound
            facts.bound_before_yield = (
                facts.acquisition is not None
                or any(_position(statement) < self.first_yield for statement in bound)
                or (root in self.parameters and root not in ("self", "cls"))
            )
            facts.bound_only_after_yield = (
                bool(bound) and not facts.bound_before_yield and root not in self.parameters
            )
