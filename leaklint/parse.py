"""Prefilter and parse: bytes in, an ``ast`` tree out, or one clear error."""

from __future__ import annotations

import ast
import bisect
import itertools
import keyword
import re
from collections.abc import Callable, Iterable, Sequence

from leaklint.analysis.imports import ImportMap
from leaklint.analysis.resources import RELEASE_HELPER_WORDS, RELEASE_METHODS
from leaklint.model import Location
from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from leaklint.analysis.sieve import Sieve
    from leaklint.salvage import SkippedStatement

_OTHER_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
"""What ``str.splitlines`` breaks at besides ``\\n`` and ``\\r``."""
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def source_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The lines of source as Python numbers them: broken at ``\\n``, ``\\r\\n`` and ``\\r``
    only. ``str.splitlines`` also breaks at form feeds and other separators that Python reads
    as whitespace, which would put every row after them off by one."""
    if not any(character in text for character in _OTHER_BREAKS):  # one fast scan each
        return text.splitlines(keepends=keepends)
    lines: list[str] = _LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]


def may_have_targets(data: bytes) -> bool:
    """A file without ``yield`` cannot hold a generator, so it is never parsed for findings."""
    return b"yield" in data


def may_feed_index(data: bytes, markers: tuple[bytes, ...]) -> bool:
    """A file that may hand a function to a driver or define a session factory for the index
    (``markers``: the knowledge base's ``index_markers``), outside a line that is all comment:
    ``# Depends on the platform`` is no registration, and such a file would be parsed whole.
    A class-like marker (``Security``) that runs on into a longer name
    (``SecurityRequestBuilder``) is that other name: 229 of msgraph-sdk's modules were read
    for the index for that alone."""
    for marker in markers:
        position = data.find(marker)
        whole_word = marker[:1].isupper()
        while position >= 0:
            end = position + len(marker)
            if whole_word and data[end : end + 1] in _NAME_BYTES:
                position = data.find(marker, end)
                continue
            start = max(data.rfind(b"\n", 0, position), data.rfind(b"\r", 0, position)) + 1
            if not data[start:position].lstrip(b" \t\f").startswith(b"#"):
                return True
            position = data.find(marker, end)
    return False


_NAME_BYTES = frozenset(
    bytes([byte]) for byte in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
)
"""Bytes that continue a name (non-ASCII letters aside: a marker is ASCII, and a name that
continues it with one is rare enough to be read as the marker)."""


@record
class ParsedModule:
    """A decoded and parsed source file."""

    filename: str
    data: bytes
    text: str
    tree: ast.Module
    imports: ImportMap
    skipped: tuple[SkippedStatement, ...] = ()
    """Statements the running interpreter cannot parse (newer syntax): not in ``tree``."""
    yield_rows: Optional[tuple[int, ...]] = None
    """The rows that spell ``yield``, when the parse found them already."""
    whole: bool = True
    """Every statement of the file was parsed (or salvaged); ``False`` when only what the
    analysis reads was, so ``skipped`` does not speak for the rest of the file."""

    @property
    def skipped_source(self) -> tuple[str, ...]:
        """The text of each skipped statement: a fix must leave every one of them as it was."""
        lines = source_lines(self.text, keepends=True)
        return tuple(
            "".join(lines[statement.first_row - 1 : statement.last_row])
            for statement in self.skipped
        )

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
            cached = source_lines(self.text)
            self.__dict__["_lines"] = cached
        return cached


@record(frozen=True)
class ParseFailure:
    """Why a file could not be parsed, in one line."""

    filename: str
    message: str
    location: Optional[Location] = None


def reparse(before: ParsedModule, data: bytes) -> Union[ParsedModule, ParseFailure]:
    """``data``, an edit of ``before``, parsed the same way; a failure too when the edit
    changes a statement the interpreter could not parse in ``before``: it was never checked,
    so no edit may touch it."""
    after = parse(before.filename, data)
    if isinstance(after, ParseFailure):
        return ParseFailure(
            after.filename, f"the result does not parse: {after.message}", after.location
        )
    if not before.whole:
        # only the generators were parsed: what the interpreter cannot parse elsewhere in the
        # file is known only from a parse of all of it
        whole_before = parse(before.filename, before.data)
        if isinstance(whole_before, ParseFailure):
            return ParseFailure(after.filename, f"the file does not parse: {whole_before.message}")
        before = whole_before
    if after.skipped_source != before.skipped_source:
        return ParseFailure(after.filename, "the result changes code this Python cannot parse")
    return after


def decode(data: bytes) -> str:
    """Decode source bytes as Python does: BOM, then PEP 263 cookie, then UTF-8, with line
    endings made ``\n``. Most files have neither a BOM nor a cookie in their first two lines:
    those are decoded here, without the import of ``tokenize`` (a millisecond of every run)."""
    if not data.startswith(b"\xef\xbb\xbf") and b"coding" not in data[: _first_two_lines(data)]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # the interpreter's message, from the interpreter's decoding
        else:
            if "\r" not in text:
                return text
            if text.endswith("\r"):
                text = text[:-1]  # as the interpreter's decoding: a last `\r` waits for a `\n`
            return text.replace("\r\n", "\n").replace("\r", "\n")
    import importlib.util

    return importlib.util.decode_source(data)


def _first_two_lines(data: bytes) -> int:
    """Where the first two lines of ``data`` end (a cookie is read there alone)."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    # a lone carriage return ends a line too: taking all of a short file is as good
    return len(data) if second < 0 or b"\r" in data[:second] else second + 1


def parse(
    filename: str, data: bytes, *, whole: bool = True, sieve: Optional[Sieve] = None
) -> Union[ParsedModule, ParseFailure]:
    """Decode and parse one file: all of it, or (``whole=False``) only what the analysis reads
    — the functions that contain ``yield`` (those the ``sieve`` keeps, when given) and the
    import statements — falling back to the whole file when a function's lines cannot be
    parsed on their own. A file the interpreter cannot parse whole but LibCST can (syntax
    newer than the interpreter) is parsed statement by statement, and what does not parse is
    listed in ``skipped``."""
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
    nul = text.find("\0")
    if nul >= 0:  # ast's own wording and exception type for this differ between Pythons
        row = text.count("\n", 0, nul) + 1
        column = nul - text.rfind("\n", 0, nul)
        return ParseFailure(
            filename,
            "cannot parse the file: it contains a NUL byte (binary data, or text in UTF-16 or"
            " UTF-32)",
            Location(row, column),
        )
    if not whole:
        partial = _parse_generators(text, sieve)
        if partial is not None:
            tree, yield_rows = partial
            return ParsedModule(
                filename, data, text, tree, ImportMap(tree), yield_rows=yield_rows, whole=False
            )
    try:
        tree = ast.parse(text, filename=filename)
    except SyntaxError as error:
        from leaklint.salvage import salvage  # only for files this Python cannot parse

        salvaged = salvage(source_lines(text, keepends=True))
        if salvaged is not None and salvaged.skipped:  # newer syntax, not broken code
            tree = ast.Module(body=salvaged.body, type_ignores=[])
            return ParsedModule(filename, data, text, tree, ImportMap(tree), salvaged.skipped)
        location = Location(error.lineno, error.offset or 1) if error.lineno else None
        return ParseFailure(filename, f"SyntaxError: {error.msg}", location)
    except (ValueError, RecursionError, MemoryError) as error:
        return ParseFailure(filename, f"cannot parse the file: {type(error).__name__}: {error}")
    return ParsedModule(filename, data, text, tree, ImportMap(tree))


_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]")
_YIELD = re.compile(r"\byield\b")
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+)?import[ \t]")
_CLOSING = (")", "]", "}")


