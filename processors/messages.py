"""What the processors put on Kafka: KPI records, machine partials for the rollup, late readings.

- `brain.kpis`: key `scope/site/line/machine/window` (`-` for null), value: one KPI record v1
  (JSON). One key's records stay in one partition, so the latest one wins downstream.
- partials (`brain.partials`): key `site`, value: one machine's partial of one window with the
  window, `final`, the machine's emission `seq` and watermark `wm`.
"""

from __future__ import annotations

from typing import Any

import orjson

from processors.kpi import Context, to_record
from processors.machine_state import Emit


def record_key(rec: dict[str, Any]) -> bytes:
    parts = (rec["scope"], rec["site"], rec["line"] or "-", rec["machine"] or "-", rec["window"])
    return "/".join(parts).encode()


def machine_record(e: Emit, site: str, line: str, machine: str, ctx: Context) -> dict[str, Any]:
    return to_record(
        e.partial,
        scope="machine",
        site=site,
        line=line,
        machine=machine,
        window=e.kind,
        start=e.start,
        end=e.end,
        shift=e.shift,
        final=e.final,
        ctx=ctx,
    )


def partial_message(e: Emit, site: str, line: str, machine: str, seq: int, wm: int) -> bytes:
    return orjson.dumps(
        {
            "site": site,
            "line": line,
            "machine": machine,
            "kind": e.kind,
            "start": e.start,
            "end": e.end,
            "shift": e.shift,
            "final": e.final,
            "seq": seq,
            "wm": wm,
            "p": e.partial,
        }
    )


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


loads = orjson.loads
