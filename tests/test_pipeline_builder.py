"""`build_pipeline` (brain/pipeline.py): the one assembly of the services, as `brain demo`,
`brain bench`, the end-to-end and the fault tests use it — each row gives its command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from brain.pipeline import Alerts, Bridge, Export, Processors, Sink, build_pipeline

CONFIG = Path("plant.yaml")


def test_rows_give_the_command_lines(tmp_path: Path) -> None:
    pipe = build_pipeline(
        tmp_path,
        CONFIG,
        bridges=[Bridge("b1", site="s1", session_expiry_s=600)],
        processors=Processors("app", start_at="earliest", grace_s=5, windows=("1m", "1h"), workers=2),
        alerts=Alerts("app-alerts", from_beginning=True),
        sink=Sink("g", topics=("kpis=brain.kpis",), flush_ms=300),
        export=Export("x", status_interval_s=30),
        simulator=["--seed", "7"],
    )
    assert list(pipe.services) == ["bridge", "processors", "alerts", "sink", "export", "simulator"]  # order
    args = {name: s.args for name, s in pipe.services.items()}
    assert args["bridge"] == [
        *(
            "bridge",
            "--config",
            "plant.yaml",
            "--topic",
            "brain/v1/s1/#",
            "--sparkplug-topic",
            "spBv1.0/s1/#",
        ),
        *("--client-id", "b1", "--session-expiry", "600", "--status-interval", "5"),
    ]
    assert args["processors"] == [
        *("process", "--config", "plant.yaml", "--data-dir", str(tmp_path / "processors-data")),
        *("--app-id", "app", "--start-at", "earliest", "--grace-s", "5", "--windows", "1m,1h"),
        *("--workers", "2", "--stats-interval-s", "5"),
    ]
    assert args["alerts"] == ["alerts", "--config", "plant.yaml", "--data-dir", str(tmp_path / "alerts-data"),
                              "--app-id", "app-alerts", "--from-beginning"]  # fmt: skip
    assert args["sink"] == ["sink", "--group", "g", "--flush-ms", "300", "--status-interval", "5",
                            "--topics", "kpis=brain.kpis"]  # fmt: skip
    assert args["export"] == ["export", "--config", "plant.yaml", "--group", "x", "--status-interval", "30"]
    assert args["simulator"] == ["simulate", "--config", "plant.yaml", "--seed", "7"]


def test_bridge_without_sparkplug_and_shared_group() -> None:
    argv = Bridge(
        "b2", site="s1", sparkplug=False, shared_group="grp", metrics_port=9100, name="bridge2"
    ).argv(CONFIG)
    assert "--no-sparkplug" in argv and "--sparkplug-topic" not in argv
    assert (
        argv[argv.index("--shared-group") + 1] == "grp" and argv[argv.index("--metrics-port") + 1] == "9100"
    )


def test_services_starting_at_the_end_need_settings(tmp_path: Path) -> None:
    """Their groups' offsets are committed before anything starts: a reading published while the
    services start is never skipped (the processors committing it themselves raced the bridge)."""
    with pytest.raises(ValueError, match="needs `settings`"):
        build_pipeline(tmp_path, CONFIG, sink=Sink("g", start_at_end=("brain.kpis",)))
    with pytest.raises(ValueError, match="need `settings`"):
        build_pipeline(tmp_path, CONFIG, processors=Processors("app", start_at="latest"))
    with pytest.raises(ValueError, match="needs `settings`"):
        build_pipeline(tmp_path, CONFIG, export=Export("x", start_at_end=True))
