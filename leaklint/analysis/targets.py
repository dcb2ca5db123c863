"""Which generators are analysed, and who drives them: the project-wide index and
per-function classification.

A generator is a *target* when something drives it like a context manager: a driver of
``drivers.py`` (a ``contextmanager`` decorator, FastAPI's ``Depends``, a lifespan, a pytest
fixture, a container...), found from its decorators or from the references the project index
holds, or its own shape (one ``yield``, not in a loop, with a resource acquired before it).
References resolve through the referring module's imports to one definition.
"""

from __future__ import annotations

import ast
import bisect
import os
import re
from collections.abc import Container, Iterable, Mapping

from leaklint.analysis.drivers import (
    CONTEXTMANAGER,
    FASTAPI,
    LIFESPAN,
    PRESUMED_APP_HOOK,
    PRESUMED_DEPENDENCY,
    Driver,
    DriverTable,
    Role,
)
from leaklint.analysis.imports import ImportMap, dotted_parts
from leaklint.analysis.resources import (
    DEFAULT_KNOWLEDGE,
    SESSION_FACTORY_MAKERS,
    KnowledgeBase,
    ResourceType,
    session_factory_product,
)
from leaklint.analysis.syntax import child_nodes, walk
from leaklint.records import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]

ModuleName = tuple[str, ...]
"""A module as the components of its file's path: ``("srv", "app", "db")`` for
``/srv/app/db.py`` (``__init__`` dropped). Absolute imports match its tail."""


def module_name(filename: str) -> ModuleName:
    """The module a file defines, as path components (see :data:`ModuleName`)."""
    path = os.path.abspath(filename)
    stem, _ = os.path.splitext(path)
    parts = tuple(part for part in stem.replace("\\", "/").split("/") if part)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return parts


@record(frozen=True)
class Reference:
    """A function handed to a driver somewhere in the project: where its definition is."""

    module: ModuleName
    exact: bool
    """``module`` is the defining module itself (a local name, a relative import); otherwise
    it is an absolute import's dotted name, which matches the tail of a module's path."""
    driver: str
    owner: str = ""
    """The class a referenced method belongs to (``db.session`` with ``db = Database()``);
    empty for functions."""

    def matches(self, module: ModuleName) -> bool:
        """Whether a function defined in ``module`` is the one referred to."""
        if self.exact:
            return self.module == module
        return len(self.module) <= len(module) and module[len(module) - len(self.module) :] == (
            self.module
        )


@record(frozen=True)
class Factory:
    """A module-level name bound to a ``sessionmaker(...)`` result: calling it makes a session."""

    module: ModuleName
    resource_type: ResourceType


@record
class ProjectIndex:
    """Facts gathered from every linted file before any generator is analysed.

    Names belong to their module: a reference is resolved through the referring module's own
    definitions and imports to the module that defines it, and matches only a function of that
    name in that module. A method reference (``Depends(service.get_db)``) cannot be resolved
    without types, and matches methods of that name.
    """

    references: dict[str, set[Reference]] = field(default_factory=dict)
    """Function name to the places it is handed to a driver."""
    method_references: dict[str, set[str]] = field(default_factory=dict)
    """Method name to the drivers an ``object.method`` reference hands it to."""
    session_factories: dict[str, set[Factory]] = field(default_factory=dict)
    """Name to the modules that bind it to a session factory at their top level."""
    engines: dict[str, set[Factory]] = field(default_factory=dict)
    """Name to the modules that bind it to a SQLAlchemy engine at their top level (whose
    ``connect()`` gives a ``Connection``)."""

    def merge(self, other: ProjectIndex) -> None:
        """Add another module's facts to this index."""
        for name, references in other.references.items():
            self.references.setdefault(name, set()).update(references)
        for name, drivers in other.method_references.items():
            self.method_references.setdefault(name, set()).update(drivers)
        for name, factories in other.session_factories.items():
            self.session_factories.setdefault(name, set()).update(factories)
        for name, engines in other.engines.items():
            self.engines.setdefault(name, set()).update(engines)

    def drivers_of(
        self,
        name: str,
        module: ModuleName,
        top_level: bool,
        owner_class: Optional[str] = None,
    ) -> set[str]:
        """The drivers a function ``name`` defined in ``module`` is handed to by references
        that resolve to it. A function that is not at the top of its module is reached from
        its own module, or as a method of its class (``owner_class``, when known)."""
        found = set()
        for reference in self.references.get(name, ()):
            if not reference.matches(module):
                continue
            if reference.owner:
                if not top_level and owner_class in (None, reference.owner):
                    found.add(reference.driver)
            elif top_level or reference.exact:
                found.add(reference.driver)
        return found

    def session_factory(self, qualified: str, module: ModuleName) -> Optional[ResourceType]:
        """The session a call of ``qualified`` (as resolved in ``module``) makes, when it names
        a session factory bound at the top of the module it resolves to."""
        return _bound_at_top(self.session_factories, qualified, module)

    def engine(self, qualified: str, module: ModuleName) -> Optional[ResourceType]:
        """The engine ``qualified`` (as resolved in ``module``) is, when it names one bound at
        the top of the module it resolves to: ``engine = create_engine(url)``."""
        return _bound_at_top(self.engines, qualified, module)


