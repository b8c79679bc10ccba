"""The report page: one self-contained HTML file (inline CSS, charts as inline PNG data).

`render(model, charts)` embeds the charts as `data:` URIs (opens from a file, and is what the
screenshot is taken of); `render(model, charts, cid=True)` refers to them as `cid:chart-<name>`
for an e-mail, whose clients show related MIME parts but not data URIs or inline SVG.
"""

from __future__ import annotations

import base64
import struct
from functools import cache
from typing import Any

from brain.report.text import t


def fmt(value: Any, unit: str | None = "") -> str:
    """A number as the page shows it: ratios as %, big numbers with separators, null as '–'."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "✓" if value else "…"
    if not isinstance(value, (int, float)):
        return str(value)
    if unit == "%":
        return f"{value * 100:.1f} %"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return struct.unpack(">II", data[16:24])


@cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brain.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2")


def render(model: dict[str, Any], charts: dict[str, bytes], *, cid: bool = False) -> str:
    lang = model["lang"]

    def cell(value: Any, column: dict[str, Any]) -> str:
        return fmt(value, column.get("unit") or "")

    sources = [
        (name, f"cid:chart-{name}" if cid else "data:image/png;base64," + base64.b64encode(data).decode())
        for name, data in charts.items()
    ]
    return _template().render(
        m=model,
        charts=sources,
        sizes={name: png_size(data) for name, data in charts.items()},
        fmt=fmt,
        cell=cell,
        t=lambda key, **kw: t(key, lang, **kw),
    )
