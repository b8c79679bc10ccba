"""The one place ingest reads the plant configuration (brain.plant): state code maps and the
Sparkplug mapping, turned into an `IngestConfig`. Keep every coupling to brain.plant here.

The plant config's `sparkplug:` section (docs/CONFIG.md)::

    sparkplug:
      groups:
        SIP:                              # Sparkplug group id
          site: sip                       # default: the group id
          edges:
            SMT-GW1:                      # edge node id
              line: smt1                  # default: the edge id
              machine: gw1                # the node's own metrics (default: the edge id)
              devices: {PRN: printer}     # device id -> machine (default: the device id)

Flat keys are accepted too (the form `IngestConfig.sparkplug_map` takes, see
ingest/sparkplug/mapping.py): `"group/edge/device": "site/line/machine"`, `"group/edge":
"site/line"` or `"site/line/machine"`, `"group": "site"`.

A machine's pack (`pack:`, brain/plant/packs.py) gives the bridge its pack's metric rows, so that a
bad pack value is dead-lettered by name (ingest/validate.py `check_pack_value`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from brain.pack import Metric
from brain.pack_registry import get as get_pack
from ingest.config import IngestConfig


def sparkplug_map(section: dict[str, Any] | None) -> dict[str, str]:
    """Flatten the plant config's sparkplug section into `group[/edge[/device]] -> site[/line[/machine]]`."""
    out: dict[str, str] = {}
    for key, value in (section or {}).items():
        if key != "groups":
            out[str(key)] = str(value)
    for group, g in ((section or {}).get("groups") or {}).items():
        g = g or {}
        site = str(g.get("site", group))
        out[str(group)] = site
        for edge, e in (g.get("edges") or {}).items():
            e = e or {}
            line = str(e.get("line", edge))
            out[f"{group}/{edge}"] = f"{site}/{line}/{e.get('machine', edge)}"
            out[f"{group}/{edge}/*"] = f"{site}/{line}"  # unlisted devices: machine = device id
            for device, machine in (e.get("devices") or {}).items():
                out[f"{group}/{edge}/{device}"] = f"{site}/{line}/{machine}"
    return out


def ingest_config(plant: Any, base: IngestConfig | None = None) -> IngestConfig:
    """An IngestConfig with the plant's state and reason code maps, pack metrics and Sparkplug mapping."""
    base = base or IngestConfig()
    codes: dict[str, dict[str, str]] = {}
    reasons: dict[str, dict[str, str]] = {}
    packs: dict[str, dict[str, tuple[str, Metric]]] = {}
    for site, line, machine in plant.machines():
        key = f"{site.id}/{line.id}/{machine.id}"
        if machine.state_codes:
            codes[key] = {str(k): v for k, v in machine.state_codes.items()}
        if getattr(machine, "reason_codes", None):
            reasons[key] = dict(machine.reason_codes)
        pack_id = getattr(machine, "pack", None)
        if pack_id is not None:
            packs[key] = {m.name: (pack_id, m) for m in get_pack(pack_id).metrics}
    return replace(
        base,
        state_codes=codes,
        reason_codes=reasons,
        pack_metrics=packs,
        sparkplug_map=sparkplug_map(getattr(plant, "sparkplug", None)),
    )


def load(path: str, base: IngestConfig | None = None) -> IngestConfig:
    """Load the plant config file and build the IngestConfig (the only I/O here)."""
    from brain.plant import load_plant

    return ingest_config(load_plant(path), base)
