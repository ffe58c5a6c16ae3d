"""The managed Weaviate: a real weaviate-server child process on free loopback ports."""

import os
import signal
import socket
import time

import pytest

from engine.errors import LoragError
from engine.weaviate import RemoteWeaviate, connect
from engine.weaviate.server import WEAVIATE_VERSION, ManagedWeaviate, Ports

pytestmark = pytest.mark.weaviate


def _add_note(server: ManagedWeaviate, text: str) -> None:
    from weaviate.classes.config import Configure, DataType, Property

    with connect(server.endpoint) as client:
        if not client.collections.exists("Note"):
            client.collections.create("Note", properties=[Property(name="text", data_type=DataType.TEXT)],
                                      vector_config=Configure.Vectors.self_provided())
        client.collections.use("Note").data.insert({"text": text}, vector=[0.1, 0.2, 0.3])


def _notes(server: ManagedWeaviate) -> list[str]:
    with connect(server.endpoint) as client:
        if not client.collections.exists("Note"):
            return []
        return sorted(o.properties["text"] for o in client.collections.use("Note").iterator())


def test_starts_answers_and_reports_status(weaviate_server):
    status = weaviate_server.status()
    assert status.running and status.ready and status.managed
    assert status.version == WEAVIATE_VERSION
    assert status.url.startswith("http://127.0.0.1:")
    assert "running" in status.summary() and WEAVIATE_VERSION in status.summary()


def _listen_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on `port`, read from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def test_http_binds_loopback_and_every_port_needs_credentials(weaviate_server):
    import urllib.error
    import urllib.request

    assert _listen_addresses(weaviate_server.ports.http) == {"0100007F"}  # 127.0.0.1 only
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(weaviate_server.endpoint.url + "/v1/schema", timeout=5)
    assert err.value.code == 401
    # gRPC and the cluster API bind every interface (weaviate-server offers no bind address for them),
    # so they must refuse a caller without the key.
    import grpc
    from weaviate.proto.v1 import search_get_pb2, weaviate_pb2_grpc

    _add_note(weaviate_server, "secret")
    with grpc.insecure_channel(f"127.0.0.1:{weaviate_server.ports.grpc}") as channel:
        stub = weaviate_pb2_grpc.WeaviateStub(channel)
        with pytest.raises(grpc.RpcError) as rpc:
            stub.Search(search_get_pb2.SearchRequest(collection="Note", limit=1), timeout=10)
    assert "unauthorized" in rpc.value.details()
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{weaviate_server.ports.gossip + 1}/indices", timeout=5)
    assert err.value.code == 401


def test_data_survives_stop_and_start(tmp_path):
    server = ManagedWeaviate(tmp_path / "wv")
    server.start()
    try:
        _add_note(server, "kept across restarts")
        server.stop()
        assert not server.running
        assert server.status().running is False
        server.start()
        assert _notes(server) == ["kept across restarts"]
        assert server.status().object_count is not None
    finally:
        server.stop()


def test_two_instances_run_side_by_side(weaviate_server, tmp_path):
    other = ManagedWeaviate(tmp_path / "second")
    other.start()
    try:
        assert other.ports.http != weaviate_server.ports.http
        _add_note(other, "only in the second")
        assert _notes(other) == ["only in the second"]
        assert "only in the second" not in _notes(weaviate_server)
        assert weaviate_server.status().ready and other.status().ready
    finally:
        other.stop()


def test_killed_child_is_reported_and_restart_brings_data_back(tmp_path):
    server = ManagedWeaviate(tmp_path / "wv")
    server.start()
    try:
        _add_note(server, "survives a crash")
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(10)
        status = server.status()
        assert not status.running
        assert "exited unexpectedly" in status.error
        assert "Weaviate: down" in status.summary()
        server.restart()
        assert server.status().running
        assert _notes(server) == ["survives a crash"]
    finally:
        server.stop()


