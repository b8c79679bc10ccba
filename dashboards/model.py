"""The small vocabulary dashboards are written in: one definition, two languages.

A dashboard is a table of `Panel` rows. Every human text is a `Text(en, zh)`; the Flux query and
everything else is shared, so the English and the Chinese dashboards cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brain.text import LANGUAGES as LANGUAGES  # the dashboards are written in these
from brain.text import Text as Text

DATASOURCE = {"type": "influxdb", "uid": "${datasource}"}


@dataclass(frozen=True, slots=True)
class Link:
    """A drill-down to another dashboard of the same language, carrying variables and the time range."""

    title: Text
    dashboard: str  # key of the target dashboard
    params: tuple[
        tuple[str, str], ...
    ]  # (variable, value expression), e.g. ("line", "${__field.labels.line}")
    field: str | None = None  # table column the link is put on; None = the whole value


@dataclass(frozen=True, slots=True)
class Mapping:
    """A value mapping: a raw value shown as a text, in a colour."""

    value: str
    text: Text
    color: str | None = None


@dataclass(frozen=True, slots=True)
class Panel:
    kind: str  # stat, gauge, bargauge, timeseries, table, barchart, piechart, state-timeline
    title: Text
    query: str  # Flux, with Grafana's macros and ${variables}
    unit: str
    w: int = 6
    h: int = 6
    description: Text | None = None
    thresholds: tuple[tuple[float | None, str], ...] = ()  # (from value, colour); first is the base
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    display_name: str | Text | None = None  # e.g. "${__field.labels.line}"
    links: tuple[Link, ...] = ()
    mappings: tuple[Mapping, ...] = ()
    names: tuple[tuple[str, Text], ...] = ()  # field (column) name -> shown name
    options: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)  # fieldConfig.defaults.custom


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    label: Text
    kind: str  # datasource, query, textbox, constant
    query: str = ""  # Flux for `query`, the default value for textbox/constant
    description: Text | None = None


@dataclass(frozen=True, slots=True)
class Dashboard:
    key: str  # overview -> uid brain-overview (en) / brain-overview-zh (zh); also the file name
    title: Text
    description: Text
    variables: tuple[Variable, ...]
    panels: tuple[Panel, ...]
    time_from: str = "now-24h"
    refresh: str = "1m"
    alert_annotations: bool = True


def uid(key: str, lang: str) -> str:
    """Dashboard uid; both languages can live side by side in one Grafana."""
    return f"brain-{key}" if lang == "en" else f"brain-{key}-{lang}"
