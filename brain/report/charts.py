"""The report's charts, drawn with matplotlib (Agg, no pyplot state) from the report model -> PNG.

Chinese labels need a CJK font: Debian's `fonts-noto-cjk` (installed by `brain stack install`)
gives "Noto Sans CJK SC"; matplotlib falls back per glyph through `FONTS`. A chart is a pure
function of the model's numbers; `render_all` returns {name: PNG bytes} in the report's order.
Each chart is drawn at `DPI` so that one image pixel is one CSS pixel in the page (crisp, and
the screenshot test finds every chart's pixels in report.png).
"""

from __future__ import annotations

import datetime as dt
import io
import textwrap
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from matplotlib.figure import Figure

from brain.report.text import t

FONTS = ["DejaVu Sans", "Noto Sans CJK SC"]
DPI = 100
SIZE = (5.6, 3.0)  # inches: 560 x 300 px
WIDE = (11.4, 3.2)
STATE_COLORS = {
    "running": "#2e9d4d",
    "setup": "#3f7fd0",
    "fault": "#d64541",
    "idle": "#f0b429",
    "planned": "#9aa5b1",
    "unknown": "#cfd6dd",
}
TOU_COLORS = {"peak": "#d64541", "flat": "#f0b429", "valley": "#2e9d4d"}
INK, GRID, IDEAL = "#243b53", "#e4e7eb", "#7b8794"


def _figure(size: tuple[float, float] = SIZE) -> Figure:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _style(ax: Any, title: str) -> None:
    ax.set_title(title, loc="left", fontsize=11, color=INK, fontweight="bold")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8, colors=INK)


def _empty(ax: Any, lang: str) -> None:
    ax.text(0.5, 0.5, t("no_data", lang), ha="center", va="center", transform=ax.transAxes, color=IDEAL)
    ax.set_xticks([])
    ax.set_yticks([])


def waterfall(model: dict[str, Any], lang: str) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax, t("chart.waterfall", lang))
    steps = model["waterfall"]
    if not steps:
        _empty(ax, lang)
        return fig
    labels = [textwrap.fill(t(f"wf.{s['step']}", lang), 12 if lang == "en" else 4) for s in steps]
    hours = [s["hours"] for s in steps]
    ax.bar(
        range(len(steps)), hours, color=["#334e68", "#486581", "#2e9d4d", "#3ebd93", "#0b6e4f"][: len(steps)]
    )
    for i, s in enumerate(steps):
        if s["loss_hours"]:
            ax.bar(i, s["loss_hours"], bottom=s["hours"], color="#f8d7d6", edgecolor="#d64541", linewidth=0.6)
            ax.text(
                i,
                s["hours"] + s["loss_hours"],
                f"-{s['loss_hours']:.1f}",
                ha="center",
                va="bottom",
                fontsize=7,
                color="#d64541",
            )
        ax.text(i, s["hours"] / 2, f"{s['hours']:.1f}", ha="center", va="center", fontsize=8, color="white")
    ax.set_xticks(range(len(steps)), labels, fontsize=7)
    return fig


def pareto(model: dict[str, Any], lang: str) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax, f"{t('chart.pareto', lang)} — {model['pareto']['basis_text']}")
    rows = model["pareto"]["rows"]
    if not rows:
        _empty(ax, lang)
        return fig
    colors = [STATE_COLORS.get(r["name"], "#829ab1") for r in rows]
    ax.bar(range(len(rows)), [r["hours"] for r in rows], color=colors)
    ax.set_xticks(range(len(rows)), [r["label"] for r in rows], fontsize=8)
    ax2 = ax.twinx()
    ax2.plot(range(len(rows)), [r["cumulative"] * 100 for r in rows], color=INK, marker="o", markersize=3)
    ax2.set_ylim(0, 105)
    ax2.set_ylabel(t("cumulative", lang), fontsize=8, color=INK)
    ax2.tick_params(labelsize=8, colors=INK)
    ax2.spines[["top"]].set_visible(False)
    return fig


def output(model: dict[str, Any], lang: str) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    key = "chart.output_day" if model["period"]["kind"] == "month" else "chart.output"
    _style(ax, t(key, lang))
    rows = model["output"]
    if not rows or all(r["pq"] is None for r in rows):
        _empty(ax, lang)
        return fig
    x = range(len(rows))
    ax.bar(x, [r["pq"] or 0 for r in rows], color="#486581", label=t("produced", lang))
    ax.bar(x, [r["gq"] or 0 for r in rows], color="#2e9d4d", width=0.5, label=t("col.gq", lang))
    ideal = [r["ideal"] for r in rows]
    if any(v is not None for v in ideal):
        ax.step(
            x,
            [v if v is not None else float("nan") for v in ideal],
            where="mid",
            color=IDEAL,
            linestyle="--",
            label=t("ideal", lang),
        )
    step = max(1, len(rows) // 12)
    ax.set_xticks(list(x)[::step], [r["label"] for r in rows][::step], fontsize=7)
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3)
    return fig


