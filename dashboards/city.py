"""The city's dashboards (docs/DASHBOARDS.md "City"): park overview, enterprise ranking and classes,
sector benchmarks, carbon and energy intensity, data quality - over the `brain_city` database that
brain/city/influx.py maps the rows of `brain city` to.

A city point is stamped with its period's start (1 January for a year), so the dashboards open on
the last two years and select the period by its tag (`${period}`: `2026` or `2026-03`).
"""

from __future__ import annotations

from brain.city.influx import CITY_DATABASE
from dashboards.common import DATASOURCE
from dashboards.model import Dashboard, Mapping, Panel, Text, Variable

RANGE = "range(start: v.timeRangeStart, stop: v.timeRangeStop)"
TIME_FROM = "now-2y"
CLASS_COLOURS = (
    Mapping("A", Text("A", "A"), "green"),
    Mapping("B", Text("B", "B"), "blue"),
    Mapping("C", Text("C", "C"), "yellow"),
    Mapping("D", Text("D", "D"), "red"),
    Mapping("T", Text("T (not evaluated)", "T (未评价)"), "#888888"),
)
NAMES: tuple[tuple[str, Text], ...] = (
    ("enterprise", Text("Enterprise", "企业")),
    ("name", Text("Name", "名称")),
    ("sector", Text("Sector", "行业")),
    ("park", Text("Park", "园区")),
    ("rank", Text("Rank", "排名")),
    ("class", Text("Class", "类别")),
    ("class_reason", Text("Why", "依据")),
    ("score", Text("Score", "得分")),
    ("tax_per_mu", Text("Tax per mu (10k CNY)", "亩均税收 (万元)")),
    ("sales_per_mu", Text("Sales per mu (10k CNY)", "亩均销售 (万元)")),
    ("tax_per_tce", Text("Tax per tce (10k CNY)", "单位能耗税收 (万元/吨标煤)")),
    ("dq_flagged", Text("On flagged data", "数据质量不足")),
    ("dq_completeness", Text("Completeness", "完整率")),
    ("days", Text("Days exported", "上报天数")),
    ("kwh", Text("Electricity (kWh)", "用电 (kWh)")),
    ("tce", Text("Energy (tce)", "综合能耗 (吨标煤)")),
    ("co2_t", Text("CO₂ (t)", "CO₂ (吨)")),
    ("carbon_factor", Text("Grid factor", "电网排放因子")),
    ("tce_per_10k_value_added", Text("tce per 10k CNY value added", "万元增加值能耗 (吨标煤)")),
    ("co2_t_per_10k_value_added", Text("t CO₂ per 10k CNY value added", "万元增加值碳排放 (吨)")),
    ("kwh_per_unit", Text("kWh per good unit", "单位合格品电耗 (kWh)")),
    ("kwh_per_unit_percentile", Text("kWh per unit: percentile in sector", "单位电耗行业百分位")),
    ("oee", Text("OEE", "OEE")),
    ("oee_percentile", Text("OEE: percentile in sector", "OEE 行业百分位")),
)


def _tag_values(tag: str, measurement: str) -> str:
    return (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "{CITY_DATABASE}", tag: "{tag}", '
        f'predicate: (r) => r._measurement == "{measurement}", start: -3y)'
    )


PERIOD = Variable("period", Text("Period", "评价期"), "query", _tag_values("period", "city_enterprise"))
PARK = Variable("park", Text("Park", "园区"), "query", _tag_values("park", "city_park"))
SECTOR = Variable("sector", Text("Sector", "行业"), "query", _tag_values("sector", "city_sector"))


def select(measurement: str, fields: tuple[str, ...], *, park: bool = False, sector: bool = False) -> str:
    """The points of a measurement for ${period} (and ${park} / ${sector}), the listed fields."""
    preds = [f'r._measurement == "{measurement}"', 'r.period == "${period}"']
    if park:
        preds.append('r.park == "${park}"')
    if sector:
        preds.append('r.sector == "${sector}"')
    field_pred = " or ".join(f'r._field == "{f}"' for f in fields)
    return (
        f'from(bucket: "{CITY_DATABASE}")\n  |> {RANGE}\n'
        f"  |> filter(fn: (r) => {' and '.join(preds)})\n  |> filter(fn: (r) => {field_pred})"
    )


