"""Pure parts of the reports: periods and scopes, which final records make which reports, the
NOTIFY.yaml `reports:` section and e-mail receivers, chat payload limits, the Pareto switch."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from brain.plant import parse_plant
from brain.report.losses import pareto_rows
from brain.report.messages import WECOM_MARKDOWN_MAX, webhook_builds
from brain.report.period import (
    PeriodError,
    day_period,
    month_period,
    range_period,
    resolve_scope,
    shift_period,
)
from brain.report.png import jpeg_under
from brain.report.service import expected_points, jobs_for
from processors.kpi import Calendar
from processors.notify.config import NotifyConfigError, parse_notify
from tests.report.helpers import plant_data

PLANT = parse_plant(plant_data("s1"), "plant.yaml")
NIGHT = 1_770_984_000_000  # 2026-02-13 20:00 +08:00


def test_periods() -> None:
    night = shift_period(PLANT, "2026-02-13/night")
    assert (night.start, night.end - night.start, night.window) == (NIGHT, 12 * 3_600_000, "shift")
    assert shift_period(PLANT, "2026-02-14/day").label == "2026-02-14/day"  # a 调休 Saturday
    day = day_period(PLANT, "2026-02-14")
    assert day.end - day.start == 86_400_000 and day.window == "day"
    feb = month_period(PLANT, "2026-02")
    assert (feb.end - feb.start) // 86_400_000 == 28 and feb.window == "all" and feb.parts_window == "day"
    assert month_period(PLANT, "2026-12").end == day_period(PLANT, "2027-01-01").start
    with pytest.raises(PeriodError, match="whole hour"):
        range_period(PLANT, NIGHT + 60_000, NIGHT + 3_600_000)
    with pytest.raises(PeriodError, match="expected YYYY-MM"):
        month_period(PLANT, "2026-13")
    with pytest.raises(PeriodError, match="expected DATE/SHIFT"):
        shift_period(PLANT, "night")


def test_scopes() -> None:
    assert resolve_scope(PLANT, None, "cnc1").label == "s1/cnc1"
    with pytest.raises(PeriodError, match="its lines are smt1, cnc1"):
        resolve_scope(PLANT, "s1", "weave9")
    with pytest.raises(PeriodError, match="the plant's sites are s1"):
        resolve_scope(PLANT, "s2", None)
    assert expected_points(PLANT, resolve_scope(PLANT, None, None)) == 1 + 2 + 5
    assert expected_points(PLANT, resolve_scope(PLANT, None, "smt1")) == 1 + 3


def _notify(*subs: dict, **receivers: dict):
    rec = {"a": {"kind": "generic", "url_env": "A"}, "b": {"kind": "wecom", "url_env": "B"}, **receivers}
    return parse_notify({"receivers": rec, "reports": {"subscriptions": list(subs)}}, "notify.yaml")


def _record(**kw) -> dict:
    return {
        "scope": "site",
        "site": "s1",
        "line": None,
        "machine": None,
        "window": "shift",
        "start": NIGHT,
        "end": NIGHT + 12 * 3_600_000,
        "shift": "night",
        "final": True,
        **kw,
    }


def test_which_final_records_make_which_reports() -> None:
    cfg = _notify(
        {"site": "s1", "receivers": ["a"]},
        {"site": "s*", "lang": "zh", "receivers": ["b", "a"]},
        {"site": "s1", "line": "smt*", "periods": ["shift", "day", "month"], "receivers": ["b"]},
        {"site": "s1", "periods": ["day", "month"], "lang": "en", "receivers": ["a"]},
    )
    cal = Calendar.from_plant(PLANT)
    (job,) = jobs_for(_record(), PLANT, cfg, cal)
    assert job.report_id == "s1:2026-02-13/night:zh" and job.receivers == ("a", "b")  # merged, each once
    assert jobs_for(_record(final=False), PLANT, cfg, cal) == []
    assert jobs_for(_record(scope="machine", line="smt1", machine="printer"), PLANT, cfg, cal) == []
    assert jobs_for(_record(window="1h"), PLANT, cfg, cal) == []
    (line_job,) = jobs_for(_record(scope="line", line="smt1"), PLANT, cfg, cal)
    assert line_job.scope.label == "s1/smt1" and line_job.receivers == ("b",)
    assert jobs_for(_record(scope="line", line="cnc1"), PLANT, cfg, cal) == []
    last_day = day_period(PLANT, "2026-02-28")
    day = _record(window="day", start=last_day.start, end=last_day.end, shift=None)
    assert [j.report_id for j in jobs_for(day, PLANT, cfg, cal)] == ["s1:2026-02-28:en", "s1:2026-02:en"]
    other = day_period(PLANT, "2026-02-27")
    assert len(jobs_for({**day, "start": other.start, "end": other.end}, PLANT, cfg, cal)) == 1


MAIL = {"kind": "email", "host": "smtp.example.com", "from": "brain@example.com", "to": ["a@example.com"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"receivers": {"m": {**MAIL, "host": ""}}}, "receivers.m.host: expected the SMTP server's host"),
        ({"receivers": {"m": {**MAIL, "port": 70000}}}, "receivers.m.port: expected a port number"),
        ({"receivers": {"m": {**MAIL, "from": "nobody"}}}, "receivers.m.from: expected the sender's address"),
        ({"receivers": {"m": {**MAIL, "to": []}}}, "receivers.m.to: expected an address or a list"),
        (
            {"receivers": {"m": {**MAIL, "username_env": "U"}}},
            "receivers.m.password_env: expected username_env",
        ),
        (
            {"receivers": {"m": {**MAIL, "password": "x"}}},
            "receivers.m.password: expected no secret in the file",
        ),
        (
            {"receivers": {"m": MAIL}, "routes": [{"receivers": ["m"]}]},
            "routes[0].receivers[0]: expected a webhook",
        ),
        (
            {"receivers": {"m": MAIL}, "reports": {"subscriptions": [{"receivers": ["x"]}]}},
            "reports.subscriptions[0].receivers[0]: expected a receiver defined",
        ),
        (
            {
                "receivers": {"m": MAIL},
                "reports": {"subscriptions": [{"receivers": ["m"], "periods": ["week"]}]},
            },
            "reports.subscriptions[0].periods: expected a list of: shift, day, month",
        ),
        ({"reports": {"files_url": "ftp://x"}}, "reports.files_url: expected an http(s) URL"),
    ],
)
def test_notify_errors(data: dict, message: str) -> None:
    with pytest.raises(NotifyConfigError) as err:
        parse_notify(data, "notify.yaml")
    assert str(err.value).startswith("notify.yaml: ") and message in str(err.value), str(err.value)


def test_email_receiver_and_its_environment() -> None:
    cfg = parse_notify(
        {"receivers": {"m": {**MAIL, "username_env": "U", "password_env": "P", "cc": "c@x.y"}}}
    )
    m = cfg.receivers["m"]
    assert m.email is not None and (m.email.port, m.email.starttls, m.email.cc) == (587, True, ("c@x.y",))
    with pytest.raises(NotifyConfigError, match="environment variable P to be set"):
        cfg.check_env({"U": "user"})


def _model(lines: int = 5) -> dict:
    tiles = [
        {
            "key": k,
            "label": k,
            "value": 1.0,
            "unit": "",
            "parts": [],
            "ideal": 2.0,
            "ratio": 0.5,
            "scrap": 0.0,
            "contracted": None,
        }
        for k in ("oee", "output", "good", "kwh", "sec", "demand", "cost", "co2")
    ]
    return {
        "lang": "en",
        "title": "Shift report",
        "site": "s1",
        "line": None,
        "empty": False,
        "timezone": "UTC",
        "period": {"start_local": "a", "end_local": "b", "label": "p"},
        "tiles": tiles,
        "currency": "CNY",
        "prices_are_example": False,
        "pareto": {"rows": [{"label": "fault " * 200, "hours": 1.0}] * lines},
        "alerts": [],
        "quality": {"deadletters": 0, "deadletters_counted": True, "unknown_h": 0.0},
    }


def test_wecom_markdown_fits_4096_bytes_and_dingtalk_without_files_url_has_no_image() -> None:
    noise = Image.effect_noise((900, 900), 100).convert("RGB")
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    files = {"report.png": buf.getvalue()}
    text, image = webhook_builds("wecom", _model(), "id", files, {})
    body = json.loads(text("http://x", None, 0).body)
    assert len(body["markdown"]["content"].encode()) <= WECOM_MARKDOWN_MAX
    assert json.loads(image("http://x", None, 0).body)["msgtype"] == "image"
    (ding,) = webhook_builds("dingtalk", _model(), "id", files, {})
    assert "![" not in json.loads(ding("http://x", None, 0).body)["markdown"]["text"]


def test_a_big_png_goes_as_jpeg_under_the_limit() -> None:
    noise = Image.effect_noise((1200, 1600), 120).convert("RGB")
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    data, kind = jpeg_under(buf.getvalue(), 1_000_000)
    assert kind == "jpeg" and len(data) <= 1_000_000 and data[:2] == b"\xff\xd8"
    same, kind = jpeg_under(b"\x89PNG small", 100)
    assert (same, kind) == (b"\x89PNG small", "png")


def test_pareto_switches_to_loss_categories_and_reasons() -> None:
    rec = {"adet_s": 600.0, "aust_s": 1200.0, "adot_s": 0.0, "pdot_s": 1800.0, "unknown_s": 60.0}
    assert pareto_rows(rec) == (
        "element",
        [("planned", None, 1800.0), ("setup", None, 1200.0), ("fault", None, 600.0), ("unknown", None, 60.0)],
    )
    loss = {
        **rec,
        "loss_breakdown_s": 1200.0,
        "loss_setup_s": 900.0,
        "loss_minor_stop_s": 720.0,
        "loss_speed_s": 999.0,
        "loss_no_order_s": 600.0,
    }
    basis, rows = pareto_rows(loss)
    assert basis == "category" and [r[0] for r in rows] == ["breakdown", "setup", "minor_stop", "no_order"]
    reasons = [
        {"reason": "R01", "category": "breakdown", "seconds": 1200.0},
        {"reason": "R20", "category": "setup", "seconds": 900.0},
    ]
    assert pareto_rows(loss, reasons) == ("reason", [("R01", "breakdown", 1200.0), ("R20", "setup", 900.0)])
