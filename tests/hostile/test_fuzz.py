"""The atheris harness (tests/hostile/fuzz_parsers.py) run as a subprocess, bounded: no crash (exit
0), and the process's peak RSS stays within 200 MB of what it had once loaded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="dev extra: pip install -e '.[dev]' installs atheris")

HARNESS = Path(__file__).with_name("fuzz_parsers.py")
ROOT = HARNESS.parents[2]
MAX_GROWTH_KB = 200 * 1024


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
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=120)
    text = out.decode(errors="replace")
    tail = "\n".join(text.splitlines()[-40:])
    assert proc.returncode == 0, f"fuzzer found a crash (artifacts in {tmp_path}):\n{tail}"
    baseline = int(re.search(r"fuzz\.baseline_rss_kb=(\d+)", text).group(1))
    peak_mb = int(re.search(r"stat::peak_rss_mb:\s+(\d+)", text).group(1))
    runs = int(re.search(r"stat::number_of_executed_units:\s+(\d+)", text).group(1))
    growth_kb = peak_mb * 1024 - baseline
    print(f"\nfuzz {target}: {runs} runs, baseline RSS {baseline // 1024} MB, peak {peak_mb} MB")
    assert runs > 1000
    assert growth_kb < MAX_GROWTH_KB, f"RSS grew {growth_kb // 1024} MB"
    assert not list(tmp_path.glob("crash-*"))
