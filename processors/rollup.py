"""Line and site records on the stream: machine partials (keyed by site) -> `SiteRollup`.

Store keys, all in the site's partition: `site|kind@start` (one window: the latest partial of
each machine), `site|wm` (the watermark of every machine that sent; the site watermark is their
minimum), and the cursor's marker of the partials partition. A step pulls the partials, applies
them, emits, then writes the site watermarks, the windows, and last the marker (one changelog
partition keeps that order): after a crash either the marker is durable or the partials are
applied again, which changes nothing (a partial with an older `seq` never replaces a newer one).
A window whose site record was emitted final and whose end is older than the site watermark
minus the retention is forgotten; `site|wm` also keeps, per window kind, the end of the newest
forgotten window, and a partial for a window at or before it is ignored and counted
(`too_old_partials`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from brain import logs
from brain.plant import Plant
from processors.kpi import Context
from processors.messages import dumps, loads, record_key
from processors.options import ProcessorOptions
from processors.rollup_state import RollupWindow, SiteRollup
from processors.runtime.ports import Fetched, InputLog, Outbox, StateStore
from processors.runtime.worker import Clock, PartitionWorker

log = logging.getLogger("brain.process")
NEVER = -(2**62)


class RollupWorker(PartitionWorker):
    agent = "rollup"
    logger = log

    def __init__(
        self,
        plant: Plant,
        opts: ProcessorOptions,
        *,
        log: InputLog,
        store: StateStore,
        outbox: Outbox,
        clock: Clock | None = None,
        stats: Counter[str] | None = None,
    ) -> None:
        super().__init__(log=log, store=store, outbox=outbox, limit=opts.pull_max, clock=clock, stats=stats,
                         stats_interval_s=opts.stats_interval_s, legacy_key=_legacy_marker)  # fmt: skip
        self.opts = opts
        ctx = Context.from_plant(plant)
        self.sites = {s.id: SiteRollup(s, ctx, opts.grace_ms, opts.rollup_wait_ms) for s in plant.sites}
        self.windows: dict[str, RollupWindow] = {}
        self.wms: dict[str, dict[str, int]] = {}  # site -> "line/machine" -> machine watermark
        self.gone: dict[str, dict[str, int]] = {}  # site -> kind -> end of the newest forgotten window
        self.open: dict[int, set[str]] = {}  # partition -> window keys
        self.pending: dict[int, tuple[set[str], set[str], set[str]]] = {}  # changed, dropped, sites

    def sources(self, partition: int) -> Sequence[tuple[str, int]]:
        return ((self.opts.partials, partition),)

    def reset(self) -> None:
        super().reset()
        self.windows.clear()
        self.wms.clear()
        self.gone.clear()
        self.open.clear()
        self.pending.clear()

    def _open(self, partition: int) -> set[str]:
        keys = self.open.get(partition)
        if keys is None:  # after a (re)assignment: the windows the store holds for it
            keys = self.open[partition] = {k for k in self.store.keys(partition) if "|" in k and "@" in k}
        return keys

    def _window(self, key: str) -> RollupWindow | None:
        w = self.windows.get(key)
        if w is None:
            data = self.store.get(key)
            if data is not None:
                w = self.windows[key] = RollupWindow.from_dict(data)
        return w

    def _wms(self, site: str) -> dict[str, int]:
        wms = self.wms.get(site)
        if wms is None:
            meta = self.store.get(f"{site}|wm") or {}
            wms = self.wms[site] = meta.get("wms", {})
            self.gone[site] = meta.get("gone", {})
        return wms

    def _wm(self, site: str) -> int:
        """The site watermark: the lowest watermark of the machines that ever sent (a machine
        that falls silent keeps moving on its idle timeout), so one machine running ahead does
        not make the others' windows look silent."""
        wms = self._wms(site)
        return min(wms.values()) if wms else NEVER

    def _pending(self, partition: int) -> tuple[set[str], set[str], set[str]]:
        found = self.pending.get(partition)
        if found is None:
            found = self.pending[partition] = (set(), set(), set())
        return found

    def apply(self, partition: int, topic: str, records: list[Fetched], now_ms: float) -> None:
        changed, _, sites = self._pending(partition)
        open_keys = self._open(partition)
        for r in records:
            try:
                key = self._apply(loads(r.value), sites)
            except (ValueError, TypeError, KeyError) as exc:  # not one of our partials
                self.stats["bad"] += 1
                logs.event(log, "process.bad_partial", logging.WARNING, offset=r.offset, error=str(exc)[:200])
                continue
            if key is not None:
                changed.add(key)
                open_keys.add(key)

    def _apply(self, msg: dict[str, Any], sites: set[str]) -> str | None:
        site = msg.get("site")
        if site not in self.sites:
            self.stats["unknown_site"] += 1
            return None
        wms = self._wms(site)
        if "kind" not in msg:  # a machine's watermark, sent after all partials of one emission
            lm = f"{msg['line']}/{msg['machine']}"
            if msg["wm"] > wms.get(lm, NEVER):
                wms[lm] = msg["wm"]
                sites.add(site)
            return None
        key = f"{site}|{msg['kind']}@{msg['start']}"
        w = self._window(key)
        if w is None:
            if msg["end"] <= self.gone[site].get(msg["kind"], NEVER):
                self.stats["too_old_partials"] += 1
                logs.event(
                    log, "process.too_old_partial", logging.WARNING, window=key, machine=msg["machine"]
                )
                return None
            w = self.windows[key] = RollupWindow(msg["kind"], msg["start"], msg["end"], msg["shift"])
        w.apply(msg["line"], msg["machine"], msg["seq"], msg["final"], msg["p"])
        self.stats["partials"] += 1
        return key

    def settle(self, partition: int, caught_up: bool, now_ms: float) -> None:
        changed, dropped, sites = self._pending(partition)
        open_keys = self._open(partition)
        for key in sorted(open_keys):
            w = self._window(key)
            if w is None:
                open_keys.discard(key)
                continue
            site = key.split("|", 1)[0]
            wm = self._wm(site)
            recs = self.sites[site].emit(w, wm, now_ms, self.opts.emit_interval_ms)
            for rec in recs:
                self.outbox.add(self.opts.output_topic, record_key(rec), dumps(rec))
            if recs:
                changed.add(key)
                self.stats["records"] += len(recs)
            if w.fin.get("") and w.end <= wm - self.opts.rollup_retention_ms:
                dropped.add(key)
                open_keys.discard(key)
                self.windows.pop(key, None)
                gone = self.gone[site]
                gone[w.kind] = max(gone.get(w.kind, w.end), w.end)
                sites.add(site)

    def stage(self, partition: int) -> None:
        found = self.pending.pop(partition, None)
        if found is None:
            return
        changed, dropped, sites = found
        put = self.store.put
        for site in sorted(sites):
            put(partition, f"{site}|wm", {"wms": self.wms[site], "gone": self.gone[site]})
        for key in sorted(changed - dropped):
            put(partition, key, self.windows[key].to_dict())
        for key in sorted(dropped):
            put(partition, key, None)


def _legacy_marker(topic: str, partition: int) -> str:
    return f"@{partition}"
