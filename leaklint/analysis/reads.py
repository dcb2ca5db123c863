"""The other files of the project a check reads to answer a question about a module: a factory
or a class it imports. A module's findings then depend on those files too, and the results
cache keeps them beside the module's own size and time (``runner`` collects them per module)."""

from __future__ import annotations

_CONSULTED: set[str] = set()


def consulted(path: str) -> None:
    """Note that the module being checked read ``path``."""
    _CONSULTED.add(path)


def take() -> frozenset[str]:
    """The paths read since the last call, forgotten here."""
    found = frozenset(_CONSULTED)
    _CONSULTED.clear()
    return found