def parse_registrations(
    filename: str, data: bytes, words_of: Callable[[ImportMap], Iterable[str]]
) -> Optional[ParsedModule]:
    """A module of the file's imports and of the top-level statements whose lines hold one of
    ``words_of(imports)`` (the words a registration must spell), each parsed from its own
    lines at its real rows: what the project index reads of a file without ``yield``.

    ``None`` when that cannot be done (a statement that does not parse alone, no imports to
    parse...): the caller then parses the whole file."""
    try:
        text = decode(data)
    except (UnicodeDecodeError, SyntaxError, LookupError):
        return None
    if "\0" in text:
        return None
    lines = _Lines(source_lines(text, keepends=True))
    code = _code_lines(lines)
    import_spans = _import_spans(code)
    body = _parse_imports(lines, import_spans)
    if body is None:
        return None
    imports = ImportMap(ast.Module(body=body, type_ignores=[]))
    words = tuple(words_of(imports))
    import_rows = {row for start, end in import_spans for row in range(start, end)}
    patterns = _simple_call_pattern(words)
    spans: list[tuple[int, int]] = []
    seen: set[str] = set()
    word_rows: list[int] = []
    for row in rows_with(words, code):
        if row in import_rows:
            continue  # parsed with the imports
        word_rows.append(row)
        calls = _simple_calls(code[row], row, patterns, seen)
        if calls is not None:
            body.extend(calls)
            continue
        if spans and row < spans[-1][1]:
            continue  # in the statement just taken
        span = _top_level_statement(code, row)
        if span is not None:  # else a comment or a blank line
            spans.append(span)
    whole_spans = []
    for start, end in spans:
        # a route function registers in its decorators and signature: its body is not read
        header = _header_only(lines, code, start, end, word_rows)
        if header is None:
            whole_spans.append((start, end))
        else:
            body.extend(header)
    tree = _assemble(lines, body, whole_spans)
    if tree is None:
        return None
    # calls bind no names: only statements parsed whole may add definitions
    return ParsedModule(
        filename, data, text, tree, ImportMap(tree) if spans else imports, whole=False
    )


