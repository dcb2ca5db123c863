"""Prefilter and parse: bytes in, an ``ast`` tree out, or one clear error."""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from typing import Optional, Union

from leaklint.analysis.imports import ImportMap
from leaklint.model import Location

_INDEX_MARKERS = (b"Depends", b"Security", b"dependency_overrides", b"sessionmaker")


def may_have_targets(data: bytes) -> bool:
    """A file without ``yield`` cannot hold a generator, so it is never parsed for findings."""
    return b"yield" in data


def may_feed_index(data: bytes) -> bool:
    """A file that may reference a dependency or define a session factory for the index."""
    return any(marker in data for marker in _INDEX_MARKERS)


@dataclass
class ParsedModule:
    """A decoded and parsed source file."""

    filename: str
    data: bytes
    text: str
    tree: ast.Module
    imports: ImportMap

    def column(self, row: int, byte_offset: int) -> int:
        """The 1-based character column of an ``ast`` byte offset on a 1-based row."""
        lines = self.lines
        if not 1 <= row <= len(lines):
            return byte_offset + 1
        line = lines[row - 1].encode("utf-8")
        return len(line[:byte_offset].decode("utf-8", errors="replace")) + 1

    @property
    def lines(self) -> list[str]:
        """The decoded source split into lines, newline characters removed."""
        cached: list[str] | None = self.__dict__.get("_lines")
        if cached is None:
            cached = self.text.splitlines()
            self.__dict__["_lines"] = cached
        return cached


@dataclass(frozen=True)
class ParseFailure:
    """Why a file could not be parsed, in one line."""

    filename: str
    message: str
    location: Optional[Location] = None


def decode(data: bytes) -> str:
    """Decode source bytes as Python does: BOM, then PEP 263 cookie, then UTF-8."""
    return importlib.util.decode_source(data)


def parse(filename: str, data: bytes) -> Union[ParsedModule, ParseFailure]:
    """Decode and parse one file."""
    try:
        text = decode(data)
    except UnicodeDecodeError as error:
        return ParseFailure(
            filename,
            f"cannot decode the file as UTF-8 ({error.reason} at byte {error.start}); if it is"
            " in another encoding, declare it with a coding comment (PEP 263)",
        )
    except (SyntaxError, LookupError) as error:
        return ParseFailure(filename, f"cannot decode the file: {error}")
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as error:
        location = Location(error.lineno, error.offset or 1) if error.lineno else None
        return ParseFailure(filename, f"SyntaxError: {error.msg}", location)
    except (ValueError, RecursionError, MemoryError) as error:
        return ParseFailure(filename, f"cannot parse the file: {type(error).__name__}: {error}")
    return ParsedModule(filename, data, text, tree, ImportMap(tree))
