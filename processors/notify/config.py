"""NOTIFY.yaml: who gets which alerts, how (`brain notify --config NOTIFY.yaml`).

    mqtt: {enabled: true, qos: 1}           # brain/v1/alerts/{site}/{line}/{machine}/{rule}
    receivers:
      ops_dingtalk: {kind: dingtalk, url_env: DINGTALK_URL, secret_env: DINGTALK_SECRET}
      ...
    routes:
      - {site: "*", line: "*", severity: [warning, critical], receivers: [ops_dingtalk]}
    reports:                                 # `brain reports`: shift/day/month reports (docs/REPORTS.md)
      files_url: https://reports.example.com/  # optional: where the report directory is published
      subscriptions:
        - {site: sip, periods: [shift, day], lang: zh, receivers: [ops_dingtalk, plant_mail]}

An `email` receiver (reports only) names its SMTP server and addresses in the file and its login
in the environment (`username_env`, `password_env`); STARTTLS is on unless `starttls: false`.

Secrets never live in this file: a receiver names environment variables (`url_env`, and
`secret_env` for signing); a key like `url`, `secret`, `token` or `key` is rejected. Errors name
the file, key path, expected and found (like the plant config), never a secret's value.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field
from typing import Any

from brain.plant.alerts import SEVERITIES
from brain.vocabulary import ALERT_STATES

KINDS = ("dingtalk", "wecom", "feishu", "generic", "email")
WEBHOOK_KINDS = ("dingtalk", "wecom", "feishu", "generic")
REPORT_PERIODS = ("shift", "day", "month")
LANGS = ("zh", "en", "both")
STATES = ALERT_STATES
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ID = re.compile(r"^[A-Za-z0-9_.-]+$")
_SECRET_KEYS = ("url", "webhook", "secret", "token", "key", "access_token", "password")


class NotifyConfigError(ValueError):
    def __init__(self, source: str, path: str, expected: str, found: Any) -> None:
        shown = (
            "a mapping" if isinstance(found, dict) else ("a list" if isinstance(found, list) else repr(found))
        )
        super().__init__(f"{source}: {path}: expected {expected}, found {shown}")


@dataclass(frozen=True, slots=True)
class EmailOptions:
    """SMTP server and addresses of an `email` receiver; the login comes from the environment."""

    host: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    port: int = 587
    starttls: bool = True
    username_env: str | None = None
    password_env: str | None = None
    ca_file: str | None = None  # a private CA to trust for STARTTLS (default: the system's)


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str
    kind: str
    url_env: str = ""
    secret_env: str | None = None
    lang: str = "zh"
    rate_per_min: float = 20.0  # DingTalk allows 20 messages a minute per robot
    max_attempts: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 10.0
    max_wait_s: float = 60.0  # longest wait for the rate limit before giving up (dead letter)
    email: EmailOptions | None = None

    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable this receiver needs (names only)."""
        names = [self.url_env, self.secret_env]
        if self.email is not None:
            names += [self.email.username_env, self.email.password_env]
        return tuple(n for n in names if n)

    def url(self, env: dict[str, str] | None = None) -> str:
        return (os.environ if env is None else env)[self.url_env]

    def secret(self, env: dict[str, str] | None = None) -> str | None:
        return None if self.secret_env is None else (os.environ if env is None else env)[self.secret_env]


@dataclass(frozen=True, slots=True)
class Route:
    receivers: tuple[str, ...]
    site: str = "*"
    line: str = "*"
    severities: tuple[str, ...] = SEVERITIES
    states: tuple[str, ...] = STATES
    rules: str = "*"

    def matches(self, event: dict[str, Any]) -> bool:
        line = event.get("line") or "-"
        return (
            fnmatch.fnmatchcase(str(event.get("site")), self.site)
            and (self.line == "*" or fnmatch.fnmatchcase(line, self.line))
            and event.get("severity") in self.severities
            and event.get("state") in self.states
            and fnmatch.fnmatchcase(str(event.get("rule")), self.rules)
        )