def _bound_at_top(
    bindings: Mapping[str, set[Factory]], qualified: str, module: ModuleName
) -> Optional[ResourceType]:
    reference = resolve(qualified, module)
    if reference is None:
        return None
    target_module, name = reference
    for factory in bindings.get(name, ()):
        if target_module.matches(factory.module):
            return factory.resource_type
    return None


def resolve(qualified: str, module: ModuleName) -> Optional[tuple[Reference, str]]:
    """Where a qualified name used in ``module`` is defined: (module reference, last name).

    ``get_db`` (not imported) is this module's; ``app.db.get_db`` is ``get_db`` of a module
    whose path ends in ``app/db``; ``.db.get_db`` is resolved against this module's package.
    """
    dots = len(qualified) - len(qualified.lstrip("."))
    parts = qualified[dots:].split(".")
    if not parts or not parts[-1]:
        return None
    name = parts[-1]
    if dots:
        package = module[: len(module) - dots]
        return Reference(package + tuple(p for p in parts[:-1] if p), True, ""), name
    if len(parts) == 1:
        return Reference(module, True, ""), name
    return Reference(tuple(parts[:-1]), False, ""), name


def index_module(
    tree: ast.Module,
    imports: ImportMap,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    module: ModuleName = (),
    text: Optional[str] = None,
) -> ProjectIndex:
    """The facts one module contributes to the project index.

    With the module's ``text``, only the nodes whose rows name a registering call or method
    are walked (see ``_registering_rows``): in a route module that is a few lines of each
    route, in a test module a few lines of one class, not every expression of the file."""
    index = ProjectIndex()
    drivers = knowledge.drivers
    imported_roots = imports.imported_roots()
    instances = _module_instances(tree, imports)
    rows = _registering_rows(imports, drivers, text)
    for statement in tree.body if rows is None else _spanning(tree.body, rows):
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            continue  # no call in it
        for node in walk(statement) if rows is None else _nodes_spanning(statement, rows):
            if isinstance(node, ast.Call):
                _index_call(node, imports, index, drivers, module, imported_roots, instances)
            elif isinstance(node, ast.Assign):
                _index_assignment(node, imports, index, module, instances)
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            bindings, produced = (
                index.session_factories,
                session_factory_product(statement.value, imports.qualified_name),
            )
            if produced is None:
                bindings = index.engines
                made = knowledge.factory_type(imports.qualified_name(statement.value.func) or "")
                produced = made if made is not None and made.release == "dispose" else None
            if produced is None:
                continue
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    bindings.setdefault(target.id, set()).add(Factory(module, produced))
    return index


