"""Work shared between this process and copies of it made with ``fork``.

A process pool costs about 40 ms before any work is done (importing ``concurrent.futures``
and ``multiprocessing``, starting the pool's workers and its thread, shutting them down):
more than checking a project of a few dozen files with generators takes on a second core. A
copy of the process made with ``os.fork`` costs about 3 ms and starts with everything this
process has read, parsed and imported. This process and the copies take the items one at a
time, the largest first; each copy sends its answers back through a pipe, pickled.

Only where ``fork`` is safe: POSIX systems other than macOS (whose system libraries may not
survive it), in a process with no other thread running (a pool's thread, a server's).
"""

from __future__ import annotations

import os
import struct
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Optional, TypeVar

    _Item = TypeVar("_Item")
    _Answer = TypeVar("_Answer")


def available() -> bool:
    """Whether work can be shared with forked copies of this process here and now."""
    return (
        hasattr(os, "fork")
        and sys.platform != "darwin"
        and threading.active_count() == 1
        and threading.current_thread() is threading.main_thread()
    )


def map_shared(
    function: Callable[[_Item], _Answer],
    items: Sequence[_Item],
    weights: Sequence[int],
    parts: int,
    in_copies: Optional[Callable[[_Item], _Answer]] = None,
) -> list[_Answer]:
    """``[function(item) for item in items]``, shared between this process and ``parts - 1``
    forked copies of it; the answers in the items' order. The copies answer with
    ``in_copies`` when it is given (an answer that travels lighter: without a parse tree).

    The items are handed out one at a time, the heaviest (by ``weights``) first, to whichever
    process asks next: each takes the next index from one pipe that all of them read (a read
    of a pipe is whole, so no two processes take the same index). Sharing out by size alone
    left one process with most of the work on fides, where a file's size says little about
    how long its check takes. An answer must pickle. What a copy does not answer (it raised,
    or was killed) this process answers once the copies have ended."""
    order = sorted(range(len(items)), key=lambda at: -weights[at])
    if parts <= 1 or len(items) <= 1 or len(order) * _TOKEN.size > _PIPE_ROOM:
        return [function(item) for item in items]
    import pickle

    tokens, filling = os.pipe()
    _write_all(filling, b"".join(_TOKEN.pack(at) for at in order))

    def take() -> Iterator[int]:
        while True:
            token = os.read(tokens, _TOKEN.size)
            if not token:
                return
            yield _TOKEN.unpack(token)[0]

    children: list[tuple[int, int]] = []
    for _ in range(min(parts, len(items)) - 1):
        reading, writing = os.pipe()
        sys.stdout.flush()  # what is buffered would be written twice
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the copy: answer what it takes, send it, and end without cleaning up
            status = 1
            try:
                os.close(reading)
                answering = in_copies or function
                answers = [(at, answering(items[at])) for at in take()]
                payload = pickle.dumps((True, answers), protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            except BaseException:  # answered again by the parent, which raises it
                payload = pickle.dumps((False, []))
            finally:
                try:
                    _write_all(writing, payload)
                finally:
                    os._exit(status)
        os.close(writing)
        children.append((pid, reading))
    answered: dict[int, _Answer] = {}
    try:
        for at in take():
            answered[at] = function(items[at])
    finally:
        os.close(tokens)
        received = [_read_all(reading) for _, reading in children]
        for pid, _ in children:
            os.waitpid(pid, 0)
    for payload in received:
        try:
            done, answers = pickle.loads(payload)
        except Exception:  # a copy killed midway sends half a pickle, or nothing
            continue
        if done:
            answered.update(answers)
    # what a copy took and did not answer (it failed, or was killed) is answered here: a
    # failure of the function itself is raised here as it would be without copies
    return [answered[at] if at in answered else function(item) for at, item in enumerate(items)]


_TOKEN = struct.Struct("=I")
"""An item's index, as the processes take it from the pipe."""
_PIPE_ROOM = 65_536
"""What a pipe holds before its writer waits (Linux's default): all of the indexes are
written before any process reads, so no more than this."""


def _write_all(descriptor: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(descriptor, view) :]
    os.close(descriptor)


def _read_all(descriptor: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(descriptor)
    return b"".join(chunks)
