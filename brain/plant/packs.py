"""The plant config's pack keys (shared/PACKS.md): `packs: [smt, weaving]` at the top; a line or a
machine says `pack: smt` and carries the pack's keys under the pack's name:

    packs: [smt]
    sites:
      - id: sip
        lines:
          - id: smt1
            pack: smt                              # for its machines of kind `machine`
            smt: {opportunities_per_board: 800}     # line-level keys: defaults for its machines
            machines:
              - {id: mounter1, smt: {rated_cph: 36000}}
              - {id: meter1, kind: meter}           # a meter joins a pack only by its own `pack:`

Errors in the core's style (file, key path, expected, found): an unknown or uninstalled pack, a
`pack:` not listed in `packs:`, an unknown key, a key at a level the pack does not allow, a value
of the wrong kind, a required key missing on a machine of the pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brain.pack import Pack
from brain.pack_registry import PackError, available

if TYPE_CHECKING:
    from brain.plant.validate import _V


@dataclass(frozen=True, slots=True)
class LinePack:
    """What a line gives its machines: its pack (or None) and its pack keys."""

    pack: str | None
    config: dict[str, dict[str, Any]]  # pack id -> line-level keys


def parse_packs(v: _V, raw: Any) -> dict[str, Pack]:
    """`packs:` -> {id: Pack}, each installed."""
    try:
        installed = available()
    except PackError as exc:
        raise v.fail("packs", "installed packs that load", str(exc)) from None
    out: dict[str, Pack] = {}
    for i, pid in enumerate(v.list(raw, "packs")):
        if not isinstance(pid, str) or pid not in installed:
            known = ", ".join(installed) or "none installed"
            raise v.fail(f"packs[{i}]", f"an installed pack ({known})", pid)
        if pid in out:
            raise v.fail(f"packs[{i}]", "each pack once", pid)
        out[pid] = installed[pid]
    return out


def _pack_ref(v: _V, d: dict[str, Any], path: str) -> str | None:
    pid = d.get("pack")
    if pid is None:
        return None
    if pid not in v.packs:
        listed = ", ".join(v.packs) or "none: add `packs: [...]` at the top"
        raise v.fail(f"{path}.pack", f"a pack listed in `packs:` ({listed})", pid)
    return pid


def _keys(v: _V, d: dict[str, Any], path: str, level: str) -> dict[str, dict[str, Any]]:
    """The pack keys under each `<pack id>:` of a line or machine mapping, validated."""
    out: dict[str, dict[str, Any]] = {}
    for pid, pack in v.packs.items():
        if pid not in d:
            continue
        where = f"{path}.{pid}"
        known = {c.name: c for c in pack.config}
        raw = d[pid]
        if not isinstance(raw, dict):
            raise v.fail(where, f"a mapping of {pid} keys ({', '.join(known) or 'none'})", raw)
        keys: dict[str, Any] = {}
        for name, value in raw.items():
            key = known.get(name)
            if key is None:
                names = ", ".join(known) or "(none)"
                raise v.fail(f"{where}.{name}", f"one of the {pid} keys {names} (unknown key)", name)
            if level not in key.levels:
                raise v.fail(
                    f"{where}.{name}", f"a {pid} key set on a {' or '.join(key.levels)}", f"it on a {level}"
                )
            keys[name] = _value(v, f"{where}.{name}", key.kind, value)
        out[pid] = keys
    return out


def _value(v: _V, path: str, kind: str, value: Any) -> Any:
    if kind == "positive":
        return v.number(value, path, positive=True)
    if kind == "number":
        return v.number(value, path)
    if kind == "text":
        if not isinstance(value, str) or not value:
            raise v.fail(path, "a text", value)
        return value
    # limits: {lsl, usl}
    d = v.mapping(value, path, required=("lsl", "usl"))
    lsl, usl = v.number(d["lsl"], f"{path}.lsl"), v.number(d["usl"], f"{path}.usl")
    if not lsl < usl:
        raise v.fail(path, "specification limits with lsl < usl", value)
    return {"lsl": lsl, "usl": usl}


def line_pack_of(v: _V, d: dict[str, Any], path: str) -> LinePack:
    pid, keys = _pack_ref(v, d, path), _keys(v, d, path, "line")
    for other in keys:
        if other != pid and pid is not None:
            raise v.fail(f"{path}.{other}", f"keys of the line's pack ({pid})", f"keys of {other}")
    return LinePack(pid, keys)


def machine_pack(
    v: _V, d: dict[str, Any], path: str, line: LinePack, kind: str
) -> tuple[str | None, dict[str, Any]]:
    """A machine's pack (its own `pack:`, else its line's for a `machine`) and its keys."""
    own = _keys(v, d, path, "machine")
    pid = _pack_ref(v, d, path)
    if pid is None and kind == "machine":
        pid = line.pack
    stray = [p for p in own if p != pid]
    if stray:
        raise v.fail(
            f"{path}.{stray[0]}", f"keys of the machine's pack ({pid or 'none'})", f"keys of {stray[0]}"
        )
    if pid is None:
        return None, {}
    config = {**line.config.get(pid, {}), **own.get(pid, {})}
    for key in v.packs[pid].config:
        if key.required and key.name not in config:
            raise v.fail(f"{path}.{pid}.{key.name}", f"a required {pid} key ({key.help or key.kind})", None)
    return pid, config