def _registering_rows(
    imports: ImportMap, drivers: DriverTable, text: Optional[str]
) -> Optional[list[int]]:
    """The rows (sorted) that hold one of the words a registration must spell.

    A call registers only when its callee resolves to a driver's call (so the callee's last
    name, or a local alias of it, is written there), or when it is a driver's method
    (``cleanup_ctx.append``); an override spells ``dependency_overrides``. So only the
    statements and nodes that span such a row need to be walked. ``None`` without ``text``
    (or with carriage returns in it): every node is."""
    if text is None or "\r" in text:  # rows counted by "\n" alone would drift
        return None
    words = _registration_words(imports, drivers)
    pattern = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, words))) + r")\b")
    rows: list[int] = []
    row, position = 1, 0
    for match in pattern.finditer(text):
        row += text.count("\n", position, match.start())
        position = match.start()
        if not rows or rows[-1] != row:
            rows.append(row)
    return rows


def _spanning(statements: list[ast.stmt], rows: list[int]) -> Iterable[ast.stmt]:
    """The statements whose rows, decorators included, hold one of ``rows``."""
    for statement in statements:
        first = min(
            [statement.lineno]
            + [decorator.lineno for decorator in getattr(statement, "decorator_list", ())]
        )
        if _holds_row(rows, first, statement.end_lineno or statement.lineno):
            yield statement


def _nodes_spanning(statement: ast.stmt, rows: list[int]) -> Iterable[ast.AST]:
    """The nodes of ``statement`` that span one of ``rows`` (and the nodes without a
    position, which only group others): a registering call spans the row of its callee, and
    every node around it spans that row too. A large class with one registration in it is
    walked down to that registration, not whole."""
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        yield node
        for child in child_nodes(node):
            first = getattr(child, "lineno", None)
            decorators = getattr(child, "decorator_list", None)
            if first is not None and decorators:
                # a nested route registers in its decorators, above its `def` line
                first = min(first, *(decorator.lineno for decorator in decorators))
            if first is None or _holds_row(rows, first, child.end_lineno or first):  # type: ignore[attr-defined]
                stack.append(child)


def _holds_row(rows: list[int], first: int, last: int) -> bool:
    at = bisect.bisect_left(rows, first)
    return at < len(rows) and rows[at] <= last


def registration_words(imports: ImportMap, knowledge: KnowledgeBase) -> frozenset[str]:
    """The words a statement of this module must spell to register a function or override a
    dependency."""
    return _registration_words(imports, knowledge.drivers)


def registrations_suffice(data: bytes) -> bool:
    """Whether a module's part of the index can be read from its registering statements and
    imports alone: it makes no session factory nor engine (whose results are read from every
    top-level assignment)."""
    return not any(word in data for word in _TOP_LEVEL_MAKERS)


_TOP_LEVEL_MAKERS = tuple(
    {maker.rsplit(".", 1)[-1].encode() for maker in SESSION_FACTORY_MAKERS}
    | {b"create_engine", b"create_async_engine"}
)
"""Calls whose results the index reads from every top-level assignment: session factories
and engines."""


def _registration_words(imports: ImportMap, drivers: DriverTable) -> frozenset[str]:
    """Every word a registering call, method or override must spell in this module."""
    always, imported = drivers.registration_words
    names = set(always)
    roots = imports.imported_roots()
    for root, words in imported:
        if root in roots:
            names.update(words)
    # ``from fastapi import Depends as D``: the call spells only the alias
    names.update(imports.aliases_of(names))
    return frozenset(names)


def _index_call(
    call: ast.Call,
    imports: ImportMap,
    index: ProjectIndex,
    drivers: DriverTable,
    module: ModuleName,
    imported_roots: frozenset[str],
    instances: Mapping[str, str],
) -> None:
    func = call.func
    qualified = imports.qualified_name(func)
    if qualified is not None:
        driver = drivers.for_call(qualified)
        if driver is not None:
            arguments = [call.args[0]] if driver.positional and call.args else []
            arguments += [k.value for k in call.keywords if k.arg in driver.keywords]
            for argument in arguments:
                _add_reference(argument, driver, imports, index, module, instances)
            return
    if not isinstance(func, ast.Attribute):
        return
    if func.attr == "update" and _is_overrides(func):
        # app.dependency_overrides.update({get_db: override_get_db})
        for argument in call.args:
            if isinstance(argument, ast.Dict):
                for value in argument.values:
                    _add_reference(value, FASTAPI, imports, index, module, instances)
        return
    receiver = func.value.attr if isinstance(func.value, ast.Attribute) else ""
    if isinstance(func.value, ast.Name):
        receiver = func.value.id
    registered = drivers.for_method(receiver, func.attr, imported_roots)
    if registered is not None:
        for argument in call.args[:1]:
            _add_reference(argument, registered, imports, index, module, instances)


