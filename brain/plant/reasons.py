"""The reason tree of the plant config (shared/KPIS.md "Loss analysis (v2)"): reason code -> en
and zh names and one loss category, at plant, line or machine level (the nearer level overrides
per code), `minor_stop_s`, and per machine `reason_codes` (numeric code -> reason code, the way
`state_codes` map states). Validated in the core's style: file, key, expected, found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from brain.plant.model import DEFAULT_MINOR_STOP_S, ReasonCode, _code_key
from brain.vocabulary import MAX_REASON_CHARS, REASON_CATEGORIES

if TYPE_CHECKING:
    from brain.plant.validate import _V

_ENTRY_KEYS = ("en", "zh", "category")


def parse_reasons(v: _V, data: Any, path: str) -> dict[str, ReasonCode]:
    """A `reasons:` mapping {CODE: {en, zh, category}} -> {code: ReasonCode}."""
    tree = v.mapping(data, path, optional=tuple(data) if isinstance(data, dict) else ())
    out: dict[str, ReasonCode] = {}
    for raw, entry in tree.items():
        code = reason_code(v, raw, f"{path}.{raw}", "a reason code")
        where = f"{path}.{raw}"
        e = v.mapping(entry, where, required=_ENTRY_KEYS)
        names = {}
        for key in ("en", "zh"):
            name = e[key]
            if not isinstance(name, str) or not name.strip():
                raise v.fail(f"{where}.{key}", "a non-empty name", name)
            names[key] = name
        category = e["category"]
        if category not in REASON_CATEGORIES:
            raise v.fail(
                f"{where}.category", "a loss category (" + ", ".join(REASON_CATEGORIES) + ")", category
            )
        if code in out:
            raise v.fail(where, "a unique reason code (3 and '3' are the same code)", raw)
        out[code] = ReasonCode(code, names["en"], names["zh"], category)
    return out


def reason_code(v: _V, raw: Any, path: str, what: str) -> str:
    """A code in its canonical form (integers as their decimal string, like state codes)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise v.fail(path, f"{what}: a string or integer", raw)
    code = _code_key(raw)
    if not code.strip() or len(code) > MAX_REASON_CHARS:
        raise v.fail(path, f"{what} of 1..{MAX_REASON_CHARS} characters, not blank", raw)
    return code


def parse_minor_stop_s(v: _V, data: Any) -> float:
    """`minor_stop_s`: an unplanned stop shorter than this is a minor stop, whatever its label."""
    return v.number(DEFAULT_MINOR_STOP_S if data is None else data, "minor_stop_s", positive=True)


def parse_reason_codes(v: _V, data: Any, path: str, tree: dict[str, ReasonCode]) -> dict[str, str]:
    """A machine's `reason_codes` {numeric code: reason code}; every target in its reason tree."""
    raw_map = v.mapping(data, path, optional=tuple(data) if isinstance(data, dict) else ())
    out: dict[str, str] = {}
    for raw, target in raw_map.items():
        where = f"{path}.{raw}"
        if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not _code_key(raw).isdigit():
            raise v.fail(where, "a numeric code (an integer >= 0)", raw)
        code = reason_code(v, target, where, "a reason code")
        if code not in tree:
            known = ", ".join(sorted(tree)) or "none: the plant, line and machine have no `reasons`"
            raise v.fail(where, f"a code of the machine's reason tree ({known})", target)
        key = _code_key(raw)
        if key in out:
            raise v.fail(where, "a unique numeric code (3 and '3' are the same code)", raw)
        out[key] = code
    return out


def merged(outer: dict[str, ReasonCode], v: _V, data: Any, path: str) -> dict[str, ReasonCode]:
    """The tree at a nearer level: `data` (a `reasons:` mapping or None) overrides `outer` per code."""
    return outer if data is None else {**outer, **parse_reasons(v, data, path)}
