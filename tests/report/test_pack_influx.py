"""Pack KPIs through InfluxDB: the merged packs' `brain kpi` records written by the sink's mapping
and writer come back from InfluxDB (brain/report/influx.py, what `brain report` reads) equal, pack
fields and their nulls included."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from brain.pack_testing import brain_kpi
from brain.plant import load_plant
from brain.report.influx import InfluxReader
from brain.settings import Settings
from processors.sink.mapping import kpi_points
from processors.sink.writer import InfluxWriter
from tests.packs.merged import H8, PACKS, T0, write_merged
from tests.report.helpers import differences, key

pytestmark = pytest.mark.stack
SCOPES = ("machine", "line", "site")


@pytest.mark.parametrize("window", ["1h", "all"])
def test_pack_records_back_from_influx_equal_brain_kpi(stack: Settings, tmp_path: Path, window: str) -> None:
    site = f"p{uuid.uuid4().hex[:8]}"
    config, readings = write_merged(tmp_path, site)
    plant = load_plant(str(config))
    want = brain_kpi("--config", str(config), "--input", str(readings), "--window", window,
                     "--from", "2025-03-03T08:00:00+08:00", "--to", "2025-03-03T16:00:00+08:00")  # fmt: skip
    assert {p for p in PACKS if any(r.get(f"{p}_{k}") is not None for r in want for k in ("cph", "yield",
            "efficiency", "cutting_ratio"))} == set(PACKS)  # fmt: skip
    writer = InfluxWriter(url=stack.influx_url, token=stack.influx_token, org=stack.influx_org,
                          buckets={"kpi": "brain_kpi"})  # fmt: skip
    try:
        points = [p for r in want for p in kpi_points(r)]
        assert {p.measurement for p in points} >= set(PACKS)
        assert writer.write(points) == []
    finally:
        writer.close()
    got = InfluxReader(stack).records(plant, site=site, window=window, start=T0, stop=H8, scopes=SCOPES)
    assert sorted(map(key, got)) == sorted(map(key, want))
    by_key = {key(r): r for r in got}
    for r in want:
        diff = differences(by_key[key(r)], r)
        assert not diff, f"{key(r)}:\n  " + "\n  ".join(diff)
        assert set(by_key[key(r)]) == set(r)  # the same fields, pack nulls included
