"""What the project's own source says a call returns, read without astroid.

Type inference asks astroid about calls the knowledge base does not know, and astroid's first
answer costs a quarter of a second of its own start before it reads anything. Many questions
about the project's code are settled by the definition alone:

* a function or method annotated to return a plain value (``-> str``, ``-> dict[str, Any]``,
  ``-> Optional[int]``) returns no resource;
* a function annotated to return a class (``-> httpx.Client``) returns what calling that class
  returns: the knowledge base may know it, or the class's own definition may settle it;
* a class with no bases, decorators or metaclass is a resource exactly when its own body defines
  ``__exit__`` or ``__aexit__`` and ``close`` or ``aclose``, which is what astroid would find;
* a module-level name bound once to a call the knowledge base knows (``engine =
  create_engine(...)``, or a function of the module that returns one) answers for the methods
  the knowledge base describes on that resource (``engine.execution_options()`` shares the
  engine's pool), and a session registry (``Session = scoped_session(...)``) hands out sessions
  it releases itself.

The knowledge base speaks for the standard library, as it does for calls written in the
generator itself (those are never asked about): a function without annotation whose every
``return`` gives nothing, a constant or a standard-library call the knowledge base does not know
(``importlib.import_module(name)``) returns no resource, and neither does a class whose bases
are all such standard-library classes (``unittest.SkipTest``) and whose body defines no release
or exit method.

Everything else (another base class, a decorator, a re-export, another unannotated function, a
method the knowledge base does not describe) is left to astroid: :data:`ASK` says so.
"""

from __future__ import annotations

import ast
import enum
import os
import re
from pathlib import Path

from leaklint.analysis.doubles import does_nothing, named_as_double
from leaklint.analysis.imports import ImportMap, dotted_parts
from leaklint.analysis.libraries import LIFECYCLES as _LIFECYCLES
from leaklint.analysis.reads import consulted
from leaklint.analysis.resources import (
    DEFAULT_KNOWLEDGE,
    METHOD_RESULTS,
    SESSION_REGISTRIES,
    KnowledgeBase,
    ResourceType,
)
from leaklint.analysis.syntax import own_scope
from leaklint.parse import ModuleInPart, decode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, Optional, Union

    from leaklint.analysis.targets import FunctionNode


class _Ask(enum.Enum):
    ASK = "ask"


ASK = _Ask.ASK
"""The source does not settle it: ask astroid."""


if TYPE_CHECKING:
    Answer = Union[Optional[dict[str, Any]], ResourceType, Literal[_Ask.ASK]]
    """A record as astroid's, a resource the knowledge base knows, ``None`` for no resource,
    or :data:`ASK`."""

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
_LIFECYCLE_WORDS = frozenset(name for pair in _LIFECYCLES for name in pair)
_DYNAMIC = frozenset(
    {*_RELEASES, *_EXITS, *_LIFECYCLE_WORDS, "__getattr__", "__getattribute__", "__new__"}
)
"""Names that, bound any other way than by a ``def`` in the class body, need astroid."""