def _index_assignment(
    node: ast.Assign,
    imports: ImportMap,
    index: ProjectIndex,
    module: ModuleName,
    instances: Mapping[str, str],
) -> None:
    for target in node.targets:
        # app.dependency_overrides[get_db] = override_get_db
        if isinstance(target, ast.Subscript) and _is_overrides(target):
            _add_reference(node.value, FASTAPI, imports, index, module, instances)


def _module_instances(tree: ast.Module, imports: ImportMap) -> dict[str, str]:
    """``db = Database(URL)`` at the top of the module: ``db`` to the class's qualified name
    (as written, resolved through the imports)."""
    found: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            qualified = imports.qualified_name(statement.value.func)
            if qualified is None:
                continue
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = qualified
    return found


def _class_of(parts: list[str], imports: ImportMap, instances: Mapping[str, str]) -> Optional[str]:
    """The class whose method ``parts.method`` names: a class of this module
    (``Container.get_db``) or the class of a module-level instance (``db.session``)."""
    if len(parts) != 1:
        return None
    head = parts[0]
    if head in imports.module_classes:
        return head
    made_by = instances.get(head)
    if made_by is None or not made_by.rsplit(".", 1)[-1][:1].isupper():
        return None  # made by a function: its result's class is unknown
    return made_by


def _is_overrides(expr: ast.expr) -> bool:
    while isinstance(expr, (ast.Subscript, ast.Attribute)):
        if isinstance(expr, ast.Attribute) and expr.attr == "dependency_overrides":
            return True
        expr = expr.value
    return False


def _add_reference(
    expr: Optional[ast.expr],
    driver: Driver,
    imports: ImportMap,
    index: ProjectIndex,
    module: ModuleName,
    instances: Mapping[str, str],
) -> None:
    if expr is None:
        return
    if isinstance(expr, (ast.List, ast.Tuple)):
        for element in expr.elts:  # lifespan=[a, b], cleanup_ctx.extend([a, b])
            _add_reference(element, driver, imports, index, module, instances)
        return
    parts = dotted_parts(expr)
    if not parts:
        return
    name = parts[-1]
    if len(parts) > 1 and not imports.is_imported(parts[0]):
        # Container.get_db, or service.get_db with `service = Service()` at the top of this
        # module: a method of a known class; self.get_db, request.app.get_db: of some class
        owner = _class_of(parts[:-1], imports, instances)
        resolved_owner = resolve(owner, module) if owner is not None else None
        if resolved_owner is None:
            index.method_references.setdefault(name, set()).add(driver.name)
            return
        where, class_name = resolved_owner
        reference = Reference(where.module, where.exact, driver.name, class_name)
        index.references.setdefault(name, set()).add(reference)
        return
    qualified = imports.qualified_name(expr)
    resolved = resolve(qualified, module) if qualified is not None else None
    if resolved is None:
        return
    where, _ = resolved
    index.references.setdefault(name, set()).add(Reference(where.module, where.exact, driver.name))
    if len(parts) == 1 and not imports.is_imported(name):
        # a star import may be where it comes from
        for star in imports.star_modules:
            star_reference = resolve(f"{star}.{name}", module)
            if star_reference is not None:
                where = star_reference[0]
                index.references[name].add(Reference(where.module, where.exact, driver.name))


