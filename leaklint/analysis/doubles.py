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
from leaklint.analysis.reads import consulted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Optional, Union

    from leaklint.analysis.declared import SourceModule
    from leaklint.analysis.targets import ModuleName

    FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]

_RECORDING_METHODS = frozenset({"append", "appendleft", "add", "extend", "update"})
"""Container methods a fake calls on its own attributes to record that it was closed (not
``set()``: setting an event is how a background worker is told to stop)."""
_DOUBLE_WORDS = ("fake", "stub", "mock", "dummy", "noop", "null", "inmemory", "inert")
"""What test doubles and stand-ins are named for."""


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


def releases_nothing(definition: ast.ClassDef, methods: Iterable[str], in_tests: bool) -> bool:
    """Every one of ``methods`` is defined in the class's own body, and does nothing; and the
    class is a stand-in: named for one (``FakeClient``, ``NoopSession``, ``InMemoryQueue``),
    defined in a test module (``in_tests``), or its release is empty through and through. A
    release that only sets a flag (``self._running = False``) stops a worker that reads it."""
    found = {
        item.name: item
        for item in definition.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    wanted = set(methods)
    if not wanted or not all(name in found and does_nothing(found[name]) for name in wanted):
        return False
    if in_tests or named_as_double(definition.name):
        return True
    return all(_empty(found[name]) for name in wanted)


def named_as_double(name: str) -> bool:
    """``FakeRedis``, ``mock_redis``, ``NullSession``: named as a stand-in for the real thing."""
    named = name.lower().replace("_", "")
    return any(word in named for word in _DOUBLE_WORDS)


def _empty(function: FunctionNode) -> bool:
    """``pass``, ``...``, a docstring: nothing at all."""
    return all(
        isinstance(statement, ast.Pass)
        or (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
        for statement in function.body
    )


def in_test_module(module: ModuleName) -> bool:
    """A test module, as pytest finds them: ``test_*.py``, ``*_test.py``, ``conftest.py``, or a
    module under a ``tests``/``test`` folder."""
    if not module:
        return False
    name = module[-1]
    return (
        name.startswith("test_")
        or name.endswith("_test")
        or name == "conftest"
        or any(part in ("tests", "test", "testing") for part in module[:-1])
    )


def constructed_class(
    call: ast.Call,
    imports: ImportMap,
    module: ModuleName,
    read: Optional[frozenset[str]] = None,
) -> Optional[ast.ClassDef]:
    """The project class ``call`` constructs: one of the module's own, or one imported from a
    module of the project; ``None`` when it is neither (or not a class). With ``read``, an
    imported class may come with the bodies of those of its methods alone."""
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
    return _imported_class(Path("/", *module), qualified, read)


def _imported_class(
    importer: Path, qualified: str, read: Optional[frozenset[str]]
) -> Optional[ast.ClassDef]:
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
    return _top_level_class(str(path), dotted[-1], read)


def _top_level_class(
    path: str, name: str, read: Optional[frozenset[str]] = None
) -> Optional[ast.ClassDef]:
    """The class ``name`` defined at the top of the module in ``path`` (the last, if several),
    read again when its file changed (a long-running editor server reads the new version)."""
    from leaklint.discover import read_bytes

    try:
        data = read_bytes(path)
    except OSError:
        return None
    consulted(path)
    found = None
    for statement in _statements_naming(data, name, read):
        if isinstance(statement, ast.ClassDef) and statement.name == name:
            found = statement
    return found


def _statements_naming(
    data: bytes, name: str, read: Optional[frozenset[str]] = None
) -> list[ast.stmt]:
    """Top-level statements of the module ``data``, among them every one that defines
    ``name``: read in part, as the project source reads a module (a test module's fake is one
    class of a large module)."""
    return _module_of(data).body_for(name, read)


@functools.lru_cache(maxsize=64)
def _module_of(data: bytes) -> SourceModule:
    from leaklint.analysis.declared import SourceModule

    return SourceModule(data)
