"""``[tool.leaklint]`` in ``pyproject.toml``: found, read and checked key by key.

A bad key or value is a clear error naming the file and the key; the CLI exits 2 on it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from leaklint import records
from leaklint.analysis.drivers import Driver, project_driver
from leaklint.analysis.resources import DEFAULT_KNOWLEDGE, KnowledgeBase, ResourceType, WithForm
from leaklint.discover import Exclusions
from leaklint.records import field, record
from leaklint.settings import Settings, selected_codes, unknown_selectors

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional

CACHE_DIR = ".leaklint_cache"
"""Where a project's cache lives, under its root."""


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


@record(frozen=True)
class Config:
    """The settings a project file gives; empty when there is none."""

    path: Optional[Path] = None
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    resource_factories: Mapping[str, ResourceType] = field(default_factory=dict)
    release_methods: Mapping[str, bool] = field(default_factory=dict)
    dependency_markers: tuple[str, ...] = ()
    drivers: tuple[Driver, ...] = ()
    type_inference: bool = False
    exclude: Optional[tuple[str, ...]] = None
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    rule_url: Optional[str] = None

    def exclusions(self) -> Exclusions:
        """Discovery's exclusions: ``exclude`` replaces the default folders, as in ruff."""
        return Exclusions(
            patterns=(*(self.exclude or ()), *self.extend_exclude),
            root=self.path.parent if self.path is not None else Path.cwd(),
            respect_gitignore=self.respect_gitignore,
            skip_defaults=self.exclude is None,
        )

    def settings(
        self,
        select: Sequence[str] = (),
        extend_select: Sequence[str] = (),
        ignore: Sequence[str] = (),
        *,
        fix: bool = False,
        unsafe_fixes: bool = False,
        type_inference: Optional[bool] = None,
        cache: bool = False,
        force_exclude: bool = False,
    ) -> Settings:
        """The settings of a run on this project: the file's, with the caller's on top
        (``extend_select`` and ``ignore`` add to the file's lists, ``select`` replaces it).

        Raises ``ConfigError`` naming the selectors that match no rule."""
        from leaklint.rules import RULES

        chosen = {
            "select": list(select) or list(self.select),
            "extend_select": [*self.extend_select, *extend_select],
            "ignore": [*self.ignore, *ignore],
        }
        all_codes = [rule.code for rule in RULES]
        unknown = unknown_selectors(
            all_codes, [code for codes in chosen.values() for code in codes]
        )
        if unknown:
            raise ConfigError(f"unknown rule selector: {', '.join(unknown)}")
        return Settings(
            select=selected_codes(all_codes, **chosen),
            fix=fix,
            unsafe_fixes=unsafe_fixes,
            knowledge=self.knowledge(),
            type_inference=self.type_inference if type_inference is None else type_inference,
            cache_dir=self.root / CACHE_DIR if cache else None,
            exclusions=records.replace(self.exclusions(), force=force_exclude),
            per_file_ignores=self.per_file_ignores,
            rule_url=self.rule_url,
        )

    @property
    def root(self) -> Path:
        """The project's folder: the configuration file's, or the working directory."""
        return self.path.parent if self.path is not None else Path.cwd()

    def knowledge(self) -> KnowledgeBase:
        """The default knowledge base extended with this project's resources and markers."""
        if (
            not (self.resource_factories or self.release_methods or self.dependency_markers)
            and not self.drivers
        ):
            return DEFAULT_KNOWLEDGE
        return DEFAULT_KNOWLEDGE.extended(
            self.resource_factories, self.release_methods, self.dependency_markers, self.drivers
        )