_DOTTED = r"[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*"


def _simple_call_pattern(words: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """``Depends(get_db)``, ``params.Depends(deps.get_db)``: a call named by one of ``words``
    whose one argument is a name, closed on the same line; and any of ``words``."""
    alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
    call = re.compile(
        rf"(?<![\w.])((?:[A-Za-z_]\w*\.)*(?:{alternatives}))[ \t]*\([ \t]*({_DOTTED})[ \t]*\)"
    )
    return call, re.compile(alternatives)


def _simple_calls(
    line: str, row: int, patterns: tuple[re.Pattern[str], re.Pattern[str]], seen: set[str]
) -> Optional[list[ast.stmt]]:
    """The calls of ``line`` as statements at their real row, when every word on it is the
    name of a simple call (see ``_simple_call_pattern``) and no string or comment starts
    before one; else ``None`` (the line's statement is parsed). Most registrations in a
    route module are ``Depends(name)``: reading them needs no parse of the route.

    A call spelled as one in ``seen`` (the module's calls read so far) is left out: it adds
    nothing to the index, and a route module repeats ``Depends(get_db)`` in every route."""
    simple, any_word = patterns
    matches = list(simple.finditer(line))
    if not matches:
        return None
    before = line[: matches[-1].end()]
    if '"' in before or "'" in before or "#" in before:
        return None  # the call may be text: let the parser tell
    named = iter(matches)
    match: Optional[re.Match[str]] = next(named)
    for word in any_word.finditer(line):  # both in the order of the line
        while match is not None and word.start() >= match.end(1):
            match = next(named, None)
        if match is None or word.start() < match.start(1):
            return None  # a word outside the simple calls (a keyword, an override...)
    statements: list[ast.stmt] = []
    new = [match for match in matches if match.group(0) not in seen]
    for match in new:
        callee = _dotted_node(match.group(1), row + 1, match.start(1))
        argument = _dotted_node(match.group(2), row + 1, match.start(2))
        if callee is None or argument is None:
            return None
        call = ast.Call(func=callee, args=[argument], keywords=[])
        statement = ast.Expr(value=call)
        for node in (call, statement):
            node.lineno, node.col_offset = row + 1, match.start(1)
            node.end_lineno, node.end_col_offset = row + 1, match.end()
        statements.append(statement)
    seen.update(match.group(0) for match in new)
    return statements


def _dotted_node(text: str, row: int, column: int) -> Optional[ast.expr]:
    """``a.b.c`` as the name and attributes the parser would make of it."""
    parts = [part.strip() for part in text.split(".")]
    if any(keyword.iskeyword(part) for part in parts):
        return None  # `Depends(None)`, `Depends(lambda...)`: not a name
    end = column + len(text)
    node: ast.expr = ast.Name(
        id=parts[0],
        ctx=ast.Load(),
        lineno=row,
        col_offset=column,
        end_lineno=row,
        end_col_offset=column + len(parts[0]),
    )
    for part in parts[1:]:
        node = ast.Attribute(
            value=node,
            attr=part,
            ctx=ast.Load(),
            lineno=row,
            col_offset=column,
            end_lineno=row,
            end_col_offset=end,
        )
    return node


class ModuleInPart:
    """A module read for questions about its top-level names: its import statements, and for
    each name asked about, the top-level statements whose lines spell it, each parsed from its
    own lines at its real rows. Any statement that binds a name at the top spells it, so what
    binds a name is found as in the whole tree; a module of a thousand lines is asked about
    one or two names."""

    def __init__(self, text: str) -> None:
        self._lines = _Lines(source_lines(text, keepends=True))
        self._code = _code_lines(self._lines)
        if _misread(self._lines, self._code):
            self.imports = self._top_imports = None
            return
        spans = _import_spans(self._code)
        top = [span for span in spans if not _indent(self._lines[span[0]])]
        self._import_rows = {row for start, end in top for row in range(start, end)}
        """Rows of the top-level imports: the statement of a nested one (``if TYPE_CHECKING:``,
        ``try:``) is read as any other, whatever else it binds."""
        self._top_imports = _parse_imports(self._lines, top)
        nested = _parse_imports(self._lines, [span for span in spans if span not in top])
        self.imports = (
            None if self._top_imports is None or nested is None else self._top_imports + nested
        )
        """The module's import statements (nested ones too, as ``ImportMap`` reads them);
        ``None`` when they do not parse alone."""
        self._statements: dict[int, Optional[list[ast.stmt]]] = {}
        self._spans: dict[str, Optional[list[tuple[tuple[int, int], Optional[int]]]]] = {}
        """For each name asked about, the spans of the statements that spell it."""
        self._outlines: dict[int, tuple[Optional[list[ast.stmt]], dict[int, int]]] = {}
        """Each class asked about with ``read``: its outline, and the rows of the methods
        whose bodies are still ``pass`` (the ``def`` line to one past the end)."""

    def naming(self, name: str, read: Optional[frozenset[str]] = None) -> Optional[list[ast.stmt]]:
        """The top-level imports and the top-level statements whose lines spell ``name``;
        ``None`` when one of them does not parse alone. With ``read``, a class ``name`` has
        the bodies of those of its methods alone: the others' are ``pass`` (see
        :func:`_class_outline`)."""
        if self.imports is None or self._top_imports is None:
            return None
        if name not in self._spans:
            self._spans[name] = self._spans_naming(name)
        spans = self._spans[name]
        if spans is None:
            return None
        body = list(self._top_imports)  # an import in a function binds no name at the top
        for span, header in spans:
            if read is not None and header is not None:
                statements = self._outline(span, header, read)
            else:
                if span[0] not in self._statements:
                    self._statements[span[0]] = _parse_lines(self._lines, *span)
                statements = self._statements[span[0]]
            if statements is None:
                return None
            body.extend(statements)
        body.sort(key=lambda node: node.lineno)
        return body

    def _spans_naming(self, name: str) -> Optional[list[tuple[tuple[int, int], Optional[int]]]]:
        """The spans of the top-level statements whose lines spell ``name`` (a top-level
        import's aside), each with its ``class`` line when it is the class ``name``; ``None``
        when the scan cannot tell a statement."""
        spans: list[tuple[tuple[int, int], Optional[int]]] = []
        taken: set[int] = set()
        end = 0
        for row in rows_with((name,), self._code):  # in order
            if row in self._import_rows or row < end:
                continue  # a top-level import, or in the statement just taken
            span = _top_level_statement(self._code, row)
            if span is None:
                return None  # the scan cannot tell the statement: let the whole file speak
            # with every decorator: whether a definition is decorated is part of the answer
            span = (_decorators_start(self._code, span[0], 0), span[1])
            end = span[1]
            if span[0] in taken:
                continue
            taken.add(span[0])
            defined = _defined_name(self._code, *span)
            if defined is not None and defined != name:
                continue  # a function or class that uses the name: it binds its own alone
            header = _definition_row(self._code, *span) if defined is not None else None
            spans.append(
                (span, header if header is not None and _CLASS.match(self._code[header]) else None)
            )
        return spans

    def _outline(
        self, span: tuple[int, int], header: int, read: frozenset[str]
    ) -> Optional[list[ast.stmt]]:
        """The class at ``span`` as an outline (see :func:`_class_outline`), with the bodies
        of its methods named in ``read`` parsed in, each from its own lines once: a method
        body once read stays for later questions, which read only the bodies they name."""
        if span[0] not in self._outlines:
            self._outlines[span[0]] = _class_outline(self._lines, self._code, span, header)
        statements, stubbed = self._outlines[span[0]]
        if statements is None or not stubbed:
            return statements
        for definition in statements:
            if not isinstance(definition, ast.ClassDef):
                continue
            for method in definition.body:
                if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                end = stubbed.get(method.lineno - 1)
                if end is None or method.name not in read:
                    continue
                whole = _parse_lines(self._lines, method.lineno - 1, end)
                parsed = whole[0] if whole else None
                if not isinstance(parsed, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
                    type(parsed) is not type(method)
                ):
                    return None  # let the whole file speak
                method.body = parsed.body
                method.end_lineno, method.end_col_offset = parsed.end_lineno, parsed.end_col_offset
                del stubbed[method.lineno - 1]
        return statements


def _class_outline(
    lines: list[str], code: list[str], span: tuple[int, int], header: int
) -> tuple[Optional[list[ast.stmt]], dict[int, int]]:
    """The top-level class at lines ``span`` (decorators included, ``header`` its ``class``
    line) parsed with ``pass`` for the body of each method of its own, at the real rows; and
    the rows of those methods (the ``def`` line to one past the end). What a class is, is
    read from its header, the names its body binds and the bodies of a few methods (its
    release and exit methods, the one asked about): datasette's ``Datasette`` is 2,000 lines,
    parsed whole twice a run for three methods. A method whose header the scan cannot tell
    from its body (a body on the ``def`` line) is kept whole."""
    start, end = span
    colon = _header_end(code, header, end)
    if colon is None:
        return _parse_lines(lines, start, end), {}  # `class Empty: pass`
    patched = lines[start:end]
    stubbed: dict[int, int] = {}
    body_indent: Optional[str] = None
    row = colon + 1
    while row < end:
        line = code[row]
        stripped = line.lstrip(" \t")
        indent = line[: len(line) - len(stripped)]
        row += 1
        if not indent or not stripped.strip() or stripped.startswith("#"):
            continue  # blanks, comments, a closing bracket at the left edge
        if body_indent is None:
            body_indent = indent
        if indent != body_indent or not stripped.startswith(("def ", "async ")):
            continue
        method_end = _end(code, row - 1)
        last = _header_end(code, row - 1, method_end)
        if last is None or last + 1 >= method_end:
            continue  # a body on the `def` line, or a header the scan cannot tell: kept
        patched[last + 1 - start] = indent + " pass\n"
        for blank in range(last + 2, method_end):
            patched[blank - start] = "\n"
        stubbed[row - 1] = method_end
        row = method_end
    try:
        tree = ast.parse("\n" * start + "".join(patched))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None, {}
    return tree.body, stubbed


def _header_end(code: list[str], header: int, end: int) -> Optional[int]:
    """The row of the colon that ends the ``def`` header at ``header`` (a signature may run
    over several lines); ``None`` when none does before ``end``."""
    depth = 0
    for last in range(header, end):
        line = _ONE_LINE_STRINGS.sub('""', code[last]).split("#", 1)[0].rstrip()
        depth += sum(map(line.count, "([{")) - sum(map(line.count, ")]}"))
        if depth == 0 and line.endswith(":"):
            return last
    return None


def _misread(lines: list[str], code: _Lines) -> bool:
    """Whether the scan for strings may have taken code for text: it ends inside a string, or
    a line it took for the inside of one starts a definition or an assignment at the top (a
    docstring rarely does). A binding hidden so would be missed without a parse failing."""
    if code.unclosed:
        return True
    return any(
        _TOP_BINDING.match(lines[row]) for start, end in code.blanked for row in range(start, end)
    )


_TOP_BINDING = re.compile(
    r"(?:async[ \t]+)?def[ \t]|class[ \t]|@|[A-Za-z_]\w*[ \t]*(?::[^=\n]*)?=[^=]"
)


def _definition_row(lines: list[str], start: int, end: int) -> Optional[int]:
    """The row of the ``def`` or ``class`` line (or of any statement) at lines ``start..end``,
    past its decorators."""
    for row in range(start, end):
        line = lines[row]
        if _starts_statement(line) and not line.startswith("@"):
            return row
    return None


def _defined_name(lines: list[str], start: int, end: int) -> Optional[str]:
    """The name a top-level ``def`` or ``class`` at lines ``start..end`` (decorators first)
    defines; ``None`` for another statement."""
    row = _definition_row(lines, start, end)
    match = _DEFINES.match(lines[row]) if row is not None else None
    return match.group(1) if match else None


_DEFINES = re.compile(r"(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)")


def _top_level_statement(lines: list[str], row: int) -> Optional[tuple[int, int]]:
    """(first, last + 1) line indexes of the top-level statement holding line ``row``, from
    the decorator it is in (or the first line of the statement) on; ``None`` when the line is
    in no statement (a comment, a blank). Decorators above that line are left out: one that
    registers holds a word itself, and its line is taken first."""
    header = row
    while header >= 0 and not _starts_statement(lines[header]):
        header -= 1
    if header < 0:
        return None
    start = header
    while True:  # from a decorator down to the decorated definition
        end = _end(lines, header)
        if not lines[header].startswith("@"):
            break
        following = end
        while following < len(lines) and not _starts_statement(lines[following]):
            following += 1
        if following == len(lines):
            return None
        header = following
    return (start, end) if start <= row < end else None


def _header_only(
    lines: list[str], code: list[str], start: int, end: int, word_rows: list[int]
) -> Optional[list[ast.stmt]]:
    """The top-level function at lines ``start..end`` (decorators included) parsed with a
    body of ``pass``, when no line of its body spells a registering word (``word_rows``): the
    index reads its decorators and parameters, and a route's body is most of its lines.
    ``None`` when it is not such a function or its header does not parse so."""
    header = start
    while header < end and not code[header].startswith(("def ", "async ")):
        if not code[header].startswith("@") and _starts_statement(code[header]):
            return None  # not a function
        header += 1
    last = _header_end(code, header, end) if header < end else None
    if last is None:
        return None
    at = bisect.bisect_right(word_rows, last)
    if at < len(word_rows) and word_rows[at] < end:
        return None  # its body registers too
    try:
        tree = ast.parse("\n" * start + "".join(lines[start : last + 1]) + " pass\n")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return tree.body


def _starts_statement(line: str) -> bool:
    """A line of code at column 0 (not a comment, not a closing bracket): where a top-level
    statement starts."""
    return bool(line[:1].strip()) and line[0] != "#" and not line.startswith(_CLOSING)


def _code_lines(lines: list[str]) -> _Lines:
    """The lines with those that begin inside a triple-quoted string (docstrings, examples in
    them) blanked: the scans for definitions and words read code only. A scan of quotes and
    comments, not a tokenizer: a miss costs a whole-file parse at worst, since spans cut
    wrongly do not parse. Only the lines holding a triple quote can change the answer, and
    the text is searched for those (most lines hold none)."""
    code = _Lines(lines)
    delimiter: Optional[str] = None
    last = -1
    for row in rows_with(('"""', "'''"), lines):
        if delimiter is not None:
            code[last + 1 : row + 1] = ["\n"] * (row - last)
            code.blanked.append((last + 1, row + 1))
        delimiter, last = _string_state_after(lines[row], delimiter), row
    if delimiter is not None:
        code[last + 1 :] = ["\n"] * (len(lines) - last - 1)
        code.blanked.append((last + 1, len(lines)))
        code.unclosed = True
    return code


_STRING_START = re.compile(r"\"\"\"|'''|[\"'#]")
_ONE_LINE_STRING = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'"),
}
"""The rest of a string on one line, after its opening quote."""
_ONE_LINE_STRINGS = re.compile(
    "|".join(quote + rest.pattern for quote, rest in _ONE_LINE_STRING.items())
)


