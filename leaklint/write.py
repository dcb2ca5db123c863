"""Write a file so that it is never half-written: a new file in the same folder, then a rename."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


class ChangedOnDisk(Exception):
    """The file changed between reading and writing: it is left as it is."""


def write_atomically(path: Path, original: bytes, new: bytes) -> None:
    """Replace ``path``'s content ``original`` with ``new``, keeping its permission bits."""
    if path.read_bytes() != original:
        raise ChangedOnDisk(f"{path} changed while it was being fixed; it was not rewritten")
    mode = stat.S_IMODE(path.stat().st_mode)
    replace_file(path.resolve(), new, mode=mode, sync=True)


def replace_file(path: Path, data: bytes, *, mode: int = 0o600, sync: bool = False) -> None:
    """Write ``data`` to a new file beside ``path`` (``mode``, and on disk before the rename
    when ``sync``), then rename it over ``path``; on any failure the new file goes and
    ``path`` is as it was. The name is made here rather than by ``tempfile``, whose import
    (``random``, ``shutil``) costs a cached run more than its write."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.leaklint")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
