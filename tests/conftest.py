"""Shared test plumbing: the project index of a fixture unit, the snapshot update mode, and the
session's PostgreSQL server."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

TYPE_CHECKING = False
if TYPE_CHECKING:
    from postgres_server import PostgresServer

UPDATE_SNAPSHOTS = os.environ.get("LEAKLINT_UPDATE_SNAPSHOTS") == "1"
"""Set LEAKLINT_UPDATE_SNAPSHOTS=1 to (re)write the ``*.fixed.py`` snapshots for review."""


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL server for the whole session (tests/postgres_server.py): one for
    tests/test_e2e_postgres.py and the PostgreSQL part of tests/test_equivalence.py."""
    from postgres_server import serve

    yield from serve()
