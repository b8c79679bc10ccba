"""`brain influx init`: version detection, durations, and databases/retention on the real InfluxDB 1.x."""

from __future__ import annotations

import subprocess
import sys

import pytest

from brain.influx_admin import influxql
from brain.settings import Settings
from processors.sink.influx_init import detect_major, duration_s, major_version


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800), ("1825d", 157680000), ("168h0m0s", 604800), ("1w", 604800), ("1h30m", 5400), ("INF", 0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert duration_s(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "7 days", "d7", "7x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        duration_s(text)


@pytest.mark.parametrize(
    ("version", "major"),
    [
        ("1.8.10", 1),
        ("1.12.4", 1),
        ("v2.7.4", 2),
        ("2.7.1", 2),
        ("3.0.1", 3),
        ("unknown", None),
        (None, None),
    ],
)
def test_major_version(version: str | None, major: int | None) -> None:
    assert major_version(version) == major


def _brain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brain.cli", "influx", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _policies(stack: Settings, db: str) -> dict[str, tuple[str, bool]]:
    series = influxql(stack.influx_url, f'SHOW RETENTION POLICIES ON "{db}"')["results"][0]["series"][0]
    cols = series["columns"]
    return {r[0]: (r[cols.index("duration")], r[cols.index("default")]) for r in series["values"]}


@pytest.mark.stack
def test_init_creates_databases_and_policies_and_is_idempotent(stack: Settings, site_id: str) -> None:
    raw, kpi = f"{site_id}_raw", f"{site_id}_kpi"
    names = ["--url", stack.influx_url, "--raw-db", raw, "--kpi-db", kpi]
    try:
        assert detect_major(stack.influx_url) == 1  # this influxd says "unknown": found by /api/v2/orgs
        first = _brain("init", *names, "--raw-retention", "2d", "--kpi-retention", "30d")
        assert first.returncode == 0, first.stderr
        assert f"created database {raw} with retention policy raw (2d, default)" in first.stdout
        assert _policies(stack, raw)["raw"] == ("48h0m0s", True)
        assert _policies(stack, kpi)["kpi"] == ("720h0m0s", True)
        again = _brain("init", *names, "--raw-retention", "2d", "--kpi-retention", "30d")
        assert again.returncode == 0 and again.stdout.count("already there") == 2, again.stdout
        other = _brain("init", *names, "--raw-retention", "3d", "--kpi-retention", "30d")
        assert "retention policy raw is 48h0m0s, not 3d; left as it is" in other.stdout
        assert _policies(stack, raw)["raw"] == ("48h0m0s", True)
        altered = _brain("init", *names, "--raw-retention", "3d", "--kpi-retention", "30d", "--alter")
        assert "retention policy raw changed from 48h0m0s to 3d" in altered.stdout
        assert _policies(stack, raw)["raw"] == ("72h0m0s", True)
        influxql(stack.influx_url, f'DROP RETENTION POLICY "kpi" ON "{kpi}"')
        repaired = _brain("init", *names, "--raw-retention", "3d", "--kpi-retention", "30d")
        assert f"database {kpi}: created retention policy kpi (30d, default)" in repaired.stdout
    finally:
        for db in (raw, kpi):
            influxql(stack.influx_url, f'DROP DATABASE "{db}"')


def test_init_bad_retention_is_an_error_before_any_request() -> None:
    result = _brain("init", "--url", "http://127.0.0.1:1", "--raw-retention", "week")
    assert result.returncode == 1 and "not a duration: 'week'" in result.stderr
