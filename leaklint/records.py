"""Value classes declared like dataclasses, at a fraction of their start-up cost.

``@dataclass`` compiles four to six methods per class, and imports ``inspect`` to do it. Measured
again for issue 26's start-up budget (Python 3.11, 45 frozen classes of three fields, as many
as leaklint declares): ``dataclasses`` costs about 21 ms to import and 31 ms to build them,
``@record`` 2 ms and 5 ms, where checking one small file takes about 65 ms in all. The budget
(3 times ``python -c pass``) is missed even with records, so they stay. ``@record`` makes only
``__init__`` (the method that runs for every instance); ``repr``, equality, hashing and ordering
are shared methods that read the class's field names.

Even compiling just ``__init__`` cost about 4 ms of every run, so leaklint's own records take it
ready-made from ``leaklint._record_inits``, which ``python -m leaklint.records`` writes and a
test keeps current: a small file is then checked in 48 ms instead of 52 (``python -c pass``:
13 ms). A record whose ``__init__`` is not there is compiled as before.

What a record offers is what leaklint uses of dataclasses: ``field(default_factory=...,
compare=..., repr=...)``, ``frozen``, ``order``, ``__post_init__``, inheritance of fields, and
``replace`` and ``asdict``. Type checkers read ``@record`` as a dataclass (PEP 681).
"""

from __future__ import annotations

from operator import attrgetter, eq, ge, gt, le, lt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Optional, TypeVar

    from typing_extensions import dataclass_transform

    _Record = TypeVar("_Record")
else:

    def dataclass_transform(**_options):
        return lambda function: function


class FrozenInstanceError(AttributeError):
    """Raised on assigning to (or deleting) a field of a frozen record."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """How one field is initialised, compared and shown."""

    __slots__ = ("compare", "default", "default_factory", "repr")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        compare: bool = True,
        repr: bool = True,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.compare = compare
        self.repr = repr


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] = MISSING,
    compare: bool = True,
    repr: bool = True,
) -> Any:
    """A field with a default, a factory for its default, or left out of equality or ``repr``."""
    return Field(default, default_factory, compare, repr)


@dataclass_transform(field_specifiers=(field, Field))
def record(cls: Any = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """Make ``cls`` a record: ``@record`` or ``@record(frozen=True, order=True)``."""

    def build(cls: type) -> type:
        return _build(cls, frozen=frozen, order=order)

    return build if cls is None else build(cls)


def replace(instance: _Record, /, **changes: Any) -> _Record:
    """A copy of the record ``instance`` with ``changes`` applied (as ``dataclasses.replace``)."""
    values = {name: getattr(instance, name) for name in instance.__record_fields__}  # type: ignore[attr-defined]
    values.update(changes)
    return type(instance)(**values)


def asdict(value: Any) -> Any:
    """A record as a dict of its fields, recursively through records, lists, tuples and dicts."""
    record_fields = getattr(type(value), "__record_fields__", None)
    if record_fields is not None:
        return {name: asdict(getattr(value, name)) for name in record_fields}
    if isinstance(value, (list, tuple)):
        return type(value)(asdict(item) for item in value)
    if isinstance(value, dict):
        return {asdict(key): asdict(item) for key, item in value.items()}
    return value


def _build(cls: type, *, frozen: bool, order: bool) -> type:
    record_fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        record_fields.update(base.__dict__.get("__record_fields__", {}))
    annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect at start
    for name, annotation in annotations.items():
        if str(annotation).partition("[")[0] in ("ClassVar", "typing.ClassVar"):
            continue
        declared = cls.__dict__.get(name, MISSING)
        spec = declared if isinstance(declared, Field) else Field(default=declared)
        record_fields[name] = spec
        if isinstance(declared, Field):  # as dataclasses: the class keeps the default, if any
            if spec.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, spec.default)
    cls.__record_fields__ = record_fields  # type: ignore[attr-defined]

    own = cls.__dict__
    methods: dict[str, Any] = {}
    if "__init__" not in own:
        methods["__init__"] = _init(cls, record_fields, frozen=frozen)
    if "__repr__" not in own:
        methods["__repr__"] = _repr(
            tuple(name for name, spec in record_fields.items() if spec.repr)
        )
    compared = [name for name, spec in record_fields.items() if spec.compare]
    key: Callable[[Any], Any] = attrgetter(*compared) if compared else (lambda _instance: ())
    if "__eq__" not in own:
        methods["__eq__"] = _comparison(key, eq)
    # A class that writes __eq__ gets __hash__ = None from Python; that is not a hash of its own.
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        methods["__hash__"] = _hash(key) if frozen else None
    if order:
        methods.update(
            __lt__=_comparison(key, lt),
            __le__=_comparison(key, le),
            __gt__=_comparison(key, gt),
            __ge__=_comparison(key, ge),
        )
    if frozen:
        methods.update(__setattr__=_refuse, __delattr__=_refuse)
    for name, method in methods.items():
        setattr(cls, name, method)
    return cls


def _init(cls: type, record_fields: dict[str, Field], *, frozen: bool) -> Callable[..., None]:
    """``__init__``, compiled: it runs for every instance, so it must be as fast as dataclasses'.
    Compiled ahead of time when ``leaklint._record_inits`` holds its source, else here."""
    namespace: dict[str, Any] = {"MISSING": MISSING}
    parameters = []
    body = []
    for name, spec in record_fields.items():
        if spec.default_factory is not MISSING:
            namespace[f"factory_{name}"] = spec.default_factory
            parameters.append(f"{name}=MISSING")
            body.append(f" if {name} is MISSING: {name} = factory_{name}()")
        elif spec.default is not MISSING:
            namespace[f"default_{name}"] = spec.default
            parameters.append(f"{name}=default_{name}")
        else:
            parameters.append(name)
    if frozen:
        assignments = ", ".join(f"{name}={name}" for name in record_fields)
        body.append(f" self.__dict__.update({assignments})")
    else:
        body.extend(f" self.{name} = {name}" for name in record_fields)
    if hasattr(cls, "__post_init__"):
        body.append(" self.__post_init__()")
    source = f"def __init__(self, {', '.join(parameters)}):\n" + ("\n".join(body) or " pass")
    if cls.__module__.partition(".")[0] == "leaklint":
        _SEEN.setdefault(source, tuple(namespace))
    make = _ahead_of_time().get(source)
    if make is not None:
        init: Callable[..., None] = make(**namespace)
    else:
        exec(source, namespace)
        init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


_SEEN: dict[str, tuple[str, ...]] = {}
"""The source of every ``__init__`` built in this process for a record of leaklint's, with the
names it reads."""

_made: Optional[dict[str, Callable[..., Callable[..., None]]]] = None


def _ahead_of_time() -> dict[str, Callable[..., Callable[..., None]]]:
    """``__init__`` makers by source, from ``leaklint._record_inits``. Compiling leaklint's
    records cost about 4 ms of every run (a tenth of checking one small file); loading their
    code with the package's bytecode costs a tenth of that."""
    global _made
    if _made is None:
        try:
            from leaklint._record_inits import INITS
        except ImportError:  # a copy of leaklint without the generated module
            INITS = {}
        _made = INITS
    return _made


