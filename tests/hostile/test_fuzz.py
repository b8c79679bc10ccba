"""The atheris harness (tests/hostile/fuzz_parsers.py) run as a subprocess, bounded: no crash (exit
0), and the process's peak RSS stays within 200 MB of what it had once loaded."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import atheris  # noqa: F401  # no skip: `make test` installs the dev extra; without it, fail loudly
import pytest

HARNESS = Path(__file__).with_name("fuzz_parsers.py")
ROOT = HARNESS.parents[2]
MAX_GROWTH_KB = 200 * 1024


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


@pytest.mark.parametrize("target", ["json", "sparkplug"])
def test_fuzz_target_bounded(target, tmp_path):
    bounds = ["-runs=400000", "-max_total_time=18", "-max_len=8192", "-rss_limit_mb=1024", "-timeout=10"]
    argv = [
        sys.executable,
        str(HARNESS),
        target,
        *bounds,
        "-print_final_stats=1",
        f"-artifact_prefix={tmp_path}/",
    ]
    log = tmp_path / "fuzz.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        # the peak from /proc/<pid>/status VmHWM (per address space): getrusage's ru_maxrss, which
        # libFuzzer's peak_rss_mb reports, survives exec and would show pytest's own peak
        hwm_kb = 0
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            hwm_kb = max(hwm_kb, _status_kb(proc.pid, "VmHWM"))
            time.sleep(0.1)
        proc.wait(10)
    text = log.read_text(errors="replace")
    tail = "\n".join(text.splitlines()[-40:])
    assert proc.returncode == 0, f"fuzzer found a crash (artifacts in {tmp_path}):\n{tail}"
    baseline = int(re.search(r"fuzz\.baseline_rss_kb=(\d+)", text).group(1))
    runs = int(re.search(r"stat::number_of_executed_units:\s+(\d+)", text).group(1))
    growth_kb = hwm_kb - baseline
    print(f"\nfuzz {target}: {runs} runs, baseline RSS {baseline // 1024} MB, peak {hwm_kb // 1024} MB")
    assert runs > 1000 and hwm_kb > 0
    assert growth_kb < MAX_GROWTH_KB, f"RSS grew {growth_kb // 1024} MB"
    assert not list(tmp_path.glob("crash-*"))
