"""Offline checks of dashboard JSON: Grafana's JSON model (the subset we use, as a JSON Schema) and
lint rules of the kind Grafana's dashboard-linter applies, plus our own (both languages agree,
the committed files are what the definitions render).

Why not grafana-foundation-sdk: its `Dashboard.from_json` reads known keys and ignores the rest,
with no validation, so it cannot fail a wrong dashboard. `dashboards/schema/dashboard.schema.json`
is written from Grafana's dashboard schema and rejects unknown keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).resolve().parent / "schema" / "dashboard.schema.json"
DATASOURCE = {"type": "influxdb", "uid": "${datasource}"}
# Grafana unit ids we allow (a typo shows raw numbers in Grafana without any error).
UNITS = frozenset(
    {
        "none", "string", "short", "sishort", "percent", "percentunit", "s", "ms", "m", "h", "d",
        "dtdurations", "dtdurationms", "watt", "kwatt", "megwatt", "watth", "kwatth", "mwatth",
        "kvar", "kvarh", "voltamp", "kvoltamp", "masskg", "masst", "currencyUSD", "currencyEUR",
        "currencyJPY", "dateTimeAsIso", "bool", "locale",
    }
)  # fmt: skip
CUSTOM_UNIT = re.compile(r"^(suffix|prefix):.+")
VARIABLE_REF = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
NO_QUERY_PANELS = frozenset({"text", "row"})


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: [{self.rule}] {self.message}"


def _schema_problems(name: str, doc: Any) -> Iterator[Problem]:
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - jsonschema comes with the dev extra
        raise SystemExit("brain dashboards check needs jsonschema: pip install -e '.[dev]'") from exc
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        yield Problem(name, "schema", f"{where}: {error.message}")


def _datasource_objects(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                yield f"{path}/{key}", value
            yield from _datasource_objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _datasource_objects(value, f"{path}/{i}")


def lint_one(name: str, doc: dict[str, Any]) -> Iterator[Problem]:
    """Rules on one dashboard."""
    variables = {v.get("name"): v for v in doc.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "influxdb":
        yield Problem(
            name, "template-datasource-rule", "needs a `datasource` variable of type datasource (influxdb)"
        )
    for path, ref in _datasource_objects(doc):
        uid = str(ref.get("uid", ""))
        builtin = ref.get("type") == "grafana" and uid == "-- Grafana --"
        if not builtin and not uid.startswith("${"):
            yield Problem(name, "no-hardcoded-datasource-uid", f"{path}: uid {uid!r}: use ${{datasource}}")
    if "site" not in variables and "period" not in variables:  # a factory's site, or a city's period
        yield Problem(name, "template-site-rule", "needs a `site` (factory) or `period` (city) variable")
    for var in variables.values():
        if var.get("type") != "query":
            continue
        if var.get("datasource") != DATASOURCE:
            yield Problem(
                name,
                "template-query-datasource",
                f"variable {var['name']}: datasource must be ${{datasource}}",
            )
        if "schema.tagValues" not in var.get("query", ""):
            yield Problem(
                name, "template-query-tagvalues", f"variable {var['name']}: query tags with schema.tagValues"
            )
    known = set(variables)
    queries: list[tuple[str, str]] = []
    ids: set[int] = set()
    for panel in doc.get("panels", []):
        where = f"panel {panel.get('id')} {panel.get('title', '')!r}"
        if panel.get("id") in ids:
            yield Problem(name, "panel-id-unique", f"{where}: id repeated")
        ids.add(panel.get("id"))
        if not str(panel.get("title", "")).strip():
            yield Problem(name, "panel-title-rule", f"{where}: no title")
        if panel.get("type") in NO_QUERY_PANELS:
            continue
        if panel.get("datasource") != DATASOURCE:
            yield Problem(
                name, "panel-datasource-rule", f"{where}: datasource must be the ${{datasource}} variable"
            )
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            yield Problem(name, "panel-units-rule", f"{where}: no unit")
        elif unit not in UNITS and not CUSTOM_UNIT.match(unit):
            yield Problem(name, "panel-units-rule", f"{where}: unknown unit {unit!r}")
        targets = [t for t in panel.get("targets", []) if str(t.get("query", "")).strip()]
        if not targets:
            yield Problem(name, "panel-query-rule", f"{where}: no query")
        for target in targets:
            if target.get("datasource", DATASOURCE) != DATASOURCE:
                yield Problem(
                    name, "target-datasource-rule", f"{where}: target datasource must be ${{datasource}}"
                )
            queries.append((where, target["query"]))
    for ann in doc.get("annotations", {}).get("list", []):
        if "target" in ann:
            queries.append((f"annotation {ann.get('name')!r}", ann["target"].get("query", "")))
    for where, query in queries:
        if "v.timeRangeStart" not in query and "v.timeRangeStop" not in query:
            yield Problem(
                name,
                "target-time-range-rule",
                f"{where}: query ignores the time range (v.timeRangeStart/Stop)",
            )
        for match in VARIABLE_REF.finditer(query):
            ref = match.group(1) or match.group(2)
            if not ref.startswith("__") and ref not in known:
                yield Problem(
                    name, "target-variables-rule", f"{where}: ${{{ref}}} is not a variable of this dashboard"
                )


def _shape(doc: dict[str, Any]) -> Any:
    """What must be equal between languages: everything but texts."""
    return [
        (
            p.get("id"),
            p.get("type"),
            p.get("gridPos"),
            p.get("targets"),
            p.get("fieldConfig", {}).get("defaults", {}).get("unit"),
        )
        for p in doc.get("panels", [])
    ] + [(v.get("name"), v.get("type"), v.get("query")) for v in doc.get("templating", {}).get("list", [])]


def lint_set(docs: dict[Path, dict[str, Any]]) -> Iterator[Problem]:
    """Rules across files: unique uids; each dashboard in every language, alike but for texts."""
    seen: dict[str, Path] = {}
    for path, doc in docs.items():
        uid = doc.get("uid")
        if uid in seen:
            yield Problem(str(path), "uid-unique-rule", f"uid {uid!r} also in {seen[uid]}")
        seen.setdefault(uid, path)
    by_key: dict[str, dict[str, tuple[Path, dict[str, Any]]]] = {}
    for path, doc in docs.items():
        by_key.setdefault(path.stem, {})[path.parent.name] = (path, doc)
    langs = {path.parent.name for path in docs}
    for key, versions in sorted(by_key.items()):
        for lang in sorted(langs - set(versions)):
            yield Problem(key, "languages-rule", f"no {lang} version")
        shapes = {lang: _shape(doc) for lang, (_, doc) in versions.items()}
        if len({json.dumps(s, sort_keys=True) for s in shapes.values()}) > 1:
            yield Problem(key, "languages-rule", f"languages differ in more than texts: {sorted(shapes)}")
        if "zh" in versions:
            path, doc = versions["zh"]
            for panel in doc.get("panels", []):
                if not CJK.search(panel.get("title", "")):
                    yield Problem(
                        str(path), "languages-rule", f"panel {panel.get('title')!r} is not in Chinese"
                    )


def check_directory(directory: Path, *, drift: bool = True) -> list[Problem]:
    """Every problem in `<directory>/<lang>/*.json`; empty when all is well."""
    problems: list[Problem] = []
    docs: dict[Path, dict[str, Any]] = {}
    files = sorted(directory.glob("*/*.json"))
    if not files:
        return [Problem(str(directory), "files", "no dashboards found (expected <lang>/<name>.json)")]
    for path in files:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(path), "json", str(exc)))
            continue
        docs[path] = doc
        problems += _schema_problems(str(path), doc)
        problems += lint_one(str(path), doc)
    problems += lint_set(docs)
    if drift:
        from dashboards.build import stale

        problems += [Problem(str(directory), "drift", text) for text in stale(directory)]
    return problems
