"""leaklint: find and fix resource leaks in generator-based dependencies and context managers."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs `leaklint --version` 5 ms
if TYPE_CHECKING:  # type checkers see the API's real signatures; at run time it loads lazily
    from typing import Any

    from leaklint.api import check_source, fix_source

__version__ = "0.1.0"

__all__ = ["__version__", "check_source", "fix_source"]


def __getattr__(name: str) -> Any:
    # the API pulls in the analysis; keep `import leaklint` (and --version) cheap
    if name in ("check_source", "fix_source"):
        from leaklint import api

        return getattr(api, name)
    raise AttributeError(f"module 'leaklint' has no attribute {name!r}")
