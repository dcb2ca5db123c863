"""Type-aware resources: astroid resolves the calls the knowledge base left open.

Inference is costly (the first look into SQLAlchemy takes seconds), so it runs only for calls
that can matter — an assignment before the ``yield`` of a generator that is a target by its
decorator or by ``Depends`` — and astroid is imported only when the first such call shows up.
Results for classes of installed packages are kept on disk, keyed by the package's version.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from leaklint.analysis.declared import absolute_name as _absolute
from leaklint.analysis.declared import module_name_and_root as _module_name_and_root
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase, ResourceType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

    from leaklint.analysis.declared import Answer, ProjectSource

CACHE_VERSION = 3
HOLDS_NOTHING = frozenset(
    {
        "_io.StringIO",
        "_io.BytesIO",
        "io.StringIO",
        "io.BytesIO",
        # in-process transport; only `with TestClient(app)` starts the app's lifespan
        "starlette.testclient.TestClient",
    }
)
"""Classes with ``close()`` and ``__exit__`` that hold no outside resource (nor do their
subclasses: pip's ``StreamWrapper`` is a ``StringIO``)."""
_BUILTIN_NAMES = frozenset(dir(builtins))


class TypeOracle:
    """Answers "what resource does this call return?" with astroid, once per call shape.

    Answers are kept on disk between runs: about a class of an installed distribution keyed
    by its version; about the project's own code with the digest of every project module
    astroid had built by then (the modules the answer was read from are among them), and
    only while the installed distributions are the same. So a CI job that keeps
    ``.leaklint_cache/`` asks astroid again only about what changed."""

    def __init__(
        self, cache_file: Optional[Path] = None, knowledge: KnowledgeBase = DEFAULT_KNOWLEDGE
    ) -> None:
        self._cache_file = cache_file
        self._knowledge = knowledge
        """What the project's source names (a factory, an annotated class) is, when known."""
        self._environment = ""
        self._stored: dict[str, Optional[dict[str, Any]]] = {}
        self._local: dict[str, dict[str, Any]] = {}
        self._loaded = cache_file is None
        """The stored answers are read at the first question: most runs ask none."""
        self._memo: dict[str, Optional[dict[str, Any]]] = {}
        self._found: dict[str, dict[str, Any]] = {"types": {}, "local": {}}
        """What this run learnt (a worker hands it to the process that saves)."""
        self._digests: dict[str, Optional[str]] = {}
        self._preambles: dict[str, _Preamble] = {}
        self._source: Optional[ProjectSource] = None
        """The project's source, read at the first question (most runs ask none)."""

    def resource_type(
        self,
        filename: str,
        text: str,
        qualified: str,
        call: ast.Call,
        imported: bool,
        source_only: bool = False,
    ) -> Optional[ResourceType]:
        """The resource type of ``call``, whose callee resolves to ``qualified`` (through an
        import when ``imported``), if any; ``source_only``: what the project's source says,
        without astroid (a function of the module, costly to infer and seldom a factory)."""
        if qualified.split(".", 1)[0] in _BUILTIN_NAMES:
            return None
        from leaklint.analysis.declared import ASK

        declared = self._declared(filename, text, qualified, imported)
        if isinstance(declared, ResourceType):
            return declared
        if declared is not ASK:
            return _from_record(declared)
        if source_only:
            return None
        self._load()
        key = _stable_key(qualified) if imported else None
        if key is not None and key in self._stored:
            return _from_record(self._stored[key])
        if imported:
            # a probe holds the imports and the call alone: the answer is the callee's
            memo_key = local_key = _absolute(qualified, filename)
        else:
            memo_key = f"{filename}:{call.lineno}:{call.col_offset}"
            local_key = f"{os.path.abspath(filename)}:{qualified}"
        if memo_key in self._memo:
            return _from_record(self._memo[memo_key])
        if key is None:
            saved = self._local.get(local_key)
            if saved is not None and self._unchanged(saved["files"]):
                self._memo[memo_key] = saved["answer"]
                return _from_record(saved["answer"])
        record = self._infer(filename, text, call)
        self._memo[memo_key] = record
        if key is not None:
            self._stored[key] = self._found["types"][key] = record
        else:
            sources = self._project_sources([] if imported else [filename])
            entry = {"answer": record, "files": sources}
            self._local[local_key] = self._found["local"][local_key] = entry
        return _from_record(record)

    def _declared(self, filename: str, text: str, qualified: str, imported: bool) -> Answer:
        """The answer the project's source gives without astroid (see ``declared``), if any."""
        from leaklint.analysis.declared import ASK, ProjectSource

        if self._source is None:
            self._source = ProjectSource(self._knowledge)
        if imported and _stable_key(_absolute(qualified, filename)) is not None:
            return ASK  # an installed distribution's: astroid's answer is kept by version
        return self._source.answer(filename, text, qualified, imported)

    def hand_over(self) -> Optional[dict[str, dict[str, Any]]]:
        """What this oracle learnt since it last handed it over (``None``: nothing), for
        :meth:`learn` in another."""
        found, self._found = self._found, {"types": {}, "local": {}}
        return found if any(found.values()) else None

    def learn(self, found: Mapping[str, Mapping[str, Any]]) -> None:
        """Take in what another oracle (a worker's) learnt, to be saved with this one's."""
        for part, target in (("types", self._stored), ("local", self._local)):
            target.update(found.get(part, {}))
            self._found[part].update(found.get(part, {}))

    def save(self) -> None:
        """Write the answers back to the cache file, atomically, if this run learnt any."""
        if not any(self._found.values()) or self._cache_file is None:
            return
        self._load()
        import json

        from leaklint.write import replace_file

        stable = {key: value for key, value in self._stored.items() if "@" in key}
        document = {
            "version": CACHE_VERSION,
            "types": stable,
            "environment": self._environment,
            "local": self._local,
        }
        try:
            self._cache_file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self._cache_file.parent / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# written by leaklint\n*\n", encoding="utf-8")
            replace_file(self._cache_file, json.dumps(document).encode("utf-8"))
        except OSError:
            pass  # a cache that cannot be written only costs time

    def _load(self) -> None:
        """Read the stored answers once; what was learnt before (from workers) stays on top."""
        if self._loaded:
            return
        self._loaded = True
        self._environment = _environment()
        stored, local = _load(self._cache_file, self._environment)
        self._stored, self._local = {**stored, **self._stored}, {**local, **self._local}

    def _unchanged(self, files: Any) -> bool:
        return isinstance(files, dict) and all(
            self._digest(path) == digest for path, digest in files.items()
        )

    def _digest(self, path: str) -> Optional[str]:
        if path not in self._digests:
            import hashlib

            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                self._digests[path] = None
            else:
                self._digests[path] = hashlib.blake2b(data, digest_size=16).hexdigest()
        return self._digests[path]

    def _project_sources(self, extra: list[str]) -> dict[str, Optional[str]]:
        """Every module of the project astroid has built so far (and ``extra``), with its
        digest: the answer just found can have been read from any of them."""
        import astroid

        paths = {os.path.abspath(path) for path in extra}
        for module in list(astroid.MANAGER.astroid_cache.values()):
            path = getattr(module, "file", None)
            if isinstance(path, str) and path.endswith(".py") and not _library(path):
                paths.add(os.path.abspath(path))
        return {path: self._digest(path) for path in sorted(paths)}

    def _infer(self, filename: str, text: str, call: ast.Call) -> Optional[dict[str, Any]]:
        import astroid

        _build_lightly()
        name, root = _module_name_and_root(Path(filename))
        if str(root) not in sys.path:
            # as pylint does: the project's own modules are found from its package root
            sys.path.append(str(root))
        preamble = self._preambles.get(filename)
        if preamble is None:
            preamble = self._preambles[filename] = _Preamble.of(text)
        probe = preamble.probe(call)
        if probe is None:
            return None
        cache = astroid.MANAGER.astroid_cache
        before = cache.get(name)
        try:
            module = astroid.parse(probe, module_name=name, path=filename)
        except (astroid.AstroidError, SyntaxError, ValueError, RecursionError):
            return None
        finally:
            # the probe is not the module: other files' imports of it must see the real one
            if before is None:
                cache.pop(name, None)
            else:
                cache[name] = before
        return _describe(module.body[-1].value)


_BUILDING_LIGHTLY = False


def _build_lightly() -> None:
    """Have astroid build modules without following their attribute assignments.

    Building a module, astroid infers the object of every attribute assignment in it to file
    the attribute under its class: ``session.info = ...`` in a function infers ``session``,
    which builds SQLAlchemy's modules, which infer theirs; even ``self.x = ...`` in a method
    asks for the class's metaclass, which builds its bases' modules. Release methods are
    looked up on classes, and a value a factory returns from an attribute (``return
    self._conn``) belongs to the object that keeps it, so leaklint must not report it anyway.
    """
    global _BUILDING_LIGHTLY
    if _BUILDING_LIGHTLY:
        return
    from astroid import builder, nodes

    def ignore(self: Any, node: Any) -> None:
        return None

    builder.AstroidBuilder.delayed_assattr = ignore
    # Building a class, astroid asks whether it derives from `enum.Enum`, which infers its
    # bases and builds their modules, then theirs: no enumeration is a resource.
    try:
        from astroid import MANAGER
        from astroid.brain import brain_namedtuple_enum as enums

        enum_class, is_enum = enums.infer_enum_class, enums._is_enum_subclass
        MANAGER.unregister_transform(nodes.ClassDef, enum_class, is_enum)
    except (ImportError, AttributeError, ValueError):
        pass  # another astroid: slower, not wrong
    _BUILDING_LIGHTLY = True


class _Preamble:
    """What a probe needs from the module a call is in: its imports and its classes."""

    def __init__(self, imports: list[str], classes: dict[str, ast.ClassDef]) -> None:
        self.imports = imports
        self.classes = classes

    @classmethod
    def of(cls, text: str) -> _Preamble:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return cls([], {})
        imports = [ast.unparse(node) for node in tree.body if _only_imports(node)]
        classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
        return cls(imports, classes)

    def probe(self, call: ast.Call) -> Optional[str]:
        """A module of the imports, the classes the call names (and their bases from this
        module), and the call: astroid builds only what the answer depends on, not the rest
        of the module (inferring its attribute assignments can import half of SQLAlchemy)."""
        wanted: list[ast.ClassDef] = []
        pending = [node.id for node in ast.walk(call.func) if isinstance(node, ast.Name)]
        while pending:
            definition = self.classes.get(pending.pop())
            if definition is None or definition in wanted:
                continue
            wanted.append(definition)
            pending.extend(
                node.id
                for base in definition.bases
                for node in ast.walk(base)
                if isinstance(node, ast.Name)
            )
        try:
            parts = [*self.imports, *(ast.unparse(node) for node in reversed(wanted))]
            return "\n".join([*parts, f"{PROBE} = {ast.unparse(call)}", ""])
        except (ValueError, RecursionError):
            return None


PROBE = "__leaklint_probe__"


def _only_imports(node: ast.stmt) -> bool:
    """An import, or an ``if``/``try`` of imports (``if TYPE_CHECKING:``, fallbacks)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.If):
        return all(_only_imports(child) for child in (*node.body, *node.orelse))
    if isinstance(node, ast.Try):
        blocks = [*node.body, *node.orelse, *node.finalbody]
        blocks += [child for handler in node.handlers for child in handler.body]
        return all(
            _only_imports(child) or isinstance(child, (ast.Pass, ast.Assign)) for child in blocks
        )
    return False


def _describe(call: Any) -> Optional[dict[str, Any]]:
    """What the inferred class of ``call``'s value tells: a release method and its kind."""
    import astroid
    from astroid import bases, nodes

    try:
        inferred = [value for value in call.infer() if isinstance(value, bases.Instance)]
    except (astroid.AstroidError, RecursionError, StopIteration):
        return None
    if len(inferred) != 1:
        return None
    instance = inferred[0]
    lineage = {instance.qname()}
    klass = getattr(instance, "_proxied", None)
    if klass is not None and hasattr(klass, "ancestors"):
        with contextlib.suppress(astroid.AstroidError):
            lineage |= {ancestor.qname() for ancestor in klass.ancestors()}
    if lineage & HOLDS_NOTHING:
        return None

    def method(name: str) -> Optional[Any]:
        try:
            found = instance.getattr(name)
        except astroid.AttributeInferenceError:
            return None
        return found[0] if found else None

    if method("__exit__") is None and method("__aexit__") is None:
        return None  # not a managed resource: a transaction, a lock-like helper, plain data
    for name in ("aclose", "close"):
        release = method(name)
        if release is not None:
            return {
                "name": instance.qname(),
                "release": name,
                "async": isinstance(release, nodes.AsyncFunctionDef),
            }
    return None


def _from_record(record: Optional[Mapping[str, Any]]) -> Optional[ResourceType]:
    if record is None:
        return None
    return ResourceType(
        str(record["name"]),
        release=str(record["release"]),
        release_is_async=bool(record["async"]),
        inferred=True,
    )


def _stable_key(qualified: str) -> Optional[str]:
    """``module.Class@version`` for a callee from an installed distribution, else ``None``."""
    version = _distribution_version(qualified.split(".", 1)[0])
    return f"{qualified}@{version}" if version else None


_DISTRIBUTIONS: Optional[Mapping[str, list[str]]] = None


@functools.cache
def _distribution_version(top_level: str) -> Optional[str]:
    """``name==version`` of the installed distribution that provides ``top_level`` (asked
    for every imported callee: looked up once per name)."""
    global _DISTRIBUTIONS
    if not _installed(top_level):
        return None  # the project's own code (reading every installed RECORD costs 0.2 s)
    if sys.version_info >= (3, 11):
        from importlib import metadata
    else:  # before 3.11, packages_distributions() is missing or reads only top_level.txt
        import importlib_metadata as metadata

    with contextlib.suppress(metadata.PackageNotFoundError, ValueError):
        return f"{top_level}=={metadata.version(top_level)}"  # httpx, sqlalchemy, ...
    if _DISTRIBUTIONS is None:
        _DISTRIBUTIONS = metadata.packages_distributions()
    names = _DISTRIBUTIONS.get(top_level)
    if not names:
        return None
    try:
        return f"{names[0]}=={metadata.version(names[0])}"
    except metadata.PackageNotFoundError:
        return None


def _installed(top_level: str) -> bool:
    """Whether ``top_level`` is found in a ``site-packages`` folder (without importing it)."""
    if not top_level.isidentifier():
        return False
    import importlib.util

    try:
        spec = importlib.util.find_spec(top_level)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    places = [spec.origin or "", *(spec.submodule_search_locations or [])]
    return any(_in_distribution(place) for place in places)


def _in_distribution(path: str) -> bool:
    """Whether ``path`` lies in a ``site-packages`` (or Debian's ``dist-packages``) folder."""
    parts = Path(path).parts
    return "site-packages" in parts or "dist-packages" in parts


def _load(
    cache_file: Optional[Path], environment: str
) -> tuple[dict[str, Optional[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The stored answers about installed distributions, and those about the project's code
    when the installed distributions are the same as when they were found."""
    if cache_file is None:
        return {}, {}
    import json  # here, as a run without a cache needs none

    try:
        document = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(document, dict) or document.get("version") != CACHE_VERSION:
        return {}, {}
    types = document.get("types")
    local = document.get("local") if document.get("environment") == environment else None
    return (
        dict(types) if isinstance(types, dict) else {},
        {
            key: entry
            for key, entry in (local.items() if isinstance(local, dict) else ())
            if isinstance(entry, dict) and "answer" in entry and "files" in entry
        },
    )


def _environment() -> str:
    """The interpreter and the installed distributions: what answers about the project's own
    code may also depend on (its classes derive from theirs)."""
    import hashlib

    names = [sys.version]
    for folder in sys.path:
        with contextlib.suppress(OSError):
            names += sorted(
                entry
                for entry in os.listdir(folder or ".")
                if entry.endswith((".dist-info", ".egg-info"))
            )
    return hashlib.blake2b("\n".join(names).encode(), digest_size=16).hexdigest()


def _library(path: str) -> bool:
    """Whether ``path`` is a module of the standard library or of an installed distribution."""
    return _in_distribution(path) or path.startswith(_STDLIB)


_STDLIB = os.path.dirname(os.__file__)
