"""What the analysis knows about one generator: its yields, and for each resource where it is
acquired and released and on which paths. The rules read these facts; ``collector`` builds them.

Paths, in the design's words: **N** the generator is resumed normally and runs to its end; **T** an
exception is thrown in at the ``yield`` (or ``GeneratorExit`` on ``close()``). A release protects
the T path when it sits in the ``finally`` of a ``try`` around the ``yield``, in a handler that
catches what is thrown in, or is done by a ``with`` around the ``yield``.
"""

from __future__ import annotations

import ast
import functools

from leaklint.analysis.resources import KnowledgeBase, ResourceType
from leaklint.analysis.syntax import Statement, ancestor_in, block_holding
from leaklint.analysis.targets import TargetKind
from leaklint.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.analysis.imports import ImportMap
    from leaklint.analysis.syntax import YieldNode
    from leaklint.analysis.targets import FunctionNode


@record(frozen=True)
class YieldSite:
    """A ``yield`` or ``yield from`` in the generator's own body."""

    node: YieldNode
    in_loop: bool


STATEMENT_MARKER = "<statement>"
"""The callee of a call that stands for a statement that is no call: an undo written as an
assignment or a ``del`` (``self.mode = previous``), and the write it undoes."""


def shown(call: ast.Call, statement: ast.AST) -> ast.AST:
    """What a message quotes for a call: the statement, when the call stands for it."""
    func = call.func
    return statement if isinstance(func, ast.Name) and func.id == STATEMENT_MARKER else call


@record(frozen=True)
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


@record(frozen=True)
class Acquisition:
    """``key = factory(...)`` before a ``yield``."""

    statement: Statement
    call: ast.Call
    awaited: bool
    resource_type: Optional[ResourceType]
    owner: Optional[str] = None
    """The pool a connection was checked out of, for ``pool.putconn(conn)``."""
    owner_release: Optional[str] = None


@record(frozen=True)
class ManagingWith:
    """A ``with`` statement around a ``yield`` that manages a resource."""

    statement: Union[ast.With, ast.AsyncWith]
    item: ast.withitem
    resource_type: Optional[ResourceType]
    """Known when the ``with`` item is a factory call: ``with Session(engine) as session``."""
    explicit_closing: bool = False
    """``with closing(conn)``: released whatever the type."""


@record
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


@record
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
    module_tree: Optional[ast.Module] = None
    """The whole module, for fixes that need to know its top-level imports."""
    imports: Optional[ImportMap] = None
    """The module's imports: where a name the generator does not bind comes from."""
    module: tuple[str, ...] = ()
    """The module, as the components of its file's path (``targets.ModuleName``)."""

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
        return block_holding(statement, self.parent)

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
        return ancestor_in(node, block, self.parent)