@dataclass(frozen=True, slots=True)
class MqttOptions:
    enabled: bool = True
    qos: int = 1
    prefix: str = "brain/v1/alerts"
    client_id: str = "brain-notify"


@dataclass(frozen=True, slots=True)
class Subscription:
    """Who gets the reports of a site (or of each line matching `line`), for which periods."""

    receivers: tuple[str, ...]
    site: str = "*"
    line: str | None = None  # None: the site report; a pattern: one report per matching line
    periods: tuple[str, ...] = ("shift",)
    lang: str = "zh"

    def matches(self, site: str, line: str | None, period: str) -> bool:
        if period not in self.periods or not fnmatch.fnmatchcase(site, self.site):
            return False
        if self.line is None:
            return line is None
        return line is not None and fnmatch.fnmatchcase(line, self.line)


@dataclass(frozen=True, slots=True)
class ReportsOptions:
    subscriptions: tuple[Subscription, ...] = ()
    files_url: str | None = None  # public base URL of the reports directory (DingTalk image, links)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    mqtt: MqttOptions = field(default_factory=MqttOptions)
    receivers: dict[str, Receiver] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    source: str = "<notify>"
    reports: ReportsOptions = field(default_factory=ReportsOptions)

    def targets(self, event: dict[str, Any]) -> list[Receiver]:
        """The receivers an event goes to (each once, in route order)."""
        names: dict[str, None] = {}
        for route in self.routes:
            if route.matches(event):
                names.update(dict.fromkeys(route.receivers))
        return [self.receivers[n] for n in names]

    def check_env(self, env: dict[str, str] | None = None) -> None:
        """Every referenced variable is set (names only in the message, never values)."""
        env = dict(os.environ if env is None else env)
        for r in self.receivers.values():
            for var in r.env_vars():
                if not env.get(var):
                    raise NotifyConfigError(
                        self.source,
                        f"receivers.{r.name}",
                        f"environment variable {var} to be set",
                        "it unset",
                    )


def load_notify(path: str) -> NotifyConfig:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise NotifyConfigError(path, "(file)", "a readable file", str(exc)) from exc
    except yaml.YAMLError as exc:
        raise NotifyConfigError(path, "(file)", "valid YAML", str(getattr(exc, "problem", exc))) from exc
    return parse_notify(data, path)