def test_orphan_from_a_crashed_studio_is_replaced(tmp_path):
    first = ManagedWeaviate(tmp_path / "wv")
    first.start()
    orphan = first.process
    first.process = None  # the studio "crashed": nobody stops the child
    second = ManagedWeaviate(tmp_path / "wv")
    try:
        second.start()
        assert orphan.wait(15) is not None
        assert second.status().ready
    finally:
        second.stop()
        if orphan.poll() is None:
            orphan.kill()


def test_missing_binary_says_how_to_get_one(tmp_path):
    server = ManagedWeaviate(tmp_path / "wv", binary=tmp_path / "no-such-weaviate")
    with pytest.raises(LoragError) as err:
        server.start()
    message = str(err.value)
    assert "missing" in message and "./start.sh" in message and "go install" in message
    assert "--weaviate-url" in message
    assert server.status().error == message


def test_port_taken_is_named_with_log_lines(tmp_path, monkeypatch):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    ports = Ports.pick()
    monkeypatch.setattr(ManagedWeaviate, "_choose_ports", lambda self: Ports(taken, ports.grpc, ports.gossip,
                                                                             ports.raft))
    server = ManagedWeaviate(tmp_path / "wv", timeout=30)
    try:
        with pytest.raises(LoragError) as err:
            server.start()
        assert "port taken" in str(err.value)
        assert "Last log lines" in str(err.value)
    finally:
        server.stop()
        blocker.close()


def test_a_crashing_binary_is_reported_with_its_output(tmp_path):
    fake = tmp_path / "weaviate-server"
    fake.write_text("#!/bin/sh\necho 'fatal: cannot open data folder' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = ManagedWeaviate(tmp_path / "wv", binary=fake)
    with pytest.raises(LoragError) as err:
        server.start()
    assert "exited with code 3" in str(err.value)
    assert "cannot open data folder" in str(err.value)


def test_not_ready_in_time_is_a_timeout_error(tmp_path):
    fake = tmp_path / "weaviate-server"
    fake.write_text("#!/bin/sh\necho 'loading a very large database'\nexec sleep 60\n")
    fake.chmod(0o755)
    server = ManagedWeaviate(tmp_path / "wv", binary=fake, timeout=2)
    started = time.monotonic()
    with pytest.raises(LoragError, match="did not become ready within 2 s"):
        server.start()
    assert time.monotonic() - started < 30
    assert not server.running


def test_remote_weaviate_by_url(weaviate_server):
    remote = RemoteWeaviate(weaviate_server.endpoint.url, weaviate_server.ports.grpc, weaviate_server.api_key)
    status = remote.status()
    assert status.running and not status.managed and status.version == WEAVIATE_VERSION
    keyless = RemoteWeaviate(weaviate_server.endpoint.url, weaviate_server.ports.grpc).status()
    assert "API key was refused" in keyless.error
    down = RemoteWeaviate("http://127.0.0.1:9", 10)
    assert not down.status().running and "unreachable" in down.status().error


def test_a_given_api_key_is_used_and_a_generated_one_is_kept(tmp_path):
    server = ManagedWeaviate(tmp_path / "wv", api_key="s3cret-key")
    server.start()
    try:
        assert server.status().version == WEAVIATE_VERSION
        assert (tmp_path / "wv" / "secrets.json").stat().st_mode & 0o077 == 0
        wrong = RemoteWeaviate(server.endpoint.url, server.ports.grpc, api_key="wrong")
        assert "refused" in wrong.status().error
        _add_note(server, "with a key")
        assert _notes(server) == ["with a key"]
    finally:
        server.stop()
    generated = ManagedWeaviate(tmp_path / "other")
    generated.start()
    key = generated.api_key
    generated.stop()
    again = ManagedWeaviate(tmp_path / "other")
    again.start()
    try:
        assert len(key) >= 24 and again.api_key == key
    finally:
        again.stop()
