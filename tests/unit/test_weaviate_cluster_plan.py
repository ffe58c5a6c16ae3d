"""The pure parts of a managed Weaviate cluster: node names and folders, Raft and gossip peers, port clashes,
each node's environment, the status line, the settings that choose it, and a replicated collection's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import LoragError
from engine.rag.index import ChunkIndex
from engine.settings import Settings, load_settings
from engine.weaviate.cluster import ManagedCluster, memberships, node_folder, overlapping
from engine.weaviate.server import ManagedWeaviate, Ports
from engine.weaviate.status import NodeState, WeaviateStatus


def ports(base: int) -> Ports:
    return Ports(http=base, grpc=base + 1, gossip=base + 2, raft=base + 4)


def test_node_one_keeps_the_single_servers_folder_and_the_others_live_under_nodes(tmp_path):
    assert node_folder(tmp_path, 0) == tmp_path
    assert node_folder(tmp_path, 2) == tmp_path / "nodes" / "node2"
    cluster = ManagedCluster(tmp_path, 3)
    assert {n.secrets_path for n in cluster.nodes} == {tmp_path / "secrets.json"}
    assert {n.backups_path for n in cluster.nodes} == {(tmp_path / "backups").resolve()}


def test_every_node_joins_every_raft_voter_and_gossips_through_the_first():
    plan = memberships([ports(1000), ports(2000), ports(3000)])
    assert [m.name for m in plan] == ["node0", "node1", "node2"]
    assert {m.raft_join for m in plan} == {"node0:1004,node1:2004,node2:3004"}
    assert [m.gossip_join for m in plan] == ["", "127.0.0.1:1002", "127.0.0.1:1002"]
    assert {m.voters for m in plan} == {3}


def test_a_node_whose_ports_another_node_uses_is_found():
    assert overlapping([ports(1000), ports(2000)]) is None
    assert overlapping([ports(1000), ports(2000), ports(1005)]) == 2   # its http port is node0's raft + 1


def test_a_nodes_environment_names_it_and_its_peers(tmp_path):
    node = ManagedWeaviate(tmp_path)
    node.ports, node._cluster_password, node.api_key = ports(1000), "pw", "key"
    single = node._child_env()
    assert (single["CLUSTER_HOSTNAME"], single["RAFT_JOIN"], single["RAFT_BOOTSTRAP_EXPECT"]) == ("node0", "node0:1004",
                                                                                                   "1")
    assert "CLUSTER_JOIN" not in single
    node.membership = memberships([ports(2000), ports(1000)])[1]
    member = node._child_env()
    assert member["CLUSTER_HOSTNAME"] == "node1" and member["CLUSTER_JOIN"] == "127.0.0.1:2002"
    assert member["RAFT_JOIN"] == "node0:2004,node1:1004" and member["RAFT_BOOTSTRAP_EXPECT"] == "2"
    assert member["RAFT_PORT"] == "1004" and member["CLUSTER_GOSSIP_BIND_PORT"] == "1002"


def test_the_status_line_lists_every_node_and_a_missing_one_counts_as_down():
    nodes = [NodeState("node0", "HEALTHY", 10), NodeState("node1", "HEALTHY", 10)]
    status = WeaviateStatus(running=True, managed=True, url="http://127.0.0.1:1", version="1.39.0", ready=True,
                            object_count=20, nodes=nodes, expected_nodes=3)
    assert status.degraded and status.healthy_nodes == 2
    assert status.summary().endswith(" · nodes 2/3 healthy: node0 HEALTHY, node1 HEALTHY")
    single = WeaviateStatus(running=True, managed=True, url="u", nodes=[NodeState("node0", "HEALTHY")])
    assert not single.cluster and not single.degraded and "nodes" not in single.summary()


def test_the_settings_choose_nodes_and_consistency_and_refuse_nonsense(tmp_path):
    settings = load_settings(["--weaviate-nodes", "3", "--weaviate-consistency", "all"], env={})
    assert (settings.weaviate_nodes, settings.weaviate_consistency) == (3, "ALL")
    with pytest.raises(LoragError, match="ONE, QUORUM, ALL"):
        Settings(data_dir=tmp_path, weaviate_consistency="MOST")
    with pytest.raises(LoragError, match="between 1 and 9"):
        Settings(data_dir=tmp_path, weaviate_nodes=0)


def test_a_replicated_index_asks_weaviate_for_its_copies_and_one_node_for_none():
    replicated = ChunkIndex(client=None, name="Lorag_x_g1", replicas=3)._replication()
    assert replicated.factor == 3 and replicated.deletionStrategy.value == "TimeBasedResolution"
    assert ChunkIndex(client=None, name="Lorag_x_g1")._replication() is None


def test_a_cluster_needs_two_nodes_at_least(tmp_path):
    with pytest.raises(LoragError):
        ManagedCluster(Path(tmp_path), 1)


def test_a_backup_of_a_managed_cluster_is_refused_with_a_reason(tmp_path):
    from engine.backup.create import _weaviate_server

    with pytest.raises(LoragError, match="cluster .* not supported yet") as refused:
        _weaviate_server(ManagedCluster(tmp_path, 3))
    assert refused.value.key == "backup.weaviate_cluster"