class Definitions:
    """The parsed modules of the project, each read once."""

    def __init__(self, knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE, in_part: bool = True) -> None:
        self._knowledge = knowledge
        self._in_part = in_part
        """Read a module in part for each name asked about (``False``: parse it whole, as
        ``benchmarks/source_parity.py`` does to hold the two to the same answers)."""
        self._modules: dict[str, tuple[int, SourceModule]] = {}
        """Each module with a digest of the text it was read from."""

    def answer(self, path: str, text: Optional[str], names: list[str], module: str) -> Answer:
        """What calling ``names`` (``["Connection"]``, ``["Tracker", "track"]``) defined at the
        top of the module ``module`` in ``path`` (whose ``text`` the caller may already have)
        returns: see :data:`Answer`."""
        tree = self._module(path, text)
        if tree is None or not names:
            return ASK
        # the answer reads this module alone: asked again (a model's `create`, from every
        # fixture that calls it), it is the same while the module's text is
        key = (tuple(names), module)
        if key not in tree.answers:
            tree.answers[key] = self._answer(path, tree, names, module)
        return tree.answers[key]

    def _answer(self, path: str, tree: SourceModule, names: list[str], module: str) -> Answer:
        # of a class, the methods asked about and those that tell what it is
        definition = _only_binding(tree.body_for(names[0], _DYNAMIC.union(names[1:])), names[0])
        if isinstance(definition, (ast.Assign, ast.AnnAssign)):
            return self._instance_answer(path, tree, definition, names[1:])
        if isinstance(definition, ast.ClassDef):
            if len(names) == 1:
                if self._standard_bases(path, tree, definition):
                    return None if _defines(definition, _DYNAMIC) is False else ASK
                return _class_answer(definition, f"{module}.{definition.name}")
            if len(names) != 2:
                return ASK
            method = _only_definition(definition.body, names[1])
            if not isinstance(method, ast.FunctionDef) or not _plain_method(method):
                return ASK
            return self._function_answer(path, tree, method, module)
        if len(names) != 1 or not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return ASK
        if definition.decorator_list:
            return ASK
        return self._function_answer(path, tree, definition, module)

    def _function_answer(
        self, path: str, tree: SourceModule, function: FunctionNode, module: str
    ) -> Answer:
        if named_as_double(function.name):
            return None  # `def mock_redis() -> Redis: return AsyncMock(spec=Redis)`
        returns = function.returns
        if returns is None:
            return self._returned(path, tree, function)
        if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
            try:
                returns = ast.parse(returns.value, mode="eval").body
            except SyntaxError:
                return ASK
        if _plain(returns):
            return None
        if isinstance(returns, ast.Name):
            own = _only_definition(tree.body_for(returns.id, _DYNAMIC), returns.id)
            if isinstance(own, ast.ClassDef):  # a class of the same module
                return _class_answer(own, f"{module}.{own.name}")
        named = self._imported(path, tree, returns) or ""
        known = self._knowledge.factory_type(named) or self._knowledge.class_type(named)
        if known is not None and _hands_out_what_it_keeps(function):
            return None  # `-> Engine` of `return registry.get_engine(name)`: not the caller's
        return ASK if known is None else known

    def _returned(
        self, path: str, tree: SourceModule, function: FunctionNode, depth: int = 0
    ) -> Answer:
        """An unannotated function's answer from its ``return`` statements. Each returns
        nothing, a constant, what a call returns, or a name the function bound to a call
        (``conn = sqlite3.connect(path)`` ... ``return conn``): the known resource they all
        return (the knowledge base's, or another function of the module's), ``None`` when none
        returns one (a standard-library call the knowledge base does not know returns none, as
        written in place), else :data:`ASK`."""
        scope: dict[ast.AST, ast.AST] = {}
        nodes = list(own_scope(function, scope))
        bound: dict[str, list[ast.expr]] = {}
        for node in nodes:
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return ASK
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    bound.setdefault(target.id, []).append(node.value)
        made: set[Optional[ResourceType]] = set()
        for node in nodes:
            if not isinstance(node, ast.Return) or node.value is None:
                continue
            values: list[ast.expr] = [node.value]
            if isinstance(node.value, ast.Name):
                values = bound.get(node.value.id, [])
                if not values:
                    return ASK  # a parameter, a global: not made here
            for value in values:
                answer = self._value_answer(path, tree, value, depth)
                if answer is ASK:
                    return ASK
                made.add(answer if isinstance(answer, ResourceType) else None)
        resources = made - {None}
        if not resources:
            return None
        return resources.pop() if len(resources) == 1 and None not in made else ASK

    def _value_answer(self, path: str, tree: SourceModule, value: ast.expr, depth: int) -> Answer:
        """What a returned (or bound) expression holds: a constant holds nothing; a call, what
        its callee makes."""
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, ast.Constant):
            return None
        if not isinstance(value, ast.Call):
            return ASK
        qualified = self._imported(path, tree, value.func)
        known = self._knowledge.factory_type(qualified or "")
        if known is not None:
            return known
        if self._standard(path, tree, value.func):
            return None
        if isinstance(value.func, ast.Name) and qualified is None and depth < 2:
            # `return _connect(path)`: another function of the module
            helper = _only_definition(tree.body_for(value.func.id), value.func.id)
            if isinstance(helper, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
                helper.decorator_list
            ):
                if helper.returns is None:
                    return self._returned(path, tree, helper, depth + 1)
                return self._function_answer(path, tree, helper, "")
        return ASK

    def _standard_bases(self, path: str, tree: SourceModule, definition: ast.ClassDef) -> bool:
        """The class has bases, and each is a standard-library class the knowledge base does
        not know (``unittest.SkipTest``), as a class of the checked module is asked about only
        when it inherits from outside the standard library."""
        if definition.decorator_list or definition.keywords or not definition.bases:
            return False
        return all(self._standard(path, tree, base) for base in definition.bases)

    def _standard(self, path: str, tree: SourceModule, expression: ast.expr) -> bool:
        """``expression`` names, through the module's imports, a standard-library callable
        that the knowledge base does not know as a factory."""
        from leaklint.analysis.collector import standard_library

        qualified = self._imported(path, tree, expression)
        if qualified is None or qualified.startswith("."):
            return False
        return (
            qualified.split(".", 1)[0] in standard_library()
            and self._knowledge.factory_type(qualified) is None
        )

    def _instance_answer(
        self,
        path: str,
        tree: SourceModule,
        binding: Union[ast.Assign, ast.AnnAssign],
        methods: list[str],
    ) -> Answer:
        """What calling ``methods`` of the value a module-level assignment binds returns (the
        value itself, when ``methods`` is empty)."""
        value = binding.value
        targets = binding.targets if isinstance(binding, ast.Assign) else [binding.target]
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            return ASK
        if not isinstance(value, ast.Call) or len(methods) > 1:
            return ASK
        if not methods:
            if self._imported(path, tree, value.func) in SESSION_REGISTRIES:
                return None  # the registry's session, released by its `remove()`
            return ASK
        made = self._made_by(path, tree, value)
        if made is None or (made, methods[0]) not in METHOD_RESULTS:
            return ASK
        return METHOD_RESULTS[made, methods[0]]

    def _made_by(self, path: str, tree: SourceModule, call: ast.Call) -> Optional[ResourceType]:
        """The resource ``call`` returns, when the knowledge base knows it: a known factory,
        or a function of this module (not decorated) that returns known factories' one kind
        of resource, by annotation or by every ``return`` it has."""
        known = self._knowledge.factory_type(self._imported(path, tree, call.func) or "")
        if known is not None or not isinstance(call.func, ast.Name):
            return known
        function = _only_definition(tree.body_for(call.func.id), call.func.id)
        if not isinstance(function, ast.FunctionDef) or function.decorator_list:
            return None
        if function.returns is not None:
            annotated = self._function_answer(path, tree, function, "")
            return annotated if isinstance(annotated, ResourceType) else None
        made = set()
        for node in own_scope(function, {}):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return None
            if isinstance(node, ast.Return):
                if node.value is None or _is_none(node.value):
                    continue  # a method of `None` raises: the question is about the resource
                if not isinstance(node.value, ast.Call):
                    return None
                callee = self._imported(path, tree, node.value.func)
                made.add(self._knowledge.factory_type(callee or ""))
        return made.pop() if len(made) == 1 else None

    def _imported(self, path: str, tree: SourceModule, expression: ast.expr) -> Optional[str]:
        """The qualified name ``expression`` spells through the module's imports, if it is
        imported (not bound by the module some other way)."""
        parts = dotted_parts(expression)
        if parts is None:
            return None
        imports = tree.imports
        if not imports.is_imported(parts[0]):
            return None
        return imports.qualified_name(expression)

    def _module(self, path: str, text: Optional[str]) -> Optional[SourceModule]:
        """The module, read again when its text changed (a fix pass, an editor's buffer, a
        file saved since): from disk when ``text`` is not given."""
        source: Union[str, bytes]
        if text is None:
            read = _read(path)
            if read is None:
                return None
            consulted(path)  # another module's: the findings depend on it too
            source, version, _ = read
        else:
            source, version = text, hash(text)
        kept = self._modules.get(path)
        if kept is None or kept[0] != version:
            kept = self._modules[path] = (version, SourceModule(source, self._in_part))
        module = kept[1]
        return None if module.broken else module


