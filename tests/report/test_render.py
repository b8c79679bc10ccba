"""The report as a person sees it: the page rendered by headless Chromium (Debian's package,
installed by `brain stack install`) is not blank and shows every chart; a zh report renders its
Chinese text with a CJK font — in Chromium and in the charts — not as missing-glyph boxes; the
workbook has one sheet per table."""

from __future__ import annotations

import io
import subprocess
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brain.plant import load_plant
from brain.report.build import make
from brain.report.data import ReadingsSource
from brain.report.period import resolve_scope, shift_period
from brain.report.png import chromium_path, screenshot
from processors.kpi.cli import read_rows
from tests.report.helpers import simulate, write_plant


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("report-render")
    config = write_plant(root, f"v{uuid.uuid4().hex[:8]}")
    readings = simulate(config, root / "readings.jsonl", duration="16h")
    plant = load_plant(str(config))
    with open(readings, encoding="utf-8") as fh:
        rows = list(read_rows(fh, str(readings), plant.tz))
    return root, plant, ReadingsSource(plant, rows)


def _report(source, lang: str):
    root, plant, src = source
    period = shift_period(plant, "2026-02-13/night")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = make(plant, period, resolve_scope(plant, None, None), src, root / lang, lang=lang)
    return written, [str(w.message) for w in caught]


def _rgb(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _find(haystack: np.ndarray, needle: np.ndarray) -> tuple[int, int] | None:
    """(x, y) where `needle` appears pixel for pixel in `haystack` (a row search, then the block)."""
    h, w, _ = needle.shape
    probe_row = max(range(h), key=lambda r: len(np.unique(needle[r].reshape(-1, 3), axis=0)))
    probe = needle[probe_row].tobytes()
    for y in range(probe_row, haystack.shape[0] - (h - probe_row) + 1):
        row = haystack[y].tobytes()
        at = row.find(probe)
        while at != -1:
            if at % 3 == 0:
                x, top = at // 3, y - probe_row
                block = haystack[top : top + h, x : x + w]
                if block.shape == needle.shape and np.mean(block != needle) < 0.001:
                    return x, top
            at = row.find(probe, at + 1)
    return None


def test_the_screenshot_shows_every_chart(source) -> None:
    written, caught = _report(source, "en")
    shot = _rgb(written.path("report.png").read_bytes())
    assert shot.shape[1] == 1200 and shot.shape[0] > 1500, shot.shape
    assert shot.std() > 20 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 200, "a blank page"
    assert set(written.charts) == {"waterfall", "pareto", "output", "tou", "demand", "timeline"}
    for name, data in written.charts.items():
        chart = _rgb(data)
        assert chart.std() > 10, f"chart {name} is blank"
        assert _find(shot, chart) is not None, f"chart {name} is not in report.png"
    html = written.path("report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    assert html.count("data:image/png;base64,") == 6
    assert not [c for c in caught if "missing from font" in c]


def test_a_zh_report_renders_chinese_with_a_cjk_font(source, tmp_path: Path) -> None:
    written, caught = _report(source, "zh")
    assert not [c for c in caught if "missing from font" in c or "findfont" in c], caught
    html = written.path("report.html").read_text(encoding="utf-8")
    assert "班次报表" in html and "设备综合效率" in html
    # Chromium, with the page's own CSS: a zh string, another zh string and private-use code points
    # (which no font has). Without a CJK font all three are rows of identical boxes.
    style = html[html.index("<style>") : html.index("</style>") + 8]

    def shot(text: str) -> np.ndarray:
        page = tmp_path / f"probe-{abs(hash(text))}.html"
        page.write_text(
            f"<html><head><meta charset='utf-8'>{style}</head><body><div class='page'>"
            f"<header><h1>{text}</h1></header></div></body></html>",
            encoding="utf-8",
        )
        out = tmp_path / f"{page.stem}.png"
        screenshot(page, out, height=400)
        return _rgb(out.read_bytes())[:80]

    title, other, boxes = shot("班次报表设备综合效率"), shot("每小时产量分时电量"), shot("\ue000" * 10)
    assert not np.array_equal(title, boxes) and not np.array_equal(title, other)
    assert np.mean(title != boxes) > 0.001
    fc = subprocess.run(["fc-match", "Noto Sans CJK SC"], capture_output=True, text=True, check=True).stdout
    assert "NotoSansCJK" in fc, fc
    # the report image itself carries the zh page
    assert _rgb(written.path("report.png").read_bytes()).shape[0] > 1500


def test_workbook_has_a_sheet_per_table(source) -> None:
    from openpyxl import load_workbook

    written, _ = _report(source, "en")
    wb = load_workbook(written.path("report.xlsx"))
    titles = [t["title"] for t in written.model["tables"] if t["key"] != "summary"]
    assert set(titles) <= set(wb.sheetnames) and "records" in wb.sheetnames
    records = list(wb["records"].iter_rows(values_only=True))
    assert len(records) - 1 == len(written.records)
    machines = wb["Machines"]
    assert machines.max_row - 1 == sum(
        1 for r in written.records if r["scope"] == "machine" and r["window"] == "shift"
    )
    # every table's cells are the model's values, ratios in % format
    for table in written.model["tables"]:
        if table["key"] == "summary":
            continue
        ws = wb[table["title"][:31]]
        pct = [i for i, c in enumerate(table["columns"]) if c.get("unit") == "%"]
        for i, row in enumerate(table["rows"][:5], start=2):
            got = [c.value for c in ws[i]][: len(row)]
            want = [v if not isinstance(v, (dict, list)) else str(v) for v in row]
            # XlsxWriter writes 16 significant digits (Excel keeps 15): 1e-15, not bit for bit
            close = [pytest.approx(v, rel=1e-15) if isinstance(v, float) else v for v in want]
            assert got == close, table["key"]
            for c in pct:
                if row[c] is not None:
                    assert ws.cell(i, c + 1).number_format == "0.0%", (table["key"], c)


def test_chromium_is_debians(source) -> None:
    path = chromium_path()
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    assert "Chromium" in version and "Debian" in version, version
