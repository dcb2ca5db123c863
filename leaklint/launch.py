"""The ``leaklint`` command's entry point. The command lines that editor plugins, pre-commit and CI
run most are answered before click is loaded: ``--version``, and a check of some paths with
well-formed options (``leaklint.command``); click reads everything else."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line with the process's arguments."""
    arguments = sys.argv[1:]
    if arguments == ["--version"]:
        from leaklint import __version__

        sys.stdout.write(f"leaklint {__version__}\n")
        return
    from leaklint.command import plain_check_options, run_plain

    options = plain_check_options(arguments)
    if options is not None:
        run_plain(options)
    from leaklint.cli import main as command_line

    command_line()
