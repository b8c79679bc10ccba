"""`brain mirror`'s mm2.properties (pure): only the enabled flows `<enterprise>->city` exist. MM2
runs a Connect herder for every ordered pair of clusters whose heartbeats are on, even a disabled
flow, and a herder writes its internal topics (with the other clusters' connection configs) into
its target: a factory would receive another factory's configuration (the chain test found it)."""

from __future__ import annotations

import itertools

import pytest

from brain.mirror import MirrorError, mirror_properties, parse_cluster


def _props(text: str) -> dict[str, str]:
    pairs = (line.split(" = ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(pairs)


def test_only_the_enterprise_to_city_flows_have_a_herder() -> None:
    sources = [("ent-a", "a:9092"), ("ent-b", "b:9092"), ("ent-c", "c:9092")]
    props = _props(mirror_properties(sources, ("city", "city:9092")))
    clusters = [*(s for s, _ in sources), "city"]
    assert props["clusters"] == ", ".join(clusters)
    herders = [
        (src, dst)
        for src, dst in itertools.permutations(clusters, 2)
        if props.get(f"{src}->{dst}.enabled") == "true"
        or props.get(f"{src}->{dst}.emit.heartbeats.enabled", "true") != "false"
    ]
    assert herders == [("ent-a", "city"), ("ent-b", "city"), ("ent-c", "city")]
    assert all(props[f"{s}->city.topics"] == r"brain\.export" for s, _ in sources)
    # nothing written into a factory, nothing of a factory's consumer groups copied to the city
    assert props["offset-syncs.topic.location"] == "target"
    assert props["emit.checkpoints.enabled"] == "false" and props["sync.group.offsets.enabled"] == "false"
    assert props["sync.topic.acls.enabled"] == "false"
    assert props["plugin.discovery"] == props["city.plugin.discovery"] == "service_load"


@pytest.mark.parametrize(
    ("sources", "target", "expected"),
    [
        ([], ("city", "c:1"), "at least one factory"),
        ([("e1", "a:1"), ("e1", "b:1")], ("city", "c:1"), "must differ"),
        ([("city", "a:1")], ("city", "c:1"), "must differ"),
    ],
)
def test_bad_flows_are_refused(
    sources: list[tuple[str, str]], target: tuple[str, str], expected: str
) -> None:
    with pytest.raises(MirrorError, match=expected):
        mirror_properties(sources, target)


@pytest.mark.parametrize("text", ["e1", "e1=", "e.1=a:1", "=a:1"])
def test_bad_cluster_options_name_the_value(text: str) -> None:
    with pytest.raises(MirrorError, match="--source"):
        parse_cluster(text, "--source")