def ahead_of_time_module() -> str:
    """The text of ``leaklint._record_inits`` for every record of leaklint's modules (which
    this imports, all of them): a maker per ``__init__`` source, which binds the names the
    source reads and returns the function."""
    import importlib
    import pkgutil

    import leaklint

    for module in pkgutil.walk_packages(leaklint.__path__, "leaklint."):
        if module.name != "leaklint.__main__":
            importlib.import_module(module.name)
    lines = [
        '"""The ``__init__`` of every record in leaklint, compiled with the package\'s bytecode',
        "instead of at every start (``leaklint.records``). Written by",
        "``python -m leaklint.records``; a test fails when it is out of date, and a record whose",
        '``__init__`` is not here is compiled when its class is made."""',
        "",
        "# mypy: ignore-errors",
        "",
    ]
    entries = []
    for number, (source, names) in enumerate(sorted(_SEEN.items())):
        header, *body = source.split("\n")
        lines.append("")
        lines.append(f"def _{number}({', '.join(names)}):")
        lines.append(f"    {header}")
        lines.extend(f"        {line[1:]}" for line in body)
        lines.append("    return __init__")
        lines.append("")
        entries.append(f"    {source!r}: _{number},")
    lines.extend(["", "INITS: dict = {", *entries, "}", ""])
    return "\n".join(lines)


def _repr(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({values})"

    return __repr__


def _comparison(
    key: Callable[[Any], Any], compare: Callable[[Any, Any], bool]
) -> Callable[[Any, Any], Any]:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(key(self), key(other))

    return method


def _hash(key: Callable[[Any], Any]) -> Callable[[Any], int]:
    return lambda self: hash(key(self))


def _refuse(self: Any, name: str, *_value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from leaklint import records as imported  # this file runs as __main__: not the one in use

    target = Path(imported.__file__).with_name("_record_inits.py")
    target.write_text(imported.ahead_of_time_module(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
