"""The report's numbers for Excel: one sheet per table (openpyxl), raw values, ratios as % format.

Sheets: Summary (the tiles), one per table of the model (lines, machines, by shift/day/hour),
Pareto, Energy by time-of-use period, 15-min demand, Alerts, and Records (every KPI record the
report used, as `brain kpi` prints them).
"""

from __future__ import annotations

import io
from typing import Any

from brain.report.text import t
from brain.vocabulary import KPI_RECORD_FIELDS

PERCENT = "0.0%"


def _sheet(
    wb: Any, title: str, header: list[str], rows: list[list[Any]], percent: set[int] = frozenset()
) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(title[:31])
    ws.append(header)
    for c in ws[1]:
        c.font = Font(bold=True)
    for row in rows:
        ws.append([v if not isinstance(v, (dict, list)) else str(v) for v in row])
    for i in percent:
        for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = PERCENT
    for i, name in enumerate(header):
        ws.column_dimensions[ws.cell(1, i + 1).column_letter].width = max(10, min(40, len(str(name)) + 4))
    ws.freeze_panes = "A2"


def workbook(model: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    lang = model["lang"]
    wb = Workbook()
    wb.remove(wb.active)
    summary = [
        [t("period", lang), model["period"]["label"], ""],
        [t("col.start", lang), model["period"]["start_local"], model["timezone"]],
        [t("col.end", lang), model["period"]["end_local"], model["timezone"]],
    ]
    for tile in model["tiles"]:
        summary.append([tile["label"], tile["value"], tile["unit"]])
        for part in tile.get("parts", []):
            summary.append([part["label"], part["value"], "%"])
    _sheet(
        wb,
        t("table.summary", lang),
        [t("col.metric", lang), t("col.value", lang), t("col.unit", lang)],
        summary,
    )
    for table in model["tables"]:
        if table["key"] == "summary":
            continue
        header = [c["label"] for c in table["columns"]]
        pct = {i for i, c in enumerate(table["columns"]) if c.get("unit") == "%"}
        _sheet(wb, table["title"], header, table["rows"], pct)
    _sheet(
        wb,
        t("chart.pareto", lang),
        ["name", "hours", "cumulative"],
        [[r["label"], r["hours"], r["cumulative"]] for r in model["pareto"]["rows"]],
        {2},
    )
    _sheet(
        wb,
        t("chart.tou", lang),
        ["period", "kWh", "price", "cost"],
        [[r["label"], r["kwh"], r["price"], r["cost"]] for r in model["tou"]],
    )
    _sheet(
        wb,
        t("chart.demand", lang),
        [t("col.start", lang), "kW"],
        [[r["label"], r["kw"]] for r in model["demand"]],
    )
    _sheet(
        wb,
        t("table.alerts", lang),
        ["started", "ended", "min", "severity", "rule", "where", "message"],
        [
            [
                a["started_local"],
                a["ended_local"],
                a["duration_min"],
                a["severity"],
                a["rule"],
                a["where"],
                a["message"],
            ]
            for a in model["alerts"]
        ],
    )
    fields = list(KPI_RECORD_FIELDS) + sorted({k for r in records for k in r} - set(KPI_RECORD_FIELDS))
    _sheet(wb, "records", fields, [[r.get(f) for f in fields] for r in records])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
