"""`smt` — electronics SMT lines (printer, SPI, mounters, reflow, AOI): placement speed and
efficiency, pick-up errors, first-pass yield and DPMO (README.md has every formula and source)."""

from __future__ import annotations

from brain.pack import ConfigKey, Derived, Kpi, Metric, Pack, ratio
from brain.pack_sim import Count
from brain.text import Text
from brain.vocabulary import COUNTER


def _rated_placements(s, cfg):  # rated components per hour x running hours: capacity, additive
    rated = cfg.get("rated_cph")
    return None if rated is None or s["apt_h"] is None else rated * s["apt_h"]


def _placing_hours(s, cfg):  # running hours of the machines that place (a mounter): cph's denominator
    placing = cfg.get("rated_cph") is not None or s["placements"] > 0
    return s["apt_h"] if placing and s["apt_h"] is not None else 0.0


def _opportunities(s, cfg):  # boards inspected x defect opportunities per board (IPC-7912A)
    per_board = cfg.get("opportunities_per_board")
    return None if per_board is None else per_board * s["boards_inspected"]


# What `brain simulate` produces for the pack's machines (brain/pack_sim.py): the mounters place
# ~200 components per board and drop ~800 ppm at pick-up; the AOI inspects every board, ~2.5 %
# fail first time with ~1.3 defects each.
SIMULATOR = (
    Count("placements", of="units", per=200, jitter=0.02, machines=("mounter*",)),
    Count("pickup_errors", of="placements", per=0.0008, machines=("mounter*",)),
    Count("boards_inspected", of="units", machines=("aoi*",)),
    Count("boards_passed_first", of="boards_inspected", per=0.975, machines=("aoi*",)),
    Count("defects", of="boards_inspected", minus=("boards_passed_first",), per=1.3, machines=("aoi*",)),
)

PACK = Pack(
    id="smt",
    title=Text("Electronics SMT", "电子 SMT"),
    metrics=(
        Metric("placements", COUNTER, "components", Text("Placements", "贴装数")),
        Metric("pickup_errors", COUNTER, "components", Text("Pick-up errors", "抛料数")),
        Metric("boards_inspected", COUNTER, "boards", Text("Boards inspected", "检测板数")),
        Metric("boards_passed_first", COUNTER, "boards", Text("Boards passed first time", "一次通过板数")),
        Metric("defects", COUNTER, "defects", Text("Defects found", "缺陷数")),
    ),
    config=(
        ConfigKey("rated_cph", "positive", ("machine",), help="rated components per hour of a mounter"),
        ConfigKey(
            "opportunities_per_board",
            "positive",
            ("line", "machine"),
            help="defect opportunities per board, IPC-7912A counting",
        ),
    ),
    derived=(
        Derived("placing_h", _placing_hours, "APT hours of the machines that place"),
        Derived("rated_placements", _rated_placements, "rated_cph x APT hours"),
        Derived("opportunities", _opportunities, "boards inspected x opportunities per board"),
    ),
    kpis=(
        Kpi(
            "cph",
            "1/h",
            Text("Placements per hour", "每小时贴装数 (CPH)"),
            lambda s: ratio(s["placements"], s["placing_h"]),
            "placements / APT hours (of the placing machines)",
        ),
        Kpi(
            "placement_efficiency",
            "ratio",
            Text("Placement efficiency", "贴装效率"),
            lambda s: ratio(s["placements"], s["rated_placements"]),
            "smt_cph / rated_cph",
        ),
        Kpi(
            "pickup_error_ppm",
            "ppm",
            Text("Pick-up errors", "抛料率 (ppm)"),
            lambda s: ratio(s["pickup_errors"], s["placements"] + s["pickup_errors"], 1e6),
            "pickup_errors / (placements + pickup_errors) x 10^6",
        ),
        Kpi(
            "fpy",
            "ratio",
            Text("First-pass yield", "一次通过率 (FPY)"),
            lambda s: ratio(s["boards_passed_first"], s["boards_inspected"]),
            "boards_passed_first / boards_inspected",
        ),
        Kpi(
            "dpmo",
            "ppm",
            Text("Defects per million opportunities", "百万机会缺陷数 (DPMO)"),
            lambda s: ratio(s["defects"], s["opportunities"], 1e6),
            "defects / (boards_inspected x opportunities_per_board) x 10^6",
        ),
    ),
    alert_presets=(
        {
            "id": "smt-dpmo",
            "type": "kpi",
            "field": "smt_dpmo",
            "window": "1h",
            "level": "machine",
            "above": 500,
            "severity": "warning",
            "description": "defects per million opportunities above the line's limit (set yours)",
        },
    ),
    extras={"simulator": SIMULATOR},
)