def table(
    measurement: str, fields: tuple[str, ...], keep: tuple[str, ...], sort: tuple[str, ...], **where: bool
) -> str:
    """One row per enterprise: tags `keep` and the fields as columns, sorted by `sort`, then enterprise."""
    cols = ", ".join(f'"{c}"' for c in (*keep, *fields))
    order = ", ".join(f'"{c}"' for c in (*sort, "enterprise"))
    return (
        select(measurement, fields, **where)
        + '\n  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
        + f"\n  |> group()\n  |> keep(columns: [{cols}])\n  |> sort(columns: [{order}])"
    )


def park_stat(field: str) -> str:
    return select("city_park", (field,), park=True) + '\n  |> group(columns: ["_field"])\n  |> last()'


def per_enterprise(measurement: str, field: str, **where: bool) -> str:
    """One value per enterprise, as a bar per enterprise."""
    return (
        select(measurement, (field,), **where)
        + "\n  |> group()"
        + f"\n  |> map(fn: (r) => ({{enterprise: r.enterprise, {field}: r._value}}))"
        + '\n  |> sort(columns: ["enterprise"])'
    )


CLASS_COUNTS = (
    f'import "strings"\nfrom(bucket: "{CITY_DATABASE}")\n  |> {RANGE}\n'
    '  |> filter(fn: (r) => r._measurement == "city_park" and r.period == "${period}"'
    ' and r.park == "${park}")\n'
    '  |> filter(fn: (r) => strings.hasPrefix(v: r._field, prefix: "class_"))\n'
    "  |> group()\n"
    '  |> map(fn: (r) => ({class: strings.trimPrefix(v: r._field, prefix: "class_"),'
    " enterprises: r._value}))\n"
    '  |> sort(columns: ["class"])'
)
STAT = {"colorMode": "none", "graphMode": "none"}
BARS = {"xField": "enterprise", "orientation": "horizontal", "legend": {"showLegend": False}}


def _stat(title: Text, field: str, unit: str, decimals: int | None = None) -> Panel:
    return Panel("stat", title, park_stat(field), unit, w=4, h=4, decimals=decimals, options=STAT)


PARK_OVERVIEW = Dashboard(
    key="city-park",
    title=Text("Industrial Brain: City - park overview", "工业大脑：城市 - 园区概览"),
    description=Text(
        "A park's enterprises, energy, CO₂, tax per mu and classes in the chosen period (brain city).",
        "所选评价期内园区的企业数、能耗、碳排放、亩均税收与分类 (brain city)。",
    ),
    variables=(DATASOURCE, PERIOD, PARK),
    time_from=TIME_FROM,
    refresh="1h",
    alert_annotations=False,
    panels=(
        _stat(Text("Enterprises", "企业数"), "enterprises", "short", 0),
        _stat(Text("Evaluated (not T)", "参评企业"), "evaluated", "short", 0),
        _stat(Text("Energy (tce)", "综合能耗 (吨标煤)"), "tce", "suffix: tce", 1),
        _stat(Text("CO₂ (t)", "碳排放 (吨)"), "co2_t", "masst", 1),
        _stat(Text("Tax per mu (10k CNY)", "亩均税收 (万元)"), "tax_per_mu", "suffix: 10k CNY/mu", 2),
        _stat(
            Text("tce per 10k CNY value added", "万元增加值能耗"), "tce_per_10k_value_added", "suffix: tce", 4
        ),
        Panel(
            "barchart",
            Text("Enterprises per class", "各类别企业数"),
            CLASS_COUNTS,
            "short",
            w=24,
            h=8,
            decimals=0,
            options={"xField": "class", "legend": {"showLegend": False}},
        ),
    ),
)

RANKING_FIELDS = ("name", "rank", "class", "score", "tax_per_mu", "sales_per_mu", "tax_per_tce", "dq_flagged")
RANKING = Dashboard(
    key="city-ranking",
    title=Text("Industrial Brain: City - ranking and classes", "工业大脑：城市 - 亩均排名与分类"),
    description=Text(
        "Every enterprise's per-mu score, rank and class (A-D, T = not evaluated, with the reason); "
        "`On flagged data` says which were ranked on data below the DQ threshold.",
        "每家企业的亩均得分、排名与分类 (A-D，T = 未评价并注明原因)；"
        "“数据质量不足”标出按低于阈值的数据排名的企业。",
    ),
    variables=(DATASOURCE, PERIOD),
    time_from=TIME_FROM,
    refresh="1h",
    alert_annotations=False,
    panels=(
        Panel(
            "table",
            Text("Ranking", "排名"),
            table(
                "city_enterprise", (*RANKING_FIELDS, "class_reason"), ("enterprise", "sector", "park"), "rank"
            ),
            "none",
            w=24,
            h=12,
            names=NAMES,
            mappings=CLASS_COLOURS,
        ),
        Panel(
            "barchart",
            Text("Score by enterprise", "企业得分"),
            per_enterprise("city_enterprise", "score"),
            "none",
            w=24,
            h=8,
            decimals=3,
            options=BARS,
        ),
    ),
)