def parse_notify(data: Any, source: str = "<notify>") -> NotifyConfig:
    def fail(path: str, expected: str, found: Any) -> NotifyConfigError:
        return NotifyConfigError(source, path, expected, found)

    def mapping(d: Any, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(d, dict):
            raise fail(path, "a mapping", d)
        for k in d:
            if k in _SECRET_KEYS:
                raise fail(f"{path}.{k}", f"no secret in the file: name an environment variable ({k}_env)", k)
            if k not in keys:
                raise fail(f"{path}.{k}", "one of the keys " + ", ".join(keys) + " (unknown key)", k)
        return d

    def number(d: dict[str, Any], key: str, path: str, default: float, minimum: float = 0.0) -> float:
        v = d.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum:
            raise fail(f"{path}.{key}", f"a number >= {minimum:g}", v)
        return float(v)

    top = mapping(data or {}, "(top level)", ("mqtt", "receivers", "routes", "reports"))
    m = mapping(top.get("mqtt") or {}, "mqtt", ("enabled", "qos", "prefix", "client_id"))
    if m.get("qos", 1) not in (0, 1, 2):
        raise fail("mqtt.qos", "0, 1 or 2", m.get("qos"))
    if not isinstance(m.get("enabled", True), bool):
        raise fail("mqtt.enabled", "true or false", m.get("enabled"))
    mqtt = MqttOptions(
        m.get("enabled", True), m.get("qos", 1), str(m.get("prefix", "brain/v1/alerts")).rstrip("/"),
        str(m.get("client_id", "brain-notify")),
    )  # fmt: skip
    receivers: dict[str, Receiver] = {}
    raw_receivers = top.get("receivers") or {}
    if not isinstance(raw_receivers, dict):
        raise fail("receivers", "a mapping of receiver name -> receiver", raw_receivers)
    keys = ("kind", "url_env", "secret_env", "lang", "rate_per_min", "max_attempts", "backoff_s",
            "backoff_max_s", "timeout_s", "max_wait_s")  # fmt: skip
    email_keys = ("host", "port", "starttls", "from", "to", "cc", "username_env", "password_env", "ca_file")
    for name, raw in raw_receivers.items():
        path = f"receivers.{name}"
        if not isinstance(name, str) or not _ID.match(name):
            raise fail(path, "a receiver name of letters, digits, '_', '-', '.'", name)
        is_email = isinstance(raw, dict) and raw.get("kind") == "email"
        r = mapping(raw, path, (*keys, *email_keys) if is_email else keys)
        if r.get("kind") not in KINDS:
            raise fail(f"{path}.kind", "one of " + ", ".join(KINDS), r.get("kind"))
        env_keys = ("username_env", "password_env") if is_email else ("url_env", "secret_env")
        for var in env_keys:
            value = r.get(var)
            if (var == "url_env" or value is not None) and (
                not isinstance(value, str) or not _ENV.match(value)
            ):
                raise fail(f"{path}.{var}", "an environment variable name (e.g. DINGTALK_URL)", value)
        email = _email_options(r, path, fail) if is_email else None
        if r.get("lang", "zh") not in LANGS:
            raise fail(f"{path}.lang", "one of " + ", ".join(LANGS), r.get("lang"))
        attempts = r.get("max_attempts", 5)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise fail(f"{path}.max_attempts", "an integer >= 1", attempts)
        receivers[name] = Receiver(
            name=name,
            kind=r["kind"],
            url_env=r.get("url_env", ""),
            secret_env=r.get("secret_env"),
            lang=r.get("lang", "zh"),
            rate_per_min=number(r, "rate_per_min", path, 20.0, 0.001),
            max_attempts=attempts,
            backoff_s=number(r, "backoff_s", path, 1.0),
            backoff_max_s=number(r, "backoff_max_s", path, 60.0),
            timeout_s=number(r, "timeout_s", path, 10.0, 0.001),
            max_wait_s=number(r, "max_wait_s", path, 60.0),
            email=email,
        )
    routes = []
    raw_routes = top.get("routes") or []
    if not isinstance(raw_routes, list):
        raise fail("routes", "a list of routes", raw_routes)
    for i, raw in enumerate(raw_routes):
        path = f"routes[{i}]"
        r = mapping(raw, path, ("site", "line", "severity", "min_severity", "states", "rules", "receivers"))
        names = r.get("receivers")
        if not isinstance(names, list) or not names:
            raise fail(f"{path}.receivers", "a non-empty list of receiver names", names)
        for j, n in enumerate(names):
            if n not in receivers:
                raise fail(f"{path}.receivers[{j}]", "a receiver defined under receivers:", n)
            if receivers[n].kind == "email":
                raise fail(f"{path}.receivers[{j}]", "a webhook receiver (e-mail takes reports only)", n)
        sev = r.get("severity", list(SEVERITIES))
        if isinstance(sev, str):
            sev = [sev]
        if "min_severity" in r:
            if r["min_severity"] not in SEVERITIES:
                raise fail(f"{path}.min_severity", "one of " + ", ".join(SEVERITIES), r["min_severity"])
            sev = list(SEVERITIES[SEVERITIES.index(r["min_severity"]) :])
        if not isinstance(sev, list) or any(s not in SEVERITIES for s in sev):
            raise fail(f"{path}.severity", "a severity or list of: " + ", ".join(SEVERITIES), sev)
        states = r.get("states", list(STATES))
        if not isinstance(states, list) or any(s not in STATES for s in states):
            raise fail(f"{path}.states", "a list of: firing, resolved", states)
        patterns = {}
        for k in ("site", "line", "rules"):
            v = r.get(k, "*")
            if not isinstance(v, str) or not v:
                raise fail(f"{path}.{k}", "an id or pattern", v)
            patterns[k] = v
        routes.append(Route(tuple(names), patterns["site"], patterns["line"], tuple(sev), tuple(states),
                            patterns["rules"]))  # fmt: skip
    reports = _reports(top.get("reports") or {}, receivers, mapping, fail)
    return NotifyConfig(mqtt, receivers, tuple(routes), source, reports)


def _strings(value: Any, path: str, fail: Any, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
        raise fail(path, what, value)
    return tuple(items)


def _email_options(r: dict[str, Any], path: str, fail: Any) -> EmailOptions:
    host = r.get("host")
    if not isinstance(host, str) or not host:
        raise fail(f"{path}.host", "the SMTP server's host name", host)
    port = r.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise fail(f"{path}.port", "a port number (587 for STARTTLS)", port)
    starttls = r.get("starttls", True)
    if not isinstance(starttls, bool):
        raise fail(f"{path}.starttls", "true or false", starttls)
    sender = r.get("from")
    if not isinstance(sender, str) or "@" not in sender:
        raise fail(f"{path}.from", "the sender's address", sender)
    to = _strings(r.get("to"), f"{path}.to", fail, "an address or a list of addresses")
    cc = _strings(r["cc"], f"{path}.cc", fail, "an address or a list of addresses") if "cc" in r else ()
    if bool(r.get("username_env")) != bool(r.get("password_env")):
        raise fail(f"{path}.password_env", "username_env and password_env together (or neither)", None)
    ca = r.get("ca_file")
    if ca is not None and not isinstance(ca, str):
        raise fail(f"{path}.ca_file", "a path to a CA certificate (PEM)", ca)
    return EmailOptions(
        host, sender, to, cc, port, starttls, r.get("username_env"), r.get("password_env"), ca
    )


def _reports(data: Any, receivers: dict[str, Receiver], mapping: Any, fail: Any) -> ReportsOptions:
    top = mapping(data, "reports", ("subscriptions", "files_url"))
    files_url = top.get("files_url")
    if files_url is not None and (
        not isinstance(files_url, str) or not files_url.startswith(("http://", "https://"))
    ):
        raise fail("reports.files_url", "an http(s) URL where the reports directory is published", files_url)
    subs = []
    raw_subs = top.get("subscriptions") or []
    if not isinstance(raw_subs, list):
        raise fail("reports.subscriptions", "a list of subscriptions", raw_subs)
    for i, raw in enumerate(raw_subs):
        path = f"reports.subscriptions[{i}]"
        r = mapping(raw, path, ("site", "line", "periods", "lang", "receivers"))
        names = _strings(r.get("receivers"), f"{path}.receivers", fail, "a non-empty list of receiver names")
        for j, n in enumerate(names):
            if n not in receivers:
                raise fail(f"{path}.receivers[{j}]", "a receiver defined under receivers:", n)
        periods = _strings(
            r.get("periods", ["shift"]), f"{path}.periods", fail, "a list of shift, day, month"
        )
        if any(p not in REPORT_PERIODS for p in periods):
            raise fail(f"{path}.periods", "a list of: " + ", ".join(REPORT_PERIODS), list(periods))
        lang = r.get("lang", "zh")
        if lang not in ("zh", "en"):
            raise fail(f"{path}.lang", "zh or en", lang)
        site, line = r.get("site", "*"), r.get("line")
        for k, v in (("site", site), ("line", line)):
            if v is not None and (not isinstance(v, str) or not v):
                raise fail(f"{path}.{k}", "an id or pattern", v)
        subs.append(Subscription(names, site, line, periods, lang))
    return ReportsOptions(tuple(subs), files_url.rstrip("/") + "/" if files_url else None)