def _string_state_after(line: str, delimiter: Optional[str]) -> Optional[str]:
    """The triple quote a string open at the end of ``line`` waits for, given the one open
    at its start. A string on one line is skipped whole: ``('\"\"\"', "'''")`` opens none."""
    position = 0
    while True:
        if delimiter is not None:
            found = line.find(delimiter, position)
            if found < 0:
                return delimiter
            delimiter, position = None, found + 3
            continue
        match = _STRING_START.search(line, position)
        if match is None:
            return None
        token = match.group()
        if token == "#":
            return None
        if len(token) == 3:
            delimiter, position = token, match.end()
            continue
        closing = _ONE_LINE_STRING[token].match(line, match.end())
        if closing is None:
            return None  # not closed on this line: continued by a backslash, or broken
        position = closing.end()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _parse_generators(
    text: str, sieve: Optional[Sieve] = None
) -> Optional[tuple[ast.Module, tuple[int, ...]]]:
    """A module of the file's import statements and of its functions that contain ``yield``
    (those the ``sieve`` keeps), each parsed from its own lines and moved back to its real rows
    and columns, and the rows that spell ``yield``; ``None`` when some part cannot be parsed
    alone (the caller parses the whole file)."""
    lines = _Lines(source_lines(text, keepends=True))
    code = _code_lines(lines)  # a line inside a triple-quoted string is text, not code
    spans = _generator_spans(code)
    if spans is None:
        return None
    imports = _import_spans(code)
    kept = spans
    if sieve is not None and sieve.sifts(text):
        aliases = sieve.aliases("".join(line for span in imports for line in code[slice(*span)]))
        kept = [
            span
            for span in spans
            for text_of_span in ["".join(lines[slice(*span)])]
            if not _cut_cleanly(text_of_span) or sieve.keeps(text_of_span, aliases)
        ]
        if not kept:  # nothing any rule could report: nothing to parse
            return ast.Module(body=[], type_ignores=[]), ()
    body = _parse_imports(lines, imports)
    if body is None:
        return None
    body.extend(_resource_class_stubs(lines, code, spans))
    tree = _assemble(lines, body, kept)
    if tree is None:
        return None
    return tree, tuple(row + 1 for row in rows_with(("yield",), lines))


