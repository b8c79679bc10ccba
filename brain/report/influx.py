"""KPI records and alert events back from InfluxDB, as `brain kpi` prints them.

The sink writes a KPI record as an `oee` point, an `energy` point and one point per pack in
measurement `<pack id>` with its `<pack>_<kpi>` fields (docs/SCHEMA.md): tags
`scope, site, line, machine, window, shift`, timestamp = window start, time elements and
quantities always (null as 0.0), everything else only when not null. `records_from_rows` turns
the points back into records with the same nulls: time elements and `failures` are null for a
scope without timed machines (a meter), `pq`/`sq`/`gq` are null when the window had no counter
data (then `throughput_per_h`, which the core sets for every counted window, is absent), `gq` is
null when the scrap count exceeds the produced count (the core's rule), any other field is null
when it was not written; a scope with machines of a pack has each of that pack's fields (null when
not written), as `brain kpi` prints them. The query functions are pure strings; `InfluxReader` is
the thin I/O.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from brain.plant import Plant
from brain.settings import KPI_DATABASE, Settings
from brain.vocabulary import KPI_IDENTITY_FIELDS, KPI_QUANTITY_FIELDS, KPI_RECORD_FIELDS, KPI_TIME_FIELDS
from dashboards.flux import KPI_BUCKET
from processors.kpi.oee import good_quantity

_TAGS = ("scope", "site", "line", "machine", "window", "shift")
_COLUMNS = json.dumps(["_time", "_field", "_value", *_TAGS])
_BOOL_FIELDS = ("final", "performance_suspect")


class InfluxUnavailable(RuntimeError):
    """InfluxDB did not answer (down, timing out, 5xx): the caller retries."""


def _rfc3339_ms(ms: int) -> str:
    import datetime as dt

    t = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _str(value: str) -> str:
    return json.dumps(value)  # a Flux string literal (quotes and backslashes escaped)


def kpi_query(
    *,
    site: str,
    window: str,
    start: int,
    stop: int,
    scopes: Iterable[str],
    line: str | None = None,
    machines: Iterable[str] | None = None,
    packs: Iterable[str] = (),
) -> str:
    """Flux: every field of the `oee`, `energy` (and the packs') points of one window kind, stamped
    in [start, stop)."""
    measurements = ("oee", "energy", *packs)
    preds = [
        "(" + " or ".join(f"r._measurement == {_str(m)}" for m in measurements) + ")",
        f"r.site == {_str(site)}",
        f"r.window == {_str(window)}",
        "(" + " or ".join(f"r.scope == {_str(s)}" for s in scopes) + ")",
    ]
    if line is not None:
        preds.append(f'(r.scope == "site" or r.line == {_str(line)})')
    if machines is not None:
        # equalities, not contains(): InfluxDB pushes these down to its storage (a 500-machine
        # day report's timeline query: 0.6 s instead of 29 s, docs/BENCHMARKS.md "Reports")
        names = " or ".join(f"r.machine == {_str(m)}" for m in machines) or "false"
        preds.append(f'(r.scope != "machine" or {names})')
    return (
        f'from(bucket: "{KPI_BUCKET}")\n'
        f"  |> range(start: {_rfc3339_ms(start)}, stop: {_rfc3339_ms(stop)})\n"
        f"  |> filter(fn: (r) => {' and '.join(preds)})\n"
        f"  |> keep(columns: {_COLUMNS})"
    )


def alerts_query(*, site: str, start: int, stop: int) -> str:
    """Flux: the alert events of a site in [start, stop)."""
    return (
        f'from(bucket: "{KPI_BUCKET}")\n'
        f"  |> range(start: {_rfc3339_ms(start)}, stop: {_rfc3339_ms(stop)})\n"
        f'  |> filter(fn: (r) => r._measurement == "alert" and r.site == {_str(site)})\n'
        '  |> keep(columns: ["_time", "_field", "_value", "rule", "state", "severity", "scope", "site", '
        '"line", "machine"])'
    )


def _epoch_ms(text: str) -> int:
    """RFC 3339 (UTC, up to nanoseconds) -> epoch ms."""
    import datetime as dt

    base, _, frac = text.rstrip("Z").partition(".")
    t = dt.datetime.fromisoformat(base).replace(tzinfo=dt.UTC)
    return int(t.timestamp()) * 1000 + (int((frac + "000")[:3]) if frac else 0)


def parse_csv(text: str) -> list[dict[str, str]]:
    """InfluxDB's CSV answer (header rows repeat per table; blank lines between tables) -> rows."""
    out: list[dict[str, str]] = []
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row or all(c == "" for c in row):
            header = None
            continue
        if header is None:
            header = row
            continue
        out.append(dict(zip(header, row, strict=False)))
    return out


def _value(field: str, text: str) -> Any:
    if field in _BOOL_FIELDS:
        return text == "true"
    if field == "end":
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def records_from_rows(rows: Iterable[dict[str, str]], plant: Plant) -> list[dict[str, Any]]:
    """Field rows (one per point field) -> KPI records v1 + extras, nulls restored (module doc)."""
    points: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = (_epoch_ms(row["_time"]), *(row.get(t) or None for t in _TAGS))
        points.setdefault(key, {})[row["_field"]] = _value(row["_field"], row["_value"])
    timed_scopes = _timed_scopes(plant)
    scope_packs = _scope_packs(plant)
    out = []
    for (start, scope, site, line, machine, window, shift), fields in points.items():
        if "end" not in fields:
            continue
        rec: dict[str, Any] = {
            "scope": scope,
            "site": site,
            "line": line,
            "machine": machine,
            "window": window,
            "start": start,
            "end": fields["end"],
            "shift": shift,
            "final": bool(fields.get("final")),
        }
        timed = (scope, site, line if scope != "site" else None, machine) in timed_scopes
        counted = "throughput_per_h" in fields
        for name in KPI_RECORD_FIELDS[len(KPI_IDENTITY_FIELDS) :]:
            rec[name] = fields.get(name)
        for name in KPI_TIME_FIELDS:
            rec[name] = fields.get(name, 0.0) if timed else None
        rec["failures"] = int(fields.get("failures", 0.0)) if timed else None
        for name in KPI_QUANTITY_FIELDS[:3]:
            rec[name] = fields.get(name, 0.0) if counted else None
        if counted and good_quantity(rec["pq"], rec["sq"]) is None:
            rec["gq"] = None
        for name in scope_packs.get((scope, site, line if scope != "site" else None, machine), ()):
            rec[name] = fields.get(name)
        out.append(rec)
    out.sort(key=lambda r: (r["start"], r["end"], r["site"], r["line"] or "", r["machine"] or ""))
    return out


def _timed_scopes(plant: Plant) -> set[tuple[str, str, str | None, str | None]]:
    """(scope, site, line, machine) of every scope with at least one machine that is not a meter."""
    out: set[tuple[str, str, str | None, str | None]] = set()
    for s, ln, m in plant.machines():
        if m.kind != "meter":
            out.update(
                {("machine", s.id, ln.id, m.id), ("line", s.id, ln.id, None), ("site", s.id, None, None)}
            )
    return out


def _scope_packs(plant: Plant) -> dict[tuple[str, str, str | None, str | None], list[str]]:
    """(scope, site, line, machine) -> the `<pack>_<kpi>` fields its records carry: those of the
    packs of its machines (processors/kpi/packs.py pack_fields), in the plant's pack order."""
    from brain.pack_registry import get

    out: dict[tuple[str, str, str | None, str | None], list[str]] = {}
    for pid in plant.packs:
        pack = get(pid)
        names = [pack.field(k) for k in pack.kpis]
        for s, ln, m in plant.machines():
            if m.pack != pid:
                continue
            for key in (
                ("machine", s.id, ln.id, m.id),
                ("line", s.id, ln.id, None),
                ("site", s.id, None, None),
            ):
                fields = out.setdefault(key, [])
                if names[0] not in fields:
                    fields += names
    return out


def alert_events(rows: Iterable[dict[str, str]]) -> list[dict[str, Any]]:
    """Alert field rows -> events (one per point), oldest first."""
    points: dict[tuple, dict[str, Any]] = {}
    tags = ("rule", "state", "severity", "scope", "site", "line", "machine")
    for row in rows:
        key = (_epoch_ms(row["_time"]), *(row.get(t) or None for t in tags))
        field, text = row["_field"], row["_value"]
        value: Any = text
        if field in ("value", "threshold"):
            value = float(text)
        elif field in ("started", "ended"):
            value = int(text)
        points.setdefault(key, {})[field] = value
    out = [dict(zip(("ts", *tags), key, strict=True)) | fields for key, fields in points.items()]
    return sorted(out, key=lambda e: e["ts"])


@dataclass
class InfluxReader:
    """Runs the queries above on InfluxDB's HTTP API (1.x with Flux, or 2.x)."""

    settings: Settings
    timeout_s: float = 30.0
    database: str = KPI_DATABASE

    def query(self, flux: str) -> list[dict[str, str]]:
        url = self.settings.influx_url.rstrip("/") + f"/api/v2/query?org={self.settings.influx_org}"
        body = json.dumps({"query": flux, "type": "flux", "dialect": {"annotations": [], "header": True}})
        headers = {"Content-Type": "application/json", "Accept": "application/csv"}
        if self.settings.influx_token:
            headers["Authorization"] = f"Token {self.settings.influx_token}"
        req = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return parse_csv(resp.read().decode())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code >= 500 or exc.code in (401, 403, 404, 429):
                raise InfluxUnavailable(f"InfluxDB answered HTTP {exc.code}: {detail}") from None
            raise ValueError(f"InfluxDB refused the query (HTTP {exc.code}): {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InfluxUnavailable(f"InfluxDB at {self.settings.influx_url} unreachable: {reason}") from None

    def records(self, plant: Plant, **query: Any) -> list[dict[str, Any]]:
        query.setdefault("packs", plant.packs)
        return records_from_rows(self.query(kpi_query(**query)), plant)

    def alerts(self, *, site: str, start: int, stop: int) -> list[dict[str, Any]]:
        return alert_events(self.query(alerts_query(site=site, start=start, stop=stop)))
