"""Finding the installed packs: the entry-point group `brain.packs` (name = pack id, value =
`module:PACK`). The packs shipped here are registered in pyproject.toml; a pack installed from a
wheel (or on PYTHONPATH with its dist-info) is found the same way.

    packs = available()          # {id: Pack}, loaded once per process
    pack = get("smt")            # KeyError naming the installed packs
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from brain import logs
from brain.pack import Pack

GROUP = "brain.packs"
log = logging.getLogger("brain.packs")


class PackError(ValueError):
    """A pack that cannot be used: the message says which and why."""


@lru_cache(maxsize=1)
def available() -> dict[str, Pack]:
    """Every installed pack, by id. A broken entry point is an error naming it (never skipped)."""
    found: dict[str, Pack] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            pack = ep.load()
        except Exception as exc:
            raise PackError(f"pack {ep.name!r} ({ep.value}): cannot be loaded: {exc!r}") from exc
        if not isinstance(pack, Pack):
            raise PackError(
                f"pack {ep.name!r} ({ep.value}): expected a brain.pack.Pack, found {type(pack).__name__}"
            )
        if pack.id != ep.name:
            raise PackError(
                f"pack {ep.name!r} ({ep.value}): the entry point name must be the pack id {pack.id!r}"
            )
        if ep.name in found:
            raise PackError(f"pack {ep.name!r}: registered twice")
        found[ep.name] = pack
    logs.event(log, "packs.loaded", packs=",".join(found) or "-")
    return found


def get(pack_id: str) -> Pack:
    packs = available()
    if pack_id not in packs:
        known = ", ".join(packs) or "none installed"
        raise KeyError(f"unknown pack {pack_id!r} (installed: {known})")
    return packs[pack_id]
