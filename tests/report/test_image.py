"""report.png shows each table's first rows only (a phone picture); the page and workbook keep all."""

from __future__ import annotations

from brain.report.build import IMAGE_ROWS, image_model
from brain.report.html import render


def _model(rows: int) -> dict:
    table = {"key": "machines", "title": "Machines", "columns": [{"label": "machine", "key": "m"}],
             "rows": [[f"m{i:03d}"] for i in range(rows)]}  # fmt: skip
    return {"tables": [table, {**table, "key": "lines", "rows": [["l1"]]}], "alerts": []}


def test_long_tables_are_cut_with_a_line_saying_how_many_more() -> None:
    model = _model(IMAGE_ROWS + 470)
    image = image_model(model)
    machines, lines = image["tables"]
    assert [r[0] for r in machines["rows"]] == [f"m{i:03d}" for i in range(IMAGE_ROWS)]
    assert machines["more"] == 470 and "more" not in lines and lines["rows"] == [["l1"]]
    assert len(model["tables"][0]["rows"]) == IMAGE_ROWS + 470  # the page's model is untouched


def test_a_table_that_fits_is_shown_whole() -> None:
    model = _model(IMAGE_ROWS)
    assert image_model(model)["tables"][0] is model["tables"][0]


def test_the_image_page_of_a_real_report_says_where_the_rest_is(monkeypatch) -> None:
    """A real report's model (the KPI core on simulated readings), cut to 2 rows a table: the
    image page names how many rows are elsewhere and lacks them; the full page has them."""
    import tempfile
    from pathlib import Path

    import brain.report.build as build
    from brain.plant import load_plant
    from brain.report.content import build as build_model
    from brain.report.data import ReadingsSource, collect
    from brain.report.period import resolve_scope, shift_period
    from processors.kpi.cli import read_rows
    from tests.report.helpers import simulate, write_plant

    root = Path(tempfile.mkdtemp())
    config = write_plant(root, "img")
    readings = simulate(config, root / "readings.jsonl", duration="14h")
    plant = load_plant(str(config))
    with open(readings, encoding="utf-8") as fh:
        rows = list(read_rows(fh, str(readings), plant.tz))
    period = shift_period(plant, "2026-02-13/night")
    data = collect(plant, period, resolve_scope(plant, None, None), ReadingsSource(plant, rows))
    model = build_model(data, "en", now_ms=0)
    monkeypatch.setattr(build, "IMAGE_ROWS", 2)
    image = build.image_model(model)
    cut = [t for t in image["tables"] if t.get("more")]
    assert cut, "no table of this report has more than 2 rows"
    page, full = render(image, {}), render(model, {})
    for table in cut:
        assert f"… {table['more']} more rows in report.html and report.xlsx" in page
        hidden = next(t for t in model["tables"] if t["key"] == table["key"])["rows"][2]
        assert str(hidden[0]) in full
