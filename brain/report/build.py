"""One report, written: records -> model -> report.html, report.png, report.xlsx, report.json.

`report.json` = {"report": the model (every number shown), "records": the KPI records used, as
`brain kpi` prints them}. The directory is `<out>/<site>[-<line>]/<period>` (e.g.
`reports/sip/2026-12-01_night`), so a report written again for the same period replaces itself.
"""

from __future__ import annotations

import json
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
        png.screenshot(page, directory / "report.png", png.window_height(model))
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