def find_config(start: Path) -> Optional[Path]:
    """The nearest ``pyproject.toml`` with a ``[tool.leaklint]`` table, walking up from
    ``start``."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for folder in (directory, *directory.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and b"[tool.leaklint" in candidate.read_bytes():
            return candidate
    return None


def load_config(path: Path) -> Config:
    """Read and check ``[tool.leaklint]`` of ``path``."""
    if sys.version_info >= (3, 11):  # imported here: most runs find no configuration
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.9 and 3.10 only
        import tomli as tomllib
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the file: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    table = document.get("tool", {}).get("leaklint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.leaklint] must be a table")
    return _parse(table, path)


_LIST_KEYS = {
    "select": "select",
    "extend-select": "extend_select",
    "ignore": "ignore",
    "dependency-markers": "dependency_markers",
    "exclude": "exclude",
    "extend-exclude": "extend_exclude",
}
_BOOLEAN_KEYS = {"type-inference": "type_inference", "respect-gitignore": "respect_gitignore"}
KNOWN_KEYS = sorted(
    [
        *_LIST_KEYS,
        *_BOOLEAN_KEYS,
        "resource-factories",
        "release-methods",
        "drivers",
        "per-file-ignores",
        "rule-url",
    ]
)


def _parse(table: Mapping[str, Any], path: Path) -> Config:
    values: dict[str, Any] = {"path": path}
    for key, value in table.items():
        where = f"{path}: [tool.leaklint] {key}"
        if key in _LIST_KEYS:
            values[_LIST_KEYS[key]] = _string_list(value, where)
        elif key == "resource-factories":
            values["resource_factories"] = _factories(value, where)
        elif key == "release-methods":
            values["release_methods"] = _release_methods(value, where)
        elif key == "drivers":
            values["drivers"] = _drivers(value, where)
        elif key in _BOOLEAN_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {_describe(value)}")
            values[_BOOLEAN_KEYS[key]] = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of glob = [codes]")
            values["per_file_ignores"] = tuple(
                (pattern, frozenset(_string_list(codes, f"{where}.{pattern}")))
                for pattern, codes in value.items()
            )
        elif key == "rule-url":
            values["rule_url"] = _url_template(value, where)
        else:
            raise ConfigError(f"{where}: unknown key (known keys: {', '.join(KNOWN_KEYS)})")
    return Config(**values)


def _string_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected a list of strings, got {_describe(value)}")
    return tuple(value)


def _factories(value: Any, where: str) -> dict[str, ResourceType]:
    """``{"app.db.get_connection" = "close", "*.make_client" = {release = "aclose", async =
    true}}``."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of factory = release method")
    factories = {}
    for name, spec in value.items():
        if isinstance(spec, str):
            spec = {"release": spec}
        if not isinstance(spec, dict):
            raise ConfigError(
                f"{where}.{name}: expected a release method name or a table, got {_describe(spec)}"
            )
        unknown = set(spec) - {"release", "async", "exit-closes"}
        if unknown:
            raise ConfigError(f"{where}.{name}: unknown key {sorted(unknown)[0]!r}")
        release = spec.get("release", "close")
        is_async = spec.get("async", False)
        exit_closes = spec.get("exit-closes", True)
        if not isinstance(release, str) or not release.isidentifier():
            raise ConfigError(f"{where}.{name}.release: expected a method name")
        for flag, flag_value in (("async", is_async), ("exit-closes", exit_closes)):
            if not isinstance(flag_value, bool):
                raise ConfigError(f"{where}.{name}.{flag}: expected true or false")
        factories[name] = ResourceType(
            name,
            release=release,
            release_is_async=is_async,
            exit_closes=exit_closes,
            # a project's own resource: what its exit does besides releasing was never measured,
            # so LL002 asks for no rewrite of its `with`
            with_form=WithForm.UNMEASURED if exit_closes else WithForm.DOES_NOT_CLOSE,
        )
    return factories


_DRIVER_KEYS = {"name", "finalization", "role", "calls", "decorators", "keywords", "methods"}


def _drivers(value: Any, where: str) -> tuple[Driver, ...]:
    """``[[tool.leaklint.drivers]]``: ``name``, ``finalization`` (``"throw"`` or
    ``"resume"``), and ``calls``/``decorators``/``methods`` that hand a generator over."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{where}: expected an array of tables ([[tool.leaklint.drivers]])")
    drivers = []
    for position, table in enumerate(value, start=1):
        here = f"{where}[{position}]"
        unknown = set(table) - _DRIVER_KEYS
        if unknown:
            raise ConfigError(f"{here}: unknown key {sorted(unknown)[0]!r}")
        for required in ("name", "finalization"):
            if not isinstance(table.get(required), str):
                raise ConfigError(f"{here}.{required}: expected a string")
        lists = {
            key: _string_list(table.get(key, []), f"{here}.{key}")
            for key in ("calls", "decorators", "keywords", "methods")
        }
        role = table.get("role", "dependency")
        if not isinstance(role, str):
            raise ConfigError(f"{here}.role: expected a string")
        try:
            drivers.append(project_driver(table["name"], table["finalization"], role=role, **lists))
        except ValueError as error:
            raise ConfigError(f"{here}: {error}") from error
    return tuple(drivers)


def _release_methods(value: Any, where: str) -> dict[str, bool]:
    """``["finish"]`` or ``{finish = false, aclose_all = true}`` (true: a coroutine)."""
    if isinstance(value, list):
        return {name: False for name in _string_list(value, where)}
    if isinstance(value, dict) and all(isinstance(flag, bool) for flag in value.values()):
        return dict(value)
    raise ConfigError(
        f"{where}: expected a list of method names or a table of name = is-coroutine,"
        f" got {_describe(value)}"
    )


def _url_template(value: Any, where: str) -> str:
    """``"https://docs.example.com/leaklint/{code}.html"``: ``{code}`` and ``{name}`` are the
    rule's."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ConfigError(f"{where}: expected an http(s) URL, got {_describe(value)}")
    try:
        value.format(code="LL001", name="unprotected-cleanup")
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"{where}: only {{code}} and {{name}} can be filled in ({type(error).__name__}:"
            f" {error})"
        ) from error
    return value


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
