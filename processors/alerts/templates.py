"""Alert messages in Chinese and English from templates (`{value:.1f}`, `{where}`, `{started}`).

A rule's `message: {zh: ..., en: ...}` overrides the type's default below. Placeholders are
validated when the plant config loads (brain/plant/alerts.py `TEMPLATE_FIELDS`). Rendering never
fails: a missing value prints "-", a format spec that does not fit the value is ignored. Times
print in the plant's time zone; numbers without a spec print with 4 significant digits.
"""

from __future__ import annotations

import datetime as dt
import string
from typing import Any
from zoneinfo import ZoneInfo

STATE_WORDS = {
    "en": {"firing": "FIRING", "resolved": "RESOLVED"},
    "zh": {"firing": "告警", "resolved": "已恢复"},
}
SEVERITY_WORDS = {
    "en": {"info": "info", "warning": "warning", "critical": "CRITICAL"},
    "zh": {"info": "提示", "warning": "警告", "critical": "严重"},
}

DEFAULTS: dict[str, dict[str, str]] = {
    "threshold": {
        "en": "[{state}] {where}: {metric} = {value} (limit {threshold}) since {started}",
        "zh": "【{state}】{where}：{metric} 为 {value}（限值 {threshold}），开始于 {started}",
    },
    "kpi": {
        "en": "[{state}] {where}: {field} ({window}) = {value}, target {threshold}",
        "zh": "【{state}】{where}：{window} {field} 为 {value}，目标 {threshold}",
    },
    "state_duration": {
        "en": "[{state}] {where}: in state {metric} since {started} ({duration})",
        "zh": "【{state}】{where}：自 {started} 起处于 {metric} 状态（{duration}）",
    },
    "stop_without_reason": {
        "en": "[{state}] {where}: stopped since {started} ({duration}) with no reason: please label it",
        "zh": "【{state}】{where}：自 {started} 起停机（{duration}）尚无停机原因，请标注原因",
    },
    "silence": {
        "en": "[{state}] {where}: no data since {started} ({duration})",
        "zh": "【{state}】{where}：自 {started} 起无数据（{duration}）",
    },
    "demand_projection": {
        "en": "[{state}] {where}: 15-min demand projected at {value} kW, limit {threshold} kW",
        "zh": "【{state}】{where}：本 15 分钟需量预计 {value} kW，限值 {threshold} kW",
    },
    "sec_deviation": {
        "en": "[{state}] {where}: energy per good unit {value}% off baseline (limit {threshold}%)",
        "zh": "【{state}】{where}：单位合格品能耗偏离基准 {value}%（限值 {threshold}%）",
    },
    "deadletter_rate": {
        "en": "[{state}] site {site}: {value} dead letters/min (limit {threshold})",
        "zh": "【{state}】站点 {site}：死信 {value} 条/分钟（限值 {threshold}）",
    },
}
GENERIC = {
    "en": "[{state}] {where}: {rule} value {value}, threshold {threshold}",
    "zh": "【{state}】{where}：{rule} 当前值 {value}，阈值 {threshold}",
}
TIME_FIELDS = ("started", "ended", "ts")


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return "-"
        if isinstance(value, float) and not format_spec:
            return f"{value:.4g}"
        try:
            return format(value, format_spec)
        except (ValueError, TypeError):
            return str(value)

    def get_value(self, key: Any, args: Any, kwargs: Any) -> Any:
        return kwargs.get(key) if isinstance(key, str) else super().get_value(key, args, kwargs)


_FORMATTER = _Formatter()


def template_for(rule_type: str, lang: str, custom: dict[str, str] | None = None) -> str:
    if custom and lang in custom:
        return custom[lang]
    return DEFAULTS.get(rule_type, GENERIC)[lang]


def render(template: str, fields: dict[str, Any], lang: str, tz: str = "Asia/Shanghai") -> str:
    """Fill a template; `fields` holds the raw event values (epoch ms times, state, severity)."""
    values = dict(fields)
    zone = ZoneInfo(tz)
    for name in TIME_FIELDS:
        ms = fields.get(name)
        values[name] = None if ms is None else _local(ms, zone)
    values["state"] = STATE_WORDS[lang].get(fields.get("state", ""), fields.get("state"))
    values["severity"] = SEVERITY_WORDS[lang].get(fields.get("severity", ""), fields.get("severity"))
    end = fields.get("ended") or fields.get("ts")
    if fields.get("started") is not None and end is not None:
        values["duration"] = format_duration((end - fields["started"]) / 1000, lang)
    return _FORMATTER.vformat(template, (), values)


def _local(ms: int, zone: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float, lang: str = "en") -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    units = ("h", "m", "s") if lang == "en" else ("小时", "分", "秒")
    parts = [f"{n}{u}" for n, u in zip((h, m, s), units, strict=True) if n]
    return "".join(parts) or f"0{units[2]}"
