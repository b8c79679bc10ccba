"""Hostile JSON v1 input: sizes, depth, Unicode, wildcards, non-finite and huge numbers, far-away
and odd timestamps, duplicated keys, BOMs. Complements tests/ingest/test_properties.py (random
shapes) with the adversarial corners; the invariants are in tests/hostile/helpers.py.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import replace

import orjson
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ingest import IngestConfig, parse_message
from tests.hostile.helpers import NAME, NOW, check_outcome

T = "brain/v1/s/l/m"
CFG = IngestConfig()
KIB = 1024
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse(topic: str, payload: bytes, config: IngestConfig = CFG):
    out = parse_message(topic, payload, NOW, config)
    check_outcome(out, topic, payload)
    return out


def reasons(out) -> list[str]:
    return [d.reason.value for d in out.dead_letters]


# ---- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "accepted"),
    [(256 * KIB, True), (256 * KIB + 1, False), (3 * 1024 * KIB, False), (16 * 1024 * KIB, False)],
)
def test_payload_size_limit(size, accepted):
    payload = b"1" + b" " * (size - 1)  # valid JSON of exactly `size` bytes
    for topic in (f"{T}/x", T):
        out = parse(topic, payload)
        if not accepted:
            assert reasons(out) == ["payload.too_large"]
        elif topic == T:
            assert reasons(out) == ["payload.bad_shape"]  # a bare number is not a batch
        else:
            assert [r.value for r in out.readings] == [1]


@PROPS
@given(extra=st.integers(-64, 64), fill=st.sampled_from([b" ", b"\n", b"a", b"\x00", b"\xff"]))
def test_payload_size_boundary_never_raises(extra, fill):
    body = b'{"value": 1, "pad": "'
    payload = body + fill * (256 * KIB - len(body) - 2 + extra) + b'"}'
    out = parse(f"{T}/x", payload)
    if len(payload) > 256 * KIB:
        assert reasons(out) == ["payload.too_large"]


def test_biggest_batch_of_bad_metrics_is_bounded():
    """1000 NaN metrics (just under 256 KiB): 20 dead letters + one summary, nothing else."""
    metrics = ",".join(f'"metric_{i:04d}_{"x" * 50}": NaN' for i in range(1000))
    payload = ("{" + f'"metrics": {{{metrics}}}' + "}").encode()
    assert len(payload) < 256 * KIB
    out = parse(T, payload)
    assert reasons(out) == ["value.not_finite"] * 20 + ["batch.too_many_rejects"]
    assert "980 more" in out.dead_letters[-1].detail


# ---- depth ------------------------------------------------------------------------------------


def nest(depth: int, kind: str, leaf: bytes = b"1", closed: bool = True) -> bytes:
    opens, closes = (b"[", b"]") if kind == "list" else (b'{"k":', b"}")
    return opens * depth + leaf + (closes * depth if closed else b"")


@pytest.mark.parametrize("leaf", [b"1", b"NaN"])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_depth_at_the_limit_and_one_over(kind, leaf):
    # {"value": <7 levels>} is depth 8 = max_json_depth; 8 levels is 9
    at_limit = parse(f"{T}/x", b'{"value":' + nest(7, kind, leaf) + b"}")
    assert reasons(at_limit) == ["value.bad_type"]  # allowed depth, but a container is no value
    over = parse(f"{T}/x", b'{"value":' + nest(8, kind, leaf) + b"}")
    assert reasons(over) == ["json.too_deep"]
    batch_ok = parse(T, b'{"metrics":{"a":' + nest(6, kind, leaf) + b', "b": 2}}')
    assert reasons(batch_ok) == ["value.bad_type"] and [r.metric for r in batch_ok.readings] == ["b"]
    batch_over = parse(T, b'{"metrics":{"a":' + nest(7, kind, leaf) + b', "b": 2}}')
    assert reasons(batch_over) == ["json.too_deep"] and [r.metric for r in batch_over.readings] == ["b"]


@pytest.mark.parametrize("leaf", [b"1", b"NaN"])
def test_extra_keys_of_a_batch_are_depth_checked(leaf):
    """Regression: "nesting deeper than max_json_depth anywhere in the message" also holds for the
    keys of a batch besides "metrics" (they were not checked)."""
    ok = parse(T, b'{"metrics":{"a":1}, "meta":' + nest(7, "list", leaf) + b"}")
    assert [r.metric for r in ok.readings] == ["a"]
    over = parse(T, b'{"metrics":{"a":1}, "meta":' + nest(8, "list", leaf) + b"}")
    assert reasons(over) == ["json.too_deep"] and not over.readings


@PROPS
@given(
    depth=st.one_of(st.integers(1, 40), st.integers(200, 1100), st.sampled_from([100_000, 130_000])),
    kind=st.sampled_from(["list", "dict"]),
    leaf=st.sampled_from([b"1", b"NaN", b"-Infinity", b'"x"', b"1e999"]),
    closed=st.booleans(),
    wrap=st.sampled_from(["bare", "value", "batch"]),
)
@example(depth=100_000, kind="list", leaf=b"NaN", closed=True, wrap="value")
@example(depth=300, kind="list", leaf=b"NaN", closed=True, wrap="bare")
def test_deep_json_never_recursion_error(depth, kind, leaf, closed, wrap):
    inner = nest(depth, kind, leaf, closed)
    payload = {
        "bare": inner,
        "value": b'{"value":' + inner + b"}",
        "batch": b'{"metrics":{"a":' + inner + b"}}",
    }[wrap]
    topic = T if wrap == "batch" else f"{T}/x"
    limit = sys.getrecursionlimit()
    out = parse(topic, payload)
    assert sys.getrecursionlimit() == limit
    total_depth = depth + (wrap != "bare") + (wrap == "batch")
    if len(payload) > 256 * KIB:
        assert reasons(out) == ["payload.too_large"]
    elif closed and total_depth > 8 and wrap != "bare":
        assert reasons(out) == ["json.too_deep"]
    assert not out.readings


# ---- Unicode, NUL, surrogates, BOM, wildcards in names ----------------------------------------

odd_chars = st.sampled_from(
    ["😀", "\u202e", "\u200f", "א", "\x00", "\x7f", "\ufeff", "+", "#", "/", "$", " ", "\n", "é", "\uffff"]
)
names = st.lists(st.one_of(odd_chars, st.sampled_from(list("aZ9_.-"))), min_size=0, max_size=70).map("".join)


@PROPS
@given(metrics=st.dictionaries(names, st.integers(0, 10**6) | st.floats(0, 1e9), max_size=30))
def test_batch_metric_names_are_validated_one_by_one(metrics):
    assume(metrics)
    payload = orjson.dumps({"metrics": metrics})
    out = parse(T, payload)
    good = {k for k in metrics if NAME.match(k)}
    assert {r.metric for r in out.readings} == good
    if len(metrics) - len(good) <= 20:
        assert sorted(d.metric for d in out.dead_letters) == sorted(set(metrics) - good)
        assert set(reasons(out)) <= {"metric.bad_name"}


@pytest.mark.parametrize("name", ["+", "#", "a/b", "a+", "#b", "/", "a//b", "sensor/#"])
def test_wildcards_in_topic_levels_and_metric_names(name):
    out = parse(f"{T}/{name}", b"1")
    assert reasons(out) in (["topic.bad_level"], ["topic.bad_shape"])
    out = parse(T, orjson.dumps({"metrics": {name: 1, "ok": 2}}))
    assert reasons(out) == ["metric.bad_name"] and [r.metric for r in out.readings] == ["ok"]
    for topic in (f"brain/v1/{name}/l/m", f"brain/v1/s/{name}/m/power_kw", f"brain/v1/s/l/{name}"):
        if "/" in name:
            continue  # a slash makes other levels: covered by test_wildcard_and_slash_topics
        assert reasons(parse(topic, b"1")) in (["topic.bad_level"], ["topic.bad_shape"])


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b'"\\ud800"', "payload.bad_json"),  # lone high surrogate escape
        (b'"\\udfff"', "payload.bad_json"),  # lone low surrogate escape
        (b'{"value": "\\ud800", "x": NaN}', "payload.bad_json"),  # the NaN slow path too
        (b'{"metrics": {"\\ud800": 1}}', "payload.bad_json"),
        (b'{"metrics": {"\\ud800": NaN, "a": 1}}', "payload.bad_json"),
        (b'"\xed\xa0\x80"', "payload.bad_json"),  # a surrogate encoded as UTF-8 bytes
        (b"\xef\xbb\xbf1", "payload.bad_json"),  # UTF-8 BOM: RFC 8259 says do not send it
        (b"\xff\xfe1\x00", "payload.bad_json"),  # UTF-16 LE BOM
        (b"\xfe\xff\x001", "payload.bad_json"),  # UTF-16 BE BOM
        (b'"\\ud83d\\ude00"', None),  # a valid surrogate pair (😀): accepted
        (b'"\\u0000"', None),  # NUL inside a string value: a valid JSON string
        (b'"\xe2\x80\xaeRTL"', None),
    ],
)
def test_surrogates_and_boms(payload, expected):
    topic = T if b"metrics" in payload else f"{T}/x"
    out = parse(topic, payload)
    if expected is None:
        assert len(out.readings) == 1 and not out.dead_letters
    else:
        assert reasons(out) == [expected]


def test_unicode_topics_and_surrogate_topic_dead_letter_serialises():
    """Regression: a topic with a lone surrogate (not valid UTF-8, which Mosquitto never delivers,
    but parse_message takes any str) made DeadLetter.to_json raise; it is now escaped."""
    for topic in (
        f"{T}/😀",
        "brain/v1/s/l/m\u202e/x",
        "brain/v1/s/l/m/\x00",
        "brain/v1/s/l/m/\ud800",
        "spBv1.0/G/NDATA/E\ud800",
        "spBv1.0/G\udfff/NBIRTH/E",
    ):
        out = parse_message(topic, b"1", NOW, CFG)
        check_outcome(out, topic, b"1")
        assert out.dead_letters


# ---- numbers ----------------------------------------------------------------------------------

NON_FINITE = [
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"1e309",
    b"-1e309",
    b"1" + b"0" * 400,
    b"-1" + b"0" * 400,
    b"9" * 5000,
    b"1e99999",
]


@pytest.mark.parametrize("literal", NON_FINITE, ids=lambda b: b[:12].decode())
@pytest.mark.parametrize("metric", ["power_kw", "count_total", "temp_c"])
def test_non_finite_and_huge_numbers(literal, metric):
    """Regression: an integer literal beyond double range (10**400) was payload.bad_json and took the
    whole batch down; it is value.not_finite for its metric like 1e400, the others survive."""
    assert reasons(parse(f"{T}/{metric}", literal)) == ["value.not_finite"]
    assert reasons(parse(f"{T}/{metric}", b'{"value": ' + literal + b"}")) == ["value.not_finite"]
    out = parse(
        T, b'{"metrics": {"%s": %s, "ok": 1, "big": 100000000000000000000000}}' % (metric.encode(), literal)
    )
    assert reasons(out) == ["value.not_finite"]
    assert {(r.metric, r.value) for r in out.readings} == {("ok", 1), ("big", 1e23)}


@pytest.mark.parametrize("literal", NON_FINITE, ids=lambda b: b[:12].decode())
def test_non_finite_ts_and_seq(literal):
    assert reasons(parse(f"{T}/x", b'{"value": 1, "ts": ' + literal + b"}")) == ["ts.bad"]
    assert reasons(parse(f"{T}/x", b'{"value": 1, "seq": ' + literal + b"}")) == ["seq.bad"]


json_numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-(10**500), 10**500),
    st.floats(allow_nan=False, allow_infinity=False),
)


@PROPS
@given(
    metrics=st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True), json_numbers, min_size=1, max_size=10
    ),
    poison=st.sampled_from([b"NaN", b"Infinity", b"-Infinity"]),
)
def test_slow_path_agrees_with_fast_path(metrics, poison):
    """A NaN anywhere sends the message through the standard library: every other metric must come
    out exactly as orjson alone reads it (regression: huge ints differed and killed the batch)."""
    text = json.dumps({"metrics": metrics})
    fast = parse(T, text.encode())
    slow = parse(T, (text[:-2] + ', "zz_poison": ' + poison.decode() + "}}").encode())
    assert slow.readings == fast.readings
    assert reasons(slow) == [*reasons(fast), "value.not_finite"][: len(reasons(slow))]


# ---- time -------------------------------------------------------------------------------------

WIDE = IngestConfig(backfill=True, max_future_ms=10**16)
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


def rfc3339(d: dt.datetime) -> str:
    text = d.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if d.utcoffset() == dt.timedelta(0) else text


@PROPS
@given(when=st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30), timezones=offsets))
@example(when=dt.datetime(9999, 12, 30, 23, 59, 59, 999000, tzinfo=dt.timezone(dt.timedelta(hours=-14))))
@example(when=dt.datetime(1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=23, minutes=59))))
def test_rfc3339_any_year_any_offset_is_exact(when):
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    out = parse(f"{T}/x", orjson.dumps({"value": 1, "ts": rfc3339(when)}), WIDE)
    expected = (when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(milliseconds=1)
    assert [r.ts for r in out.readings] == [expected]
    # and in the normal window: exactly one of accepted / ts.future / ts.too_old
    normal = parse(f"{T}/x", orjson.dumps({"value": 1, "ts": rfc3339(when)}))
    if expected - NOW > CFG.max_future_ms:
        assert reasons(normal) == ["ts.future"]
    elif NOW - expected > CFG.max_past_ms:
        assert reasons(normal) == ["ts.too_old"]
    else:
        assert [r.ts for r in normal.readings] == [expected]


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2016-12-31T23:59:60Z", 1483228800000),  # leap second: the next second (regression: was ts.bad)
        ("2016-12-31T23:59:60.500Z", 1483228800500),
        ("2017-01-01T07:59:60+08:00", 1483228800000),  # the same leap second in Shanghai
        ("9999-12-31T23:59:59.999Z", 253402300799999),
        ("0001-01-01T00:00:00+00:00", -62135596800000),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.999Z", -1),
        ("2026-11-18T11:06:40.123456789Z", NOW + 123),  # nanoseconds: truncated to ms
        ("2026-11-18T11:06:40-00:00", NOW),  # RFC 3339 "unknown local offset"
        ("2026-11-18t11:06:40z", NOW),  # lower-case t and z: RFC 3339 allows them (regression: z was ts.bad)
        ("2026-11-18 11:06:40Z", NOW),  # the space RFC 3339 allows for readability
        ("2026-11-18T11:06:40+05:30:15", NOW - 19815000),  # offset seconds: lenient (ISO 8601)
        ("2026-11-18T11:06:40+24:00", "ts.bad"),
        ("2026-11-18T24:00:00Z", "ts.bad"),
        ("2026-02-30T00:00:00Z", "ts.bad"),
        ("2026-11-18T11:06:61Z", "ts.bad"),
        ("2026-11-18T11:06:40", "ts.bad"),  # no offset
        ("10000-01-01T00:00:00Z", "ts.bad"),
        ("-0001-01-01T00:00:00Z", "ts.bad"),
        ("2026-11-18T11:06:40Z" + " " * 30, "ts.bad"),
        ("", "ts.bad"),
        ("\ud83d", "payload.bad_json"),
    ],
)
def test_odd_timestamps(ts, expected):
    raw = ts.encode("utf-8", "surrogatepass").replace(b"\xed\xa0\xbd", b"\\ud83d")
    payload = b'{"value": 1, "ts": "' + raw + b'"}'
    out = parse(f"{T}/x", payload, WIDE)
    if isinstance(expected, int):
        assert [r.ts for r in out.readings] == [expected]
    else:
        assert reasons(out) == [expected]


@PROPS
@given(
    ts=st.one_of(
        st.integers(-(2**63), 2**64 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(NOW - 8 * 86_400_000, NOW + 600_000),
        st.floats(NOW - 8 * 86_400_000, NOW + 600_000),
    )
)
@example(ts=0)
@example(ts=-1)
@example(ts=NOW + 0.999)
@example(ts=253402300799999)
def test_epoch_ms_anywhere(ts):
    out = parse(f"{T}/x", orjson.dumps({"value": 1, "ts": ts}))
    ms = int(ts)
    if ms - NOW > CFG.max_future_ms:
        assert reasons(out) == ["ts.future"]
    elif NOW - ms > CFG.max_past_ms:
        assert reasons(out) == ["ts.too_old"]
    else:
        assert [r.ts for r in out.readings] == [ms]


# ---- duplicated keys --------------------------------------------------------------------------


@pytest.mark.parametrize("poison", [b"", b', "zz": NaN'])
def test_duplicated_keys_last_wins_on_both_paths(poison):
    dup_value = parse(f"{T}/x", b'{"value": 1, "value": 2' + poison.replace(b"zz", b"unit") + b"}")
    if not poison:
        assert [r.value for r in dup_value.readings] == [2]
    out = parse(T, b'{"metrics": {"a": 1, "a": 2' + poison + b'}, "metrics": {"b": 3' + poison + b"}}")
    assert [(r.metric, r.value) for r in out.readings] == [("b", 3)]
    out = parse(T, b'{"metrics": {"a": 1, "a": 2' + poison + b"}}")
    assert [(r.metric, r.value) for r in out.readings] == [("a", 2)]
    out = parse(f"{T}/x", b'{"value": 1, "ts": "bad", "ts": ' + str(NOW).encode() + b"}")
    assert [r.ts for r in out.readings] == [NOW]


# ---- topics -----------------------------------------------------------------------------------


def test_topic_length_limit_holds_for_valid_levels():
    """Regression: four valid 64-char levels make a 268-char topic; the fast regex accepted it
    although topics are at most 256 characters (docs/INGEST.md)."""
    lv = "a" * 64
    assert reasons(parse(f"brain/v1/{lv}/{lv}/{lv}/{lv}", b"1")) == ["topic.too_long"]
    ok = f"brain/v1/{lv}/{lv}/{lv}/" + "a" * (256 - 9 - 3 * 65)
    assert len(ok) == 256 and len(parse(ok, b"1").readings) == 1


@PROPS
@given(levels=st.lists(st.text(alphabet="ab+#/ \x00😀", max_size=6), min_size=0, max_size=7))
def test_wildcard_and_slash_topics(levels):
    topic = "brain/v1/" + "/".join(levels)
    out = parse(topic, b"1")
    valid = len(levels) in (3, 4) and all(NAME.match(level) for level in levels)
    if topic.startswith("brain/v1/alerts/"):
        assert out.ignored
    elif valid:
        assert len(out.readings) == 1 or reasons(out) == ["payload.bad_shape"]
    else:
        assert reasons(out)[0].startswith("topic.")


def test_state_unicode_lookalikes_are_unknown():
    cfg = replace(CFG, state_codes={"s/l/m": {"1": "running"}})
    for value in ("running\x00", "\u202erunning", "runnіng", "RUNNING", "running "):
        assert reasons(parse(f"{T}/state", orjson.dumps(value), cfg)) == ["state.unknown"]
