"""The report's numbers for Excel: one sheet per table (XlsxWriter), raw values, ratios as % format.

Sheets: Summary (the tiles), one per table of the model (lines, machines, by shift/day/hour),
Pareto, Energy by time-of-use period, 15-min demand, Alerts, and Records (every KPI record the
report used, as `brain kpi` prints them).

XlsxWriter, not openpyxl: a 500-machine day report's workbook (~140,000 cells, most in Records)
took 10 s of the report's time with openpyxl and takes ~1 s with XlsxWriter (docs/BENCHMARKS.md,
"Reports"). Strings are written as strings (never as formulas or links), NaN/inf as errors.
"""

from __future__ import annotations

import io
import re
from typing import Any

from brain.report.text import t
from brain.vocabulary import KPI_RECORD_FIELDS

PERCENT = "0.0%"


_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


class _Book:
    """One XlsxWriter workbook in memory: sheet titles made valid and unique, two formats."""

    def __init__(self) -> None:
        import xlsxwriter

        self.buf = io.BytesIO()
        options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                   "nan_inf_to_errors": True}  # fmt: skip
        self.wb = xlsxwriter.Workbook(self.buf, options)
        self.bold = self.wb.add_format({"bold": True})
        self.percent = self.wb.add_format({"num_format": PERCENT})
        self.titles: set[str] = set()

    def title(self, wanted: str) -> str:
        base = _BAD_TITLE.sub("_", wanted)[:31] or "sheet"
        name, n = base, 1
        while name.lower() in self.titles:
            n += 1
            name = f"{base[: 31 - len(str(n)) - 1]} {n}"
        self.titles.add(name.lower())
        return name

    def close(self) -> bytes:
        self.wb.close()
        return self.buf.getvalue()


def _cell(v: Any) -> Any:
    return str(v) if isinstance(v, (dict, list, tuple)) else v


def _sheet(
    book: _Book, title: str, header: list[str], rows: list[list[Any]], percent: set[int] = frozenset()
) -> None:
    ws = book.wb.add_worksheet(book.title(title))
    ws.write_row(0, 0, header, book.bold)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            v = _cell(v)
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            else:
                ws.write_number(r, c, v, book.percent if c in percent else None)
    for i, name in enumerate(header):
        ws.set_column(i, i, max(10, min(40, len(str(name)) + 4)))
    ws.freeze_panes(1, 0)


def workbook(model: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    lang = model["lang"]
    wb = _Book()
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
    return wb.close()
