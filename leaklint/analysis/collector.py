"""Builds a generator's facts: one walk over its own nodes that files every acquisition,
release, managing ``with``, hand-over and escape under the resource it concerns."""

from __future__ import annotations

import ast
import builtins
import functools
import os
import sys
from collections.abc import Callable, Sequence

from leaklint.analysis.doubles import (
    constructed_class,
    in_test_module,
    named_as_double,
    releases_nothing,
)
from leaklint.analysis.facts import (
    STATEMENT_MARKER,
    Acquisition,
    ManagingWith,
    ReleaseSite,
    ResourceFacts,
    YieldSite,
)
from leaklint.analysis.imports import ImportMap, dotted_name, dotted_parts
from leaklint.analysis.libraries import (
    CHANGED_STATE,
    CONTEXT_VAR_TOKEN,
    DISK_LEFTOVERS,
    LEFTOVER_HANDOVERS,
    LEFTOVER_REMOVALS,
    LIFECYCLES,
    LOCK,
    MOCK_PATCHER,
    PATCHER_FACTORIES,
    SWITCH_PAIRS,
    UNDO_METHOD_PAIRS,
)
from leaklint.analysis.paths import reaches
from leaklint.analysis.resources import (
    ASYNC_COUNTERPARTS,
    BORROWING_KEYWORDS,
    CONVENTIONAL_SESSION_FACTORIES,
    FACTORIES,
    METHOD_FACTORIES,
    METHOD_RESULTS,
    NAMED_ASYNC_SESSION,
    NAMED_SESSION,
    OWNER_RELEASE_METHODS,
    OWNERSHIP_TRANSFERS,
    POOL_CHECKOUTS,
    RELEASE_HELPER_WORDS,
    SESSION_FACTORY_MAKERS,
    SQLALCHEMY_CONNECTION,
    KnowledgeBase,
    ResourceType,
    session_factory_product,
)
from leaklint.analysis.syntax import (
    LOOPS,
    SCOPES,
    TRY_NODE_NAMES,
    ancestor_in,
    block_holding,
    contains,
    in_any,
    index_of,
    is_broad_handler,
    leaves,
    position,
    walk,
)
from leaklint.analysis.targets import ModuleName, ProjectIndex
from leaklint.records import replace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.analysis.syntax import YieldNode
    from leaklint.analysis.targets import FunctionNode

    Oracle = Callable[[str, ast.Call, bool, bool], Optional[ResourceType]]
"""What a call the knowledge base does not know returns: (qualified callee, call, callee
imported, from the project's source only) to a resource type. The project's source answers
(``declared.ProjectSource``), and type inference after it when asked for."""

_BUILTIN_NAMES = frozenset(dir(builtins))

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


_SESSION_FACTORY_SUFFIXES = ("session", "sessionmaker", "session_factory", "sessionlocal")
"""How projects name their SQLAlchemy session factories (``local_session``,
``SessionLocal``, ``async_session_factory``)."""

_STOP_METHODS = frozenset({"cancel", "kill"})
"""Releases that stop something; on an attribute chain (``nursery.cancel_scope.cancel()``)
they end what an enclosing ``with`` manages, and are not evidence of a resource."""

_VERBS = frozenset(
    {"get", "provide", "open", "create", "make", "new", "start", "begin", "use", "scoped"}
)


_DEFINITE = frozenset(FACTORIES.values())
"""The table's kinds: what their release is was checked against the library."""


def _as_async(kind: ResourceType) -> ResourceType:
    """The kind a value the code treats as async is: the async counterpart of a kind the
    library has both of (a session of ``sessionmaker(class_=AsyncSession)``); a kind the table
    checked stays as it is (Motor's client has awaited methods and a plain ``close()``); any
    other (a generic ``.connect()``, a guess, the project's) becomes async."""
    if kind == LOCK:
        return kind  # `await lock.acquire()` then a plain `release()` (asyncio): unknown
    if (kind.name, kind.guessed) in ASYNC_COUNTERPARTS or kind not in _DEFINITE:
        return kind.as_async()
    return kind


def _names_engine(receiver: str) -> bool:
    """``engine``, ``self.engine``, ``async_engine``, ``db.write_engine``: a SQLAlchemy engine,
    whose ``connect()`` gives a ``Connection`` (an ``AsyncConnection`` for an async engine)."""
    return receiver.rsplit(".", 1)[-1].lower().endswith("engine")


def is_release_helper(name: str, release_methods: frozenset[str]) -> bool:
    """A function named for releasing what it is given: ``close_db``, ``shutdown``,
    ``dispose_all``, ``release_connection``, ``_teardown`` (its first word is a release
    method's name, or teardown/stop/destroy)."""
    words = name.lower().strip("_").split("_")
    return bool(words) and (words[0] in release_methods or words[0] in RELEASE_HELPER_WORDS)


