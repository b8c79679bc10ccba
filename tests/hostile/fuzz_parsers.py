"""Coverage-guided fuzzing of `ingest.parse_message` with atheris (libFuzzer), bounded.

    .venv/bin/python tests/hostile/fuzz_parsers.py json      -runs=20000 [-max_total_time=20] [CORPUS_DIR]
    .venv/bin/python tests/hostile/fuzz_parsers.py sparkplug -runs=20000
    .venv/bin/python tests/hostile/fuzz_parsers.py seed DIR  # write the seed corpora and exit

Targets:
- `json`: byte 0 picks one of the v1 topics (single metric of each kind, batch), the rest is the
  payload.
- `sparkplug`: the input is a sequence of messages `[type byte][2-byte length][payload]` fed to ONE
  SparkplugState, so BIRTH -> DATA -> DEATH orders are explored, not just single payloads.
Each input must satisfy the invariants of tests/hostile/helpers.py (no exception, readings or dead
letters or a by-design `ignored`, known reason codes, base64 of the original bytes, Reading v1);
a violation is an uncaught exception, which atheris reports as a crash (exit code != 0).
Without a corpus directory the seeds (from the table-driven tests) are written to a temporary one.
The process prints `fuzz.baseline_rss_kb=N` once the harness is loaded (the test compares it with
the peak RSS of the process).
"""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import atheris  # noqa: E402

with atheris.instrument_imports(include=["ingest"]):
    import ingest.payloads
    import ingest.sparkplug.state
    import ingest.topics
    import ingest.validate  # noqa: F401
    from ingest import IngestConfig, SparkplugState, parse_message

from tests.hostile.helpers import NOW, check_outcome  # noqa: E402

CFG = IngestConfig(state_codes={"s1/l1/m1": {"0": "idle", "1": "running", "3": "fault", "RUN": "running"}})
BASE = "brain/v1/s1/l1/m1"
JSON_TOPICS = [
    BASE,
    *(f"{BASE}/{m}" for m in ("power_kw", "count_total", "energy_kwh", "state", "temp_c", "power_kvar")),
    "brain/v1/s1/l1/m2/state",
]
SP_KINDS = ["NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH", "NCMD", "STATE"]


def json_one(data: bytes) -> None:
    if not data:
        return
    topic = JSON_TOPICS[data[0] % len(JSON_TOPICS)]
    payload = data[1:]
    check_outcome(parse_message(topic, payload, NOW, CFG), topic, payload)


def sp_messages(data: bytes) -> list[tuple[str, bytes]]:
    out, i = [], 0
    while i + 3 <= len(data) and len(out) < 32:
        kind = SP_KINDS[data[i] % len(SP_KINDS)]
        device = "D2" if data[i] & 0x80 else "D1"
        (n,) = struct.unpack_from(">H", data, i + 1)
        payload = data[i + 3 : i + 3 + n]
        i += 3 + n
        if kind == "STATE":
            topic = "spBv1.0/STATE/host"
        else:
            topic = f"spBv1.0/G1/{kind}/E1" + (f"/{device}" if kind.startswith("D") else "")
        out.append((topic, payload))
    return out


def sparkplug_one(data: bytes) -> None:
    state = SparkplugState()
    for n, (topic, payload) in enumerate(sp_messages(data)):
        check_outcome(parse_message(topic, payload, NOW + n, CFG, state), topic, payload, NOW + n)


def sp_frame(kind: str, payload: bytes, device: str = "D1") -> bytes:
    return (
        bytes([SP_KINDS.index(kind) | (0x80 if device == "D2" else 0)])
        + struct.pack(">H", len(payload))
        + payload
    )


def seeds(target: str) -> list[bytes]:
    """Seed inputs from the table-driven cases of tests/ingest (and a few hostile shapes)."""
    from ingest.sparkplug import sparkplug_b_pb2 as pb
    from tests.ingest import spb
    from tests.ingest.test_payloads import ACCEPTED, REJECTED

    if target == "json":
        out = []
        for topic, payload in [(c[1], c[2]) for c in ACCEPTED] + [(c[1], c[2]) for c in REJECTED]:
            if topic in JSON_TOPICS and len(payload) < 4096:
                out.append(bytes([JSON_TOPICS.index(topic)]) + payload)
        out += [
            b'\x00{"metrics": {"a": NaN, "b": 1e400, "c": 100000000000000000000000}}',
            b'\x01{"value": 1, "ts": "2016-12-31T23:59:60Z"}',
            b'\x05"\\ud800"',
            b"\x01\xef\xbb\xbf1",
            b'\x00{"metrics": {"a+": 1, "#": 2, "a/b": 3, "ok": 4}, "x": [[[[[[[[1]]]]]]]]}',
        ]
        return out
    m = spb.metric
    birth = spb.payload([spb.bd_seq(0), m("power_kw", 1.0, pb.Double, alias=1),
                         m("state", "idle", pb.String, alias=2), m("count_total", 3, pb.UInt64, alias=3)],
                        seq=0, timestamp=NOW)  # fmt: skip
    dbirth = spb.payload([m("temp_c", 20.5, pb.Float, alias=10), m("n", -3, pb.Int16, alias=11)], seq=1)
    ndata = spb.payload([m(alias=1, value=2.5), m(alias=2, value="running"), m(alias=3, value=9)], seq=2)
    ddata = spb.payload([m(alias=10, value=21.0), m(alias=11, value=5)], seq=3)
    return [
        sp_frame("NBIRTH", birth),
        sp_frame("NBIRTH", birth) + sp_frame("NDATA", ndata),
        sp_frame("NBIRTH", birth) + sp_frame("DBIRTH", dbirth) + sp_frame("DDATA", ddata)
        + sp_frame("DDEATH", b"") + sp_frame("NDEATH", spb.payload([spb.bd_seq(0)])),
        sp_frame("NDATA", ndata) + sp_frame("NBIRTH", birth) + sp_frame("NDATA", b"\xff\xff"),
    ]  # fmt: skip


def write_seeds(target: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds(target)):
        (directory / f"seed-{i:03d}").write_bytes(seed)
    return directory


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in ("json", "sparkplug", "seed"):
        sys.exit(__doc__)
    target = argv[1]
    if target == "seed":
        for t in ("json", "sparkplug"):
            write_seeds(t, Path(argv[2]) / t)
        return
    args = [argv[0], *argv[2:]]
    if not any(not a.startswith("-") for a in argv[2:]):  # no corpus dir given: seed a temporary one
        args.append(str(write_seeds(target, Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-")))))
    print(f"fuzz.baseline_rss_kb={rss_kb()}", flush=True)
    atheris.Setup(args, json_one if target == "json" else sparkplug_one)
    atheris.Fuzz()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv)
