"""Render the dashboard definitions to Grafana dashboard JSON, one file per dashboard and language.

`brain dashboards build` writes `dashboards/json/<lang>/<key>.json`; `brain dashboards check`
fails when the committed files differ from what the definitions render.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brain.pack_registry import available
from dashboards import alerts, city, energy, flux, line, overview, packs
from dashboards.model import DATASOURCE, LANGUAGES, Dashboard, Link, Panel, Text, Variable, uid

CORE_DASHBOARDS: tuple[Dashboard, ...] = (
    overview.DASHBOARD,
    line.DASHBOARD,
    energy.DASHBOARD,
    alerts.DASHBOARD,
)
PACK_DASHBOARDS: tuple[Dashboard, ...] = packs.dashboards(available().values())  # one per installed pack
CITY_DASHBOARDS: tuple[Dashboard, ...] = city.DASHBOARDS  # the city side (brain_city)
DASHBOARDS: tuple[Dashboard, ...] = CORE_DASHBOARDS + CITY_DASHBOARDS + PACK_DASHBOARDS
JSON_DIR = Path(__file__).resolve().parent / "json"
SCHEMA_VERSION = 39  # Grafana 10.4 / 11.x dashboards
TAG = "industrial-brain"
GRID_WIDTH = 24


def _text(value: str | Text | None, lang: str) -> str | None:
    return value(lang) if isinstance(value, Text) else value


def _link(link: Link, lang: str) -> dict[str, Any]:
    query = "&".join(f"var-{name}={value}" for name, value in link.params)
    return {
        "title": link.title(lang),
        "url": f"/d/{uid(link.dashboard, lang)}/?{query}&${{__url_time_range}}",
    }


def _thresholds(steps: tuple[tuple[float | None, str], ...]) -> dict[str, Any]:
    steps = steps or ((None, "green"),)
    return {"mode": "absolute", "steps": [{"color": color, "value": value} for value, color in steps]}


def _field_config(panel: Panel, lang: str) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": _thresholds(panel.thresholds)}
    for key in ("min", "max", "decimals"):
        if getattr(panel, key) is not None:
            defaults[key] = getattr(panel, key)
    if panel.display_name:
        defaults["displayName"] = _text(panel.display_name, lang)
    by_threshold = panel.thresholds and panel.kind in ("stat", "gauge", "bargauge", "table")
    defaults["color"] = {"mode": "thresholds" if by_threshold else "palette-classic"}
    if panel.mappings:
        options = {
            m.value: {"index": i, "text": m.text(lang), **({"color": m.color} if m.color else {})}
            for i, m in enumerate(panel.mappings)
        }
        defaults["mappings"] = [{"type": "value", "options": options}]
    else:
        defaults["mappings"] = []
    whole = [_link(link, lang) for link in panel.links if link.field is None]
    if whole:
        defaults["links"] = whole
    if panel.custom:
        defaults["custom"] = panel.custom
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": "displayName", "value": text(lang)}],
        }
        for name, text in panel.names
        if f'"{name}"' in panel.query
    ]
    for link in panel.links:
        if link.field is not None:
            overrides.append(
                {
                    "matcher": {"id": "byName", "options": link.field},
                    "properties": [{"id": "links", "value": [_link(link, lang)]}],
                }
            )
    return {"defaults": defaults, "overrides": overrides}


def _panel(panel: Panel, lang: str, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title(lang),
        "datasource": dict(DATASOURCE),
        "gridPos": grid,
        "targets": [{"refId": "A", "datasource": dict(DATASOURCE), "query": panel.query}],
        "fieldConfig": _field_config(panel, lang),
        "options": dict(panel.options),
    }
    if panel.description:
        out["description"] = panel.description(lang)
    return out


def _layout(panels: tuple[Panel, ...]) -> list[dict[str, int]]:
    """Left to right, top to bottom, on Grafana's 24-column grid."""
    grids, x, y, row_h = [], 0, 0, 0
    for panel in panels:
        if x + panel.w > GRID_WIDTH:
            x, y, row_h = 0, y + row_h, 0
        grids.append({"x": x, "y": y, "w": panel.w, "h": panel.h})
        x, row_h = x + panel.w, max(row_h, panel.h)
    return grids


def _variable(var: Variable, lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": var.name, "label": var.label(lang), "type": var.kind, "hide": 0}
    if var.description:
        out["description"] = var.description(lang)
    if var.kind == "datasource":
        out.update(
            query=var.query, current={}, options=[], refresh=1, regex="", includeAll=False, multi=False
        )
    elif var.kind == "query":
        out.update(
            datasource=dict(DATASOURCE),
            query=var.query,
            definition=var.query,
            current={},
            options=[],
            refresh=2,  # on time range change: new sites and lines show up
            regex="",
            sort=1,
            includeAll=False,
            multi=False,
        )
    else:  # textbox, constant
        current = {"text": var.query, "value": var.query}
        out.update(query=var.query, current=current, options=[{"selected": True, **current}])
    return out


def _annotations(dashboard: Dashboard, lang: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }
    ]
    if dashboard.alert_annotations:
        items.append(
            {
                "name": Text("Alerts firing", "告警触发")(lang),
                "datasource": dict(DATASOURCE),
                "enable": True,
                "hide": False,
                "iconColor": "red",
                "target": {
                    "refId": "Anno",
                    "datasource": dict(DATASOURCE),
                    "query": flux.alert_annotations(),
                },
            }
        )
    return {"list": items}


def render(dashboard: Dashboard, lang: str) -> dict[str, Any]:
    """One dashboard in one language, as Grafana's dashboard JSON model."""
    grids = _layout(dashboard.panels)
    return {
        "uid": uid(dashboard.key, lang),
        "title": dashboard.title(lang),
        "description": dashboard.description(lang),
        "tags": [TAG, lang],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": dashboard.refresh,
        "time": {"from": dashboard.time_from, "to": "now"},
        "links": [
            {
                "type": "dashboards",
                "title": Text("Industrial Brain", "工业大脑")(lang),
                "tags": [TAG, lang],
                "asDropdown": False,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": _annotations(dashboard, lang),
        "templating": {"list": [_variable(v, lang) for v in dashboard.variables]},
        "panels": [_panel(p, lang, i + 1, grids[i]) for i, p in enumerate(dashboard.panels)],
    }


def render_all() -> dict[Path, str]:
    """Relative path (`<lang>/<key>.json`) -> file text, for every dashboard and language."""
    return {
        Path(lang) / f"{d.key}.json": json.dumps(render(d, lang), indent=2, ensure_ascii=False) + "\n"
        for lang in LANGUAGES
        for d in DASHBOARDS
    }


def write(directory: Path = JSON_DIR) -> list[Path]:
    """Write every dashboard file; returns the paths written."""
    written = []
    for rel, text in render_all().items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(directory: Path = JSON_DIR) -> list[str]:
    """Committed files that differ from (or are missing against) the definitions."""
    expected = render_all()
    problems = [
        f"{directory / rel}: out of date, run `brain dashboards build`"
        for rel, text in expected.items()
        if not (directory / rel).is_file() or (directory / rel).read_text(encoding="utf-8") != text
    ]
    extra = {p.relative_to(directory) for p in directory.glob("*/*.json")} - set(expected)
    problems += [f"{directory / rel}: not produced by any definition (remove it)" for rel in sorted(extra)]
    return problems
