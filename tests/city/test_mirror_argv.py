"""`brain mirror`'s JVM command line (pure): MM2 runs only the flows into the target cluster."""

from __future__ import annotations

from pathlib import Path

from brain.mirror import MAIN_CLASS, java_argv


def test_the_node_runs_only_the_flows_into_the_city() -> None:
    argv = java_argv(Path("/libs"), Path("mm2.properties"), target="city")
    assert argv[1:] == ["-Xmx256m", "-cp", "/libs/*", MAIN_CLASS, "mm2.properties", "--clusters", "city"]
    assert "--clusters" not in java_argv(Path("/libs"), Path("mm2.properties"))
