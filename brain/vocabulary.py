"""The platform's words, each defined once: every other module imports them from here.

Pure constants, no imports beyond the standard library: the ingest parsers, the KPI core, the
processors, the sink, the alert rules and the dashboards all use them.
"""

from __future__ import annotations

from typing import Final

# --- windows (shared/KPIS.md "Windows"): the stream's, and `brain kpi --window all` ---
WINDOWS: Final = ("1m", "15m", "1h", "shift", "day")
WINDOW_KINDS: Final = (*WINDOWS, "all")

# --- scopes of a KPI record, machine -> line -> site ---
SCOPES: Final = ("machine", "line", "site")

# --- machine states (Reading v1 `state` values; numeric codes map to these per machine) ---
RUNNING, SETUP, FAULT, IDLE = "running", "setup", "fault", "idle"
PLANNED_STOP, OFFLINE = "planned_stop", "offline"
STATES: Final = (RUNNING, SETUP, FAULT, IDLE, PLANNED_STOP, OFFLINE)

# --- loss analysis (shared/KPIS.md "Loss analysis (v2)"): the metric labelling stop episodes and
# the categories every stop second lands in (exactly one); a reason tree maps codes to categories ---
REASON = "reason"
BREAKDOWN, MINOR_STOP, NO_ORDER = "breakdown", "minor_stop", "no_order"
STARVED, BLOCKED = "starved", "blocked"
PLANNED, UNKNOWN = "planned", "unknown"
LOSS_CATEGORIES: Final = (BREAKDOWN, SETUP, MINOR_STOP, NO_ORDER, STARVED, BLOCKED, IDLE, PLANNED, UNKNOWN)
# the categories a reason code may name: planned/unknown follow the state, minor_stop the duration
REASON_CATEGORIES: Final = tuple(c for c in LOSS_CATEGORIES if c not in (PLANNED, UNKNOWN, MINOR_STOP))
UNLABELLED = "unlabelled"  # the reason of a stop episode no reading labelled
UNMAPPED_PREFIX = "unmapped:"  # the label of a code the machine's reason tree lacks: "unmapped:<code>"
MAX_REASON_CHARS: Final = 64  # a reason code (string, or a numeric code's canonical string)

# --- alert event states ---
FIRING, RESOLVED = "firing", "resolved"
ALERT_STATES: Final = (FIRING, RESOLVED)

# --- metric kinds (shared/PACKS.md): how a metric's readings are folded ---
COUNTER, GAUGE, FLAG, SAMPLE, TEXT = "counter", "gauge", "flag", "sample", "text"
STATE = "state"  # the machine state: a held value of its own kind
METRIC_KINDS: Final = (COUNTER, GAUGE, FLAG, SAMPLE, TEXT)

# --- the core metrics (shared/ARCHITECTURE.md, "MQTT") and their kinds; packs add their own ---
CORE_METRICS: Final = {
    "state": STATE,
    "reason": TEXT,  # a stop's reason code (shared/KPIS.md "Loss analysis"): labels, folds nothing
    "count_total": COUNTER,
    "count_scrap": COUNTER,
    "energy_kwh": COUNTER,  # a cumulative meter: counter rules (reset, wrap)
    "energy_kvarh": COUNTER,
    "power_kw": GAUGE,
    "power_kvar": GAUGE,
}

# --- KPI record (v1): the field names, in the order records are written ---
KPI_IDENTITY_FIELDS: Final = ("scope", "site", "line", "machine", "window", "start", "end", "shift", "final")
KPI_TIME_FIELDS: Final = ("pot_s", "pdot_s", "pbt_s", "apt_s", "aust_s", "adet_s", "adot_s", "unknown_s")
KPI_QUANTITY_FIELDS: Final = ("pq", "sq", "gq", "failures")
KPI_OUTPUT_FIELDS: Final = (
    "availability",
    "performance",
    "quality",
    "oee",
    "nee",
    "throughput_per_h",
    "mtbf_s",
    "mttr_s",
)
KPI_ENERGY_FIELDS: Final = (
    "energy_kwh",
    "energy_kvarh",
    "avg_kw",
    "peak_demand_kw",
    "power_factor",
    "load_factor",
    "sec_kwh_per_unit",
    "co2_kg",
    "cost",
    "kwh_peak",
    "kwh_flat",
    "kwh_valley",
)
KPI_FIELDS: Final = (
    KPI_IDENTITY_FIELDS + KPI_TIME_FIELDS + KPI_QUANTITY_FIELDS + KPI_OUTPUT_FIELDS + KPI_ENERGY_FIELDS
)
# documented fields after the v1 ones (docs/KPI.md)
KPI_EXTRA_FIELDS: Final = (
    "technical_efficiency",
    "setup_rate",
    "scrap_ratio",
    "sec_kwh_per_pq",
    "pq_unscheduled",
    "performance_suspect",
)
KPI_RECORD_FIELDS: Final = KPI_FIELDS + KPI_EXTRA_FIELDS

# --- the factory export (docs/FEDERATION.md): what may leave a factory for the park or city ---
EXPORT_SCOPES: Final = ("site", "line")  # the default scopes; `machine` only if the plant config lists it
EXPORT_WINDOWS: Final = ("day", "1h")  # the windows an export may name; `day` is the default
EXPORT_DEFAULT_WINDOWS: Final = ("day",)
# the default field allowlist, one row per field: (field, group). Identity fields always go.
EXPORT_FIELD_ROWS: Final = (
    ("pq", "output"),
    ("gq", "output"),
    ("sq", "output"),
    ("throughput_per_h", "output"),
    ("energy_kwh", "energy"),
    ("kwh_peak", "energy"),
    ("kwh_flat", "energy"),
    ("kwh_valley", "energy"),
    ("peak_demand_kw", "energy"),
    ("sec_kwh_per_unit", "energy"),
    ("cost", "cost"),
    ("co2_kg", "co2"),
    ("availability", "oee"),
    ("performance", "oee"),
    ("quality", "oee"),
    ("oee", "oee"),
    ("pot_s", "data_quality"),
    ("unknown_s", "data_quality"),
)
EXPORT_DEFAULT_FIELDS: Final = tuple(name for name, _ in EXPORT_FIELD_ROWS)
# the identity of an exported record; `enterprise` is stamped by the export
EXPORT_IDENTITY_FIELDS: Final = ("enterprise", *KPI_IDENTITY_FIELDS)
