"""What the project's own source says a call returns, read without astroid.

Type inference asks astroid about calls the knowledge base does not know, and astroid's first
answer costs a quarter of a second of its own start before it reads anything. Many questions
about the project's code are settled by the definition alone:

* a function or method annotated to return a plain value (``-> str``, ``-> dict[str, Any]``,
  ``-> Optional[int]``) returns no resource;
* a function annotated to return a class (``-> httpx.Client``) returns what calling that class
  returns: the knowledge base may know it, or the class's own definition may settle it;
* a class with no bases, decorators or metaclass is a resource exactly when its own body defines
  ``__exit__`` or ``__aexit__`` and ``close`` or ``aclose``, which is what astroid would find.

Everything else (a base class, a decorator, a re-export, an unannotated function) is left to
astroid: :data:`ASK` says so.
"""

from __future__ import annotations

import ast
import enum
from pathlib import Path

from leaklint.analysis.imports import ImportMap, dotted_parts
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, Optional, Union


class _Ask(enum.Enum):
    ASK = "ask"


ASK = _Ask.ASK
"""The source does not settle it: ask astroid."""


@record(frozen=True)
class Returns:
    """The function is annotated to return an instance of ``qualified`` (resolved through its
    module's imports), which the source alone does not describe."""

    qualified: str


if TYPE_CHECKING:
    Answer = Union[Optional[dict[str, Any]], Returns, Literal[_Ask.ASK]]

_PLAIN = frozenset(
    {
        "None",
        "NoneType",
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "set",
        "str",
        "tuple",
        "Dict",
        "FrozenSet",
        "List",
        "Set",
        "Tuple",
    }
)
"""Types whose values hold nothing outside the process, whatever they contain."""
_EITHER = frozenset({"Optional", "Union"})
_RELEASES = ("aclose", "close")
_EXITS = ("__exit__", "__aexit__")
_DYNAMIC = frozenset({*_RELEASES, *_EXITS, "__getattr__", "__getattribute__", "__new__"})
"""Names that, bound any other way than by a ``def`` in the class body, need astroid."""


class Definitions:
    """The parsed modules of the project, each read once."""

    def __init__(self) -> None:
        self._trees: dict[str, Optional[ast.Module]] = {}
        self._imports: dict[str, ImportMap] = {}

    def answer(self, path: str, text: Optional[str], names: list[str], module: str) -> Answer:
        """What calling ``names`` (``["Connection"]``, ``["Tracker", "track"]``) defined at the
        top of the module ``module`` in ``path`` (whose ``text`` the caller may already have)
        returns: a record as astroid's, ``None`` for no resource, or :data:`ASK`."""
        tree = self._tree(path, text)
        if tree is None or not names:
            return ASK
        definition = _only_definition(tree.body, names[0])
        if definition is None:
            return ASK
        if isinstance(definition, ast.ClassDef):
            if len(names) == 1:
                return _class_answer(definition, f"{module}.{definition.name}")
            if len(names) != 2:
                return ASK
            method = _only_definition(definition.body, names[1])
            if not isinstance(method, ast.FunctionDef) or not _plain_method(method):
                return ASK
            return self._function_answer(path, tree, method, module)
        if len(names) != 1 or not isinstance(definition, ast.FunctionDef):
            return ASK
        if definition.decorator_list:
            return ASK
        return self._function_answer(path, tree, definition, module)

    def _function_answer(
        self, path: str, tree: ast.Module, function: ast.FunctionDef, module: str
    ) -> Answer:
        returns = function.returns
        if returns is None:
            return ASK
        if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
            try:
                returns = ast.parse(returns.value, mode="eval").body
            except SyntaxError:
                return ASK
        if _plain(returns):
            return None
        if isinstance(returns, ast.Name):
            own = _only_definition(tree.body, returns.id)
            if isinstance(own, ast.ClassDef):  # a class of the same module
                return _class_answer(own, f"{module}.{own.name}")
        parts = dotted_parts(returns)
        if parts is None:
            return ASK
        imports = self._imports.get(path)
        if imports is None:
            imports = self._imports[path] = ImportMap(tree)
        if not imports.is_imported(parts[0]):
            return ASK  # a name the module binds itself some other way
        qualified = imports.qualified_name(returns)
        return ASK if qualified is None else Returns(qualified)

    def _tree(self, path: str, text: Optional[str]) -> Optional[ast.Module]:
        if path not in self._trees:
            try:
                source = text if text is not None else Path(path).read_bytes()
                self._trees[path] = ast.parse(source)
            except (OSError, SyntaxError, ValueError, RecursionError):
                self._trees[path] = None
        return self._trees[path]


