"""A local weaviate-server child process on loopback ports, persisting in one folder.

Folder layout (data/weaviate/):
  data/         Weaviate's PERSISTENCE_DATA_PATH
  server.log    the child's stdout and stderr (last run)
  ports.json    the ports of the last run, reused when free: Raft keeps peer addresses on disk
  server.pid    the child's pid, so a child orphaned by a crashed studio is stopped on the next start
  secrets.json  the API key and cluster password (mode 0600)
  backups/      BACKUP_FILESYSTEM_PATH of Weaviate's backup-filesystem module (engine.backup moves each backup
                out of it into the backup folder, and copies it back in to restore)

weaviate-server binds its gRPC port and its internal cluster API on all interfaces whatever we ask, so the
managed server always requires credentials: an API key (generated unless given) and a cluster password.

A node of a managed cluster (engine.weaviate.cluster) is the same process with a `Membership`: its node name, the
Raft peers to join and the gossip address of the first node. The cluster's nodes share one secrets.json and one
backups/ folder (the first node's).
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import LoragError
from engine.weaviate.status import WeaviateEndpoint, WeaviateStatus, probe

log = logging.getLogger(__name__)

WEAVIATE_VERSION = "1.39.0"
PORT_KEYS = ("http", "grpc", "gossip", "raft")  # gossip+1 (data) and raft+1 (internal RPC) are implied


def default_binary_candidates() -> list[Path]:
    home = Path(os.environ.get("LORAG_HOME", Path.home() / ".cache" / "lorag"))
    found = [home / "bin" / f"weaviate-server-v{WEAVIATE_VERSION}"]
    on_path = shutil.which("weaviate-server")
    if on_path:
        found.append(Path(on_path))
    return found


def resolve_binary(explicit: Path | None) -> Path:
    candidates = [Path(explicit)] if explicit else default_binary_candidates()
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    looked = ", ".join(str(p) for p in candidates)
    raise LoragError(
        f"The Weaviate server binary is missing (looked for {looked}).",
        hint="Run ./start.sh once: it builds weaviate-server with Go (`go install github.com/weaviate/weaviate/"
             f"cmd/weaviate-server@v{WEAVIATE_VERSION}`). Or pass --weaviate-binary PATH, or --weaviate-url "
             "to use a server that already runs.",
    )


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free (Weaviate's gossip/data and Raft/RPC pairs)."""
    for _ in range(200):
        port = random.randrange(20000, 60000)
        if port_free(port) and port_free(port + 1):
            return port
    raise LoragError("Could not find two free neighbouring ports on 127.0.0.1 for Weaviate.",
                     key="documents.weaviate_no_ports")


@dataclass
class Ports:
    http: int
    grpc: int
    gossip: int
    raft: int

    def all(self) -> list[int]:
        return [self.http, self.grpc, self.gossip, self.gossip + 1, self.raft, self.raft + 1]

    def all_free(self) -> bool:
        return all(port_free(p) for p in self.all())

    @classmethod
    def pick(cls) -> "Ports":
        http, grpc = free_port(), free_port()
        gossip = free_port_pair()
        raft = free_port_pair()
        while {raft, raft + 1} & {gossip, gossip + 1, http, grpc}:
            raft = free_port_pair()
        return cls(http=http, grpc=grpc, gossip=gossip, raft=raft)


SINGLE_NODE = "node0"  # the node name a single server has always had: Raft keeps it on disk


@dataclass(frozen=True)
class Membership:
    """How one node of a managed cluster finds the others."""

    name: str         # CLUSTER_HOSTNAME
    raft_join: str    # every voter, "node0:8300,node1:8302,..."
    gossip_join: str  # "127.0.0.1:<first node's gossip port>", "" on the first node
    voters: int       # RAFT_BOOTSTRAP_EXPECT


