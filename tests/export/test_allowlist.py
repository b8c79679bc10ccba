"""The export allowlist (pure): what leaves a factory, and a privacy property: nothing else can."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from brain.city.exports import export_key, validate_export
from brain.plant import parse_plant
from brain.plant.export import Export
from brain.vocabulary import EXPORT_DEFAULT_FIELDS, KPI_IDENTITY_FIELDS, KPI_RECORD_FIELDS
from processors.export.allowlist import NOT_FINAL, SCOPE, WINDOW, filter_record, key_bytes

DAY_MS = 86_400_000
START = 1_780_000_000_000
EXPORT = Export("ent-1")


def _record(scope: str = "line", window: str = "day", final: bool = True, **extra: object) -> dict:
    """A KPI record with every documented field (docs/SCHEMA.md), numbers derived from the name."""
    rec: dict = {f: float(len(f)) for f in KPI_RECORD_FIELDS}
    rec.update(
        scope=scope,
        site="sip",
        line=None if scope == "site" else "l1",
        machine="m1" if scope == "machine" else None,
        window=window,
        start=START,
        end=START + (DAY_MS if window == "day" else 3_600_000),
        shift=None,
        final=final,
        performance_suspect=False,
    )
    rec.update(extra)
    return rec


def test_final_line_day_leaves_with_identity_and_allowlisted_fields_only() -> None:
    rec = _record(cnc_spindle_utilisation=0.4)
    out = filter_record(rec, EXPORT)
    assert out.record is not None and out.skipped is None and out.rejected is None
    assert set(out.record) == {"enterprise", *KPI_IDENTITY_FIELDS, *EXPORT_DEFAULT_FIELDS}
    assert out.record["enterprise"] == "ent-1"
    assert all(out.record[k] == rec[k] for k in out.record if k != "enterprise")
    expected_dropped = set(rec) - set(KPI_IDENTITY_FIELDS) - set(EXPORT_DEFAULT_FIELDS)
    assert set(out.dropped) == expected_dropped and "cnc_spindle_utilisation" in out.dropped
    assert "nee" in out.dropped and "mtbf_s" in out.dropped
    assert validate_export(out.record) is None
    assert export_key(out.record) == ("ent-1", "line", "sip", "l1", "day", START)
    assert key_bytes(out.record) == f"ent-1/line/sip/l1/day/{START}".encode()


def test_site_key_has_an_empty_line() -> None:
    out = filter_record(_record("site"), EXPORT)
    assert out.record is not None and key_bytes(out.record) == f"ent-1/site/sip//day/{START}".encode()


def test_what_does_not_leave() -> None:
    assert filter_record(_record(final=False), EXPORT).skipped == NOT_FINAL
    assert filter_record(_record("machine"), EXPORT).skipped == SCOPE
    assert filter_record(_record(window="1h"), EXPORT).skipped == WINDOW
    assert filter_record(_record(window="1m"), EXPORT).skipped == WINDOW
    for o in (_record(final=False), _record("machine"), _record(window="1h")):
        assert filter_record(o, EXPORT).record is None


def test_allowed_by_config() -> None:
    plant = parse_plant(
        {
            "sites": [{"id": "sip", "lines": [{"id": "l1", "machines": [{"id": "m1"}]}]}],
            "export": {"enterprise": "e9", "scopes": ["machine"], "windows": ["1h"], "fields": ["oee"]},
        }
    )
    out = filter_record(_record("machine", "1h"), plant.export)
    assert out.record is not None
    assert set(out.record) == {"enterprise", *KPI_IDENTITY_FIELDS, "oee"} and out.record["machine"] == "m1"
    assert filter_record(_record("line", "1h"), plant.export).skipped == SCOPE


def test_readings_and_garbage_are_rejected_not_exported() -> None:
    reading = {
        "ts": START,
        "site": "sip",
        "line": "l1",
        "machine": "m1",
        "metric": "energy_kwh",
        "value": 3.0,
    }
    for payload in (reading, [1, 2], "x", {"scope": "line", "window": "day", "final": "yes"}):
        out = filter_record(payload, EXPORT)
        assert out.record is None and out.rejected is not None and out.rejected.startswith("export.not_kpi")


def test_a_record_the_city_would_reject_is_rejected_here() -> None:
    out = filter_record(_record(energy_kwh=-1.0), EXPORT)
    assert out.record is None and out.rejected is not None and out.rejected.startswith("export.bad_number")


def test_a_record_cannot_choose_its_enterprise() -> None:
    out = filter_record(_record(enterprise="someone-else"), EXPORT)
    assert out.record is not None and out.record["enterprise"] == "ent-1" and "enterprise" in out.dropped


_names = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=20)
_values = st.one_of(st.none(), st.booleans(), st.floats(0, 1e6), st.text(max_size=5), st.lists(st.integers()))


@settings(max_examples=300, deadline=None)
@given(
    extra=st.dictionaries(_names, _values, max_size=12),
    fields=st.lists(st.sampled_from(EXPORT_DEFAULT_FIELDS), unique=True),
    scope=st.sampled_from(["site", "line", "machine"]),
)
def test_privacy_no_field_outside_the_allowlist_passes(extra: dict, fields: list, scope: str) -> None:
    export = Export("ent-1", ("site", "line", "machine"), ("day",), tuple(fields))
    rec = {**extra, **_record(scope)}
    rec.update({k: v for k, v in extra.items() if k not in KPI_IDENTITY_FIELDS})  # extras win, identity not
    out = filter_record(rec, export)
    passed = set(out.record or {})
    assert passed <= {"enterprise", *KPI_IDENTITY_FIELDS, *fields}
    if out.record is not None:  # exported: every field of the record is either passed or counted dropped
        assert set(rec) <= passed | set(out.dropped)
        assert not passed & set(out.dropped) - {"enterprise"}
    else:  # rejected (a bad allowlisted value) or not shared: nothing leaves
        assert out.rejected or out.skipped