def module_file(root: Path, dotted: list[str]) -> Optional[tuple[Path, int]]:
    """The file under ``root`` of the longest module prefix of ``dotted``, and how many of
    its parts name that module: ``(root/app/db.py, 2)`` for ``app.db.Session``."""
    for length in range(len(dotted) - 1, 0, -1):
        base = root.joinpath(*dotted[:length])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate, length
    return None


def _only_definition(body: list[ast.stmt], name: str) -> Optional[ast.stmt]:
    """The one statement of ``body`` that binds ``name``, if it is a ``def`` or ``class``."""
    bound = [_bound_by(statement) for statement in body]
    if any("*" in names for names in bound):
        return None  # `from module import *` may bind anything
    binding = [statement for statement, names in zip(body, bound) if name in names]
    if len(binding) != 1:
        return None
    [statement] = binding
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement
    return None


def _bound_by(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return {
            node.id for target in targets for node in ast.walk(target) if isinstance(node, ast.Name)
        }
    # anything bound under a condition or in a loop (the statement itself is no definition)
    nested = [child for child in ast.iter_child_nodes(statement) if isinstance(child, ast.stmt)]
    for clauses in ("handlers", "cases"):  # `except` and `case` clauses are not statements
        nested += [child for clause in getattr(statement, clauses, ()) for child in clause.body]
    return {name for child in nested for name in _bound_by(child)}


def _class_answer(definition: ast.ClassDef, qualified: str) -> Answer:
    if definition.decorator_list or definition.keywords:
        return ASK
    if any(not (isinstance(base, ast.Name) and base.id == "object") for base in definition.bases):
        return ASK
    methods: dict[str, ast.stmt] = {}
    for statement in definition.body:
        for name in _bound_by(statement) & _DYNAMIC:
            if not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return ASK  # bound by an assignment, an import or under a condition
            if name in methods:
                return ASK  # defined twice
            methods[name] = statement
    if "__getattr__" in methods or "__getattribute__" in methods or "__new__" in methods:
        return ASK
    if not any(name in methods for name in _EXITS):
        return None
    for name in _RELEASES:
        release = methods.get(name)
        if release is not None:
            return {
                "name": qualified,
                "release": name,
                "async": isinstance(release, ast.AsyncFunctionDef),
            }
    return None


def _plain_method(method: ast.FunctionDef) -> bool:
    """A method with no decorator besides ``classmethod`` or ``staticmethod``."""
    return all(
        isinstance(decorator, ast.Name) and decorator.id in ("classmethod", "staticmethod")
        for decorator in method.decorator_list
    )


def _plain(annotation: ast.expr) -> bool:
    """Whether the annotation says the value is plain data (see ``_PLAIN``)."""
    if isinstance(annotation, ast.Constant):
        if annotation.value is None:
            return True
        if isinstance(annotation.value, str):  # a string annotation
            try:
                parsed = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return False
            return _plain(parsed)
        return False
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _plain(annotation.left) and _plain(annotation.right)
    if isinstance(annotation, ast.Subscript):
        container = _type_name(annotation.value)
        if container in _EITHER:
            members = annotation.slice
            elements = members.elts if isinstance(members, ast.Tuple) else [members]
            return all(_plain(element) for element in elements)
        return container in _PLAIN
    return _type_name(annotation) in _PLAIN


def _type_name(expression: ast.expr) -> Optional[str]:
    """``List`` for ``List`` and ``typing.List``; ``None`` for anything else."""
    if isinstance(expression, ast.Name):
        return expression.id
    if (
        isinstance(expression, ast.Attribute)
        and isinstance(expression.value, ast.Name)
        and expression.value.id in ("typing", "builtins")
    ):
        return expression.attr
    return None
