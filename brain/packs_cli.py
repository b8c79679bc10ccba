"""`brain packs list [--json]` (the installed packs: metrics, config keys, KPIs, alert presets) and
`brain packs new NAME [--dir D]` (a scaffold that passes its own tests once pip-installed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from brain.pack import Pack


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="the installed packs, their metrics, config keys and KPIs")
    ls.add_argument("--json", action="store_true", help="one JSON document instead of text")
    ls.set_defaults(run=run_list)
    new = sub.add_parser("new", help="scaffold a pack as its own pip-installable project")
    new.add_argument("name", metavar="NAME", help="the pack id: [a-z][a-z0-9_]*")
    new.add_argument("--dir", default=".", help="where to create NAME/ (default: the current directory)")
    new.set_defaults(run=run_new)
    for p in (parser, ls, new):
        p.set_defaults(log_level="WARNING")


def describe(pack: Pack) -> dict[str, Any]:
    """A pack's rows as plain data (what `--json` prints)."""
    return {
        "id": pack.id,
        "title": {"en": pack.title.en, "zh": pack.title.zh},
        "metrics": [
            {"name": m.name, "kind": m.kind, "unit": m.unit, "minimum": m.minimum, "maximum": m.maximum}
            for m in pack.metrics
        ],
        "config": [
            {"name": c.name, "kind": c.kind, "levels": list(c.levels), "required": c.required, "help": c.help}
            for c in pack.config
        ],
        "kpis": [
            {"field": pack.field(k), "unit": k.unit, "en": k.label.en, "zh": k.label.zh, "formula": k.formula}
            for k in pack.kpis
        ],
        "alert_presets": [dict(p) for p in pack.alert_presets],
    }


def render(packs: dict[str, Pack]) -> str:
    """The text of `brain packs list`."""
    if not packs:
        return "no packs installed (entry-point group brain.packs)\n"
    out: list[str] = []
    for pack in packs.values():
        out.append(f"{pack.id} — {pack.title.en} / {pack.title.zh}")
        out.append("  metrics:")
        out += [f"    {m.name:<24} {m.kind:<8} {m.unit}" for m in pack.metrics]
        if pack.config:
            out.append("  config keys:")
            out += [f"    {c.name:<24} {c.kind:<8} {', '.join(c.levels)}  {c.help}" for c in pack.config]
        out.append("  KPIs:")
        out += [f"    {pack.field(k):<32} {k.unit:<12} {k.formula}" for k in pack.kpis]
        if pack.alert_presets:
            out.append("  alert presets: " + ", ".join(str(p["id"]) for p in pack.alert_presets))
        out.append("")
    return "\n".join(out)


def run_list(args: argparse.Namespace) -> int:
    from brain.pack_registry import PackError, available

    try:
        packs = available()
    except PackError as exc:
        print(f"brain packs: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"packs": [describe(p) for p in packs.values()]}, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(render(packs))
    return 0


def run_new(args: argparse.Namespace) -> int:
    from brain.pack_scaffold import write

    try:
        target = write(args.name, Path(args.dir))
    except (ValueError, FileExistsError) as exc:
        print(f"brain packs new: {exc}", file=sys.stderr)
        return 2
    print(f"created {target}: pip install -e {target} && pytest {target}")
    return 0
