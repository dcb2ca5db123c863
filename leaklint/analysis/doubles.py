"""Classes of the project whose release does nothing: test doubles and stand-ins.

A name on which ``close()`` is called after the ``yield`` is a resource by evidence. That
evidence is wrong when the project's own class defines the method and its body does nothing but
record the call (``pass``, a docstring, ``self.closed = True``, ``self.calls.append("close")``):
a fake client in a test, a no-op session for running without a database. Skipping such a release
on the error path leaks nothing, and a fix that moves it helps nobody.

The class is read from the generator's own module, or from the module of the project it is
imported from (found as a test runner finds it: from the file's package root up to the
project's folder, see ``declared.import_roots``), parsed once per run.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from leaklint.analysis.imports import ImportMap, dotted_parts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Optional, Union

    from leaklint.analysis.targets import ModuleName

    FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]

_RECORDING_METHODS = frozenset({"append", "appendleft", "add", "extend", "update", "set"})
"""Container methods a fake calls on its own attributes to record that it was closed."""


def does_nothing(function: FunctionNode) -> bool:
    """The body only records the call: ``pass``, ``...``, a docstring, ``return`` (of nothing,
    a constant or ``self``), assignments of constants to ``self`` attributes, counters, and
    appending to a list the object keeps."""
    return all(_records_only(statement) for statement in function.body)


def _records_only(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        value = statement.value
        if isinstance(value, ast.Constant):
            return True  # a docstring, `...`
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            return value.func.attr in _RECORDING_METHODS and _own_attribute(value.func.value)
        return False
    if isinstance(statement, ast.Return):
        return statement.value is None or _plain(statement.value)
    if isinstance(statement, ast.Assign):
        return all(_own_attribute(target) for target in statement.targets) and _plain(
            statement.value
        )
    if isinstance(statement, ast.AugAssign):
        return _own_attribute(statement.target) and isinstance(statement.value, ast.Constant)
    return False


def _own_attribute(node: ast.expr) -> bool:
    """``self.closed``, ``self.calls``: state of the object itself."""
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    )


def _plain(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) or (isinstance(node, ast.Name) and node.id == "self")


def releases_nothing(definition: ast.ClassDef, methods: Iterable[str]) -> bool:
    """Every one of ``methods`` is defined in the class's own body, and does nothing."""
    found = {
        item.name: item
        for item in definition.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    wanted = set(methods)
    return bool(wanted) and all(name in found and does_nothing(found[name]) for name in wanted)


def constructed_class(
    call: ast.Call, imports: ImportMap, module: ModuleName
) -> Optional[ast.ClassDef]:
    """The project class ``call`` constructs: one of the module's own, or one imported from a
    module of the project; ``None`` when it is neither (or not a class)."""
    parts = dotted_parts(call.func)
    if parts is None:
        return None
    if len(parts) == 1 and parts[0] in imports.module_classes:
        return imports.module_classes[parts[0]]
    if not imports.is_imported(parts[0]) or not parts[-1][:1].isupper():
        return None
    qualified = imports.qualified_name(call.func)
    if qualified is None or not module:
        return None
    return _imported_class(Path("/", *module), qualified)


def _imported_class(importer: Path, qualified: str) -> Optional[ast.ClassDef]:
    from leaklint.analysis.declared import import_roots, module_file

    dots = len(qualified) - len(qualified.lstrip("."))
    dotted = qualified[dots:].split(".")
    if dots:
        # the importing file's package; `..` is its parent package
        package = importer if importer.is_dir() else importer.parent
        for _ in range(dots - 1):
            package = package.parent
        located = module_file([package], dotted)
    else:
        folder = importer if importer.is_dir() else importer.parent
        located = module_file(import_roots(folder), dotted)
    if located is None:
        return None
    path, length = located
    if length != len(dotted) - 1:
        return None  # a class nested in a module attribute: not followed
    return _top_level_classes(str(path)).get(dotted[-1])


@functools.lru_cache(maxsize=256)
def _top_level_classes(path: str) -> dict[str, ast.ClassDef]:
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    return {item.name: item for item in tree.body if isinstance(item, ast.ClassDef)}
