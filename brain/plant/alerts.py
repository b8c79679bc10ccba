"""Alert rules in the plant config (`alerts:`): schema, validation and the `AlertRule` model.

Every problem raises `PlantConfigError` naming the file, the key path (`alerts[2].below`), what
was expected and what was found. Rule types declare their own keys as `Param` rows in
`RULE_PARAMS`; a pack adds a type with `register_rule_params(type, params)` (the alert engine's
`processors.alerts.register` does it for you). docs/CONFIG.md ("Alerts") documents the keys.

This module is pure: no I/O, no third-party imports.
"""

from __future__ import annotations

import fnmatch
import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from brain.plant.model import PlantConfigError, Site
from brain.vocabulary import (
    KPI_ENERGY_FIELDS,
    KPI_OUTPUT_FIELDS,
    KPI_QUANTITY_FIELDS,
    KPI_TIME_FIELDS,
    SCOPES,
    STATES,
    WINDOWS,
)

if TYPE_CHECKING:
    from brain.pack import Pack

SEVERITIES = ("info", "warning", "critical")
LEVELS = SCOPES
LANGUAGES = ("zh", "en")
RECORDS = ("final", "any")
KPI_WINDOWS = WINDOWS
KPI_NUMERIC_FIELDS = KPI_TIME_FIELDS + KPI_QUANTITY_FIELDS + KPI_OUTPUT_FIELDS + KPI_ENERGY_FIELDS
# Placeholders a message template may use (`{value:.2f}`, `{machine}`, ...).
TEMPLATE_FIELDS = (
    "id", "rule", "type", "state", "severity", "scope", "where", "site", "line", "machine", "value",
    "threshold", "clear", "started", "ended", "ts", "duration", "metric", "field", "window", "unit",
    "runbook",
)  # fmt: skip
COMMON_KEYS = ("id", "type", "scope", "severity", "for", "clear_for", "renotify", "message", "runbook",
               "description", "enabled")  # fmt: skip

_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_PATTERN = re.compile(r"^[A-Za-z0-9_.*?\[\]!-]+$")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


@dataclass(frozen=True, slots=True)
class Param:
    """One type-specific key: `kind` is number|positive|percent|duration|choice|name|bool|field
    (field: a numeric KPI record field, `choices` or a `<pack>_<kpi>` of the plant's packs)."""

    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True, slots=True)
