"""`brain bench` on the real servers, small and slow on purpose: correctness of its figures, not speed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

KEYS = {
    "published", "readings_in_kafka", "duplicates_in_kafka", "deadletters", "kpi_records", "lost",
    "double_counted", "throughput_rps", "latency_publish_to_kafka_ms", "latency_kpi_in_influx_after_grace_s",
    "mqtt_alone", "kafka_alone", "ratio_to_mqtt", "ratio_to_kafka",
}  # fmt: skip


@pytest.mark.stack
@pytest.mark.timeout(100)
def test_bench_smoke(stack, tmp_path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "brain.cli", "bench", "--seconds", "5", "--rate", "2000", "--grace-s", "2",
         "--baseline-seconds", "1", "--machines", "20", "--quiet", "--run-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the bench stops its services and deletes its topics
        out, err = proc.communicate(timeout=40)
        pytest.fail(f"brain bench did not finish in 45 s; {tmp_path}:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    result = json.loads(out)
    assert result.keys() >= KEYS, KEYS - result.keys()
    assert result["lost"] == 0
    assert result["double_counted"] == 0
    assert result["deadletters"] == 0
    assert result["published"] >= 9000
    assert result["readings_in_kafka"] == result["published"]
    check = result["kpi_check"]
    assert check["final_1m_machine_windows"] >= 20  # every machine's load window closed
    assert check["units_in_kpis"] == check["units_published"]
    assert check["units_in_influx"]["pq"] == check["units_published"]["pq"]
    assert result["latency_kpi_in_influx_after_grace_s"]["machine"]["n"] >= 20
    assert result["mqtt_alone"]["received"] == result["mqtt_alone"]["sent"]
    assert result["kafka_alone"]["received"] == result["kafka_alone"]["sent"]
