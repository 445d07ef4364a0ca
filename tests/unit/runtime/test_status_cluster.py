"""status: an Alertmanager's view of its gossip cluster, from its /api/v2/status answer."""

from __future__ import annotations

from stackgen.runtime.status import ClusterMember, StackStatus, cluster_data, cluster_member


def test_member_counts_the_peers_it_sees() -> None:
    answer = {
        "cluster": {"status": "ready", "name": "01H", "peers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    }
    assert cluster_member("alertmanager-1", answer) == ClusterMember("alertmanager-1", "ready", 3)


def test_member_without_an_answer_is_unreachable() -> None:
    assert cluster_member("alertmanager-2", None) == ClusterMember("alertmanager-2", "unreachable", 0)


def test_lone_alertmanager_with_clustering_off_has_no_cluster() -> None:
    lone = cluster_member("alertmanager", {"cluster": {"status": "disabled", "peers": []}})
    assert cluster_data([lone]) is None
    assert StackStatus("p", ()).to_data()["alertmanager_cluster"] is None


def test_size_is_the_most_peers_any_member_sees() -> None:
    members = [
        ClusterMember("alertmanager-1", "ready", 2),
        ClusterMember("alertmanager-2", "ready", 2),
        ClusterMember("alertmanager-3", "unreachable", 0),
    ]
    assert StackStatus("p", (), alertmanager_cluster=tuple(members)).to_data()["alertmanager_cluster"] == {
        "size": 2,
        "members": [
            {"service": "alertmanager-1", "status": "ready", "peers": 2},
            {"service": "alertmanager-2", "status": "ready", "peers": 2},
            {"service": "alertmanager-3", "status": "unreachable", "peers": 0},
        ],
    }