def _cut_cleanly(text: str) -> bool:
    """Whether a function's lines look complete: brackets and triple quotes balanced, no
    backslash continuing the last line. The scans that cut functions out are not a tokenizer;
    a function cut short does not parse alone, and the whole file is parsed instead. A span
    the sieve would drop is parsed all the same when it may be cut short, so that this still
    happens."""
    return (
        text.count("(") == text.count(")")
        and text.count("[") == text.count("]")
        and text.count("{") == text.count("}")
        and text.count('"""') % 2 == 0
        and text.count("'''") % 2 == 0
        and not text.rstrip().endswith("\\")
    )


def _assemble(
    lines: list[str], body: list[ast.stmt], spans: list[tuple[int, int]]
) -> Optional[ast.Module]:
    """A module of ``body`` and of the statements of each span, each parsed from its own lines
    at its real rows; ``None`` when a span does not parse alone."""
    for start, end in spans:
        parsed = _parse_lines(lines, start, end)
        if parsed is None:
            return None
        body.extend(parsed)
    body.sort(key=lambda node: node.lineno)
    return ast.Module(body=body, type_ignores=[])


def _generator_spans(lines: list[str]) -> Optional[list[tuple[int, int]]]:
    """(first, last + 1) line indexes of each outermost function holding a ``yield``,
    decorators included."""
    spans: dict[int, tuple[int, int]] = {}
    for index in rows_with(("yield",), lines):
        line = lines[index]
        if not _YIELD.search(_ONE_LINE_STRINGS.sub('""', line).split("#", 1)[0]):
            continue  # `yield` in a string or a comment
        header = _holding_def(lines, index)
        if header < 0:
            return None  # a yield with no def above it: let the whole file speak
        if header in spans:
            continue
        def_indent = _indent(lines[header])
        spans[header] = (_decorators_start(lines, header, def_indent), _end(lines, header))
    outermost: list[tuple[int, int]] = []
    for start, end in sorted(spans.values()):
        if outermost and start < outermost[-1][1]:
            continue  # nested in a function already taken
        outermost.append((start, end))
    return outermost


