"""Document writes and backups keep out of each other's way, across threads and processes (the studio, and
`launch.py backup` run beside it).

A lock file in the data folder (data/writes.lock) carries an flock: whatever changes the documents (an ingestion
job for its whole run, creating or deleting a collection or a document) holds it shared; a backup holds it
exclusive. A writer never waits: while a backup runs it is refused with a message. A backup waits a little for
short writers to finish, and refuses while an ingestion job still holds the lock. flock locks belong to an
open file, so two threads of one process exclude each other as two processes do.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from engine.errors import LoragError


class WriteHold:
    """A shared hold on the lock, released once (an ingestion job's thread releases it when it ends)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


class WriteLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def hold(self, what: str) -> WriteHold:
        """A shared hold for a document write, or a LoragError naming `what` while a backup runs."""
        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LoragError(f"{what} has to wait: a backup of the data folder is being made.",
                             hint="Try again when it has finished (usually within a minute).",
                             key="backup.writes_wait", hint_key="backup.writes_wait_hint",
                             params={"what": what}) from None
        return WriteHold(fd)

    @contextmanager
    def writing(self, what: str) -> Iterator[None]:
        hold = self.hold(what)
        try:
            yield
        finally:
            hold.release()

    @contextmanager
    def exclusive(self, timeout: float, busy: Callable[[], str]) -> Iterator[None]:
        """No document writes inside; a LoragError saying `busy()` when writers still hold it after `timeout` s."""
        fd = self._open()
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        problem = busy()
                        raise LoragError(problem, hint="Wait for it to finish or cancel it, then back up.",
                                         key="backup.busy", hint_key="backup.busy_hint",
                                         params={"problem": problem}) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)
