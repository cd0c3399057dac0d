"""Reading a few bytes of a saved file by offset, without mapping pages around them.

A serving process reads a sentence's text for each hit and for the re-ranker's
proximity window: a few dozen rows per question, anywhere in a file of hundreds of
MB (270 MB at a million sentences). Sliced from a memory map, each read faults in
the kernel's fault-around window (16 pages) into the process, so after a few
hundred questions nearly the whole file counted in the process's resident memory
(benchmarks/RESULTS.md). `os.pread` reads the same bytes through the page cache,
which stays shared and reclaimable and is not the process's own.
"""

from __future__ import annotations

import os


class FileBytes:
    """An open file whose bytes from `offset` on are read by position.

    The file is opened at once and kept open, so a reader keeps working after an
    index update removes or replaces the file's name (as a map would).
    `os.pread` takes its position as an argument: threads share one descriptor.
    """

    def __init__(self, path: str | os.PathLike[str], offset: int = 0) -> None:
        self.path = os.fspath(path)
        self.offset = offset
        self._fd: int | None = os.open(path, os.O_RDONLY)

    def __reduce__(self) -> tuple:
        """Pickled as its path and offset: a descriptor means nothing in another process."""
        return (FileBytes, (self.path, self.offset))

    def read(self, start: int, length: int) -> bytes:
        """`length` bytes from `start` (counted from `offset`)."""
        assert self._fd is not None, "read after close"
        data = os.pread(self._fd, length, self.offset + start)
        if len(data) != length:
            raise OSError(f"short read: {len(data)} of {length} bytes at {self.offset + start}")
        return data

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()