def _dead(pid: int) -> bool:
    """True when `pid` is gone or a zombie (killed, not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


class ManagedWeaviate:
    """Start, watch and stop one weaviate-server that persists under `folder`."""

    managed = True

    def __init__(self, folder: Path, binary: Path | None = None, timeout: float = 90.0, api_key: str = "",
                 secrets_path: Path | None = None, backups_path: Path | None = None) -> None:
        self.folder = Path(folder)
        self.binary = binary
        self.timeout = timeout
        self.api_key = api_key
        self.secrets_path = Path(secrets_path) if secrets_path else self.folder / "secrets.json"
        self._backups_path = Path(backups_path) if backups_path else self.folder / "backups"
        self.membership: Membership | None = None  # None: a single node
        self.ports: Ports | None = None
        self.process: subprocess.Popen | None = None
        self.last_error = ""
        self._log_file = None

    @property
    def log_path(self) -> Path:
        return self.folder / "server.log"

    @property
    def backups_path(self) -> Path:
        return self._backups_path.resolve()

    @property
    def endpoint(self) -> WeaviateEndpoint:
        if self.ports is None:
            raise LoragError("The managed Weaviate has not been started.", key="documents.weaviate_not_started")
        return WeaviateEndpoint(host="127.0.0.1", http_port=self.ports.http, grpc_port=self.ports.grpc,
                                api_key=self.api_key)

    def start(self) -> WeaviateEndpoint:
        if self.running:
            return self.endpoint
        try:
            return self._start()
        except LoragError as exc:
            self.last_error = str(exc)
            raise

    def _start(self) -> WeaviateEndpoint:
        self.prepare()
        self.spawn()
        self.wait_ready()
        return self.endpoint

    def prepare(self) -> Ports:
        """Stop an orphan left on the folder, choose the ports and read the secrets (before spawning)."""
        self.last_error = ""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stop_orphan()
        self.ports = self._choose_ports()
        self._load_secrets()
        return self.ports

    def spawn(self) -> None:
        """Start the prepared process without waiting for it (a cluster's nodes only become ready together)."""
        binary = resolve_binary(self.binary)
        if self._log_file is not None:  # the log of a run that died
            self._log_file.close()
        self._log_file = self.log_path.open("wb")
        log.info("starting weaviate-server on 127.0.0.1:%s (grpc %s), data in %s",
                 self.ports.http, self.ports.grpc, self.folder)
        self.process = subprocess.Popen(
            [str(binary), "--scheme", "http", "--host", "127.0.0.1", "--port", str(self.ports.http)],
            cwd=self.folder, env=self._child_env(), stdout=self._log_file, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        (self.folder / "server.pid").write_text(str(self.process.pid))

    def _choose_ports(self) -> Ports:
        saved = self.folder / "ports.json"
        if saved.exists():
            try:
                ports = Ports(**json.loads(saved.read_text()))
                if ports.all_free():
                    return ports
                log.warning("Weaviate's previous ports %s are taken; picking new ones", ports.all())
            except (ValueError, TypeError):
                pass
        ports = Ports.pick()
        saved.write_text(json.dumps(asdict(ports)))
        return ports

    def _load_secrets(self) -> None:
        path = self.secrets_path
        stored = json.loads(path.read_text()) if path.exists() else {}
        fresh = {"api_key": self.api_key or stored.get("api_key") or secrets.token_urlsafe(24),
                 "cluster_password": stored.get("cluster_password") or secrets.token_urlsafe(24)}
        if fresh != stored:
            path.touch(mode=0o600)
            path.write_text(json.dumps(fresh))
        self.api_key, self._cluster_password = fresh["api_key"], fresh["cluster_password"]

    def _child_env(self) -> dict[str, str]:
        p = self.ports
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(self.folder)),
            "PERSISTENCE_DATA_PATH": str((self.folder / "data").resolve()),
            "DEFAULT_VECTORIZER_MODULE": "none",
            "ENABLE_MODULES": "backup-filesystem",
            "BACKUP_FILESYSTEM_PATH": str(self.backups_path),
            "API_BASED_MODULES_DISABLED": "true",
            "DISABLE_TELEMETRY": "true",
            "GO_PROFILING_DISABLE": "true",
            "CLUSTER_IN_LOCALHOST": "true",
            "CLUSTER_BIND_ADDR": "127.0.0.1",
            "CLUSTER_GOSSIP_BIND_PORT": str(p.gossip),
            "CLUSTER_DATA_BIND_PORT": str(p.gossip + 1),
            "RAFT_PORT": str(p.raft),
            "RAFT_INTERNAL_RPC_PORT": str(p.raft + 1),
            # Nodes on loopback: no network delay to tolerate; the default 5 makes every start wait ~8 s.
            "RAFT_TIMEOUTS_MULTIPLIER": "1",
            "GRPC_PORT": str(p.grpc),
            "LOG_LEVEL": "info",
            "QUERY_DEFAULTS_LIMIT": "25",
            **self._membership_env(),
        }
        env.update({"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
                    "AUTHENTICATION_APIKEY_ENABLED": "true",
                    "AUTHENTICATION_APIKEY_ALLOWED_KEYS": self.api_key,
                    "AUTHENTICATION_APIKEY_USERS": "lorag",
                    "CLUSTER_BASIC_AUTH_USERNAME": "lorag",
                    "CLUSTER_BASIC_AUTH_PASSWORD": self._cluster_password})
        return env

    def _membership_env(self) -> dict[str, str]:
        m = self.membership or Membership(SINGLE_NODE, f"{SINGLE_NODE}:{self.ports.raft}", "", 1)
        env = {"CLUSTER_HOSTNAME": m.name, "RAFT_JOIN": m.raft_join, "RAFT_BOOTSTRAP_EXPECT": str(m.voters)}
        if m.gossip_join:
            env["CLUSTER_JOIN"] = m.gossip_join
        return env

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._start_failure(f"exited with code {self.process.returncode} while starting")
            if probe(self.endpoint).ready:
                log.info("weaviate-server ready (pid %s)", self.process.pid)
                return
            time.sleep(0.25)
        self.stop()
        raise self._start_failure(f"did not become ready within {self.timeout:.0f} s")

    def _start_failure(self, what: str) -> LoragError:
        tail = self.log_tail(15)
        if "address already in use" in tail:
            what = f"could not bind its ports {self.ports.all()} (port taken)"
        return LoragError(f"The Weaviate server {what}. Last log lines from {self.log_path}:\n{tail}")

    @property
    def running(self) -> bool:
        # poll() also answers None while another thread is reaping the child, so a killed server (a zombie
        # until reaped) is recognised by its state in /proc too.
        proc = self.process
        return proc is not None and proc.poll() is None and not _dead(proc.pid)

    def stop(self, timeout: float = 20.0) -> None:
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.send_signal(signal.SIGCONT)  # a stopped (hung) server then shuts down cleanly instead of being killed
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("weaviate-server did not stop in %.0f s; killing it", timeout)
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        (self.folder / "server.pid").unlink(missing_ok=True)

    def restart(self) -> WeaviateEndpoint:
        self.stop()
        return self.start()

    def other_server_pid(self) -> int | None:
        """The pid of a weaviate-server that another process (a running studio, or one that crashed) started on
        this folder, else None."""
        try:
            pid = int((self.folder / "server.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ValueError, OSError):
            return None
        return pid if b"weaviate-server" in cmdline else None

    def attach(self) -> bool:
        """Talk to the server a running studio started on this folder (its ports and key are in the folder);
        False when none runs there. This object then never stops it."""
        if self.running or self.other_server_pid() is None:
            return False
        self.ports = Ports(**json.loads((self.folder / "ports.json").read_text()))
        self._load_secrets()
        return probe(self.endpoint).ready

    def _stop_orphan(self) -> None:
        """A child left running by a studio that crashed still holds the data folder: stop it."""
        pid_file = self.folder / "server.pid"
        pid = self.other_server_pid()
        if pid is None:
            pid_file.unlink(missing_ok=True)
            return
        log.warning("stopping orphaned weaviate-server (pid %s) from an earlier run", pid)
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        pid_file.unlink(missing_ok=True)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def status(self) -> WeaviateStatus:
        if self.process is None:
            url = self.endpoint.url if self.ports else ""
            return WeaviateStatus(running=False, managed=True, url=url, error=self.last_error or "stopped",
                                  log_tail=self.log_tail(10))
        code = self.process.poll()
        if code is not None:
            return WeaviateStatus(running=False, managed=True, url=self.endpoint.url,
                                  error=f"the server process exited unexpectedly (code {code}); restart it "
                                        "from Settings", log_tail=self.log_tail(10))
        status = probe(self.endpoint, details=True)
        status.managed = True
        return status