class Selector:
    """Which site/line/machine a rule watches: shell-style patterns (`*`, `smt?`, `[ab]*`)."""

    site: str = "*"
    line: str = "*"
    machine: str = "*"

    def matches(self, site: str | None, line: str | None = None, machine: str | None = None) -> bool:
        """True when every given part matches (None parts, above the scope, are not checked)."""
        return all(
            value is None or fnmatch.fnmatchcase(value, pattern)
            for value, pattern in ((site, self.site), (line, self.line), (machine, self.machine))
        )


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One validated rule. Durations are seconds; `params` holds the type-specific keys (with
    their defaults filled in); `message` has a template per language (empty: the default)."""

    id: str
    type: str
    scope: Selector = field(default_factory=Selector)
    severity: str = "warning"
    for_s: float = 0.0
    clear_for_s: float = 0.0
    renotify_s: float | None = None
    message: dict[str, str] = field(default_factory=dict)
    runbook: str | None = None
    description: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


_DIRECTION = {
    "above": Param("number", help="fires when the value is above this"),
    "below": Param("number", help="fires when the value is below this"),
    "clear": Param("number", help="resolves only once the value is back beyond this (hysteresis)"),
}

RULE_PARAMS: dict[str, dict[str, Param]] = {
    "threshold": {"metric": Param("name", required=True), **_DIRECTION},
    "kpi": {
        "field": Param("field", required=True, choices=KPI_NUMERIC_FIELDS),
        "window": Param("choice", default="15m", choices=KPI_WINDOWS),
        "level": Param("choice", default="line", choices=LEVELS),
        "records": Param("choice", default="final", choices=RECORDS),
        **_DIRECTION,
    },
    "state_duration": {"state": Param("choice", default="fault", choices=STATES)},
    "stop_without_reason": {},  # `for` is the N minutes an unplanned stop may stay unlabelled
    "silence": {
        "metric": Param("name", help="only this metric counts as a sign of life"),
        "offline": Param("bool", default=True, help="a machine reporting state offline is silent"),
    },
    "demand_projection": {
        "factor": Param("positive", default=1.0),
        "clear": Param("positive"),
        "contracted_kw": Param("positive"),
        "min_elapsed": Param("duration", default=60.0),
        "metric": Param("name", default="energy_kwh"),
        "power_metric": Param("name", default="power_kw"),
    },
    "sec_deviation": {
        "baseline": Param("positive", required=True),
        "percent": Param("positive", required=True),
        "clear": Param("positive"),
        "direction": Param("choice", default="above", choices=("above", "below", "both")),
        "window": Param("choice", default="1h", choices=KPI_WINDOWS),
        "level": Param("choice", default="line", choices=LEVELS),
        "records": Param("choice", default="final", choices=RECORDS),
    },
    "deadletter_rate": {
        "above": Param("positive", required=True, help="dead letters per minute"),
        "clear": Param("number"),
        "window": Param("duration", default=60.0),
    },
}
# Types whose `for` is the condition itself (how long in a state / how long silent): required.
DURATION_TYPES = ("state_duration", "silence", "stop_without_reason")
# Types compared with `above:` or `below:` (exactly one).
DIRECTION_TYPES = ("threshold", "kpi")


def register_rule_params(rule_type: str, params: dict[str, Param]) -> None:
    """Declare a pack's rule type and its keys, so that configs using it validate."""
    if not _ID.match(rule_type):
        raise ValueError(f"rule type {rule_type!r}: expected letters, digits, '_', '-', '.'")
    RULE_PARAMS[rule_type] = dict(params)


def parse_duration(value: Any) -> float | None:
    """Seconds from a number (seconds) or "90s", "15m", "1h30m"; None when not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if value >= 0 else None
    if isinstance(value, str) and value.strip():
        m = _DURATION.match(value.strip())
        if m and any(m.groups()):
            h, mi, s = (float(x) if x else 0.0 for x in m.groups())
            return h * 3600 + mi * 60 + s
    return None


def template_fields(template: str) -> list[str]:
    """The placeholder names of a template; raises ValueError on a malformed one."""
    names = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.append(name.split(".")[0].split("[")[0])
    return names


def parse_alert_rules(
    data: Any, source: str, sites: tuple[Site, ...] = (), packs: tuple[Pack, ...] = ()
) -> tuple[AlertRule, ...]:
    """Validate the `alerts:` list against the plant's sites and packs (their KPI fields are rule
    fields too); raise PlantConfigError."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise PlantConfigError(source, "alerts", "a list of alert rules", data)
    fields = tuple(pack.field(kpi) for pack in packs for kpi in pack.kpis)
    rules = tuple(_Rule(source, f"alerts[{i}]", sites, fields).parse(item) for i, item in enumerate(data))
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.id in seen:
            raise PlantConfigError(source, f"alerts[{i}].id", "a unique rule id", rule.id)
        seen.add(rule.id)
    return tuple(r for r, raw in zip(rules, data, strict=True) if raw.get("enabled", True))