def _holding_def(lines: list[str], row: int) -> int:
    """The line index of the ``def`` whose body holds the ``yield`` on ``row``; -1 if none."""
    line = lines[row]
    if "def" in line and _DEF.match(line):
        return row  # `def __await__(self): yield`
    depth = _indent(line)
    header = row
    while header >= 0:
        candidate = lines[header]
        if "def" in candidate:  # the substring test first: the regex is the slow part
            match = _DEF.match(candidate)
            if match and len(match.group(1)) < depth:
                return header
        stripped = candidate.lstrip(" \t")
        if stripped and stripped[0] not in "#\r\n" and not stripped.startswith(_CLOSING):
            # the function holding the yield is indented less than every statement on the
            # way up: a nested function passed on the way does not hold it
            depth = min(depth, len(candidate) - len(stripped))
        header -= 1
    return -1


def _decorators_start(lines: list[str], header: int, def_indent: int) -> int:
    """The first decorator line above a ``def``, following decorators over several lines."""
    start = header
    probe = header - 1
    while probe >= 0:
        stripped = lines[probe].strip()
        if not stripped or stripped.startswith("#"):
            probe -= 1
            continue
        if _indent(lines[probe]) == def_indent and stripped.startswith("@"):
            start = probe
        elif not (_indent(lines[probe]) > def_indent or stripped.startswith(_CLOSING)):
            break  # neither a decorator nor the inside of one
        probe -= 1
    return start