_GUESSED_BY_METHOD = frozenset(
    {*METHOD_FACTORIES.values(), *(k.as_async() for k in METHOD_FACTORIES.values())}
)
"""What ``x.connect()`` is taken for when nothing says what ``x`` is."""


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


def _is_value_test(load: ast.Name, parent: dict[ast.AST, ast.AST]) -> bool:
    """The value is only tested or compared: ``assert res == (True, "ws")``, ``if not ok``."""
    owner = parent.get(load)
    if isinstance(owner, ast.Compare):
        return True
    return _is_truth_test(load, parent)


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


def factories_of_class(definition: ast.ClassDef, imports: ImportMap) -> dict[str, ResourceType]:
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
            made = session_factory_product(value, imports.qualified_name)
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if made is not None and name:
                found[name] = made
    return found


class ResourceCollector:
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
        self.first_yield = min(position(site.node) for site in yields)
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
        self._lock_acquisitions: dict[str, tuple[ast.stmt, ast.Call, bool]] = {}
        """``lock.acquire()`` statements before the ``yield``, by receiver."""
        self._unopened: dict[str, ResourceType] = {}
        """Instances of a project class with a lifecycle, not yet opened by its method."""
        self._context_tokens: dict[str, tuple[ast.stmt, ast.Call, str]] = {}
        """``token = var.set(value)`` before the ``yield``: the statement, the call and the
        variable, by token."""
        self._resets: list[tuple[ast.Call, str, str]] = []
        """``var.reset(token)`` calls: the call, the variable and the token."""
        self._made_paths: dict[str, tuple[ast.stmt, ast.Call, str]] = {}
        """``path = tempfile.mkdtemp()`` (or ``fd, path = tempfile.mkstemp()``) before the
        ``yield``, by name: the statement, the call and the callee."""
        self._removals: list[tuple[ast.Call, str, str]] = []
        """``shutil.rmtree(path)``, ``os.remove(path)`` calls: the call, the path's name and
        the callee."""
        self._saved: dict[str, ast.stmt] = {}
        """Names bound before the ``yield`` to a reading of some state (``previous =
        os.getcwd()``, ``level = logger.level``) or to what a call returned, by name."""
        self._changes: dict[str, list[tuple[ast.stmt, ast.Call]]] = {}
        """Calls made as statements (or bound) before the ``yield``, by callee."""
        self._undos: list[tuple[ast.Call, str, str]] = []
        """Calls after the ``yield`` given a name: the call, its callee and the name."""
        self._registered: dict[tuple[str, str, str], tuple[ast.stmt, ast.Call]] = {}
        """``receiver.add_x(callback)`` before the ``yield``, by receiver, the method that
        takes it back and the callback."""
        self._unregistered: list[tuple[ast.Call, str, str, str]] = []
        """``receiver.remove_x(callback)`` after the ``yield``: the call, receiver, method and
        callback."""
        self._switched: dict[tuple[str, str], tuple[ast.stmt, ast.Call]] = {}
        """``tracer.enable()`` before the ``yield``, by receiver and the method that turns it
        back."""
        self._switched_back: list[tuple[ast.Call, str, str]] = []
        """``tracer.disable()`` after the ``yield``: the call, receiver and method."""
        self._state_writes: dict[str, ast.stmt] = {}
        """Attributes and entries written before a ``yield`` (``self.mode = mode``,
        ``os.environ["DEBUG"] = "1"``), by their text: what a later statement may undo."""
        self._state_undos: list[tuple[ast.stmt, str, Optional[str], Optional[ast.Call]]] = []
        """After a ``yield``: a write of a saved name back (``self.mode = previous``), a
        ``del`` or a ``pop(key)`` of an entry; the statement, the target's text, the saved
        name (``None`` for a removal) and the ``pop`` call."""
        self._awaited_receivers: set[str] = set()
        """Receivers of an awaited method other than a release: ``await db.execute(...)``."""

    def _resource(self, key: str) -> ResourceFacts:
        if key not in self.resources:
            self.resources[key] = ResourceFacts(key)
        return self.resources[key]

    def collect(self, nodes: list[ast.AST]) -> None:
        """File every acquisition, release, managing ``with`` and escape under its resource."""
        for node in sorted(nodes, key=position):
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
            elif isinstance(node, SCOPES):
                self._captured(node)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                # a loop's variable is bound where the loop runs: after the yield, it holds
                # nothing across it (`for cursor in conn.cursors: cursor.close()`)
                for target in ast.walk(node.target):
                    if isinstance(target, ast.Name):
                        self._bindings.setdefault(target.id, []).append(node)
            elif isinstance(node, ast.Delete):
                self._note_state_removal(node)
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
        self._settle_locks()
        self._settle_context_tokens()
        self._settle_folders()
        self._settle_undos()
        self._settle_state_undos()
        self._settle_holders()
        self._settle_doubles()
        self._settle_async()
        self._settle_bindings()

    # acquisitions -------------------------------------------------------------------------
    def _assignment(self, node: Union[ast.Assign, ast.AnnAssign]) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:
            return
        self._note_state_write(node, targets, value)
        self._note_made_file(node, targets, value)
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
            if position(node) < self.first_yield and isinstance(target, ast.Name):
                self._note_saved(key, node, call)
            if not isinstance(call, ast.Call):
                if dotted_name(value) in self.resources:
                    self._escape(value)  # aliasing: other = conn
                continue
            self._rebind(key, node, value)
            if position(node) > self.first_yield and not self._yield_follows(node):
                continue
            made = self.imports.qualified_name(call.func)
            if not awaited and made in DISK_LEFTOVERS:
                self._made_paths[key] = (node, call, made)
                continue
            if not awaited and self.imports.qualified_name(call.func) in PATCHER_FACTORIES:
                # a patcher patches nothing until `patcher.start()`
                if isinstance(target, ast.Name):
                    self._unopened[key] = MOCK_PATCHER
                continue
            if _sets_a_context_variable(call) and not awaited:
                receiver = dotted_name(call.func.value)  # type: ignore[attr-defined]
                if receiver is not None:
                    self._context_tokens[key] = (node, call, receiver)
                    continue
            typed = self._call_type(call, awaited) or self._inferred_type(call)
            if typed is None:
                continue
            resource_type, owner, owner_release = typed
            if resource_type is not None and resource_type.inferred and resource_type.opened_by:
                # a project class with a lifecycle holds nothing until `server.start()`
                self._unopened[key] = resource_type
                continue
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
            made = session_factory_product(func, self.imports.qualified_name)
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
            borrowing = BORROWING_KEYWORDS.get(qualified, frozenset())
            if any(keyword.arg in borrowing for keyword in call.keywords):
                return None  # Redis(connection_pool=pool): the pool is the resource
            return known, None, None
        session = (
            self.index.session_factory(qualified, self.module)
            or self._local_factory(func)
            or self._conventional(func)
        )
        if session is not None:
            return session, None, None
        if not isinstance(func, ast.Attribute):
            return None
        receiver = dotted_name(func.value)
        holder = self.resources.get(receiver) if receiver is not None else None
        held = holder.resource_type if holder is not None else None
        if held is not None and (held, func.attr) in METHOD_RESULTS:
            made = METHOD_RESULTS[held, func.attr]  # `driver.session()`, `cluster.connect()`
            return (made, None, None) if made is not None else None
        if func.attr in POOL_CHECKOUTS and receiver is not None:
            if func.attr == "acquire" and not awaited:
                return None  # lock.acquire() returns a bool, not a connection
            owner_release, pooled = POOL_CHECKOUTS[func.attr]
            return pooled, receiver, owner_release
        if func.attr in METHOD_FACTORIES:
            method_type = METHOD_FACTORIES[func.attr]
            if func.attr == "connect" and receiver is not None:
                method_type = self._engine_connection(receiver) or method_type
            return (method_type.as_async() if awaited else method_type), None, None
        return None

    def _engine_connection(self, receiver: str) -> Optional[ResourceType]:
        """What ``<receiver>.connect()`` gives when the receiver is a SQLAlchemy engine: a
        ``Connection`` (an ``AsyncConnection`` for an async engine). Known when the engine is
        the generator's own or bound at the top of a module (``engine = create_engine(url)``);
        guessed from a name that says engine (``self.engine``, ``read_engine``)."""
        own = self.resources.get(receiver)
        engine = own.resource_type if own is not None else None
        if engine is None:
            qualified = self.imports.qualified_name(ast.parse(receiver, mode="eval").body)
            engine = self.index.engine(qualified or receiver, self.module)
        if engine is not None and engine.release == "dispose":
            connection = SQLALCHEMY_CONNECTION
            return connection.as_async() if engine.release_is_async else connection
        if _names_engine(receiver):
            return replace(SQLALCHEMY_CONNECTION, guessed=True)
        return None

    def _local_factory(self, func: ast.expr) -> Optional[ResourceType]:
        """``maker = sessionmaker(engine, class_=AsyncSession)`` in the generator, then
        ``maker()``: the session the one binding of that name makes."""
        if not isinstance(func, ast.Name):
            return None
        bound = self._bindings.get(func.id, [])
        if len(bound) != 1 or not isinstance(bound[0], ast.Assign):
            return None
        value = bound[0].value
        if not isinstance(value, ast.Call):
            return None
        return session_factory_product(value, self.imports.qualified_name)

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
                for node in walk(self.function)
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

    def _yield_follows(self, statement: ast.stmt) -> bool:
        """A ``yield`` comes after ``statement`` on its path: in a later statement of its block
        or of a block around it (``if ...: yield ... else: conn = acquire(); yield conn``)."""
        current: ast.AST = statement
        while current is not self.function:
            block = block_holding(current, self.parent)  # type: ignore[arg-type]
            if block is not None:
                later = block[index_of(block, current) + 1 :]  # type: ignore[arg-type]
                if any(in_any([later], site.node, self.parent) for site in self.yields):
                    return True
            current = self.parent[current]
        return False

    def _rebind(self, key: str, statement: ast.stmt, value: Optional[ast.expr]) -> None:
        """``db = SessionLocal()`` then ``db = ...`` or ``with ... as db`` before ``db`` was
        used or released: the first resource is lost."""
        facts = self.resources.get(key)
        if facts is None or facts.acquisition is None:
            return
        first = facts.acquisition.statement
        if first is statement:
            return
        block = block_holding(first, self.parent)
        holder = None if block is None else ancestor_in(statement, block, self.parent)
        if block is None or holder is None or index_of(block, holder) <= index_of(block, first):
            return  # another branch, or not on the same path
        since = position(first)
        used = any(position(load) > since for load in self._loads.get(key.split(".")[0], ()))
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
        # The knowledge base covers the standard library. Local variables and `self.x()` are
        # seldom resources; this module's functions are read from its source (astroid must
        # infer a return value, which costs too much for what it finds): ask astroid only
        # about imported names and classes defined in this module.
        if top in standard_library():
            return None
        source_only = False
        if not imported and not (len(parts) == 1 and self._may_be_resource_class(parts[0])):
            if (
                len(parts) != 1
                or parts[0] in self.imports.module_classes
                or parts[0] in _BUILTIN_NAMES
                or parts[0] in self.parameters
                or parts[0] in self._assigned_names()
            ):
                return None
            source_only = True  # `connect()`, a function of this module
        inferred = self.oracle(qualified, call, imported, source_only)
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
        if any(opening in own and closing in own for opening, closing in LIFECYCLES):
            return True  # `start` and `stop`: its source says whether it is one
        bases = [self.imports.qualified_name(base) or "object" for base in definition.bases]
        return any(
            base != "object" and base.lstrip(".").split(".", 1)[0] not in standard_library()
            for base in bases
        )

    def _with(self, node: Union[ast.With, ast.AsyncWith]) -> None:
        around_yield = any(contains(node, site.node, self.parent) for site in self.yields)
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
        self._note_change_or_undo(call)
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "pop"
            and call.args
            and position(call) > self.first_yield
            and isinstance(self.parent.get(call), ast.Expr)
        ):
            # `os.environ.pop(key)`: the removal of an entry written before the yield
            entry = f"{ast.unparse(func.value)}[{ast.unparse(call.args[0])}]"
            self._state_undos.append((self._statement_of(call), entry, None, call))
        removal = self.imports.qualified_name(func) if call.args else None
        if removal in LEFTOVER_REMOVALS:
            path = dotted_name(call.args[0])
            if path is not None:
                self._removals.append((call, path, removal))
        elif removal in LEFTOVER_HANDOVERS:
            path = dotted_name(call.args[0])
            if path is not None and path in self._made_paths:
                self._resource(path).escapes = True  # `os.replace(tmp, target)`: kept
        if not isinstance(func, ast.Attribute):
            return
        if func.attr in _REGISTRATION_CALLS or func.attr in _CONTAINER_STORES:
            for argument in call.args:
                self._escape(argument, registered=func.attr in _REGISTRATION_CALLS)
                if func.attr in _CONTAINER_STORES and isinstance(argument, (ast.Tuple, ast.List)):
                    # `processes.append(("beat", proc))`: stored with a label
                    for element in argument.elts:
                        self._escape(element)
            if func.attr in _REGISTRATION_CALLS:
                return
        receiver = dotted_name(func.value)
        if receiver in self.resources and position(call) > self.first_yield:
            self.resources[receiver].used_after_yield = True
        if (
            receiver is not None
            and isinstance(self.parent.get(call), ast.Await)
            and func.attr not in self.knowledge.release_methods
        ):
            self._awaited_receivers.add(receiver)
        key: Optional[str] = None
        if func.attr == "release" and not call.args and receiver is not None:
            self._argless_releases.add(receiver)
        unopened = self._unopened.get(receiver) if receiver is not None else None
        if (
            unopened is not None
            and receiver is not None
            and func.attr in unopened.opened_by
            and position(call) < self.first_yield
        ):
            # `server.start()`: what the generator holds from here on
            del self._unopened[receiver]
            awaited = isinstance(self.parent.get(call), ast.Await)
            self._resource(receiver).acquisition = Acquisition(
                self._statement_of(call), call, awaited, unopened
            )
        if func.attr == "acquire" and receiver is not None and position(call) < self.first_yield:
            statement = self._statement_of(call)
            value = statement.value if isinstance(statement, ast.Expr) else None
            if value is call or (isinstance(value, ast.Await) and value.value is call):
                # `lock.acquire()` (or `await lock.acquire()`) as a statement of its own
                self._lock_acquisitions.setdefault(receiver, (statement, call, value is not call))
        if func.attr == "reset" and len(call.args) == 1 and receiver is not None:
            token = dotted_name(call.args[0])
            if token is not None:
                self._resets.append((call, receiver, token))
        if func.attr in OWNER_RELEASE_METHODS and call.args:
            key = dotted_name(call.args[0])
        elif func.attr in self.knowledge.release_methods and not call.args:
            key = dotted_name(func.value)
            if key is not None and "." in key and func.attr in _STOP_METHODS:
                return  # tg.cancel_scope.cancel(): stopping what a `with` already manages
        elif receiver in self.resources:
            kind = self.resources[receiver].resource_type
            if kind is not None and (func.attr == kind.release or func.attr in kind.ends_with):
                # `await producer.stop()`: its kind's own release; `proc.wait()`: the
                # process has exited
                key = receiver
        if key is None:
            return
        site = self._site(call, helper=False)
        self._resource(key).release_sites.append(site)
        whole = self._released_through_parts(key, call)
        if whole is not None:
            self._resource(whole).release_sites.append(site)

    def _released_through_parts(self, key: str, call: ast.Call) -> Optional[str]:
        """``for client in sentinel.sentinels: client.close()``: releasing every part of a
        resource the generator holds releases the resource, where its type says which
        attribute holds its parts (what ``Sentinel.close()`` does)."""
        current = self.parent.get(call)
        while current is not None and current is not self.function:
            if (
                isinstance(current, (ast.For, ast.AsyncFor))
                and isinstance(current.target, ast.Name)
                and current.target.id == key
            ):
                parts = dotted_parts(current.iter)
                whole = self.resources.get(parts[0]) if parts and len(parts) == 2 else None
                kind = whole.resource_type if whole is not None else None
                if parts and kind is not None and parts[1] in kind.parts:
                    return parts[0]
                return None
            current = self.parent.get(current)
        return None

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
            after_yield=self._after_a_yield(call),
            in_handler=self._in_handler(call),
            guarding_try=guarding_try,
            discarded=isinstance(self.parent.get(call), ast.Expr),
            helper=helper,
        )

    def _result_dropped(self, call: ast.Call) -> bool:
        """The call is a statement of its own (awaited or not): a release helper returns
        nothing worth keeping, and ``clean = cleanup_headers(saved)`` transforms data."""
        owner = self.parent.get(call)
        if isinstance(owner, ast.Await):
            owner = self.parent.get(owner)
        return isinstance(owner, ast.Expr)

    def _after_a_yield(self, node: ast.AST) -> bool:
        """A run can pass ``node`` after a ``yield``: later in the text, and not only on a
        branch the yield's own path returns from (``if not enabled: yield; return``)."""
        return any(
            position(node) > position(site.node) and reaches(site.node, node, self.parent)
            for site in self.yields
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
        named_release = (
            parts is not None
            and is_release_helper(parts[-1], self.knowledge.release_methods)
            and self._result_dropped(call)
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
                self._class_factories = factories_of_class(owner, self.imports)
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
            if type(current).__name__ in TRY_NODE_NAMES:
                finalbody: list[ast.stmt] = getattr(current, "finalbody", [])
                guarded = [getattr(current, "body", []), getattr(current, "orelse", [])]
                guarded += [handler.body for handler in getattr(current, "handlers", [])]
                protected = any(in_any(guarded, site.node, self.parent) for site in self.yields)
                if protected and any(item is child for item in finalbody):
                    return current  # type: ignore[return-value]
            if isinstance(current, ast.ExceptHandler) and is_broad_handler(current):
                try_node = self.parent.get(current)
                if isinstance(try_node, ast.Try) and any(
                    in_any([try_node.body], site.node, self.parent) for site in self.yields
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
                and any(in_any([node.body], site.node, self.parent) for site in self.yields)
                and any(
                    is_broad_handler(handler) and not leaves(handler) for handler in node.handlers
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
        for facts in self.resources.values():
            acquisition = facts.acquisition
            if acquisition is None or acquisition.resource_type not in _GUESSED_BY_METHOD:
                continue
            # `res = await communicator.connect()` on a receiver of no known type, whose
            # value is only compared (a `(connected, protocol)` tuple): no connection
            loads = self._loads.get(facts.key, [])
            if (
                loads
                and all(_is_value_test(load, self.parent) for load in loads)
                and not (facts.release_sites or facts.managing_withs)
            ):
                facts.acquisition = None

    def _settle_locks(self) -> None:
        """``lock.acquire()`` before the ``yield`` and ``lock.release()`` with no argument
        after it: the lock is held across the ``yield``, acquired by that statement (a lock of
        ``threading``, ``asyncio``, ``multiprocessing``, redis, filelock...; a pool's
        ``acquire()`` is bound to a name, and its ``release(conn)`` takes one)."""
        for key, (statement, call, awaited) in self._lock_acquisitions.items():
            facts = self.resources.get(key)
            if facts is None or facts.acquisition is not None:
                continue
            if any(site.method == "release" and not site.call.args for site in facts.release_sites):
                facts.acquisition = Acquisition(statement, call, awaited, LOCK)

    def _settle_context_tokens(self) -> None:
        """``token = var.set(value)`` before the ``yield`` and ``var.reset(token)`` after it:
        the variable keeps the value until the reset, so the token is held like a resource and
        the reset is its release (a ``ContextVar``, or anything with its ``set``/``reset(token)``
        pair). A token never reset is not reported: setting a variable for the rest of the
        context is what ``set`` is for."""
        for call, variable, token in self._resets:
            made = self._context_tokens.get(token)
            if made is None or made[2] != variable:
                continue
            facts = self._resource(token)
            facts.release_sites.append(self._site(call, helper=False))
            if facts.acquisition is None:
                statement, setting, _ = made
                facts.acquisition = Acquisition(
                    statement, setting, False, CONTEXT_VAR_TOKEN, variable, "reset"
                )

    def _settle_folders(self) -> None:
        """``path = tempfile.mkdtemp()`` before the ``yield`` and ``shutil.rmtree(path)`` after
        it: the folder stays on disk until it is removed, so it is held like a resource and the
        removal is its release. A folder never removed is not reported: handing a folder over
        for good is what ``mkdtemp`` is for (``TemporaryDirectory`` is the one that cleans up)."""
        for call, path, removal in self._removals:
            made = self._made_paths.get(path)
            if made is None:
                continue
            kind, removals = DISK_LEFTOVERS[made[2]]
            if removal not in removals:
                continue  # `os.remove` of a folder fails: not its removal
            facts = self._resource(path)
            if not any(site.call is call for site in facts.release_sites):
                facts.release_sites.append(self._site(call, helper=False))
            if facts.acquisition is None:
                facts.acquisition = Acquisition(made[0], made[1], False, kind)

    def _note_made_file(self, node: ast.stmt, targets: Sequence[ast.expr], value: ast.expr) -> None:
        """``fd, path = tempfile.mkstemp()`` before the ``yield``: the path is the file's."""
        if not isinstance(value, ast.Call) or len(targets) != 1:
            return
        target = targets[0]
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            return
        path = target.elts[1]
        made = self.imports.qualified_name(value.func)
        if not isinstance(path, ast.Name) or made not in DISK_LEFTOVERS:
            return
        if position(node) < self.first_yield or self._yield_follows(node):
            self._made_paths[path.id] = (node, value, made)

    def _note_saved(self, key: str, node: ast.stmt, value: ast.expr) -> None:
        """``previous = os.getcwd()``, ``level = logger.level``, ``old = signal.signal(...)``:
        a value an undo after the ``yield`` may put back."""
        if isinstance(value, ast.Attribute) and dotted_name(value) is not None:
            self._saved[key] = node
        elif isinstance(value, ast.Call):
            callee = dotted_name(value.func)
            if callee is None:
                return
            self._saved[key] = node
            # `old = signal.signal(SIGTERM, handler)`: the change returns what it replaced
            self._changes.setdefault(callee, []).append((node, value))

    def _note_change_or_undo(self, call: ast.Call) -> None:
        """A call made as a statement: before the ``yield`` a change, after it an undo when
        it is given a saved name or takes back a registration."""
        statement = self.parent.get(call)
        if not isinstance(statement, ast.Expr):
            return
        callee = dotted_name(call.func)
        if callee is None:
            return
        before = position(call) < self.first_yield
        if before:
            self._changes.setdefault(callee, []).append((statement, call))
        else:
            for argument in call.args:
                if isinstance(argument, ast.Name):
                    self._undos.append((call, callee, argument.id))
        if not isinstance(call.func, ast.Attribute):
            return
        receiver = dotted_name(call.func.value)
        method = call.func.attr
        if receiver is not None:
            self._note_switch(statement, call, receiver, method, before)
        if not call.args:
            return
        registered = dotted_name(call.args[-1] if method == "insert" else call.args[0])
        if receiver is None or registered is None:
            return
        for adding, removing in UNDO_METHOD_PAIRS:
            prefix = adding.endswith("_")
            if before and (method.startswith(adding) if prefix else method == adding):
                undo = removing + method[len(adding) :] if prefix else removing
                self._registered.setdefault((receiver, undo, registered), (statement, call))
            elif not before and (method.startswith(removing) if prefix else method == removing):
                self._unregistered.append((call, receiver, method, registered))

    def _note_switch(
        self, statement: ast.stmt, call: ast.Call, receiver: str, method: str, before: bool
    ) -> None:
        """``op._install_proxy()`` before the ``yield`` and ``op._remove_proxy()`` after it,
        ``tracer.enable()`` and ``tracer.disable()``: a switch turned back by a call with no
        argument on the same receiver (``SWITCH_PAIRS``)."""
        bare = method.lstrip("_")
        underscores = method[: len(method) - len(bare)]
        for turning, back in SWITCH_PAIRS:
            prefix = turning.endswith("_")
            if before and (bare.startswith(turning) if prefix else bare == turning):
                undo = underscores + (back + bare[len(turning) :] if prefix else back)
                self._switched.setdefault((receiver, undo), (statement, call))
            elif (
                not before and not call.args and (bare.startswith(back) if prefix else bare == back)
            ):
                self._switched_back.append((call, receiver, method))

    def _settle_undos(self) -> None:
        """Give each change undone after the ``yield`` its undo as a release, keyed by the
        saved value or the registered callback."""
        for call, callee, name in self._undos:
            saved = self._saved.get(name)
            if saved is None:
                continue
            changes = [
                change
                for change in self._changes.get(callee, [])
                if position(change[0]) >= position(saved) and change[1] is not call
            ]
            if changes:
                self._undone(name, changes[-1], call)
        for call, receiver, method, registered in self._unregistered:
            change = self._registered.get((receiver, method, registered))
            if change is not None:
                self._undone(registered, change, call)
        for call, receiver, method in self._switched_back:
            change = self._switched.get((receiver, method))
            held = self.resources.get(receiver)
            if held is not None and held.acquisition is not None:
                continue  # `producer.start()` ... `producer.stop()`: the resource's own release
            if self._stand_in(receiver):
                continue  # `server = FakeServer(); server.start()`: a test double's flag
            if change is not None and position(change[1]) < position(call):
                self._undone(f"{receiver}.{method}", change, call)

    def _stand_in(self, receiver: str) -> bool:
        """Named as a test double, or bound to one the generator built (``FakeServer()``)."""
        if named_as_double(receiver):
            return True
        for statement in self._bindings.get(receiver, []):
            value = getattr(statement, "value", None)
            parts = dotted_parts(value.func) if isinstance(value, ast.Call) else None
            if parts and named_as_double(parts[-1]):
                return True
        return False

    def _undone(self, key: str, change: tuple[ast.stmt, ast.Call], undo: ast.Call) -> None:
        facts = self._resource(key)
        if facts.acquisition is not None and facts.acquisition.resource_type != CHANGED_STATE:
            return  # a resource of its own (`handler = FileHandler(...)`): its release counts
        if not any(site.call is undo for site in facts.release_sites):
            facts.release_sites.append(self._site(undo, helper=False))
        if facts.acquisition is None:
            facts.acquisition = Acquisition(change[0], change[1], False, CHANGED_STATE)

    def _note_state_write(
        self, node: ast.stmt, targets: Sequence[ast.expr], value: ast.expr
    ) -> None:
        """``self.mode = mode`` (or ``os.environ[key] = value``, one element of a tuple
        target) before a ``yield`` is a change a later statement may undo; ``self.mode =
        previous`` after it, with ``previous`` saved before, is such an undo."""
        written = [
            element
            for target in targets
            for element in (target.elts if isinstance(target, ast.Tuple) else [target])
            if isinstance(element, (ast.Attribute, ast.Subscript))
        ]
        if not written:
            return
        if position(node) < self.first_yield or self._yield_follows(node):
            for target in written:
                self._state_writes.setdefault(ast.unparse(target), node)
        elif isinstance(value, ast.Name) and len(written) == 1 == len(targets):
            self._state_undos.append((node, ast.unparse(written[0]), value.id, None))

    def _note_state_removal(self, node: ast.Delete) -> None:
        """``del self.mode``, ``del os.environ[key]`` after a ``yield``: the undo of a write
        before it."""
        if position(node) < self.first_yield:
            return
        for target in node.targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                self._state_undos.append((node, ast.unparse(target), None, None))

    def _settle_state_undos(self) -> None:
        """Give each write before the ``yield`` that a statement after it undoes its undo as a
        release: a restore is keyed by the saved name, a removal by the target."""
        for statement, target, saved_name, pop in self._state_undos:
            change = self._state_writes.get(target)
            if change is None or position(statement) < position(change):
                continue
            if not self._after_a_yield(statement):
                continue
            if saved_name is not None:
                saved = self._saved.get(saved_name)
                value = getattr(saved, "value", None)
                if saved is None or value is None or ast.unparse(value) != target:
                    continue  # not the value the write replaced
                if position(saved) > position(change):
                    continue
            key = saved_name if saved_name is not None else target
            facts = self._resource(key)
            if facts.acquisition is not None and facts.acquisition.resource_type != CHANGED_STATE:
                continue
            site = self._site(pop if pop is not None else self._statement_marker(statement), False)
            facts.release_sites.append(site)
            if facts.acquisition is None:
                facts.acquisition = Acquisition(
                    change, self._statement_marker(change), False, CHANGED_STATE
                )

    def _statement_marker(self, statement: ast.stmt) -> ast.Call:
        """A call standing for a statement that is no call (``self.mode = previous``, ``del
        tracers[task_id]``), where the facts hold a call: its parent is the statement."""
        marker = ast.Call(func=ast.Name(id=STATEMENT_MARKER, ctx=ast.Load()), args=[], keywords=[])
        ast.copy_location(marker, statement)
        marker.end_lineno, marker.end_col_offset = statement.end_lineno, statement.end_col_offset
        self.parent[marker] = statement
        return marker

    def _settle_holders(self) -> None:
        """``connection = connection_for(context)`` ... ``close_context(context)``: a resource
        made from something the generator releases is released with it (the holder keeps it,
        as ``Session(bind=conn)`` keeps its connection)."""
        for facts in self.resources.values():
            acquisition = facts.acquisition
            if acquisition is None:
                continue
            for argument in [*acquisition.call.args, *(k.value for k in acquisition.call.keywords)]:
                holder = self.resources.get(dotted_name(argument) or "")
                if holder is not None and holder is not facts and holder.release_sites:
                    facts.handed_to_owner = True
            # ``channel = connection.channel()`` on a connection made here: the channel is a
            # part of it, closed with it, and when the connection is left open that is the one
            # finding to make
            receiver = acquisition.call.func
            if isinstance(receiver, ast.Attribute):
                parent = self.resources.get(dotted_name(receiver.value) or "")
                if parent is not None and parent is not facts and parent.acquisition is not None:
                    facts.handed_to_owner = True

    def _settle_doubles(self) -> None:
        """A name released after the ``yield`` is a resource by evidence, unless the project's
        own class it was made from releases nothing (a fake client whose ``close()`` is
        ``pass``): then it holds nothing, and its releases are no cleanup."""
        for facts in self.resources.values():
            acquisition = facts.acquisition
            if not facts.release_sites or (
                acquisition is not None
                and acquisition.resource_type is not None
                and not acquisition.resource_type.inferred
            ):
                continue
            methods = {site.method for site in facts.release_sites}
            if "" in methods:
                continue  # handed to a helper: what that does is another question
            for binding in self._bindings.get(facts.key, ()):
                value = getattr(binding, "value", None)
                if isinstance(value, ast.Await):
                    value = value.value
                if not isinstance(value, ast.Call):
                    continue
                definition = constructed_class(value, self.imports, self.module, frozenset(methods))
                if definition is not None and releases_nothing(
                    definition, methods, in_test_module(self.module)
                ):
                    facts.release_sites = []
                    facts.acquisition = None
                    break

    def _settle_async(self) -> None:
        """In an ``async def``, a resource the code treats as async is one, whatever its row
        says: entered with ``async with``, acquired with ``await``, or with a method awaited
        (``await session.execute(...)``). Its release is then a coroutine, so no fix writes
        it without ``await`` (``AsyncSessionLocal = sessionmaker(engine, class_=...)`` named
        in a module that is not linted, a project's own factory...)."""
        if not isinstance(self.function, ast.AsyncFunctionDef):
            return
        for facts in self.resources.values():
            acquisition = facts.acquisition
            if not (
                facts.key in self._awaited_receivers
                or any(isinstance(m.statement, ast.AsyncWith) for m in facts.managing_withs)
                or (acquisition is not None and acquisition.awaited)
            ):
                continue
            if acquisition is not None and acquisition.resource_type is not None:
                facts.acquisition = replace(
                    acquisition, resource_type=_as_async(acquisition.resource_type)
                )
            facts.managing_withs = [
                managing
                if managing.resource_type is None
                else replace(managing, resource_type=_as_async(managing.resource_type))
                for managing in facts.managing_withs
            ]

    def _walks_parts(self, loop: ast.stmt) -> bool:
        """A ``for`` over something reached from a resource acquired in the generator."""
        iterated = getattr(loop, "iter", None)
        roots = {
            node.id
            for node in (ast.walk(iterated) if iterated is not None else ())
            if isinstance(node, ast.Name)
        }
        return any(
            (facts := self.resources.get(root)) is not None and facts.acquisition is not None
            for root in roots
        )

    def _settle_bindings(self) -> None:
        for key, facts in self.resources.items():
            root = key.split(".", 1)[0]
            bound = self._bindings.get(key, [])
            facts.bindings = bound
            facts.bound_before_yield = (
                facts.acquisition is not None
                or any(position(statement) < self.first_yield for statement in bound)
                or (root in self.parameters and root not in ("self", "cls"))
            )
            # a loop after the yield (`for db in ds.databases.values(): db.close()`) walks
            # what was held across it: its variable is not a resource made after the yield;
            # unless it walks the parts of a resource acquired here (`for cursor in
            # conn.cursors`), which go with that resource and are its findings
            assigned = [
                statement
                for statement in bound
                if not isinstance(statement, LOOPS) or self._walks_parts(statement)
            ]
            facts.bound_only_after_yield = (
                bool(assigned) and not facts.bound_before_yield and root not in self.parameters
            )


def _sets_a_context_variable(call: ast.Call) -> bool:
    """``var.set(value)``: one positional argument, a method called ``set``."""
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "set"
        and len(call.args) == 1
        and not call.keywords
    )
