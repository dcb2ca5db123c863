"""``leaklint server``: the language server. pygls is an optional dependency (the ``server``
extra); nothing here is imported by a check."""

from __future__ import annotations

from typing import Optional

INSTALL = "pip install 'leaklint[server]'"


def missing_dependency() -> Optional[str]:
    """Why the server cannot start (its dependencies are not installed), or ``None``."""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError as error:
        return f"leaklint server needs {error.name}: {INSTALL}"
    return None
