"""Messages in Chinese and English: defaults per type, custom templates, robust rendering."""

from __future__ import annotations

import pytest

from processors.alerts.templates import DEFAULTS, format_duration, render
from tests.alerts.helpers import MIN, T0, engine, reading, run, tick

FIELDS = {
    "state": "firing",
    "severity": "critical",
    "where": "s1/l1/m1",
    "site": "s1",
    "value": 85.123456,
    "threshold": 80.0,
    "started": T0,
    "ts": T0 + 5 * MIN,
    "metric": "temp_c",
}


def test_default_threshold_messages_in_both_languages() -> None:
    eng, _ = engine({"id": "hot", "type": "threshold", "metric": "temp_c", "above": 80})
    firing, resolved = run(eng, [reading("temp_c", 85.5, T0), reading("temp_c", 60, T0 + 90_000)])
    assert firing.message_en == "[FIRING] s1/l1/m1: temp_c = 85.5 (limit 80) since 2026-01-01 08:00:00"
    assert firing.message_zh == "【告警】s1/l1/m1：temp_c 为 85.5（限值 80），开始于 2026-01-01 08:00:00"
    assert resolved.message_en.startswith("[RESOLVED] s1/l1/m1: temp_c = 60")
    assert resolved.message_zh.startswith("【已恢复】")
    assert firing.to_dict()["message"] == firing.message_en


def test_custom_templates_with_format_specs_and_duration() -> None:
    message = {
        "zh": "{machine} 故障 {duration}，严重度 {severity}",
        "en": "{machine} down {duration} ({value:.0f} s)",
    }
    rule = {"id": "stuck", "type": "state_duration", "for": "10m", "message": message}
    eng, _ = engine(rule)
    (event,) = run(eng, [reading("state", "fault", T0), tick(T0 + 12 * MIN + 5000)])
    assert event.message_en == "m1 down 12m5s (725 s)"
    assert event.message_zh == "m1 故障 12分5秒，严重度 警告"


def test_one_template_string_for_both_languages() -> None:
    eng, _ = engine({"id": "hot", "type": "threshold", "metric": "temp_c", "above": 80, "message": "{rule}!"})
    (event,) = run(eng, [reading("temp_c", 85, T0)])
    assert (event.message_en, event.message_zh) == ("hot!", "hot!")


@pytest.mark.parametrize(
    ("template", "lang", "text"),
    [
        ("{value}", "en", "85.12"),
        ("{value:.1f}", "en", "85.1"),
        ("{ended}", "en", "-"),  # missing values print "-"
        ("{where:.1f}", "en", "s1/l1/m1"),  # a spec that does not fit is ignored
        ("{severity}/{state}", "en", "CRITICAL/FIRING"),
        ("{severity}/{state}", "zh", "严重/告警"),
        ("{started}", "zh", "2026-01-01 08:00:00"),  # the plant's time zone
        ("{duration}", "zh", "5分"),
    ],
)
def test_render(template: str, lang: str, text: str) -> None:
    assert render(template, FIELDS, lang) == text


def test_render_in_another_time_zone() -> None:
    assert render("{started}", FIELDS, "en", tz="UTC") == "2026-01-01 00:00:00"


def test_every_default_renders_in_both_languages() -> None:
    for rule_type, templates in DEFAULTS.items():
        for lang in ("zh", "en"):
            assert render(templates[lang], FIELDS, lang), rule_type


@pytest.mark.parametrize(
    ("s", "en", "zh"), [(0, "0s", "0秒"), (59.9, "59s", "59秒"), (3725, "1h2m5s", "1小时2分5秒")]
)
def test_format_duration(s: float, en: str, zh: str) -> None:
    assert (format_duration(s, "en"), format_duration(s, "zh")) == (en, zh)