class _Rule:
    def __init__(self, source: str, path: str, sites: tuple[Site, ...], fields: tuple[str, ...] = ()) -> None:
        self.source, self.path, self.sites, self.pack_fields = source, path, sites, fields

    def fail(self, key: str, expected: str, found: Any) -> PlantConfigError:
        return PlantConfigError(self.source, f"{self.path}.{key}" if key else self.path, expected, found)

    def parse(self, data: Any) -> AlertRule:
        if not isinstance(data, dict):
            raise self.fail("", "a mapping (id, type, scope, severity, ...)", data)
        rule_id = data.get("id")
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise self.fail("id", "a rule id of letters, digits, '_', '-', '.'", rule_id)
        rtype = data.get("type")
        if rtype not in RULE_PARAMS:
            raise self.fail("type", "one of " + ", ".join(RULE_PARAMS), rtype)
        spec = RULE_PARAMS[rtype]
        for key in data:
            if key not in COMMON_KEYS and key not in spec:
                known = ", ".join((*COMMON_KEYS, *spec))
                raise self.fail(str(key), f"one of the keys of a {rtype} rule: {known} (unknown key)", key)
        params = {name: self.param(name, p, data) for name, p in spec.items()}
        self.check_type(rtype, params, data)
        severity = data.get("severity", "warning")
        if severity not in SEVERITIES:
            raise self.fail("severity", "one of " + ", ".join(SEVERITIES), severity)
        for_s = self.duration(data, "for", 0.0)
        if rtype in DURATION_TYPES and for_s <= 0:
            raise self.fail(
                "for", f"a duration > 0 (how long the {rtype} condition must last)", data.get("for")
            )
        renotify = self.duration(data, "renotify", 0.0)
        runbook = data.get("runbook")
        if runbook is not None and (
            not isinstance(runbook, str) or not runbook.startswith(("http://", "https://"))
        ):
            raise self.fail("runbook", "an http(s) URL", runbook)
        description = data.get("description")
        if description is not None and not isinstance(description, str):
            raise self.fail("description", "a string", description)
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            raise self.fail("enabled", "true or false", enabled)
        return AlertRule(
            id=rule_id,
            type=rtype,
            scope=self.selector(data.get("scope")),
            severity=severity,
            for_s=for_s,
            clear_for_s=self.duration(data, "clear_for", 0.0),
            renotify_s=renotify or None,
            message=self.messages(data.get("message")),
            runbook=runbook,
            description=description,
            params=params,
        )

    def param(self, name: str, p: Param, data: dict[str, Any]) -> Any:
        if name not in data or data[name] is None:
            if p.required:
                raise self.fail(name, f"a required key ({_expected(p)})", None)
            return p.default
        value = data[name]
        ok: Any = None
        if p.kind == "number":
            ok = value if _number(value) else None
        elif p.kind == "positive":
            ok = value if _number(value) and value > 0 else None
        elif p.kind == "duration":
            ok = parse_duration(value)
        elif p.kind == "choice":
            ok = value if value in p.choices else None
        elif p.kind == "field":
            if value not in (*p.choices, *self.pack_fields):
                packs = ", ".join(self.pack_fields) or "none: the plant lists no pack with KPIs"
                raise self.fail(name, f"one of {', '.join(p.choices)} or a pack KPI field ({packs})", value)
            ok = value
        elif p.kind == "name":
            ok = value if isinstance(value, str) and _ID.match(value) else None
        elif p.kind == "bool":
            ok = value if isinstance(value, bool) else None
        if ok is None:
            raise self.fail(name, _expected(p), value)
        return float(ok) if p.kind in ("number", "positive") else ok

    def check_type(self, rtype: str, params: dict[str, Any], data: dict[str, Any]) -> None:
        if rtype in DIRECTION_TYPES:
            given = [k for k in ("above", "below") if params.get(k) is not None]
            if len(given) != 1:
                raise self.fail("above", "exactly one of `above:` or `below:`", f"{len(given)} given")
            clear = params.get("clear")
            if clear is not None:
                limit = params[given[0]]
                if (given[0] == "above" and clear > limit) or (given[0] == "below" and clear < limit):
                    rel = "<=" if given[0] == "above" else ">="
                    raise self.fail(
                        "clear", f"a number {rel} {given[0]} ({limit:g}): the hysteresis band", clear
                    )
        if rtype == "demand_projection":
            clear = params.get("clear")
            if clear is not None and clear > params["factor"]:
                raise self.fail("clear", f"a factor <= factor ({params['factor']:g})", clear)
            if params.get("contracted_kw") is None:
                sel = self.scope_of(data)
                for site in self.sites:
                    watched = any(sel.matches(site.id, ln.id, m.id) for ln in site.lines for m in ln.machines)
                    if watched and site.contracted_demand_kw is None:
                        raise self.fail(
                            "contracted_kw",
                            f"a number > 0, or contracted_demand_kw on site {site.id!r}",
                            None,
                        )
        if rtype in ("sec_deviation", "deadletter_rate"):
            clear, limit = params.get("clear"), params.get("percent", params.get("above"))
            if clear is not None and limit is not None and clear > limit:
                raise self.fail("clear", f"a number <= {limit:g} (the hysteresis band)", clear)

    def duration(self, data: dict[str, Any], key: str, default: float) -> float:
        if data.get(key) is None:
            return default
        seconds = parse_duration(data[key])
        if seconds is None:
            raise self.fail(key, 'a duration: seconds, or "90s", "15m", "1h30m"', data[key])
        return seconds

    def scope_of(self, data: dict[str, Any]) -> Selector:
        raw = data.get("scope") or {}
        if isinstance(raw, dict):
            return Selector(**{k: str(raw.get(k, "*")) for k in LEVELS if k in raw})
        return Selector()

    def selector(self, raw: Any) -> Selector:
        if raw is None:
            return Selector()
        if isinstance(raw, str):  # "site/line/machine", shorter means the rest is "*"
            parts = raw.split("/")
            if len(parts) > 3:
                raise self.fail("scope", '"site[/line[/machine]]" or a mapping {site, line, machine}', raw)
            raw = dict(zip(LEVELS[::-1], parts, strict=False))
        if not isinstance(raw, dict):
            raise self.fail("scope", "a mapping {site, line, machine} of ids or patterns", raw)
        for key in raw:
            if key not in LEVELS:
                raise self.fail(f"scope.{key}", "one of the keys site, line, machine (unknown key)", key)
        values = {}
        for key in LEVELS:
            value = raw.get(key, "*")
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not _PATTERN.match(value):
                raise self.fail(f"scope.{key}", "an id or a pattern (*, ?, [..])", value)
            values[key] = value
        sel = Selector(values["site"], values["line"], values["machine"])
        self.check_matches(sel)
        return sel

    def check_matches(self, sel: Selector) -> None:
        """A selector that matches nothing in the plant is a typo: say which part."""
        if not self.sites:
            return
        sites = [s for s in self.sites if sel.matches(s.id)]
        if not sites:
            raise self.fail("scope.site", "a site id or pattern matching a site of the plant", sel.site)
        lines = [(s, ln) for s in sites for ln in s.lines if sel.matches(s.id, ln.id)]
        if not lines:
            raise self.fail(
                "scope.line", "a line id or pattern matching a line of the selected sites", sel.line
            )
        if not any(sel.matches(s.id, ln.id, m.id) for s, ln in lines for m in ln.machines):
            raise self.fail(
                "scope.machine",
                "a machine id or pattern matching a machine of the selected lines",
                sel.machine,
            )

    def messages(self, raw: Any) -> dict[str, str]:
        if raw is None:
            return {}
        if isinstance(raw, str):
            raw = dict.fromkeys(LANGUAGES, raw)
        if not isinstance(raw, dict):
            raise self.fail("message", "a mapping {zh: template, en: template} or one template", raw)
        out = {}
        for lang, text in raw.items():
            key = f"message.{lang}"
            if lang not in LANGUAGES:
                raise self.fail(key, "one of the languages " + ", ".join(LANGUAGES), lang)
            if not isinstance(text, str):
                raise self.fail(key, "a template string", text)
            try:
                names = template_fields(text)
            except ValueError as exc:
                raise self.fail(key, f"a valid template ({exc})", text) from None
            for name in names:
                if name not in TEMPLATE_FIELDS:
                    raise self.fail(
                        key, "placeholders among {" + "}, {".join(TEMPLATE_FIELDS) + "}", "{" + name + "}"
                    )
            out[lang] = text
        return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _expected(p: Param) -> str:
    return {
        "number": "a number",
        "positive": "a number > 0",
        "duration": 'a duration: seconds, or "90s", "15m", "1h30m"',
        "choice": "one of " + ", ".join(p.choices),
        "name": "a name of letters, digits, '_', '-', '.'",
        "bool": "true or false",
    }.get(p.kind, p.kind)
