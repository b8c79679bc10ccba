"""`brain influx init`: create the sink's databases (1.x) or buckets (2.x) with their retention.

InfluxDB 1.x (what `brain stack up` and docker-compose run): databases `brain_raw` and `brain_kpi`
through InfluxQL, each with a default retention policy (`raw`, `kpi`) of the given duration.
`brain stack up` already does this for the local stack; this command is for a user's own server.
InfluxDB 2.x: buckets `brain_raw` and `brain_kpi` in `--org` via the buckets API (the token needs
write access to buckets); the sink then writes to the same names.

The version is read from /ping's X-Influxdb-Version header, then /health; a server that reports
neither (e.g. a 1.x built with `go install`, which says "unknown") is 2.x if it serves
/api/v2/orgs and 1.x if it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request

from brain import settings as _settings
from brain.influx_admin import InfluxAdminError, database_names, ensure_databases, influxql

_UNITS = {
    "w": 604800,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0.001,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}
_DURATION = re.compile(r"(\d+)(ns|us|µs|ms|s|m|h|d|w)")


def duration_s(text: str) -> float:
    """InfluxQL/Go duration ("7d", "168h0m0s", "1w2d", "INF", "0s") -> seconds; 0 means infinite."""
    text = text.strip()
    if text.upper() == "INF":
        return 0.0
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 7d, 168h, 1w, INF)")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def major_version(version: str | None) -> int | None:
    """ "1.8.10" -> 1, "v2.7.4" -> 2, "unknown"/None -> None."""
    match = re.match(r"v?(\d+)\.", version or "")
    return int(match.group(1)) if match else None


def _get(url: str, token: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers or {}), exc.read()


def detect_major(url: str, token: str = "") -> int:
    """1 or 2 (3.x and later answer the 2.x API and are treated as 2)."""
    _, headers, _ = _get(f"{url}/ping", token)
    found = major_version(headers.get("X-Influxdb-Version"))
    if found is None:
        status, _, body = _get(f"{url}/health", token)
        if status == 200:
            try:
                found = major_version(str(json.loads(body).get("version")))
            except ValueError:
                found = None
    if found is None:
        status, _, _ = _get(f"{url}/api/v2/orgs", token)
        found = 1 if status == 404 else 2
    return 1 if found == 1 else 2


def init_v1(url: str, token: str, wanted: dict[str, tuple[str, str]], *, alter: bool) -> list[str]:
    """Databases with a default retention policy each; returns what was done (one line each)."""
    done = []
    before = database_names(url, token=token)
    ensure_databases(url, token=token, databases=wanted)
    for db, (rp, duration) in wanted.items():
        if db not in before:
            done.append(f"created database {db} with retention policy {rp} ({duration}, default)")
            continue
        rows = influxql(url, f'SHOW RETENTION POLICIES ON "{db}"', token=token)["results"][0]
        series = rows.get("series", [{}])[0]
        policies = {
            row[0]: dict(zip(series["columns"], row, strict=True)) for row in series.get("values", [])
        }
        policy = policies.get(rp)
        if policy is None:
            influxql(
                url,
                f'CREATE RETENTION POLICY "{rp}" ON "{db}" DURATION {duration} REPLICATION 1 DEFAULT',
                token=token,
            )
            done.append(f"database {db}: created retention policy {rp} ({duration}, default)")
            continue
        if duration_s(policy["duration"]) != duration_s(duration):
            if alter:
                influxql(
                    url, f'ALTER RETENTION POLICY "{rp}" ON "{db}" DURATION {duration} DEFAULT', token=token
                )
                done.append(
                    f"database {db}: retention policy {rp} changed from {policy['duration']} to {duration}"
                )
            else:
                done.append(
                    f"database {db}: retention policy {rp} is {policy['duration']}, not {duration}; "
                    "left as it is (--alter changes it; shortening it deletes older data)"
                )
        elif not policy.get("default"):
            influxql(url, f'ALTER RETENTION POLICY "{rp}" ON "{db}" DEFAULT', token=token)
            done.append(f"database {db}: retention policy {rp} made the default")
        else:
            done.append(f"database {db}: retention policy {rp} ({policy['duration']}) already there")
    return done


def init_v2(url: str, token: str, org: str, wanted: dict[str, float]) -> list[str]:
    """Buckets with the given retention (seconds, 0 = infinite) in `org`; existing ones are kept."""
    from influxdb_client import BucketRetentionRules, InfluxDBClient

    done = []
    with InfluxDBClient(url=url, token=token, org=org, timeout=30_000) as client:
        api = client.buckets_api()
        for name, seconds in wanted.items():
            if api.find_bucket_by_name(name) is not None:
                done.append(f"bucket {name} already there (retention not changed)")
                continue
            rules = BucketRetentionRules(type="expire", every_seconds=int(seconds))
            api.create_bucket(bucket_name=name, retention_rules=rules, org=org)
            done.append(f"created bucket {name} (retention {int(seconds)}s)")
    return done


def configure(parser: argparse.ArgumentParser) -> None:
    settings = _settings.Settings.from_env()
    parser.add_argument("action", choices=["init"], help="init: create databases/buckets and retention")
    parser.add_argument("--url", default=settings.influx_url, help="default: BRAIN_INFLUX_URL")
    parser.add_argument(
        "--token",
        default=settings.influx_token,
        help="1.x: user:password (or nothing with auth off); 2.x: an API token (default: BRAIN_INFLUX_TOKEN)",
    )
    parser.add_argument(
        "--org", default=settings.influx_org, help="2.x organisation (default: BRAIN_INFLUX_ORG)"
    )
    parser.add_argument("--raw-retention", default=os.environ.get("BRAIN_INFLUX_RAW_RETENTION", "7d"))
    parser.add_argument("--kpi-retention", default=os.environ.get("BRAIN_INFLUX_KPI_RETENTION", "1825d"))
    parser.add_argument("--raw-db", default=_settings.RAW_DATABASE, help="database/bucket for raw readings")
    parser.add_argument(
        "--kpi-db", default=_settings.KPI_DATABASE, help="database/bucket for KPIs and alerts"
    )
    parser.add_argument(
        "--alter", action="store_true", help="1.x: change an existing retention policy's duration"
    )
    parser.add_argument(
        "--server-version", dest="major", type=int, choices=[1, 2], help="1 or 2: skip detection"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/")
    try:
        durations = {args.raw_db: args.raw_retention, args.kpi_db: args.kpi_retention}
        for text in durations.values():
            duration_s(text)
        major = args.major or detect_major(url, args.token)
        if major == 1:
            wanted = {args.raw_db: ("raw", args.raw_retention), args.kpi_db: ("kpi", args.kpi_retention)}
            done = init_v1(url, args.token, wanted, alter=args.alter)
        else:
            done = init_v2(url, args.token, args.org, {db: duration_s(d) for db, d in durations.items()})
    except (OSError, ValueError, InfluxAdminError) as exc:
        print(f"brain influx init: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # influxdb-client's ApiException and friends, with the server's message
        print(f"brain influx init: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"InfluxDB {major}.x at {url}:")
    for line in done:
        print(f"  {line}")
    return 0
