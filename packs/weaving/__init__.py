"""`weaving` — textile weaving (air-jet and rapier looms): loom efficiency, warp and weft stops per
10⁵ picks, fabric length and energy per 100 m (README.md has every formula and source)."""

from __future__ import annotations

from brain.pack import ConfigKey, Derived, Kpi, Metric, Pack, ratio
from brain.pack_sim import Count, Level
from brain.text import Text
from brain.vocabulary import COUNTER, GAUGE


def _rated_picks(s, cfg):  # rated rpm x PBT minutes: the picks the loom could insert, additive
    rated = cfg.get("rated_rpm")
    return None if rated is None or s["pbt_min"] is None else rated * s["pbt_min"]


def _rated_loom_picks(s, cfg):  # the picks of looms with a rated speed: efficiency's numerator
    return s["picks"] if cfg.get("rated_rpm") is not None else 0.0


def _fabric_cm(s, cfg):  # picks / the article's weft density (per machine: articles differ)
    density = cfg.get("picks_per_cm")
    return None if density is None else s["picks"] / density


def _fabric_kwh(s, cfg):  # the energy of looms whose fabric length is known: kWh per 100 m's numerator
    return s["kwh"] if cfg.get("picks_per_cm") is not None and s["kwh"] is not None else 0.0


# What `brain simulate` produces (brain/pack_sim.py): one pick per unit of the loom's counter, ~4
# warp and ~7 weft stops per 10^5 picks, the speed its current rate in picks per minute.
SIMULATOR = (
    Count("picks", of="units"),
    Count("warp_stops", of="picks", per=4e-5),
    Count("weft_stops", of="picks", per=7e-5),
    Level("speed_rpm", rate_scale=60),
)

PACK = Pack(
    id="weaving",
    title=Text("Textile weaving", "纺织织造"),
    metrics=(
        Metric("picks", COUNTER, "picks", Text("Picks (weft insertions)", "纬纱引入数 (纬数)")),
        Metric("warp_stops", COUNTER, "stops", Text("Warp stops", "经停次数")),
        Metric("weft_stops", COUNTER, "stops", Text("Weft stops", "纬停次数")),
        Metric("speed_rpm", GAUGE, "rpm", Text("Loom speed", "车速"), minimum=0, maximum=3000),
    ),
    config=(
        ConfigKey("rated_rpm", "positive", ("machine",), help="rated loom speed, picks per minute"),
        ConfigKey(
            "picks_per_cm", "positive", ("line", "machine"), help="the article's weft density, picks/cm"
        ),
    ),
    derived=(
        Derived("rated_picks", _rated_picks, "rated_rpm x PBT minutes"),
        Derived("rated_loom_picks", _rated_loom_picks, "picks of the looms with a rated_rpm"),
        Derived("fabric_cm", _fabric_cm, "picks / picks_per_cm"),
        Derived("fabric_kwh", _fabric_kwh, "kWh of the looms with a picks_per_cm"),
    ),
    kpis=(
        Kpi(
            "efficiency",
            "ratio",
            Text("Loom efficiency", "织机效率"),
            lambda s: ratio(s["rated_loom_picks"], s["rated_picks"]),
            "picks / (rated_rpm x PBT minutes)",
        ),
        Kpi(
            "warp_stops_per_1e5",
            "1/1e5 picks",
            Text("Warp stops per 10^5 picks", "每十万纬经停次数"),
            lambda s: ratio(s["warp_stops"], s["picks"], 1e5),
            "warp_stops / picks x 10^5",
        ),
        Kpi(
            "weft_stops_per_1e5",
            "1/1e5 picks",
            Text("Weft stops per 10^5 picks", "每十万纬纬停次数"),
            lambda s: ratio(s["weft_stops"], s["picks"], 1e5),
            "weft_stops / picks x 10^5",
        ),
        Kpi(
            "fabric_m",
            "m",
            Text("Fabric woven", "织造米数"),
            lambda s: ratio(s["fabric_cm"], 100),
            "picks / picks_per_cm / 100",
        ),
        Kpi(
            "kwh_per_100m",
            "kWh/100 m",
            Text("Energy per 100 m of fabric", "百米耗电"),
            lambda s: ratio(s["fabric_kwh"], s["fabric_cm"], 1e4) if s["kwh"] is not None else None,
            "energy_kwh / weaving_fabric_m x 100",
        ),
        Kpi(
            "avg_speed_rpm",
            "rpm",
            Text("Average loom speed", "平均车速"),
            lambda s: ratio(s["speed_rpm_int"], s["speed_rpm_ms"]),
            "Σ(speed · dt) / Σ dt over the time a speed value holds",
        ),
    ),
    alert_presets=(
        {
            "id": "weaving-warp-stops",
            "type": "kpi",
            "field": "weaving_warp_stops_per_1e5",
            "window": "shift",
            "level": "machine",
            "above": 10,
            "severity": "warning",
            "description": "warp stops per 10^5 picks above the mill's limit (set yours; 10 is a start)",
        },
        {
            "id": "weaving-weft-stops",
            "type": "kpi",
            "field": "weaving_weft_stops_per_1e5",
            "window": "shift",
            "level": "machine",
            "above": 15,
            "severity": "warning",
            "description": "weft stops per 10^5 picks above the mill's limit",
        },
        {
            "id": "weaving-efficiency",
            "type": "kpi",
            "field": "weaving_efficiency",
            "window": "shift",
            "level": "machine",
            "below": 0.8,
            "severity": "warning",
            "description": "loom efficiency below 80 % for a shift",
        },
    ),
    extras={"simulator": SIMULATOR},
)
