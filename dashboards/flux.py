"""Flux snippets the panels are made of, written against the v1 InfluxDB schema (docs/SCHEMA.md).

Grafana replaces `v.timeRangeStart`, `v.timeRangeStop`, `v.windowPeriod` and `${variable}` before
the query reaches InfluxDB; the verification test does the same substitution and runs every query.
KPI points are stamped with their window START, and a corrected KPI overwrites the same point.
"""

from __future__ import annotations

KPI_BUCKET = "brain_kpi"
RAW_BUCKET = "brain_raw"

# The dashboard's time range.
RANGE = "range(start: v.timeRangeStart, stop: v.timeRangeStop)"
# "Now" and "today" panels look back from the END of the time range, so they do not go blank when
# the range is shorter than a day or the browser is in another time zone than the plant.
RANGE_LAST_HOUR = "range(start: date.sub(d: 1h, from: v.timeRangeStop), stop: v.timeRangeStop)"
RANGE_LAST_DAY = "range(start: date.sub(d: 1d, from: v.timeRangeStop), stop: v.timeRangeStop)"


def kpi(
    measurement: str,
    *,
    scope: str | tuple[str, ...],
    window: str,
    fields: tuple[str, ...],
    range_: str = RANGE,
    line: bool = False,
    machine: bool = False,
) -> str:
    """Select KPI points of a scope (or scopes) and window for the dashboard's ${site} (and ${line},
    ${machine})."""
    scopes = (scope,) if isinstance(scope, str) else scope
    scope_pred = " or ".join(f'r.scope == "{s}"' for s in scopes)
    preds = [
        f'r._measurement == "{measurement}"',
        scope_pred if len(scopes) == 1 else f"({scope_pred})",
        f'r.window == "{window}"',
        'r.site == "${site}"',
    ]
    if line:
        preds.append('r.line == "${line}"')
    if machine:
        preds.append('r.machine == "${machine}"')
    field_pred = " or ".join(f'r._field == "{f}"' for f in fields)
    head = 'import "date"\n' if "date." in range_ else ""
    return (
        f'{head}from(bucket: "{KPI_BUCKET}")\n'
        f"  |> {range_}\n"
        f"  |> filter(fn: (r) => {' and '.join(preds)})\n"
        f"  |> filter(fn: (r) => {field_pred})"
    )


def latest(by: tuple[str, ...]) -> str:
    """The newest point per group. Regroup first: a `shift` tag may split one line's series."""
    cols = ", ".join(f'"{c}"' for c in (*by, "_field"))
    return f'\n  |> group(columns: [{cols}])\n  |> sort(columns: ["_time"])\n  |> last()'


def series(by: tuple[str, ...]) -> str:
    """One time-ordered series per group (and field)."""
    cols = ", ".join(f'"{c}"' for c in (*by, "_field"))
    return f'\n  |> group(columns: [{cols}])\n  |> sort(columns: ["_time"])'


def as_columns(row_key: tuple[str, ...], keep: tuple[str, ...]) -> str:
    """Fields as named columns (so Grafana names them by KPI), keeping the listed columns."""
    rows = ", ".join(f'"{c}"' for c in row_key)
    cols = ", ".join(f'"{c}"' for c in (*row_key, *keep))
    return (
        f'\n  |> pivot(rowKey: [{rows}], columnKey: ["_field"], valueColumn: "_value")'
        f"\n  |> keep(columns: [{cols}])"
    )


def alerts(range_: str = RANGE) -> str:
    """Alert events of ${site}, one row per event, fields as columns (`state` is a tag)."""
    return (
        f'from(bucket: "{KPI_BUCKET}")\n'
        f"  |> {range_}\n"
        '  |> filter(fn: (r) => r._measurement == "alert" and r.site == "${site}")\n'
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
    )


ALERT_COLUMNS = (
    "_time",
    "state",
    "severity",
    "rule",
    "scope",
    "line",
    "machine",
    "value",
    "threshold",
    "message",
    "id",
)


def columns(names: tuple[str, ...]) -> str:
    """`"a", "b"` for a Flux column list."""
    return ", ".join(f'"{c}"' for c in names)


def active_alerts() -> str:
    """Alerts whose newest event is `firing` (one alert = rule + scope + line + machine)."""
    cols = columns(ALERT_COLUMNS)
    return (
        alerts()
        + '\n  |> group(columns: ["rule", "scope", "line", "machine"])'
        + '\n  |> sort(columns: ["_time"])'
        + "\n  |> tail(n: 1)"
        + '\n  |> filter(fn: (r) => r.state == "firing")'
        + "\n  |> group()"
        + f"\n  |> keep(columns: [{cols}])"
        + '\n  |> sort(columns: ["_time"], desc: true)'
    )


def alert_annotations() -> str:
    """Firing events as Grafana annotations: time, text, tags."""
    return (
        alerts()
        + '\n  |> filter(fn: (r) => r.state == "firing")'
        + "\n  |> group()"
        + '\n  |> map(fn: (r) => ({_time: r._time, text: r.rule + ": " + (if exists r.message then r.message'
        + ' else ""), tags: r.severity}))'
    )


def tag_values(
    tag: str,
    *,
    bucket: str = KPI_BUCKET,
    where: tuple[str, ...] = (),
    measurements: tuple[str, ...] = ("oee", "energy"),
) -> str:
    """A template variable's values, from the tags of the measurements (`oee` and `energy`; a pack's
    dashboard: the pack's own)."""
    either = " or ".join(f'r._measurement == "{m}"' for m in measurements)
    preds = [f"({either})" if len(measurements) > 1 else either, *where]
    return (
        'import "influxdata/influxdb/schema"\n'
        f'schema.tagValues(bucket: "{bucket}", tag: "{tag}", '
        f"predicate: (r) => {' and '.join(preds)}, start: -30d)"
    )


def one_row(keep: tuple[str, ...]) -> str:
    """All fields of the result as the columns of one row (for stats showing several KPIs)."""
    cols = ", ".join(f'"{c}"' for c in keep)
    return (
        "\n  |> group()"
        '\n  |> pivot(rowKey: ["_start"], columnKey: ["_field"], valueColumn: "_value")'
        f"\n  |> keep(columns: [{cols}])"
    )
