"""A written report as chat messages and an e-mail, per receiver kind (pure: bytes in, requests out).

- dingtalk: one `markdown` message {title, text}: the summary, the picture as `![](URL)` and a
  link to report.html. DingTalk's custom robot takes images only by URL, so the picture needs
  `reports.files_url` (where the reports directory is published); without it, the summary only.
  Signed ("加签") like alerts.
- wecom: a `markdown` message {content} (at most 4096 bytes), then an `image` message
  {base64, md5} of report.png (at most 2 MB; a bigger page is sent as JPEG).
- feishu: a `post` (rich text) message {title, content: lines of text and links}; custom bots
  cannot upload images, so the picture is a link (with `files_url`). Signed like alerts.
- generic: the files: JSON {"report": summary, "files": {name: {content_type, base64}}} with
  report.html, .png, .xlsx and .json; HMAC-signed like alerts.
- email (processors/notify/email.py): HTML body with the charts as related parts, report.png and
  report.xlsx attached.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

from brain.report.html import fmt
from brain.report.png import jpeg_under
from brain.report.text import t
from processors.notify.formats import Request, dingtalk_sign, feishu_sign, generic_sign

WECOM_IMAGE_MAX = 2 * 1024 * 1024
WECOM_MARKDOWN_MAX = 4096
MIME = {
    "report.html": "text/html",
    "report.png": "image/png",
    "report.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "report.json": "application/json",
}
Build = Callable[[str, "str | None", int], Request]
_JSON = {"Content-Type": "application/json; charset=utf-8"}


def summary_lines(model: dict[str, Any]) -> list[str]:
    """The report in a few lines (markdown), in the report's language."""
    lang = model["lang"]
    p = model["period"]
    tiles = {x["key"]: x for x in model["tiles"]}
    oee = tiles["oee"]
    apq = " · ".join(f"{x['label']} {fmt(x['value'], '%')}" for x in oee["parts"])
    out = [f"{p['start_local']} – {p['end_local']} ({model['timezone']})"]
    if model["empty"]:
        out.append(f"**{t('no_data', lang)}**: {model['no_data']}")
    out.append(f"- **{oee['label']} {fmt(oee['value'], '%')}** ({apq})")
    o, g = tiles["output"], tiles["good"]
    out.append(
        f"- {o['label']}: {fmt(o['value'])} / {fmt(o['ideal'])} ({fmt(o['ratio'], '%')}) · "
        f"{g['label']} {fmt(g['value'])} · {t('scrap', lang)} {fmt(g['scrap'])}"
    )
    d = tiles["demand"]
    contracted = f" / {fmt(d['contracted'], 'kW')}" if d.get("contracted") else ""
    out.append(
        f"- {tiles['kwh']['label']} {fmt(tiles['kwh']['value'], 'kWh')} · {tiles['sec']['label']} "
        f"{fmt(tiles['sec']['value'], 'kWh')} · {d['label']} {fmt(d['value'], 'kW')}{contracted}"
    )
    example = f" ({t('example_prices', lang)})" if model["prices_are_example"] else ""
    out.append(
        f"- {tiles['cost']['label']} {fmt(tiles['cost']['value'], model['currency'])}{example} · "
        f"{tiles['co2']['label']} {fmt(tiles['co2']['value'], 'kg')}"
    )
    losses = " · ".join(f"{r['label']} {r['hours']:.1f} h" for r in model["pareto"]["rows"][:3])
    if losses:
        out.append(f"- {t('chart.pareto', lang).split(' (')[0].split('（')[0]}: {losses}")
    q = model["quality"]
    dead = q["deadletters"] if q["deadletters_counted"] else "–"
    out.append(
        f"- {t('table.alerts', lang)}: {len(model['alerts'])} · {t('dq.unknown', lang)} "
        f"{fmt(q['unknown_h'], 'h')} · {t('dq.deadletters', lang)} {dead}"
    )
    return out


def links(files_url: str | None, relative: str) -> dict[str, str]:
    """Public URLs of the report's files, when the reports directory is published."""
    if not files_url:
        return {}
    base = files_url + relative.strip("/") + "/"
    return {name: base + name for name in MIME}


