"""The Python API: check or fix source text without touching the file system."""

from __future__ import annotations

from collections.abc import Iterable

from leaklint.model import Diagnostic
from leaklint.parse import ParseFailure, parse
from leaklint.rules import RULES
from leaklint.runner import build_index, check_module, fix_module
from leaklint.settings import Settings, selected_codes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union


class SourceError(ValueError):
    """The source could not be decoded or parsed."""


def _settings(select: Optional[Iterable[str]], unsafe_fixes: bool = False) -> Settings:
    codes = selected_codes([rule.code for rule in RULES], select or ())
    return Settings(select=codes, unsafe_fixes=unsafe_fixes)


def _as_bytes(source: Union[str, bytes]) -> bytes:
    return source.encode("utf-8") if isinstance(source, str) else source


def check_source(
    source: Union[str, bytes], filename: str = "<string>", select: Optional[Iterable[str]] = None
) -> list[Diagnostic]:
    """The findings in one module's source, as if it were the only file linted. Statements the
    running Python cannot parse (syntax newer than it) are left out; the rest is checked."""
    parsed = parse(filename, _as_bytes(source))
    if isinstance(parsed, ParseFailure):
        raise SourceError(f"{filename}: {parsed.message}")
    return check_module(parsed, build_index([parsed]), _settings(select))


def fix_source(
    source: Union[str, bytes],
    filename: str = "<string>",
    select: Optional[Iterable[str]] = None,
    unsafe_fixes: bool = False,
) -> Union[str, bytes]:
    """The source with every allowed fix applied; ``str`` in, ``str`` out (likewise bytes)."""
    data = _as_bytes(source)
    parsed = parse(filename, data)
    if isinstance(parsed, ParseFailure):
        raise SourceError(f"{filename}: {parsed.message}")
    fixed, _, _ = fix_module(parsed, build_index([parsed]), _settings(select, unsafe_fixes))
    new_data = fixed.data
    return new_data.decode("utf-8") if isinstance(source, str) else new_data
