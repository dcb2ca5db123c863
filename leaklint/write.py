"""Write a fixed file so that it is never half-written: temp file in the same folder, rename."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


class ChangedOnDisk(Exception):
    """The file changed between reading and writing: it is left as it is."""


def write_atomically(path: Path, original: bytes, new: bytes) -> None:
    """Replace ``path``'s content ``original`` with ``new``, keeping its permission bits."""
    if path.read_bytes() != original:
        raise ChangedOnDisk(f"{path} changed while it was being fixed; it was not rewritten")
    mode = stat.S_IMODE(path.stat().st_mode)
    real = path.resolve()
    descriptor, temporary = tempfile.mkstemp(
        dir=real.parent, prefix=f".{real.name}.", suffix=".leaklint"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(new)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