def _dingtalk(model: dict[str, Any], urls: dict[str, str]) -> Build:
    lines = [f"### {model['title']}", "", *summary_lines(model)]
    if "report.png" in urls:
        lines += ["", f"![report]({urls['report.png']})", "", f"[{model['title']}]({urls['report.html']})"]
    body = json.dumps(
        {"msgtype": "markdown", "markdown": {"title": model["title"], "text": "\n".join(lines)}},
        ensure_ascii=False,
    ).encode()

    def build(url: str, secret: str | None, now_ms: int) -> Request:
        if secret:
            url = f"{url}{'&' if '?' in url else '?'}timestamp={now_ms}&sign={dingtalk_sign(secret, now_ms)}"
        return Request(url, body, dict(_JSON))

    return build


def _wecom(model: dict[str, Any], urls: dict[str, str], picture: bytes) -> list[Build]:
    lines = [f"### {model['title']}", *summary_lines(model)]
    if "report.html" in urls:
        lines.append(f"[{model['title']}]({urls['report.html']})")
    content = "\n".join(lines)
    while len(content.encode()) > WECOM_MARKDOWN_MAX:
        lines.pop(-1)
        content = "\n".join(lines)
    text = json.dumps({"msgtype": "markdown", "markdown": {"content": content}}, ensure_ascii=False).encode()
    image, _ = jpeg_under(picture, WECOM_IMAGE_MAX)
    img = json.dumps(
        {
            "msgtype": "image",
            "image": {"base64": base64.b64encode(image).decode(), "md5": hashlib.md5(image).hexdigest()},
        }
    ).encode()
    return [
        lambda url, secret, now: Request(url, text, dict(_JSON)),
        lambda url, secret, now: Request(url, img, dict(_JSON)),
    ]


def _feishu(model: dict[str, Any], urls: dict[str, str]) -> Build:
    rows = [[{"tag": "text", "text": line.replace("**", "")}] for line in summary_lines(model)]
    if "report.html" in urls:
        rows.append(
            [
                {"tag": "a", "text": model["title"], "href": urls["report.html"]},
                {"tag": "text", "text": " · "},
                {"tag": "a", "text": "PNG", "href": urls["report.png"]},
            ]
        )
    lang = "zh_cn" if model["lang"] == "zh" else "en_us"
    post = {"msg_type": "post", "content": {"post": {lang: {"title": model["title"], "content": rows}}}}

    def build(url: str, secret: str | None, now_ms: int) -> Request:
        body = dict(post)
        if secret:
            ts = now_ms // 1000
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **post}
        return Request(url, json.dumps(body, ensure_ascii=False).encode(), dict(_JSON))

    return build


def report_summary(model: dict[str, Any], report_id: str) -> dict[str, Any]:
    """What a generic receiver gets besides the files (and what a dead letter carries)."""
    return {
        "id": report_id,
        "title": model["title"],
        "site": model["site"],
        "line": model["line"],
        "period": model["period"],
        "lang": model["lang"],
        "empty": model["empty"],
        "tiles": {x["key"]: x["value"] for x in model["tiles"]},
        "summary": summary_lines(model),
    }


def _generic(model: dict[str, Any], report_id: str, files: dict[str, bytes]) -> Build:
    data = json.dumps(
        {
            "report": report_summary(model, report_id),
            "files": {
                n: {"content_type": MIME[n], "base64": base64.b64encode(b).decode()} for n, b in files.items()
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()

    def build(url: str, secret: str | None, now_ms: int) -> Request:
        headers = dict(_JSON)
        if secret:
            headers["X-Brain-Timestamp"] = str(now_ms)
            headers["X-Brain-Signature"] = generic_sign(secret, now_ms, data)
        return Request(url, data, headers)

    return build


def webhook_builds(
    kind: str, model: dict[str, Any], report_id: str, files: dict[str, bytes], urls: dict[str, str]
) -> list[Build]:
    """The requests (in order) that deliver a report to a webhook receiver of `kind`."""
    if kind == "dingtalk":
        return [_dingtalk(model, urls)]
    if kind == "wecom":
        return _wecom(model, urls, files["report.png"])
    if kind == "feishu":
        return [_feishu(model, urls)]
    if kind == "generic":
        return [_generic(model, report_id, files)]
    raise ValueError(f"not a webhook kind: {kind!r}")


def email_text(model: dict[str, Any], urls: dict[str, str]) -> str:
    lines = [model["title"], "", *[x.replace("**", "") for x in summary_lines(model)]]
    if "report.html" in urls:
        lines += ["", urls["report.html"]]
    return "\n".join(lines) + "\n"
