"""Crash tests' harness: run tests.support.crash_driver (a studio opened as launch.py opens it) until it reaches
the moment to hit, then kill -9 its whole process group, as an OOM kill or a power cut would: no clean-up,
no atexit. The children that start their own session on purpose (the managed weaviate-server, a training
worker) are not in that group: they survive, as they would after a real crash of the studio, and the next
start finds them (see engine.weaviate.server._stop_orphan, engine.training.runner.check).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.studio_process import ROOT


def kill_group(pid: int) -> None:
    """SIGKILL every process of the group `pid` leads; wait until the leader is gone."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def pid_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pid_gone(pid):
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still alive after SIGKILL")
        time.sleep(0.05)


class CrashRun:
    """One driver process: `until(what)` waits for its marker line, `crash()` kills its process group."""

    def __init__(self, scenario: str, data_dir: Path, **args) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.marker = self.data_dir.parent / f"crash-{scenario}.marker"
        self.marker.unlink(missing_ok=True)
        self.log_path = self.data_dir.parent / f"crash-{scenario}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "tests.support.crash_driver", scenario, str(self.data_dir),
                   str(self.marker), json.dumps(args)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log_path.open("ab"),
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def marks(self) -> list[dict]:
        if not self.marker.exists():
            return []
        return [json.loads(line) for line in self.marker.read_text().splitlines() if line.strip()]

    def until(self, what: str, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.marks():
                if line["at"] == what:
                    return line
                if line["at"] == "finished":
                    raise AssertionError(f"the work ended before {what!r}: {line}\n{self.log_tail()}")
            if self.process.poll() is not None:
                raise AssertionError(f"the driver exited ({self.process.returncode}) before {what!r}:\n"
                                     f"{self.log_tail()}")
            time.sleep(0.1)
        self.crash()
        raise TimeoutError(f"no {what!r} within {timeout} s:\n{self.log_tail()}")

    def crash(self) -> None:
        kill_group(self.process.pid)
        self.process.wait(30)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
