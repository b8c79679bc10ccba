"""Plant configs for the simulator tests (built in code: each test may need its own site id)."""

from __future__ import annotations

from typing import Any

from brain.plant import Plant, parse_plant

CODES = {0: "offline", 1: "idle", 2: "running", 3: "setup", 4: "fault", 5: "planned_stop"}


def plant_data(site: str = "sim") -> dict[str, Any]:
    return {
        "timezone": "Asia/Shanghai",
        "shifts": [
            {"name": "day", "start": "08:00", "end": "20:00", "breaks": [{"start": "12:00", "end": "12:45"}]},
            {
                "name": "night",
                "start": "22:00",
                "end": "04:00",
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "breaks": [{"start": "01:00", "end": "01:30"}],
            },
        ],
        "sites": [
            {
                "id": site,
                "lines": [
                    {
                        "id": "smt1",
                        "machines": [
                            {"id": "printer", "ideal_cycle_s": 18},
                            {"id": "reflow", "ideal_cycle_s": 20},
                        ],
                    },
                    {
                        "id": "cnc1",
                        "defaults": {"counter_modulus": 256, "state_codes": CODES},
                        "machines": [
                            {"id": "vmc1", "ideal_cycle_s": 20},
                            {"id": "main_meter", "kind": "meter"},
                        ],
                    },
                    {"id": "weaving1", "machines": [{"id": "loom1", "ideal_cycle_s": 0.1}]},
                ],
            }
        ],
    }


def plant(site: str = "sim") -> Plant:
    return parse_plant(plant_data(site), "<test plant>")
