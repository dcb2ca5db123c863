"""The ``leaklint`` command's entry point: ``--version`` is answered before the command line
and its rules are loaded (editor plugins and pre-commit ask it often)."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line with the process's arguments."""
    if sys.argv[1:] == ["--version"]:
        from leaklint import __version__

        sys.stdout.write(f"leaklint {__version__}\n")
        return
    from leaklint.cli import main as command_line

    command_line()
