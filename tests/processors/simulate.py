"""The processors' pure cores driven without Kafka: per-machine streams, partials, site rollup."""

from __future__ import annotations

import json
from typing import Any

from brain.plant import Plant
from processors.kpi import Context
from processors.machine_state import MachineStream
from processors.messages import machine_record
from processors.rollup_state import RollupWindow, SiteRollup


def run(
    plant: Plant,
    readings: list[dict[str, Any]],
    grace_ms: int,
    *,
    step_every: int = 7,
    interval_ms: int = 0,
    roundtrip: bool = True,
) -> tuple[list[dict[str, Any]], dict[str, MachineStream]]:
    """All records emitted, in order; the machine streams at the end."""
    ctx = Context.from_plant(plant)
    machines = {(s.id, ln.id, m.id): m for s, ln, m in plant.machines()}
    streams: dict[tuple[str, str, str], MachineStream] = {}
    rollups = {s.id: SiteRollup(s, ctx, grace_ms, 60_000) for s in plant.sites}
    windows: dict[tuple[str, str, int], RollupWindow] = {}
    wms: dict[str, dict[str, int]] = {}  # site -> machine -> watermark after its last emission
    out: list[dict[str, Any]] = []
    now = 0.0
    for i, r in enumerate(readings):
        k = (r["site"], r["line"], r["machine"])
        ms = streams.get(k)
        if ms is None:
            ms = streams[k] = MachineStream(machines[k], ctx, grace_ms)
        ms.add(r["metric"], r["value"], r["ts"], i, now)
        now += 1.0
        if i % step_every == 0 or i == len(readings) - 1:
            for k2, ms2 in list(streams.items()):
                emits = ms2.step(now, interval_ms)
                seq = ms2.seq
                for e in emits:
                    out.append(machine_record(e, *k2, ctx))
                    site = k2[0]
                    wk = (site, e.kind, e.start)
                    w = windows.get(wk)
                    if w is None:
                        w = windows[wk] = RollupWindow(e.kind, e.start, e.end, e.shift)
                    w.apply(k2[1], k2[2], seq, e.final, json.loads(json.dumps(e.partial)))
                if emits:
                    wms.setdefault(k2[0], {})[k2[2]] = ms2.wm
                if roundtrip:
                    state = json.loads(json.dumps(ms2.to_dict()))
                    again = MachineStream.from_dict(state, machines[k2], ctx, grace_ms)
                    again.emitted_at, again.arrival, again.arrival_wm = (
                        ms2.emitted_at,
                        ms2.arrival,
                        ms2.arrival_wm,
                    )
                    streams[k2] = again
            for (site, _, _), w in windows.items():
                out.extend(rollups[site].emit(w, min(wms[site].values()), now, interval_ms))
    return out, {"/".join(k): v for k, v in streams.items()}


def latest_final(records: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for r in records:
        if r["final"]:
            out[(r["scope"], r["site"], r["line"], r["machine"], r["window"], r["start"])] = r
    return out
