"""What a pack's tests share (packs/<id>/tests, a scaffold of `brain packs new`): its readings
through `brain kpi` in a subprocess — the same code as the stream (batch = stream) — and the
records by scope.

    records = kpi_records(config, readings, "2025-03-03T08:00:00+08:00", "2025-03-03T16:00:00+08:00")
    records[("machine", "vmc1")]["cnc_cutting_ratio"]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

Records = dict[tuple[str, str], dict[str, Any]]


def brain_kpi(*args: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """`brain kpi ARGS` -> its JSON records; a failing run raises with its stderr."""
    out = subprocess.run([sys.executable, "-m", "brain.cli", "kpi", *args], cwd=cwd, capture_output=True,
                         text=True)  # fmt: skip
    if out.returncode != 0:
        raise AssertionError(f"brain kpi {' '.join(args)} exited {out.returncode}:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines()]


def kpi_records(config: Path, readings: Path, start: str, end: str, window: str = "all") -> Records:
    """The records of one `brain kpi` run by (scope, machine or line or site id)."""
    rows = brain_kpi("--config", str(config), "--input", str(readings), "--window", window,
                     "--from", start, "--to", end)  # fmt: skip
    return {(r["scope"], r["machine"] or r["line"] or r["site"]): r for r in rows}


def readings_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write readings as JSONL (a test's own extra vector) and return the path."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