def timeline(model: dict[str, Any], lang: str) -> Figure:
    machines = model["timeline"]["machines"]
    height = max(1.6, 0.6 + 0.26 * len(machines))
    fig = _figure((WIDE[0], height))
    ax = fig.add_subplot()
    _style(ax, t("chart.timeline", lang) + (f" ({model['timeline_note']})" if model["timeline_note"] else ""))
    ax.grid(False)
    if not machines:
        _empty(ax, lang)
        return fig
    tz = ZoneInfo(model["timezone"])
    start = model["timeline"]["start"]
    names = list(machines)
    for y, name in enumerate(names):
        spans: dict[str, list[tuple[float, float]]] = {state: [] for state in STATE_COLORS}
        for cell in machines[name]:
            total = sum(cell[s] for s in STATE_COLORS) or 1.0
            x, width = (cell["start"] - start) / 3.6e6, (cell["end"] - cell["start"]) / 3.6e6
            for state in STATE_COLORS:  # each cell split in proportion to its time elements
                share = cell[state] / total
                if share > 0:
                    spans[state].append((x, width * share))
                    x += width * share
        for state, color in STATE_COLORS.items():
            if spans[state]:
                ax.broken_barh(spans[state], (y - 0.4, 0.8), facecolors=color, linewidth=0)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    hours = (model["timeline"]["end"] - start) / 3.6e6
    ax.set_xlim(0, hours)
    step = max(1, round(hours / 12)) if hours <= 48 else 24
    ticks = [h for h in range(0, int(hours) + 1, step)]
    fmt = "%H:%M" if hours <= 48 else "%m-%d"
    names = [dt.datetime.fromtimestamp((start + h * 3.6e6) / 1000, tz).strftime(fmt) for h in ticks]
    ax.set_xticks(ticks, names, fontsize=7)
    handles = [ax.bar(0, 0, color=c, label=t(f"state.{s}", lang)) for s, c in STATE_COLORS.items()]
    ax.legend(
        handles=handles, fontsize=7, frameon=False, ncols=6, loc="upper center", bbox_to_anchor=(0.5, -0.12)
    )
    return fig


def tou(model: dict[str, Any], lang: str) -> Figure:
    fig = _figure()
    ax = fig.add_subplot()
    _style(ax, t("chart.tou", lang))
    rows = model["tou"]
    if all(r["kwh"] is None for r in rows):
        _empty(ax, lang)
        return fig
    ax.bar(
        [r["label"] for r in rows],
        [r["kwh"] or 0 for r in rows],
        color=[TOU_COLORS[r["period"]] for r in rows],
    )
    for i, r in enumerate(rows):
        text = f"{r['kwh'] or 0:,.0f} kWh"
        if r["cost"] is not None:
            text += f"\n{r['cost']:,.0f} {model['currency']}"
        ax.text(i, (r["kwh"] or 0), text, ha="center", va="bottom", fontsize=7, color=INK)
    ax.margins(y=0.25)
    return fig


def demand(model: dict[str, Any], lang: str) -> Figure:
    fig = _figure(WIDE)
    ax = fig.add_subplot()
    _style(ax, t("chart.demand", lang))
    rows = model["demand"]
    if not rows or all(r["kw"] is None for r in rows):
        _empty(ax, lang)
        return fig
    x = range(len(rows))
    ax.plot(
        x, [r["kw"] if r["kw"] is not None else float("nan") for r in rows], color="#3f7fd0", linewidth=1.4
    )
    ax.fill_between(x, [r["kw"] or 0 for r in rows], color="#3f7fd0", alpha=0.15)
    if model["contracted_demand_kw"] and model["scope"] == "site":
        ax.axhline(model["contracted_demand_kw"], color="#d64541", linestyle="--", linewidth=1)
        label = f" {t('contracted', lang)} {model['contracted_demand_kw']:g} kW"
        ax.text(0, model["contracted_demand_kw"], label, va="bottom", fontsize=7, color="#d64541")
    step = max(1, len(rows) // 16)
    names = [r["label"][6:] if len(rows) <= 96 else r["label"][:5] for r in rows]
    ax.set_xticks(list(x)[::step], names[::step], fontsize=7)
    return fig


# name -> drawing function: the order of the charts in the page. Add a chart = add a row.
CHARTS: dict[str, Callable[[dict[str, Any], str], Figure]] = {
    "waterfall": waterfall,
    "pareto": pareto,
    "output": output,
    "tou": tou,
    "demand": demand,
    "timeline": timeline,
}


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def render_all(model: dict[str, Any]) -> dict[str, bytes]:
    import matplotlib

    lang = model["lang"]
    with matplotlib.rc_context({"font.family": FONTS, "axes.unicode_minus": False, "svg.fonttype": "path"}):
        return {name: png(draw(model, lang)) for name, draw in CHARTS.items()}
