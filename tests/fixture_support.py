"""Read the fixtures: expectations written inline, header options, and the units to lint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(LL\d{3}(?:\s*,\s*LL\d{3})*)")
RUNTIME = re.compile(r"^#\s*runtime:\s*(\w+)((?:\s+[\w-]+=[\w-]+)*)\s*$")
BEHAVIOURS = frozenset(
    {
        "leaks",
        "leaks-on-success",
        "released",
        "unbound",
        "swallows",
        "didnt-stop",
        "unawaited",
        "commits-on-error",
        "skips-rollback",
        "setup-leaks",
        "not-undone",
    }
)
RUNTIME_OPTIONS = frozenset({"before", "driver"})


class Runtime(NamedTuple):
    """What a ``# runtime:`` header asks for."""

    function: str
    before: str
    """What the unfixed version does (``leaks`` unless the header says)."""
    driver: Optional[str]
    """The one driver to drive the function with (``None``: the ones chosen from it)."""


@dataclass(frozen=True)
class Fixture:
    """One fixture module and what its comments say about it."""

    path: Path
    unit: Path
    """The file itself, or the project folder it is linted with."""

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def rule_folder(self) -> str:
        return self.path.relative_to(FIXTURES).parts[0]

    @property
    def snapshot(self) -> Path:
        return self.path.with_name(self.path.stem + ".fixed.py")

    def expected(self) -> set[tuple[int, str]]:
        """(row, code) pairs written as ``# expect:`` comments."""
        found = set()
        for row, line in enumerate(self.text.splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for code in match.group(1).split(","):
                    found.add((row, code.strip()))
        return found

    def header(self) -> list[str]:
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("#"):
                break
            lines.append(line)
        return lines

    @property
    def unsafe_fixes(self) -> bool:
        return any(re.match(r"#\s*fixture:.*unsafe-fixes", line) for line in self.header())

    def runtime(self) -> Optional[Runtime]:
        """The ``# runtime:`` header, if any:
        ``# runtime: <function> [driver=<name>] [before=<behaviour>]``."""
        for line in self.header():
            match = RUNTIME.match(line)
            if match:
                options: dict[str, str] = {}
                for option in match.group(2).split():
                    key, _, value = option.partition("=")
                    if key not in RUNTIME_OPTIONS or key in options:
                        raise ValueError(f"{self.path}: unknown or repeated {option!r} in {line!r}")
                    options[key] = value
                before = options.get("before", "leaks")
                if before not in BEHAVIOURS:
                    raise ValueError(f"{self.path}: unknown behaviour {before!r} in {line!r}")
                return Runtime(match.group(1), before, options.get("driver"))
            if line.startswith("# runtime:"):
                raise ValueError(f"{self.path}: unreadable header {line!r}")
        return None


def all_fixtures() -> Iterator[Fixture]:
    """Every fixture module, snapshots excluded, in a stable order."""
    for rule_folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for path in sorted(rule_folder.rglob("*.py")):
            if path.name.endswith(".fixed.py"):
                continue
            relative = path.relative_to(rule_folder)
            unit = rule_folder / relative.parts[0] if len(relative.parts) > 1 else path
            yield Fixture(path, unit)
