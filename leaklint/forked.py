"""Work shared between this process and copies of it made with ``fork``.

A process pool costs about 40 ms before any work is done (importing ``concurrent.futures``
and ``multiprocessing``, starting the pool's workers and its thread, shutting them down):
more than checking a project of a few dozen files with generators takes on a second core. A
copy of the process made with ``os.fork`` costs about 3 ms and starts with everything this
process has read, parsed and imported. This process and the copies take the items one at a
time, the largest first; each copy sends its answers back through a pipe, pickled.

Only on Linux, in a process with no other thread running (a pool's thread, a server's): fork
is not safe on macOS (its system libraries may not survive it), and the chunks of
:class:`Stream` rely on a pipe writing 4,096 bytes whole, which POSIX promises only for 512.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import Any, Optional, TypeVar

    _Item = TypeVar("_Item")
    _Answer = TypeVar("_Answer")


def available() -> bool:
    """Whether work can be shared with forked copies of this process here and now."""
    if not sys.platform.startswith("linux"):
        return False
    threading = sys.modules.get("threading")  # not imported: no thread was started with it
    return threading is None or (
        threading.active_count() == 1 and threading.current_thread() is threading.main_thread()
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
    if parts <= 1 or len(items) <= 1 or len(order) * _INDEX > _PIPE_ROOM:
        return [function(item) for item in items]
    import pickle

    tokens, filling = os.pipe()
    os.set_blocking(filling, False)
    try:  # every index is written before any process reads: a pipe too small is no sharing
        _write_all(filling, b"".join(_number(at) for at in order))
    except BlockingIOError:
        os.close(filling)
        os.close(tokens)
        return [function(item) for item in items]

    def take() -> Iterator[int]:
        while True:
            token = os.read(tokens, _INDEX)
            if not token:
                return
            yield int.from_bytes(token, "little")

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


_INDEX = 4
"""Bytes of an index (of an item, or of a length) as the processes pass it: little-endian."""


def _number(value: int) -> bytes:
    return value.to_bytes(_INDEX, "little")


_PIPE_ROOM = 65_536
"""What a pipe holds before its writer waits (Linux's default, unless the user's pipes are
over their limit): all of the indexes are written before any process reads, so no more than
this is tried."""


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


class Stream:
    """Items handed to forked copies of this process as they come: each is a key and a few
    bytes (a file's name), put here one at a time while this process still finds more (lists
    folders). The copies, started now, answer each item they take with ``answer``; what the
    copies have not taken when this process is done finding, this process takes itself
    (:meth:`take`), so that the copies are never left idle nor this process waiting long.

    Items travel in chunks of :data:`_CHUNK` bytes, each written whole or not at all, which is
    how several copies read one pipe without splitting an item between them. A chunk is
    written only while the pipe has room: what does not fit waits here."""

    def __init__(self, answer: Callable[[bytes], Any], copies: int) -> None:
        import pickle

        self._waiting: collections.deque[tuple[int, bytes]] = collections.deque()
        self._held: Optional[tuple[bytes, list[tuple[int, bytes]]]] = None
        self._work, feeding = os.pipe()
        # a short pipe: what the copies have queued when the finding ends is their tail
        with contextlib.suppress(ImportError, OSError):
            import fcntl

            fcntl.fcntl(feeding, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_CHUNKS * _CHUNK)
        self._children: list[tuple[int, int]] = []
        for _ in range(copies):
            reading, writing = os.pipe()
            sys.stdout.flush()  # what is buffered would be written twice
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the copy: answer what it takes until the pipe ends, then send
                answers: list[tuple[int, Any]] = []
                try:
                    os.close(reading)
                    os.close(feeding)
                    while True:
                        chunk = os.read(self._work, _CHUNK)
                        if not chunk:
                            break
                        for key, item in _items(chunk):
                            answers.append((key, answer(item)))
                except BaseException:  # what it did not answer, the parent answers
                    pass
                finally:
                    try:
                        _write_all(writing, pickle.dumps(answers, pickle.HIGHEST_PROTOCOL))
                    finally:
                        os._exit(0)
            os.close(writing)
            self._children.append((pid, reading))
        os.set_blocking(feeding, False)
        self._feeding: Optional[int] = feeding

    def put(self, key: int, item: bytes) -> None:
        """Queue an item for the copies (see :meth:`flush`)."""
        self._waiting.append((key, item))

    def flush(self) -> None:
        """Send what is waiting, as far as the pipe has room; the rest waits. A chunk the
        pipe had no room for is kept as it is for the next try."""
        while self._feeding is not None:
            if self._held is None:
                self._held = self._next_chunk()
                if self._held is None:
                    return
            try:
                os.write(self._feeding, self._held[0])
            except BlockingIOError:
                return
            self._held = None

    def take(self) -> Optional[tuple[int, bytes]]:
        """An item no copy has been sent, for this process to answer; ``None`` when none is
        left (the copies are then sent no more)."""
        if not self._waiting and self._held is not None:
            self._waiting.extend(self._held[1])  # the last chunk the pipe had no room for
            self._held = None
        if self._waiting:
            return self._waiting.popleft()
        self._end()
        return None

    def _next_chunk(self) -> Optional[tuple[bytes, list[tuple[int, bytes]]]]:
        """A chunk of the last items waiting (up to :data:`_PER_CHUNK` of them), padded with
        zeros, and those items, taken off the queue; ``None`` when nothing waits, or when the
        last item is too long for a chunk (it goes to the front of the queue, for this
        process, and the next chunk is tried at the next flush)."""
        waiting = self._waiting
        taken: list[tuple[int, bytes]] = []
        records: list[bytes] = []
        size = 0
        while waiting and len(taken) < _PER_CHUNK:
            key, item = waiting[-1]
            record = _number(key) + _number(len(item)) + item
            if size + len(record) > _CHUNK - 2 * _INDEX:
                if not taken:
                    waiting.appendleft(waiting.pop())
                    return None
                break
            taken.append(waiting.pop())
            records.append(record)
            size += len(record)
        if not taken:
            return None
        body = b"".join(records)
        return body + bytes(_CHUNK - len(body)), taken

    def close(self) -> dict[int, Any]:
        """The copies' answers by key, once they have answered all they were sent. A key sent
        and not answered (a copy failed, or was killed) is missing."""
        import pickle

        self._end()
        answers: dict[int, Any] = {}
        for pid, reading in self._children:
            payload = _read_all(reading)
            os.waitpid(pid, 0)
            try:
                answers.update(pickle.loads(payload))
            except Exception:  # a copy killed midway sends half a pickle, or nothing
                continue
        self._children = []
        return answers

    def stop(self) -> None:
        """End the copies without their answers (this process is failing)."""
        import signal

        self._end()
        for pid, reading in self._children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(reading)
        self._children = []

    def _end(self) -> None:
        if self._feeding is not None:
            os.close(self._feeding)
            self._feeding = None
            os.close(self._work)  # the copies hold their own


_CHUNK = 4096
"""Bytes of one chunk of items: what Linux writes to a pipe whole (its ``PIPE_BUF``)."""
_PIPE_CHUNKS = 4
"""Chunks the pipe to the copies holds (where its size can be set)."""
_PER_CHUNK = 16
"""Items in a chunk at most: fewer items queued in the pipe when the finding ends."""


def _items(chunk: bytes) -> Iterator[tuple[int, bytes]]:
    at = 0
    while at + 2 * _INDEX <= len(chunk):
        key = int.from_bytes(chunk[at : at + _INDEX], "little")
        length = int.from_bytes(chunk[at + _INDEX : at + 2 * _INDEX], "little")
        if not length:
            return  # the padding
        at += 2 * _INDEX
        yield key, chunk[at : at + length]
        at += length