def _end(lines: list[str], header: int) -> int:
    """One past the function's last line: the next code line indented no deeper than the
    ``def`` (closing brackets of a long signature aside)."""
    def_indent = _indent(lines[header])
    index = header + 1
    while index < len(lines):
        stripped = lines[index].strip()
        if (
            stripped
            and not stripped.startswith("#")
            and _indent(lines[index]) <= def_indent
            and not stripped.startswith(_CLOSING)
        ):
            break
        index += 1
    while index - 1 > header and not lines[index - 1].strip():
        index -= 1
    return index


_CLASS = re.compile(r"^class[ \t]+\w+")
_METHOD = re.compile(r"^(?:    |\t)(?:async[ \t]+)?def[ \t]+(\w+)")


class _Lines(list):  # type: ignore[type-arg]
    """The lines of one text, searched several times (and not changed once searched): their
    joined text and where each line starts in it are computed once."""

    _text: Optional[str] = None
    _starts: Optional[list[int]] = None

    def __init__(self, lines: Iterable[str] = ()) -> None:
        super().__init__(lines)
        self.blanked: list[tuple[int, int]] = []
        """Ranges of lines :func:`_code_lines` took for the inside of a string."""
        self.unclosed = False
        """The text ends inside a string, as the scan reads it."""

    def rows_with(self, words: tuple[str, ...]) -> list[int]:
        """See :func:`rows_with`."""
        if self._text is None:
            self._text = "".join(self)
        text = self._text
        found: set[int] = set()
        for word in words:
            position = text.find(word)
            while position >= 0:
                if self._starts is None:
                    self._starts = list(itertools.accumulate(map(len, self), initial=0))
                row = bisect.bisect_right(self._starts, position) - 1
                found.add(row)
                position = text.find(word, self._starts[row + 1])  # on to the next line
        return sorted(found)

    def rows_matching(self, pattern: re.Pattern[str], before: re.Pattern[str]) -> list[int]:
        """The lines where ``pattern`` matches, in order, where what precedes the match on
        its line is all ``before`` matches."""
        if self._text is None:
            self._text = "".join(self)
        if self._starts is None:
            self._starts = list(itertools.accumulate(map(len, self), initial=0))
        starts, text = self._starts, self._text
        rows: list[int] = []
        for match in pattern.finditer(text):
            row = bisect.bisect_right(starts, match.start()) - 1
            if before.fullmatch(text, starts[row], match.start()) and (not rows or rows[-1] != row):
                rows.append(row)
        return rows