class SourceModule:
    """A module of the project as far as the questions about it needed it read: its imports,
    and the top-level statements that spell each name asked about (see
    :class:`~leaklint.parse.ModuleInPart`); parsed whole when a part does not parse alone.
    Parsing whole modules, the checked one included, to answer for one name in each was a
    tenth of a run on the projects that ask most."""

    def __init__(self, source: Union[str, bytes], in_part: bool = True) -> None:
        self._source = source
        self._part: Optional[ModuleInPart] = None
        self._whole: Optional[ast.Module] = None
        self._bodies: dict[tuple[str, Optional[frozenset[str]]], list[ast.stmt]] = {}
        self._imports: Optional[ImportMap] = None
        self.answers: dict[tuple[tuple[str, ...], str], Answer] = {}
        """What :meth:`Definitions.answer` answered about this version of the module."""
        self.broken = False
        """The module does not parse: nothing is answered from it."""
        try:
            text = source if isinstance(source, str) else decode(source)
        except (UnicodeDecodeError, SyntaxError, LookupError):
            text = None
        if in_part and text is not None and "\0" not in text:
            self._part = ModuleInPart(text)
        if self._part is None or self._part.imports is None:
            self._parse_whole()

    def body_for(self, name: str, read: Optional[frozenset[str]] = None) -> list[ast.stmt]:
        """Top-level statements of the module, among them every one that binds ``name``. With
        ``read``, a class ``name`` may come with the bodies of those of its methods alone (the
        others' are ``pass``), where the module is read in part."""
        if self._part is None:
            return self._whole.body if self._whole is not None else []
        body = self._bodies.get((name, read))
        if body is None:
            found = self._part.naming(name, read)
            if found is None:
                self._parse_whole()
                return self.body_for(name)
            body = self._bodies[name, read] = found
        return body

    @property
    def imports(self) -> ImportMap:
        if self._imports is None:
            if self._part is not None and self._part.imports is not None:
                tree = ast.Module(body=self._part.imports, type_ignores=[])
            else:
                tree = self._whole or ast.Module(body=[], type_ignores=[])
            self._imports = ImportMap(tree)
        return self._imports

    def _parse_whole(self) -> None:
        self._part = None
        self._bodies.clear()
        self._imports = None
        try:
            self._whole = ast.parse(self._source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.broken = True


def _read(path: str) -> Optional[tuple[bytes, int, str]]:
    """A module's bytes, their version and their text, read from disk again only when its
    size or time changed: the oracle asks about the same modules many times in a run. The
    version of a file that is UTF-8 is its text's, so the checked module's text (which a
    caller passes) and the same file read here are one version, and parsed once."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    stamp = (status.st_mtime_ns, status.st_size)
    kept = _READ.get(path)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    try:
        text = data.decode("utf-8")
        version = hash(text)
    except UnicodeDecodeError:
        text, version = data.decode("utf-8", errors="replace"), hash(data)
    _READ[path] = (stamp, (data, version, text))
    return data, version, text


_READ: dict[str, tuple[tuple[int, int], tuple[bytes, int, str]]] = {}


_TOP_LEVEL = re.compile(r"^[^\s#)\]}@]", re.M)
"""The start of the next top-level statement (not a comment, a decorator or a closing
bracket of a long signature)."""
_IDENTIFIER = re.compile(r"\w+")
_DEFINITION = re.compile(
    r"^(?:async[ \t]+)?def[ \t]+(\w+)\b|^class[ \t]+(\w+)\b|^(\w+)[ \t]*[:=]"
    r"|^(?:from|import)[ \t].*",
    re.M,
)
"""A top-level ``def``, ``class``, assignment or import line."""


class ProjectSource:
    """What a call the knowledge base does not know returns, as the project's own source
    says it, never asking astroid: a function of the module or of another module of the
    project that returns a known resource (``def connect(): conn = sqlite3.connect(...);
    ...; return conn``) or is annotated to return one (``-> sqlite3.Connection``), a class
    of the project with an exit and a release method. Modules are read once per run."""

    def __init__(self, knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE) -> None:
        self._definitions = Definitions(knowledge)
        self._roots: dict[Path, list[Path]] = {}
        """For a package root, where its modules import others from."""
        words = {name.rsplit(".", 1)[-1] for name in knowledge.factories}
        words |= {name.rsplit(".", 1)[-1] for name in knowledge.classes}
        words |= {pattern.rsplit(".", 1)[-1] for pattern, _ in knowledge.factory_patterns}
        self._words = frozenset(words)
        """Names a definition must spell to make a known resource: what saves parsing the
        module whole for the many functions that make none."""
        self._wildcards = any(set("*?[") & set(word) for word in self._words)
        self._names: dict[str, tuple[int, dict[str, tuple[str, int, int]]]] = {}
        self._may: dict[tuple[str, str], tuple[int, bool]] = {}
        """:meth:`_may_make_one`'s answers, each with the version of the text it read: a
        class of a thousand lines is asked about from every module that imports it."""
        self._modules: dict[str, tuple[str, Path]] = {}
        self._files: dict[tuple[Path, str], Optional[tuple[Path, int]]] = {}
        """The project's layout as the file system gave it (what module a file is, where a
        module's file is): asked for every call the oracle meets, and kept until
        :meth:`forget_layout`, as files come and go only between runs."""
        self._listings: dict[Path, frozenset[str]] = {}
        """What each import root holds, for the same time."""

    def forget_layout(self) -> None:
        """Look at the file system again for the project's layout: a file or a package may
        have been added or removed since the layout was last read."""
        self._modules.clear()
        self._files.clear()
        self._roots.clear()
        self._listings.clear()

    def _module_and_root(self, filename: str) -> tuple[str, Path]:
        kept = self._modules.get(filename)
        if kept is None:
            kept = self._modules[filename] = module_name_and_root(Path(filename))
        return kept

    def _module_file(self, root: Path, absolute: str) -> Optional[tuple[Path, int]]:
        key = (root, absolute)
        if key in self._files:
            return self._files[key]
        roots = self._roots.get(root)
        if roots is None:
            roots = self._roots[root] = import_roots(root)
        dotted = absolute.split(".")
        # a root whose folder holds neither the first package nor its module holds no prefix
        # of the name: one listing per root spares a stat per prefix (`sqlalchemy.orm.Session`
        # was looked for as six files under each of up to six roots)
        holding = [folder for folder in roots if dotted[0] in self._names_in(folder)]
        found = self._files[key] = module_file(holding, dotted)
        return found

    def _names_in(self, folder: Path) -> frozenset[str]:
        """The names in ``folder`` that a module's first component may be: each entry, and
        each ``.py`` file's without its suffix; empty when it cannot be listed."""
        kept = self._listings.get(folder)
        if kept is None:
            try:
                entries = os.listdir(folder)
            except OSError:
                entries = []
            kept = frozenset(entries) | {name[:-3] for name in entries if name.endswith(".py")}
            self._listings[folder] = kept
        return kept

    def answer(self, filename: str, text: Optional[str], qualified: str, imported: bool) -> Answer:
        """The answer for ``qualified`` (a name the module ``filename`` imports, or one of its
        own, whose source is ``text``): :data:`ASK` when the source does not settle it."""
        if imported:
            module, root = self._module_and_root(filename)
            absolute = absolute_name(qualified, filename, module)
            found = self._module_file(root, absolute)
            if found is None:
                return ASK  # not the project's code
            path, length = found
            dotted = absolute.split(".")
            names = dotted[length:]
            if len(names) == 1 and not self._may_make_one(path, None, names[0]):
                return ASK
            return self._definitions.answer(str(path), None, names, ".".join(dotted[:length]))
        names = qualified.split(".")
        if len(names) == 1 and not self._may_make_one(Path(filename), text, names[0]):
            return ASK
        module, _ = self._module_and_root(filename)
        return self._definitions.answer(os.path.abspath(filename), text, names, module)

    def _may_make_one(self, path: Path, text: Optional[str], name: str) -> bool:
        """Whether the top-level definition of ``name`` can make a known resource: it spells a
        known factory or class (what it calls or is annotated to return), or it is a class
        (whose methods say). Read from the text: the module is parsed only when it can."""
        if self._wildcards:
            return True
        if text is None:
            read = _read(str(path))
            if read is None:
                return False
            consulted(str(path))
            text = read[2]
        version = hash(text)
        key = (str(path), name)
        kept = self._may.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        found = self._top_level_names(str(path), text).get(name)
        if found is None:
            answer = False  # not the module's: a builtin, a name bound where it is used
        elif found[0] == "bound":
            answer = True  # an assignment, an import: the parse tells
        else:
            kind, start, end = found
            following = _TOP_LEVEL.search(text, end)
            spelt = set(
                _IDENTIFIER.findall(text[start : following.start() if following else len(text)])
            )
            if kind == "class":
                # a class of the project is a resource by its own exit and release methods,
                # or by a lifecycle of two methods (`start` and `stop`)
                answer = (not spelt.isdisjoint(_EXITS) and not spelt.isdisjoint(_RELEASES)) or any(
                    opening in spelt and closing in spelt for opening, closing in _LIFECYCLES
                )
            else:
                answer = not self._words.isdisjoint(spelt)
        self._may[key] = (version, answer)
        return answer

    def _top_level_names(self, path: str, text: str) -> dict[str, tuple[str, int, int]]:
        """Where each name is first defined (``def``, ``class``) or bound (an assignment, an
        import line) at the top of a module: one scan of its text, kept while the text is the
        same, rather than a pattern compiled for each name asked about."""
        version = hash(text)
        kept = self._names.get(path)
        if kept is not None and kept[0] == version:
            return kept[1]
        names: dict[str, tuple[str, int, int]] = {}
        for match in _DEFINITION.finditer(text):
            defined, klass, bound = match.groups()
            if defined or klass:
                entry = ("def" if defined else "class", match.start(), match.end())
                names.setdefault(defined or klass, entry)
            elif bound:
                names.setdefault(bound, ("bound", match.start(), match.end()))
            else:
                for word in _IDENTIFIER.findall(match.group()):
                    names.setdefault(word, ("bound", match.start(), match.end()))
        self._names[path] = (version, names)
        return names

    def resource_type(
        self,
        filename: str,
        text: str,
        qualified: str,
        call: ast.Call,
        imported: bool,
        source_only: bool = True,
    ) -> Optional[ResourceType]:
        """The resource ``call`` returns, as far as the project's source says (the collector's
        oracle when type inference is off)."""
        answer = self.answer(filename, text, qualified, imported)
        if isinstance(answer, ResourceType):
            return answer
        if isinstance(answer, dict):
            opened_by = answer.get("opened_by")
            return ResourceType(
                str(answer["name"]),
                release=str(answer["release"]),
                release_is_async=bool(answer["async"]),
                inferred=True,
                opened_by=(str(opened_by),) if opened_by else (),
            )
        return None


def absolute_name(qualified: str, filename: str, module: Optional[str] = None) -> str:
    """``app.db.Session`` for ``.db.Session`` imported in ``app/deps.py`` (whose ``module``
    name is read from the file system unless given)."""
    if not qualified.startswith("."):
        return qualified
    name = module if module is not None else module_name_and_root(Path(filename))[0]
    package = name.split(".")
    if Path(filename).name != "__init__.py":
        package = package[:-1]
    dots = len(qualified) - len(qualified.lstrip("."))
    package = package[: len(package) - (dots - 1)] if dots > 1 else package
    return ".".join([*package, qualified.lstrip(".")])


def module_name_and_root(path: Path) -> tuple[str, Path]:
    """``app.db.session`` and the folder above ``app/`` for ``.../app/db/session.py``."""
    path = path.resolve()
    parts = [path.stem] if path.stem != "__init__" else []
    folder = path.parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.stem, folder


_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


def import_roots(root: Path) -> list[Path]:
    """Where a module of the package root ``root`` may import others from: ``root``, then the
    folders above it up to the project's (the first holding ``pyproject.toml``, ``setup.py``,
    ``setup.cfg`` or ``.git``), as a test runner puts them on the path, each followed by its
    ``src/``, where a project keeps its packages apart from its tests."""
    roots = []
    for folder in (root, *root.parents):
        roots += [folder, folder / "src"]
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return roots
    return roots[:2]  # no project around it: its own folder only


def module_file(roots: list[Path], dotted: list[str]) -> Optional[tuple[Path, int]]:
    """The file of the longest module prefix of ``dotted`` under the first of ``roots`` that
    has one, and how many of its parts name that module: ``(root/app/db.py, 2)`` for
    ``app.db.Session``."""
    for folder in roots:
        for length in range(len(dotted) - 1, 0, -1):
            # os.path on str: asked for every imported name the oracle meets
            base = os.path.join(folder, *dotted[:length])
            for candidate in (base + ".py", os.path.join(base, "__init__.py")):
                if os.path.isfile(candidate):
                    return Path(candidate), length
    return None


def _only_definition(body: list[ast.stmt], name: str) -> Optional[ast.stmt]:
    """The one statement of ``body`` that binds ``name``, if it is a ``def`` or ``class``."""
    statement = _only_binding(body, name)
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement
    return None


def _only_binding(body: list[ast.stmt], name: str) -> Optional[ast.stmt]:
    """The one statement of ``body`` that binds ``name``, if it is a definition or a plain
    assignment (not an import, a loop or a condition)."""
    binders = _binders(body)
    if binders is None:
        return None  # `from module import *` may bind anything
    binding = binders.get(name, ())
    if len(binding) != 1:
        return None
    [statement] = binding
    plain = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
    return statement if isinstance(statement, plain) else None


def _binders(body: list[ast.stmt]) -> Optional[dict[str, list[ast.stmt]]]:
    """The statements of ``body`` that bind each name (``None`` when one may bind any), read
    once per body: a module is asked about many names, and reading every statement again for
    each cost as much as parsing it."""
    kept = _BINDERS.get(id(body))
    if kept is not None and kept[0] is body:
        return kept[1]
    found: dict[str, list[ast.stmt]] = {}
    for statement in body:
        for name in _bound_by(statement):
            found.setdefault(name, []).append(statement)
    binders = None if "*" in found else found
    if len(_BINDERS) >= 64:
        _BINDERS.clear()
    _BINDERS[id(body)] = (body, binders)
    return binders


_BINDERS: dict[int, tuple[list[ast.stmt], Optional[dict[str, list[ast.stmt]]]]] = {}
"""Bodies read by :func:`_binders`, by identity; each entry keeps its body alive, so an
identity is not reused while its entry is here (at most 64: the modules asked about are kept
by :class:`Definitions` anyway, and an editor's replaced versions are let go)."""


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


def _hands_out_what_it_keeps(function: FunctionNode) -> bool:
    """Every ``return`` hands out something kept elsewhere, which the caller does not own: an
    attribute (``self._engine``), an entry of a cache (``_engines[tenant]``,
    ``_clients.get(loop)``), a global, what another accessor returns
    (``get_engine_for_shard(name)``, ``Registry.get_engine()``), or a name the function also
    stores in a cache (``_clients[loop] = client`` ... ``return client``). A function
    annotated to return an engine or a client often only looks one up."""
    scope: dict[ast.AST, ast.AST] = {}
    nodes = list(own_scope(function, scope))
    kept = {
        name
        for node in nodes
        if isinstance(node, (ast.Global, ast.Nonlocal))
        for name in node.names
    }
    local = {
        node.id for node in nodes if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    } - kept  # `global _engine` ... `_engine = create_engine(...)`: filled once, kept there
    bound: dict[str, list[ast.expr]] = {}
    stored: set[str] = set()
    for node in nodes:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                bound.setdefault(target.id, []).append(node.value)
            elif isinstance(target, (ast.Attribute, ast.Subscript)) and isinstance(
                node.value, ast.Name
            ):
                stored.add(node.value.id)  # `_clients[loop] = client`, `self.client = client`
    returned = [node.value for node in nodes if isinstance(node, ast.Return) and node.value]
    if not returned:
        return False
    for value in returned:
        if isinstance(value, ast.Name) and value.id in local:
            if value.id in stored or (
                value.id in bound and all(_looked_up(v, local) for v in bound[value.id])
            ):
                continue
            return False
        if not _looked_up(value, local):
            return False
    return True


def _looked_up(value: ast.expr, local: set[str]) -> bool:
    """An expression that reads something kept elsewhere: an attribute, an entry, a global, an
    accessor's answer (``get_engine(name)``, ``_clients.get(loop)``)."""
    if isinstance(value, ast.Await):
        value = value.value
    if isinstance(value, (ast.Attribute, ast.Subscript)):
        return True
    if isinstance(value, ast.Name):
        return value.id not in local
    if isinstance(value, ast.Call):
        parts = dotted_parts(value.func)
        if parts and (parts[-1].startswith("get_") or parts[-1] in ("get", "setdefault")):
            return True
    return False


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
        return _lifecycle_answer(definition, qualified, methods)
    for name in _RELEASES:
        release = methods.get(name)
        if release is not None:
            return {
                "name": qualified,
                "release": name,
                "async": isinstance(release, ast.AsyncFunctionDef),
            }
    return None


def _lifecycle_answer(
    definition: ast.ClassDef, qualified: str, methods: dict[str, ast.stmt]
) -> Answer:
    """A class without an exit whose methods pair up as a lifecycle (``start``/``stop``,
    ``connect``/``disconnect``, ``open``/``close``), both doing something: an instance holds
    what its opening method starts until the other releases it. Not a stand-in (``FakeServer``)
    nor a class whose release does nothing."""
    if named_as_double(definition.name):
        return None
    for opening, closing in _LIFECYCLES:
        opener, release = methods.get(opening), methods.get(closing)
        if not isinstance(opener, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if not isinstance(release, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if does_nothing(opener) or does_nothing(release):
            return None
        return {
            "name": qualified,
            "release": closing,
            "async": isinstance(release, ast.AsyncFunctionDef),
            "opened_by": opening,
        }
    return None


def _defines(definition: ast.ClassDef, names: frozenset[str]) -> Optional[bool]:
    """Whether the class body binds one of ``names``; ``None`` when it may, but not by a
    ``def`` of its own (an assignment, an import, a condition)."""
    found = False
    for statement in definition.body:
        bound = _bound_by(statement) & names
        if bound and not isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        found = found or bool(bound)
    return found


def _is_none(expression: ast.expr) -> bool:
    return isinstance(expression, ast.Constant) and expression.value is None


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
