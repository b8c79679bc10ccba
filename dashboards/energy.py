"""Energy: kWh, 15-minute demand against the contracted demand, power factor, kWh per good unit,
carbon, and the time-of-use split."""

from __future__ import annotations

from dashboards import flux
from dashboards.common import CONTRACTED_KW, DATASOURCE, KPI_NAMES, POWER_FACTOR_THRESHOLDS, SITE
from dashboards.model import Dashboard, Panel, Text

DEMAND = (
    'demand = from(bucket: "brain_kpi")\n'
    f"  |> {flux.RANGE}\n"
    '  |> filter(fn: (r) => r._measurement == "energy" and r.scope == "site" and r.window == "15m"'
    ' and r.site == "${site}" and r._field == "peak_demand_kw")\n'
    '  |> group(columns: ["_field"])\n'
    '  |> sort(columns: ["_time"])\n'
    "contracted = demand\n"
    '  |> map(fn: (r) => ({r with _value: float(v: "${contracted_kw}")}))\n'
    '  |> set(key: "_field", value: "contracted_kw")\n'
    "union(tables: [demand, contracted])\n"
    '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
    '  |> keep(columns: ["_time", "peak_demand_kw", "contracted_kw"])\n'
    '  |> sort(columns: ["_time"])'
)


def _site(window: str, field: str, range_: str = flux.RANGE) -> str:
    return flux.kpi("energy", scope="site", window=window, fields=(field,), range_=range_)


def _today(field: str) -> str:
    return _site("day", field, flux.RANGE_LAST_DAY) + flux.latest(())


TOU_TODAY = (
    flux.kpi(
        "energy",
        scope="site",
        window="day",
        fields=("kwh_peak", "kwh_flat", "kwh_valley"),
        range_=flux.RANGE_LAST_DAY,
    )
    + flux.latest(())
    + flux.one_row(("kwh_peak", "kwh_flat", "kwh_valley"))
)

TOU_DAILY = (
    flux.kpi("energy", scope="site", window="day", fields=("kwh_peak", "kwh_flat", "kwh_valley"))
    + "\n  |> group()"
    + flux.as_columns(("_time",), ("kwh_peak", "kwh_flat", "kwh_valley"))
    + '\n  |> sort(columns: ["_time"])'
)

SEC_BY_LINE = flux.kpi("energy", scope="line", window="1h", fields=("sec_kwh_per_unit",)) + flux.series(
    ("line",)
)

PLAIN = {"colorMode": "none", "graphMode": "none"}

DASHBOARD = Dashboard(
    key="energy",
    title=Text("Industrial Brain: Energy", "工业大脑：能源"),
    description=Text(
        "Energy, 15-minute billing demand against the contracted demand, power factor, energy per good "
        "unit, carbon and the time-of-use split of the chosen site.",
        "所选工厂的用电量、15 分钟计费需量与合同需量、功率因数、单位合格品能耗、碳排放以及峰平谷分布。",
    ),
    variables=(DATASOURCE, SITE, CONTRACTED_KW),
    time_from="now-24h",
    panels=(
        Panel(
            "stat",
            Text("Energy today", "今日用电量"),
            _today("energy_kwh"),
            "kwatth",
            w=4,
            h=5,
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("Peak 15-min demand today", "今日最大 15 分钟需量"),
            _today("peak_demand_kw"),
            "kwatt",
            w=4,
            h=5,
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("Power factor today", "今日功率因数"),
            _today("power_factor"),
            "none",
            w=4,
            h=5,
            decimals=3,
            thresholds=POWER_FACTOR_THRESHOLDS,
            options={"colorMode": "background", "graphMode": "none"},
        ),
        Panel(
            "stat",
            Text("Energy per good unit today", "今日单位合格品能耗"),
            _today("sec_kwh_per_unit"),
            "suffix: kWh/unit",
            w=4,
            h=5,
            decimals=3,
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("Carbon today", "今日碳排放"),
            _today("co2_kg"),
            "masskg",
            w=4,
            h=5,
            description=Text(
                "kWh x the grid emission factor of the plant config.", "电量 × 工厂配置中的电网排放因子。"
            ),
            options=PLAIN,
        ),
        Panel(
            "stat",
            Text("Energy cost today (plant currency)", "今日电费 (工厂币种)"),
            _today("cost"),
            "short",
            w=4,
            h=5,
            decimals=0,
            options=PLAIN,
        ),
        Panel(
            "timeseries",
            Text("15-minute demand against contracted demand", "15 分钟需量与合同需量"),
            DEMAND,
            "kwatt",
            w=16,
            h=9,
            description=Text(
                "Billing demand = kWh in each clock-aligned 15-minute block x 4. The contracted demand "
                "comes from the dashboard variable.",
                "计费需量 = 每个整点对齐的 15 分钟内电量 × 4。合同需量来自仪表盘变量。",
            ),
            names=KPI_NAMES,
            custom={"drawStyle": "line", "lineInterpolation": "stepAfter", "fillOpacity": 10},
        ),
        Panel(
            "piechart",
            Text("Energy today by time-of-use period", "今日分时段电量 (峰/平/谷)"),
            TOU_TODAY,
            "kwatth",
            w=8,
            h=9,
            names=KPI_NAMES,
            options={
                "pieType": "donut",
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "legend": {"displayMode": "table", "placement": "right", "values": ["value", "percent"]},
            },
        ),
        Panel(
            "timeseries",
            Text("Energy per hour", "每小时用电量"),
            _site("1h", "energy_kwh") + flux.series(()),
            "kwatth",
            w=12,
            h=8,
            display_name=Text("Energy", "用电量"),
            custom={"drawStyle": "bars", "fillOpacity": 60},
        ),
        Panel(
            "timeseries",
            Text("Time-of-use split per day", "每日峰平谷电量"),
            TOU_DAILY,
            "kwatth",
            w=12,
            h=8,
            names=KPI_NAMES,
            custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal", "group": "A"}},
        ),
        Panel(
            "timeseries",
            Text("Power factor (hourly)", "功率因数 (每小时)"),
            _site("1h", "power_factor") + flux.series(()),
            "none",
            w=8,
            h=8,
            min=0,
            max=1,
            decimals=3,
            thresholds=POWER_FACTOR_THRESHOLDS,
            custom={"thresholdsStyle": {"mode": "line"}},
        ),
        Panel(
            "timeseries",
            Text("Energy per good unit by line (hourly)", "各产线单位合格品能耗 (每小时)"),
            SEC_BY_LINE,
            "suffix: kWh/unit",
            w=8,
            h=8,
            display_name="${__field.labels.line}",
        ),
        Panel(
            "timeseries",
            Text("Carbon per hour", "每小时碳排放"),
            _site("1h", "co2_kg") + flux.series(()),
            "masskg",
            w=8,
            h=8,
            custom={"drawStyle": "bars", "fillOpacity": 60},
        ),
    ),
)
