"""Offline: a pack's dashboard comes from its rows alone (a new pack needs no dashboard code), passes
the schema and lint rules in both languages, and a bad special panel is a clear error."""

from __future__ import annotations

from dataclasses import replace

import pytest

from brain.pack import Kpi, Metric, Pack, ratio
from brain.pack_registry import available
from brain.text import Text
from brain.vocabulary import COUNTER
from dashboards import packs
from dashboards.build import render
from dashboards.check import _schema_problems, lint_one, lint_set

NEW = Pack(
    id="dyeing",
    title=Text("Dyeing", "染色"),
    metrics=(Metric("batches", COUNTER), Metric("redyes", COUNTER)),
    kpis=(
        Kpi(
            "redye_ratio", "ratio", Text("Re-dye ratio", "回修率"), lambda s: ratio(s["redyes"], s["batches"])
        ),
        Kpi("batches", "batches", Text("Batches", "缸数"), lambda s: s["batches"]),
    ),
)


def test_a_new_pack_gets_its_dashboard_from_its_rows() -> None:
    d = packs.dashboard(NEW)
    assert d.key == "pack-dyeing"
    docs = {}
    for lang in ("en", "zh"):
        doc = render(d, lang)
        assert [*_schema_problems("x", doc), *lint_one("x", doc)] == []
        docs[f"{lang}/{d.key}.json"] = doc
    from pathlib import Path

    assert list(lint_set({Path(k): v for k, v in docs.items()})) == []
    units = [p["fieldConfig"]["defaults"]["unit"] for p in render(d, "en")["panels"]]
    assert units == ["percentunit", "suffix: batches"] * 2
    for kpi in NEW.kpis:
        assert sum(f'"dyeing_{kpi.name}"' in p.query for p in d.panels) == 2
        assert all('r._measurement == "dyeing"' in p.query for p in d.panels)


def test_special_panels_come_after_the_kpi_panels() -> None:
    battery = available()["battery"]
    d = packs.dashboard(battery)
    assert d.panels[-1] is battery.extras["panels"][0]
    assert len(d.panels) == 2 * len(battery.kpis) + 1


def test_a_special_panel_that_is_not_a_panel_is_an_error() -> None:
    bad = replace(NEW, extras={"panels": ({"title": "mine"},)})
    with pytest.raises(
        TypeError,
        match=r"pack 'dyeing': extras\['panels'\]: expected dashboards.model.Panel rows, found dict",
    ):
        packs.dashboard(bad)


@pytest.mark.parametrize(
    "unit,grafana",
    [("ratio", "percentunit"), ("%", "percent"), ("s", "s"), ("", "none"), ("ppm", "suffix: ppm")],
)
def test_units(unit: str, grafana: str) -> None:
    assert packs.grafana_unit(unit) == grafana
