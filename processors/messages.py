"""What the processors put on Kafka: KPI records, machine partials for the rollup, late readings.

- `brain.kpis`: key `scope/site/line/machine/window` (`-` for null), value: one KPI record v1
  (JSON). One key's records stay in one partition, so the latest one wins downstream.
- partials (`brain.partials`): key `site`, value: one machine's partial of one window with the
  window, `final` and the machine's emission `seq`; after the partials of one emission, the
  machine's watermark `wm` (a message without `kind`).
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


def partial_message(e: Emit, site: str, line: str, machine: str, seq: int) -> bytes:
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
            "p": e.partial,
        }
    )


def watermark_message(site: str, line: str, machine: str, wm: int) -> bytes:
    """Sent after all partials of one emission: every window of this machine ending at or
    before wm - grace has been sent final."""
    return orjson.dumps({"site": site, "line": line, "machine": machine, "wm": wm})


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


loads = orjson.loads