@record(frozen=True)
class TargetKind:
    """How a generator is driven, as far as the source tells: the drivers it is handed to."""

    drivers: tuple[Driver, ...] = ()

    @property
    def known(self) -> bool:
        """Some driver is known; otherwise only the generator's shape says it is one."""
        return bool(self.drivers)

    @property
    def throws(self) -> bool:
        """Some driver throws the caller's exception in at the ``yield``."""
        return any(driver.throws for driver in self.drivers)

    @property
    def swallowing_hides_error(self) -> bool:
        """Some driver throws in and loses the caller's error when the generator catches it
        without re-raising (LL005)."""
        return any(d.throws and d.swallowing_hides_error for d in self.drivers)

    @property
    def context_manager(self) -> bool:
        """Entered with ``with`` through ``contextlib``."""
        return any(driver.role is Role.CONTEXT_MANAGER for driver in self.drivers)

    @property
    def dependency(self) -> bool:
        """A dependency of a framework that throws the handler's exception in."""
        return any(driver.role is Role.DEPENDENCY and driver.throws for driver in self.drivers)

    @property
    def pytest_fixture(self) -> bool:
        """A pytest (or pytest-asyncio) yield fixture."""
        return any(driver.role is Role.FIXTURE for driver in self.drivers)

    @property
    def names(self) -> tuple[str, ...]:
        """The drivers' names, for messages and tests."""
        return tuple(driver.name for driver in self.drivers)


def classify(
    function: FunctionNode,
    imports: ImportMap,
    index: ProjectIndex,
    knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE,
    module: ModuleName = (),
    owner_class: Optional[str] = None,
    entered: Container[str] = frozenset(),
) -> TargetKind:
    """Read a function's decorators and the project index to tell how it is driven
    (``owner_class``: the class a method is defined in, when the parse shows it; ``entered``:
    the names the module enters with ``with``/``async with``).

    A framework that takes the function over (a lifespan, a container) decides how it is
    finalized even when the function is also decorated with ``contextmanager``, which such
    frameworks require; ``contextmanager`` alone means application code enters it."""
    table = knowledge.drivers
    found: dict[str, Driver] = {}
    for name in _decorator_names(function.decorator_list, imports):
        for driver in table.for_decorator(name):
            found.setdefault(driver.name, driver)
    top_level = function.col_offset == 0
    referenced = index.drivers_of(function.name, module, top_level, owner_class)
    decorated = set(found) - {CONTEXTMANAGER.name}
    if not top_level and not decorated:
        # `Depends(service.session)` names a method of some object: a guess, which a decorator
        # that hands the method to another driver (dishka's @provide) overrides
        referenced |= index.method_references.get(function.name, set())
    for name in sorted(referenced):
        registered = table.get(name)
        if registered is not None:
            found.setdefault(registered.name, registered)
    if len(found) > 1 and CONTEXTMANAGER.name in found:
        del found[CONTEXTMANAGER.name]
    if (
        set(found) == {CONTEXTMANAGER.name}
        and _shaped_like_lifespan(function)
        and function.name not in entered
    ):
        return TargetKind((LIFESPAN,))
    return TargetKind(tuple(found.values()))


_APPLICATION_CLASSES = frozenset({"FastAPI", "Starlette", "Litestar", "ASGIApp", "Quart"})
"""Classes of the application a lifespan is handed: ``async def lifespan(app: FastAPI)``."""

_ENTERED = re.compile(r"\bwith[ \t]+(?:[\w.]+\.)?(\w+)[ \t]*\(")