def rows_with(words: tuple[str, ...], lines: Sequence[str]) -> list[int]:
    """Indexes of the lines holding one of ``words``, in order: the text is searched, not
    each line (most lines hold none)."""
    return (lines if isinstance(lines, _Lines) else _Lines(lines)).rows_with(words)


_KEPT_METHODS = frozenset(
    {"close", "aclose", "__exit__", "__aexit__", *RELEASE_METHODS, *RELEASE_HELPER_WORDS}
)
"""Methods a stub keeps whole: whether a class's release does anything is read from them (a
test double whose ``close()`` is ``pass`` holds no resource). A class defining one is stubbed,
so a module read in part answers as a module read whole."""
_KEPT_METHOD = re.compile(rf"def[ \t]+(?:{'|'.join(sorted(_KEPT_METHODS))})\b")
"""A release or exit method's ``def``, searched from its own letters: a pattern anchored at
every line start is tried at every character of every file with a generator."""
_METHOD_INDENT = re.compile(r"(?:    |\t)(?:async[ \t]+)?")
"""What comes before such a ``def`` on its line when it is a method of a top-level class."""


def _resource_class_stubs(
    lines: list[str], code: list[str], taken: list[tuple[int, int]]
) -> list[ast.stmt]:
    """Top-level classes that define a release or exit method, at their real rows: the header,
    the release and exit methods whole, and one stub per other method. Type inference asks
    about their names, methods and bases; the analysis reads what their releases do."""
    stubs: list[ast.stmt] = []
    classes: set[int] = set()
    searched = code if isinstance(code, _Lines) else _Lines(code)
    for row in searched.rows_matching(_KEPT_METHOD, _METHOD_INDENT):
        header = row - 1
        while header >= 0 and not _CLASS.match(code[header]):
            header -= 1
        if header >= 0:
            classes.add(header)  # whether it holds the method is checked below
    for index in sorted(classes):
        if any(start <= index < end for start, end in taken):
            continue
        end = _end(code, index)
        header_end = index + 1
        while header_end < end and not code[header_end - 1].split("#", 1)[0].rstrip().endswith(":"):
            header_end += 1
        methods = [
            (row, match.group(1))
            for row in range(header_end, end)
            for match in [_METHOD.match(code[row])]
            if match
        ]
        if not _KEPT_METHODS & {name for _, name in methods}:
            continue
        rows = ["\n"] * (end - index)
        rows[: header_end - index] = lines[index:header_end]
        for row, name in methods:
            if name in _KEPT_METHODS:
                rows[row - index : _end(code, row) - index] = lines[row : _end(code, row)]
            else:
                indent = code[row][: len(code[row]) - len(code[row].lstrip())]
                rows[row - index] = f"{indent}def {name}(self): pass\n"
        try:
            parsed = ast.parse("\n" * index + "".join(rows))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # inference is a bonus: an odd class is simply not asked about
        stubs.extend(parsed.body)
    return stubs


def _import_spans(lines: list[str]) -> list[tuple[int, int]]:
    """Import statements anywhere in the file, over several lines when parenthesised."""
    spans: list[tuple[int, int]] = []
    for index in rows_with(("import",), lines):
        if (spans and index < spans[-1][1]) or not _IMPORT.match(lines[index]):
            continue  # not an import, or inside the previous statement's lines
        end = index + 1
        if "(" in lines[index] and ")" not in lines[index]:
            while end < len(lines) and ")" not in lines[end - 1]:
                end += 1
        while lines[end - 1].rstrip().endswith("\\") and end < len(lines):
            end += 1
        spans.append((index, end))
    return spans


def _parse_imports(lines: list[str], spans: list[tuple[int, int]]) -> Optional[list[ast.stmt]]:
    """All import statements in one parse: only the names they bind matter, not where."""
    source: list[str] = []
    for start, end in spans:
        prefix = lines[start][: _indent(lines[start])]
        source.extend(
            line[len(prefix) :] if line.startswith(prefix) else line for line in lines[start:end]
        )
        if source and not source[-1].endswith("\n"):
            source[-1] += "\n"
    try:
        return list(ast.parse("".join(source)).body)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _parse_lines(lines: list[str], start: int, end: int) -> Optional[list[ast.stmt]]:
    """Parse lines ``start..end`` on their own, at their real rows and columns: blank lines
    stand in for what comes before, and an indented function is parsed under a stand-in
    ``class`` header, so no node has to be moved afterwards."""
    indented = _indent(lines[start]) > 0
    if indented and start == 0:
        return None
    padding = "\n" * (start - 1) + "class _:\n" if indented else "\n" * start
    try:
        tree = ast.parse(padding + "".join(lines[start:end]))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if indented:
        wrapper = tree.body[0]
        return list(wrapper.body) if isinstance(wrapper, ast.ClassDef) else None
    return tree.body
