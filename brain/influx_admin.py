"""InfluxDB 1.x administration the platform needs: run InfluxQL, create the sink's databases.

Used by `brain influx init` (a user's own server) and by `brain stack up` (the local one); 1.x
has no v2 buckets API we can use, so databases and retention policies go through InfluxQL.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

from brain import settings as _settings

# name -> (retention policy name, duration): raw readings are kept short, KPIs long
DATABASES = {
    _settings.RAW_DATABASE: ("raw", "7d"),
    _settings.KPI_DATABASE: ("kpi", "1825d"),
}


class InfluxAdminError(RuntimeError):
    """InfluxDB rejected a statement; the message holds the statement and the server's error."""


def influxql(url: str, statement: str, *, token: str = "") -> dict:
    """Run one InfluxQL statement through the v1 /query endpoint; raise on a statement error."""
    data = urllib.parse.urlencode({"q": statement}).encode()
    request = urllib.request.Request(f"{url}/query", data=data, method="POST")
    if token:
        request.add_header("Authorization", f"Token {token}")
    with urllib.request.urlopen(request, timeout=30) as resp:
        body = json.load(resp)
    for result in body.get("results", []):
        if "error" in result:
            raise InfluxAdminError(f"InfluxDB rejected {statement!r}: {result['error']}")
    return body


def database_names(url: str, *, token: str = "") -> set[str]:
    body = influxql(url, "SHOW DATABASES", token=token)
    return {row[0] for s in body["results"][0].get("series", []) for row in s.get("values", [])}


def ensure_databases(
    url: str, *, token: str = "", databases: dict[str, tuple[str, str]] | None = None
) -> None:
    """Create the raw and KPI databases with their default retention policies. Idempotent."""
    for db, (rp, duration) in (databases or DATABASES).items():
        if db not in database_names(url, token=token):
            influxql(
                url, f'CREATE DATABASE "{db}" WITH DURATION {duration} REPLICATION 1 NAME "{rp}"', token=token
            )