class EnteredNames:
    """The names a module's text enters with ``with``/``async with``: ``request_client`` for
    ``async with request_client(request.app) as client``. Read from the text when first asked
    (only a generator shaped like a lifespan asks)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._names: Optional[frozenset[str]] = None

    def __contains__(self, name: object) -> bool:
        if self._names is None:
            text = self._text
            self._names = frozenset(_ENTERED.findall(text)) if "with" in text else frozenset()
        return name in self._names


def _shaped_like_lifespan(function: FunctionNode) -> bool:
    """A lifespan whose registration is out of sight: built by a factory
    (``Starlette(lifespan=build_lifespan(url))`` returns a nested function), registered through
    a project's own registry (``@lifespan_manager.register``, entered by an ``AsyncExitStack``
    when the app starts), or defined in a module the app imports. An ``@asynccontextmanager``
    named ``lifespan`` (or ``*_lifespan``), or registered by a decorator that says
    ``lifespan``, or that takes the application (``app: FastAPI``). Lifespans are resumed
    normally at shutdown, like the registered ones. The caller rules out a function its own
    module enters with ``async with`` (then it is a context manager of the app's)."""
    if not isinstance(function, ast.AsyncFunctionDef):
        return False
    name = function.name.lower()
    if name == "lifespan" or name.endswith("_lifespan"):
        return True
    for decorator in function.decorator_list:
        spelled = dotted_parts(decorator.func if isinstance(decorator, ast.Call) else decorator)
        if spelled and any("lifespan" in part.lower() for part in spelled):
            return True
    arguments = [*function.args.posonlyargs, *function.args.args]
    if arguments and arguments[0].arg in ("self", "cls"):
        arguments = arguments[1:]
    if len(arguments) != 1 or arguments[0].annotation is None:
        return False
    annotation = dotted_parts(arguments[0].annotation)
    return annotation is not None and bool(annotation) and annotation[-1] in _APPLICATION_CLASSES


_DEPENDENCY_MODULES = frozenset({"deps", "dependencies", "dependency", "depends"})
"""What projects name the module (or package) of their dependencies."""
_DEPENDENCY_WORDS = ("db", "session", "conn", "client")


def dependency_name(name: str) -> bool:
    """Whether ``name`` (an identifier) is what projects name a dependency that hands out a
    session or a client: ``get_db``, ``get_async_session``, ``provide_http_client``. Spelt
    out rather than as a pattern, which costs 2 ms to compile in every run."""
    for prefix in ("get_", "provide_"):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            return any(word in rest for word in _DEPENDENCY_WORDS)
    return False


def presumed_driver(
    function: FunctionNode,
    imports: ImportMap,
    module: ModuleName,
    yielded_value: bool,
    holds_something: bool,
) -> Optional[Driver]:
    """How a generator no known driver takes is driven, when its own source says it: a file
    linted alone (flake8, pre-commit, ``leaklint deps.py``) does not see the routers' ``Depends``
    nor the app's ``cleanup_ctx``, and should still get the project's verdict. The caller has
    checked the shape: one ``yield``, not in a loop (or the loop of a generator re-yielded).

    * A dependency: it takes a ``Depends(...)`` parameter itself; or it yields a value it holds
      (a session, a client, another generator's value) and is named as dependencies are
      (``get_db``, ``get_async_session``) or sits in a module named for them (``deps.py``,
      ``dependencies.py``).
    * An application's start-up and shutdown hook: an ``async def`` that takes the app
      (``async def pg_context(app)``) and yields nothing: an aiohttp cleanup context or a
      lifespan, resumed normally at shutdown.
    """
    if function.decorator_list or function.col_offset:
        # a decorator of its own says more; a function nested in another (a factory's) or in a
        # class is reached through what makes it, which its own source does not show
        return None
    arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    if (
        isinstance(function, ast.AsyncFunctionDef)
        and not yielded_value
        and len(arguments) == 1
        and arguments[0].arg in ("app", "application")
    ):
        return PRESUMED_APP_HOOK
    if not yielded_value:
        return None
    defaults = [*function.args.defaults, *filter(None, function.args.kw_defaults)]
    annotations = [argument.annotation for argument in arguments if argument.annotation]
    if any(_spells_depends(node, imports) for node in [*defaults, *annotations]):
        return PRESUMED_DEPENDENCY
    if not holds_something:
        return None
    in_dependency_module = any(part in _DEPENDENCY_MODULES for part in module[-2:])
    if in_dependency_module or dependency_name(function.name):
        return PRESUMED_DEPENDENCY
    return None


def _spells_depends(node: ast.expr, imports: ImportMap) -> bool:
    """``Depends(get_db)``, ``Annotated[Session, Depends(get_db)]``: a parameter a dependency
    framework fills."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            parts = dotted_parts(inner.func)
            if parts and parts[-1] in ("Depends", "Security", "Provide", "Inject"):
                return True
    return False


def _decorator_names(decorators: Iterable[ast.expr], imports: ImportMap) -> Iterable[str]:
    for decorator in decorators:
        if isinstance(decorator, ast.Call):
            decorator = decorator.func
        qualified = imports.qualified_name(decorator)
        if qualified is None:
            continue
        yield qualified
        # a star import or a re-export: `from contextlib import *`, then `@contextmanager`
        if qualified in ("contextmanager", "asynccontextmanager") and not imports.is_imported(
            qualified
        ):
            yield f"contextlib.{qualified}"
