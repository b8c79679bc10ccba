"""`brain process --consumer`: the flag, its environment default, and a clear error for a bad one."""

from __future__ import annotations

import argparse

import pytest

from brain.cli import main
from processors import cli


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    return parser.parse_args(["--config", "plant.yaml", *argv])


def test_direct_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAIN_PROCESS_CONSUMER", raising=False)
    assert cli.options(_parse()).consumer == "direct"
    assert cli.options(_parse("--consumer", "faust")).consumer == "faust"


def test_the_environment_sets_the_default_and_the_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAIN_PROCESS_CONSUMER", "faust")
    assert cli.options(_parse()).consumer == "faust"
    assert cli.options(_parse("--consumer", "direct")).consumer == "direct"


def test_a_bad_environment_value_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BRAIN_PROCESS_CONSUMER", "fast")
    assert main(["process", "--config", "examples/suzhou-demo.yaml"]) == 2
    err = capsys.readouterr().err
    assert "BRAIN_PROCESS_CONSUMER" in err and "'fast'" in err and "faust, direct" in err
