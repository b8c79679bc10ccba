import pytest

from ingest.reasons import Reason
from ingest.topics import SparkplugTopic, V1Topic, parse_sparkplug_topic, parse_v1_topic
from ingest.validate import Rejected


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("brain/v1/s1/l1/m1/power_kw", V1Topic("s1", "l1", "m1", "power_kw")),
        ("brain/v1/s1/l1/m1", V1Topic("s1", "l1", "m1", None)),
        ("brain/v1/Plant-A/line_2/cnc.07/energy_kwh", V1Topic("Plant-A", "line_2", "cnc.07", "energy_kwh")),
    ],
)
def test_v1_topics(topic, expected):
    assert parse_v1_topic(topic) == expected


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("brain/v2/s/l/m", Reason.TOPIC_UNKNOWN),
        ("other/s/l/m", Reason.TOPIC_UNKNOWN),
        ("brain/v1/s/l", Reason.TOPIC_BAD_SHAPE),
        ("brain/v1/s/l/m/x/y", Reason.TOPIC_BAD_SHAPE),
        ("brain/v1/s/l/m/", Reason.TOPIC_BAD_LEVEL),
        ("brain/v1/s//m", Reason.TOPIC_BAD_LEVEL),
        ("brain/v1/s/l/m/pow er", Reason.TOPIC_BAD_LEVEL),
        ("brain/v1/s/l/m/温度", Reason.TOPIC_BAD_LEVEL),
        ("brain/v1/s/l/" + "m" * 65, Reason.TOPIC_BAD_LEVEL),
        ("brain/v1/s/l/m/" + "x" * 300, Reason.TOPIC_TOO_LONG),
    ],
)
def test_v1_topic_rejections(topic, reason):
    with pytest.raises(Rejected) as info:
        parse_v1_topic(topic)
    assert info.value.reason is reason


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("spBv1.0/G/NBIRTH/E", SparkplugTopic("G", "NBIRTH", "E", None)),
        ("spBv1.0/G/DDATA/E/D", SparkplugTopic("G", "DDATA", "E", "D")),
        ("spBv1.0/STATE/host1", None),
    ],
)
def test_sparkplug_topics(topic, expected):
    assert parse_sparkplug_topic(topic) == expected


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("spBv1.0/G/NFOO/E", Reason.TOPIC_BAD_SHAPE),
        ("spBv1.0/G/NDATA/E/D", Reason.TOPIC_BAD_SHAPE),
        ("spBv1.0/G/DDATA/E", Reason.TOPIC_BAD_SHAPE),
        ("spBv1.0/G/DDATA/E/D/x", Reason.TOPIC_BAD_SHAPE),
        ("spBv1.0//NDATA/E", Reason.TOPIC_BAD_LEVEL),
        ("spBv1.0/G/NDATA/E+", Reason.TOPIC_BAD_LEVEL),
        ("spBv1.0/G/NDATA/" + "e" * 300, Reason.TOPIC_TOO_LONG),
    ],
)
def test_sparkplug_topic_rejections(topic, reason):
    with pytest.raises(Rejected) as info:
        parse_sparkplug_topic(topic)
    assert info.value.reason is reason