SECTOR_FIELDS = ("kwh_per_unit", "kwh_per_unit_percentile", "oee", "oee_percentile")
SECTORS = Dashboard(
    key="city-sectors",
    title=Text("Industrial Brain: City - sector benchmarks", "工业大脑：城市 - 行业对标"),
    description=Text(
        "Each enterprise of a sector: kWh per good unit and OEE, with its percentile in the sector "
        "(percent of the sector at or below it).",
        "行业内每家企业的单位合格品电耗与 OEE，及其行业百分位 (行业中不高于它的企业占比)。",
    ),
    variables=(DATASOURCE, PERIOD, SECTOR),
    time_from=TIME_FROM,
    refresh="1h",
    alert_annotations=False,
    panels=(
        Panel(
            "table",
            Text("Sector benchmark", "行业对标"),
            table("city_sector", SECTOR_FIELDS, ("enterprise", "park"), ("kwh_per_unit",), sector=True),
            "none",
            w=24,
            h=10,
            names=NAMES,
        ),
        Panel(
            "barchart",
            Text("OEE by enterprise", "企业 OEE"),
            per_enterprise("city_sector", "oee", sector=True),
            "percentunit",
            w=12,
            h=8,
            decimals=1,
            options=BARS,
        ),
        Panel(
            "barchart",
            Text("kWh per good unit by enterprise", "企业单位合格品电耗"),
            per_enterprise("city_sector", "kwh_per_unit", sector=True),
            "kwatth",
            w=12,
            h=8,
            decimals=2,
            options=BARS,
        ),
    ),
)

CARBON_FIELDS = (
    "kwh",
    "tce",
    "co2_t",
    "carbon_factor",
    "tce_per_10k_value_added",
    "co2_t_per_10k_value_added",
)
CARBON = Dashboard(
    key="city-carbon",
    title=Text("Industrial Brain: City - carbon and energy intensity", "工业大脑：城市 - 碳排放与能耗强度"),
    description=Text(
        "A park's enterprises: electricity, energy in tce (the scheme's basis), Scope 2 CO₂ with the "
        "grid factor used, and both per 10k CNY of value added.",
        "园区企业的用电、综合能耗 (按方案折标口径)、范围二碳排放 (注明所用电网因子) 及万元增加值强度。",
    ),
    variables=(DATASOURCE, PERIOD, PARK),
    time_from=TIME_FROM,
    refresh="1h",
    alert_annotations=False,
    panels=(
        Panel(
            "table",
            Text("Energy and carbon by enterprise", "企业能耗与碳排放"),
            table("city_enterprise", CARBON_FIELDS, ("enterprise", "sector"), (), park=True),
            "none",
            w=24,
            h=10,
            names=NAMES,
        ),
        Panel(
            "barchart",
            Text("t CO₂ per 10k CNY value added", "万元增加值碳排放 (吨)"),
            per_enterprise("city_enterprise", "co2_t_per_10k_value_added", park=True),
            "masst",
            w=24,
            h=8,
            decimals=4,
            options=BARS,
        ),
    ),
)

DQ_FIELDS = ("dq_completeness", "dq_flagged", "days", "class")
DATA_QUALITY = Dashboard(
    key="city-dq",
    title=Text("Industrial Brain: City - data quality", "工业大脑：城市 - 数据质量"),
    description=Text(
        "Completeness (1 - unknown time / planned operating time) of each enterprise's exports; below "
        "the register's threshold its figures and its class are flagged.",
        "各企业上报数据的完整率 (1 - 未知时间/计划运行时间)；低于名录阈值时其指标与分类被标记。",
    ),
    variables=(DATASOURCE, PERIOD, PARK),
    time_from=TIME_FROM,
    refresh="1h",
    alert_annotations=False,
    panels=(
        _stat(Text("Enterprises on flagged data", "数据质量不足的企业"), "dq_flagged", "short", 0),
        Panel(
            "table",
            Text("Completeness by enterprise", "企业数据完整率"),
            table("city_enterprise", DQ_FIELDS, ("enterprise", "sector"), ("dq_completeness",), park=True),
            "none",
            w=20,
            h=10,
            names=NAMES,
            mappings=CLASS_COLOURS,
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (PARK_OVERVIEW, RANKING, SECTORS, CARBON, DATA_QUALITY)
