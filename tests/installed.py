"""The console scripts of the interpreter that runs the tests.

A virtual environment's scripts sit beside its ``python``; looking them up on ``PATH`` first
could run another interpreter's ``leaklint`` (the suite under Python 3.9 checking 3.11's).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Optional


def command(name: str) -> Optional[str]:
    """The path of the console script ``name``: beside ``sys.executable``, else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    return shutil.which(name)
