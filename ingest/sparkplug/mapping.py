"""Sparkplug identity -> site/line/machine. Pure.

Lookup order, first hit wins (keys and values are `/`-joined ids):
1. `"group/edge/device": "site/line/machine"` — one device to one machine;
2. `"group/edge": "site/line/machine"` — the node's own (node-level) metrics to one machine;
   `"group/edge": "site/line"` — the node's devices to `site/line/{device}`,
   its node-level metrics to `site/line/{edge}`;
   `"group/edge/*": "site/line"` — the node's devices (not listed in 1.) to `site/line/{device}`;
3. `"group": "site"` — site renamed, line = edge, machine = device (or edge);
4. default rule: site = group, line = edge, machine = device; node-level metrics machine = edge.
"""

from __future__ import annotations

from collections.abc import Mapping

from ingest.reasons import Reason
from ingest.validate import Rejected, name_match


def map_identity(
    group: str, edge: str, device: str | None, sparkplug_map: Mapping[str, str]
) -> tuple[str, str, str]:
    """(site, line, machine) for a Sparkplug node (device None) or device; Rejected if not usable."""
    node_key = f"{group}/{edge}"
    target: list[str] | None = None
    if device is not None and (hit := sparkplug_map.get(f"{node_key}/{device}")) is not None:
        target = hit.split("/")
    elif device is not None and (hit := sparkplug_map.get(f"{node_key}/*")) is not None:
        target = [*hit.split("/"), device]
    elif (hit := sparkplug_map.get(node_key)) is not None:
        parts = hit.split("/")
        if len(parts) == 2:
            target = [*parts, device if device is not None else edge]
        elif device is None:
            target = parts
    if target is None:
        site = sparkplug_map.get(group, group)
        target = [site, edge, device if device is not None else edge]
    if len(target) != 3:
        raise Rejected(
            Reason.TOPIC_BAD_LEVEL, f"sparkplug mapping for {node_key}: {target!r} is not site/line/machine"
        )
    for level in target:
        if not name_match(level):
            raise Rejected(
                Reason.TOPIC_BAD_LEVEL,
                f"Sparkplug id {level!r:.64} is not a valid site/line/machine id ([A-Za-z0-9_.-], 1..64); "
                "map it in the plant config's sparkplug section",
            )
    return target[0], target[1], target[2]
