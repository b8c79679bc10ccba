"""Pack points through the running sink (Kafka -> sink -> InfluxDB): the merged packs' `brain kpi`
records give one point per pack in measurement `<pack id>` with the records' `<pack>_<kpi>` fields
(only the non-null ones, as floats) plus `final`, under the same tags and time as `oee`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from brain.pack_testing import brain_kpi
from brain.settings import KPI_DATABASE, Settings
from tests.packs.merged import PACKS, write_merged
from tests.sink.helpers import (
    encode,
    expected_kpi_points,
    kpi_key,
    produce,
    query_site,
    running_sink,
    wait_for,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]


def test_pack_points_in_influxdb(
    stack: Settings, site_id: str, sink_topics: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    topics = sink_topics()
    config, readings = write_merged(tmp_path, site_id)
    span = ("--from", "2025-03-03T08:00:00+08:00", "--to", "2025-03-03T16:00:00+08:00")
    records = brain_kpi("--config", str(config), "--input", str(readings), "--window", "1h", *span)
    produce(stack, topics["kpis"], encode(records), keys=[kpi_key(r) for r in records])
    expected = expected_kpi_points(records)
    options = {"topics": {topics["kpis"]: "kpis"}, "group": f"sinktest-{site_id}",
               "deadletter_topic": topics["dl"], "flush_ms": 200, "status_interval_s": 2}  # fmt: skip
    with running_sink(stack, **options):
        wait_for(lambda: len(query_site(stack, KPI_DATABASE, site_id)) >= len(expected), 60, "all points")
    found = query_site(stack, KPI_DATABASE, site_id)
    assert found == expected
    assert {k[0] for k in found} == {"oee", "energy", *PACKS}
    # a record's own figures, read from the pack measurement under the oee point's tags and time
    r = next(r for r in records if r["scope"] == "line" and r["line"] == "smt1" and r["smt_cph"] is not None)
    (oee_key,) = [k for k in found if k[0] == "oee" and ("line", "smt1") in k[1] and ("scope", "line") in k[1]
                  and k[2] == r["start"]]  # fmt: skip
    smt = found[("smt", *oee_key[1:])]
    assert smt == {n: r[n] for n in r if n.startswith("smt_") and r[n] is not None} | {"final": r["final"]}
    assert dict(oee_key[1]) == {"scope": "line", "site": site_id, "line": "smt1", "window": "1h"}
