"""Every query of a dashboard, and Grafana's macro substitution, for running them outside Grafana.

Used by the query verification (tests/dashboards/test_queries.py) and the end-to-end tests
(tests/e2e/): the same substitution Grafana does before a query reaches InfluxDB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from dashboards.flux import alert_annotations
from dashboards.model import Dashboard


def all_queries(d: Dashboard) -> list[tuple[str, str]]:
    """(name, Flux) of every panel, query variable and annotation of `d`."""
    queries = [(f"{d.key}: panel {p.title.en!r}", p.query) for p in d.panels]
    queries += [(f"{d.key}: variable {v.name}", v.query) for v in d.variables if v.kind == "query"]
    if d.alert_annotations:
        queries.append((f"{d.key}: annotation", alert_annotations()))
    return queries


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def substitute(
    query: str,
    *,
    variables: Mapping[str, str],
    start: datetime,
    stop: datetime,
    window_period: str = "1m",
) -> str:
    """What Grafana sends for this query: time macros and template variables `${name}` replaced."""
    out = (
        query.replace("v.timeRangeStart", _rfc3339(start))
        .replace("v.timeRangeStop", _rfc3339(stop))
        .replace("v.windowPeriod", window_period)
    )
    out = re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], out)
    if "${" in out or "v." in out.replace("v: ", ""):
        raise ValueError(f"a macro is left in the query:\n{out}")
    return out
