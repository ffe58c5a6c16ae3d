"""The data folder's write lock: document writes and a backup exclude each other, within one process and across
two (the studio and `launch.py backup` beside it)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.writes import WriteLock

ROOT = Path(__file__).resolve().parents[2]
HOLD_IN_CHILD = """
import sys, time
from engine.writes import WriteLock
hold = WriteLock(sys.argv[1]).hold("Indexing")
print("held", flush=True)
sys.stdin.readline()
"""


def test_writers_share_the_lock_and_a_backup_waits_then_refuses(tmp_path):
    lock = WriteLock(tmp_path / "writes.lock")
    first, second = lock.hold("one"), lock.hold("two")  # writers do not exclude each other
    started = time.monotonic()
    with pytest.raises(LoragError, match="documents are indexed"):
        with lock.exclusive(0.3, busy=lambda: "documents are indexed"):
            pass
    assert time.monotonic() - started >= 0.3
    first.release()
    second.release()
    second.release()  # releasing twice is harmless
    with lock.exclusive(0.3, busy=lambda: "busy"):
        with pytest.raises(LoragError, match="a backup of the data folder is being made"):
            lock.hold("Deleting notes.md")
    with lock.writing("free again"):
        pass


def test_a_writer_in_another_process_keeps_a_backup_out_until_it_ends(tmp_path):
    path = tmp_path / "writes.lock"
    child = subprocess.Popen([sys.executable, "-c", HOLD_IN_CHILD, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LoragError, match="busy"):
            with WriteLock(path).exclusive(0.3, busy=lambda: "busy"):
                pass
        child.stdin.write("\n")
        child.stdin.flush()
        child.wait(10)
        with WriteLock(path).exclusive(5, busy=lambda: "busy"):
            pass
    finally:
        child.kill()
