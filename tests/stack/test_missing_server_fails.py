"""A missing server must FAIL the run with a clear message — never skip and never pass."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from brain.health import problems
from brain.settings import Settings
from tests.private_stack import free_ports


def test_health_names_each_missing_server() -> None:
    port = free_ports(1)[0]
    settings = Settings(
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        kafka_bootstrap=f"127.0.0.1:{port}",
        influx_url=f"http://127.0.0.1:{port}",
    )
    found = problems(settings)
    assert len(found) == 3
    assert f"MQTT broker at mqtt://127.0.0.1:{port} is not reachable" in found[0]
    assert f"Kafka at 127.0.0.1:{port} is not reachable" in found[1]
    assert f"InfluxDB at http://127.0.0.1:{port} is not reachable" in found[2]


@pytest.mark.parametrize(
    "variable,value,expected",
    [
        ("BRAIN_KAFKA_BOOTSTRAP", "127.0.0.1:{port}", "Kafka at 127.0.0.1:{port} is not reachable"),
        (
            "BRAIN_INFLUX_URL",
            "http://127.0.0.1:{port}",
            "InfluxDB at http://127.0.0.1:{port} is not reachable",
        ),
        (
            "BRAIN_MQTT_URL",
            "mqtt://127.0.0.1:{port}",
            "MQTT broker at mqtt://127.0.0.1:{port} is not reachable",
        ),
    ],
)
def test_a_test_needing_a_missing_server_fails_the_run(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    port = free_ports(1)[0]
    (tmp_path / "conftest.py").write_text((Path(__file__).parents[1] / "conftest.py").read_text())
    (tmp_path / "test_needs_stack.py").write_text(
        textwrap.dedent("""
        def test_uses_the_stack(stack):
            assert stack is not None
    """)
    )
    env = dict(os.environ, **{variable: value.format(port=port)})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # 1 = tests failed (5 would be "no tests", 0 a pass)
    assert "1 error" in output and "skipped" not in output, output
    assert expected.format(port=port) in output, output
    assert "brain stack up" in output, output
