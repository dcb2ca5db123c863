"""Attributes replaced on library classes while the watch is on, and put back after."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patches:
    """Replacements that can all be undone, last first."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []

    def replace(self, owner: Any, name: str, new: Any) -> None:
        """Set ``owner.name`` to ``new``, remembering what was there (in ``owner``'s own
        namespace: an inherited attribute is removed again, not copied down)."""
        self._undo.append((owner, name, vars(owner).get(name, _MISSING)))
        setattr(owner, name, new)

    def on_undo(self, function: Any) -> None:
        """Call ``function()`` when undoing (an event listener to remove)."""
        self._undo.append((None, "", function))

    def undo(self) -> None:
        """Put everything back."""
        while self._undo:
            owner, name, old = self._undo.pop()
            if owner is None:
                old()
            elif old is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, old)
