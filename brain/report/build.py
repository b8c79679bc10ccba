"""One report, written: records -> model -> report.html, report.png, report.xlsx, report.json.

`report.json` = {"report": the model (every number shown), "records": the KPI records used, as
`brain kpi` prints them}. The directory is `<out>/<site>[-<line>]/<period>` (e.g.
`reports/sip/2026-12-01_night`), so a report written again for the same period replaces itself.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brain.plant import Plant
from brain.report import charts as charts_module
from brain.report import html, png, xlsx
from brain.report.content import build
from brain.report.data import ReportData, Source, collect
from brain.report.period import Period, Scope

FILES = ("report.html", "report.png", "report.xlsx", "report.json")


@dataclass(frozen=True)
class Written:
    directory: Path
    model: dict[str, Any]
    records: list[dict[str, Any]]
    charts: dict[str, bytes]

    def path(self, name: str) -> Path:
        return self.directory / name


def report_dir(out: Path, period: Period, scope: Scope) -> Path:
    return out / scope.slug() / period.label.replace("/", "_").replace(":", "")


IMAGE_ROWS = 30  # rows of a table in report.png (a phone picture); the page and workbook have all


def image_model(model: dict[str, Any]) -> dict[str, Any]:
    """The model report.png shows: every tile and chart, each table cut to its first IMAGE_ROWS
    rows with a line saying how many more are in the page and the workbook (a 500-machine table
    is no phone picture, and its 15,000 px screenshot took 12 s of a 10 s report budget)."""
    tables = []
    for table in model["tables"]:
        more = len(table["rows"]) - IMAGE_ROWS
        tables.append({**table, "rows": table["rows"][:IMAGE_ROWS], "more": more} if more > 0 else table)
    return {**model, "tables": tables}


def write(data: ReportData, out: Path, *, lang: str = "en", with_png: bool = True) -> Written:
    model = build(data, lang, now_ms=int(time.time() * 1000))
    records = data.records()
    pictures = charts_module.render_all(model)
    directory = report_dir(out, data.period, data.scope)
    directory.mkdir(parents=True, exist_ok=True)
    page = directory / "report.html"
    page.write_text(html.render(model, pictures), encoding="utf-8")
    (directory / "report.xlsx").write_bytes(xlsx.workbook(model, records))
    body = {"report": model, "records": records}
    (directory / "report.json").write_text(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    if with_png:
        image = image_model(model)
        with tempfile.TemporaryDirectory(prefix="brain-report-") as tmp:
            image_page = Path(tmp) / "report.html"
            image_page.write_text(html.render(image, pictures), encoding="utf-8")
            png.screenshot(image_page, directory / "report.png", png.window_height(image))
    return Written(directory, model, records, pictures)


def make(
    plant: Plant,
    period: Period,
    scope: Scope,
    source: Source,
    out: Path,
    *,
    lang: str = "en",
    deadletters: int | None = None,
    with_png: bool = True,
) -> Written:
    data = collect(plant, period, scope, source)
    data.deadletters = deadletters
    return write(data, out, lang=lang, with_png=with_png)
