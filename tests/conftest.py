"""Shared test plumbing: the project index of a fixture unit, and the snapshot update mode."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

UPDATE_SNAPSHOTS = os.environ.get("LEAKLINT_UPDATE_SNAPSHOTS") == "1"
"""Set LEAKLINT_UPDATE_SNAPSHOTS=1 to (re)write the ``*.fixed.py`` snapshots for review."""
