"""The data that flows between the pipeline's stages: locations, fixes and diagnostics."""

from __future__ import annotations

import enum

from leaklint.records import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional


@record(frozen=True, order=True)
class Location:
    """A position in a source file: 1-based row, 1-based column counted in characters."""

    row: int
    column: int


@record(frozen=True)
class Edit:
    """Replace the text between two locations with ``content``."""

    content: str
    location: Location
    end_location: Location


class Applicability(enum.Enum):
    """How much a fix may be trusted, with ruff's meaning: safe fixes keep behaviour."""

    SAFE = "safe"
    UNSAFE = "unsafe"


@record(frozen=True)
class FixPlan:
    """What a fix will do, decided by the analysis; LibCST turns it into edits only on demand.

    ``kind`` names the transformation; the line numbers identify statements by the row their
    first token is on, which the ``ast`` and LibCST agree on.
    """

    kind: FixKind
    applicability: Applicability
    title: str
    function_row: int
    anchor_row: int
    """Row of the statement the rewrite is built around (the yield-holding or ``with`` one)."""
    release_rows: tuple[int, ...] = ()
    """Rows of the statements that move into ``finally`` (LL001)."""
    await_rows: tuple[int, ...] = ()
    """Rows of moved release statements that gain an ``await`` (coroutine release methods)."""
    release_code: str = ""
    """The release statement to add in ``finally`` (LL002, LL003)."""
    function_end_row: int = 0
    """Last row of the function: the fix rewrites rows ``function_row..function_end_row``."""
    keep_with: bool = False
    """LL002 on a manager that does not close: keep ``with name:`` inside the new ``try``."""
    callee: str = ""
    """The callable the rewrite wraps the inner generator in (LL011:
    ``contextlib.asynccontextmanager``)."""
    import_code: str = ""
    """An import the rewrite needs, added at the top of the module (``import contextlib``)."""


class FixKind(enum.Enum):
    """The rewrites leaklint knows how to make."""

    MOVE_TO_FINALLY = "move-to-finally"
    WITH_TO_TRY_FINALLY = "with-to-try-finally"
    ADD_FINALLY = "add-finally"
    HOIST_FROM_TRY = "hoist-from-try"
    APPEND_RAISE = "append-raise"
    ADD_AWAIT = "add-await"
    HANDLER_RELEASE_TO_FINALLY = "handler-release-to-finally"
    COMMIT_TO_SUCCESS_PATH = "commit-to-success-path"
    DROP_AWAIT = "drop-await"
    CLOSE_ALL_TO_CLOSE = "close-all-to-close"
    YIELD_FROM = "yield-from"
    NEST_TRY_FINALLY = "nest-try-finally"
    ENTER_AS_MANAGER = "enter-as-manager"
    SPLIT_FINALLY = "split-finally"
    NEST_IN_FINALLY = "nest-in-finally"


class Severity(enum.Enum):
    """How a diagnostic is shown; every rule finding is an error, internal problems too."""

    ERROR = "error"


@record(frozen=True)
class Diagnostic:
    """One finding: a rule code at a range of a file, with an optional fix."""

    code: str
    name: str
    message: str
    filename: str
    location: Location
    end_location: Location
    fix: Optional[FixPlan] = None
    severity: Severity = Severity.ERROR

    @property
    def fixable(self) -> bool:
        """Whether a fix of any applicability exists."""
        return self.fix is not None


@record(frozen=True)
class FileError:
    """A file that could not be checked: it is reported on its own line, the run goes on."""

    filename: str
    message: str
    location: Optional[Location] = None
    internal: bool = False
    """leaklint's own failure (a fix it could not make), not a problem of the file."""

    def line(self) -> str:
        """``path:row:col: message`` (or ``path: message``), as compilers print errors."""
        return _file_line(self.filename, self.location, self.message)


@record(frozen=True)
class FileWarning:
    """Part of a file could not be checked (syntax newer than the interpreter); the rest was."""

    filename: str
    message: str
    location: Optional[Location] = None

    def line(self) -> str:
        """``path:row:col: message``, as :meth:`FileError.line`."""
        return _file_line(self.filename, self.location, self.message)


def _file_line(filename: str, location: Optional[Location], message: str) -> str:
    if location is None:
        return f"{filename}: {message}"
    return f"{filename}:{location.row}:{location.column}: {message}"
