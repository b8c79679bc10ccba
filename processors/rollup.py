"""Line and site records on the stream: machine partials (keyed by site) -> `SiteRollup`.

Table keys, all in the site's partition: `site|kind@start` (one window: the latest partial of
each machine), `site|wm` (the watermark of every machine that sent; the site watermark is their
minimum) and `@p` (the last partials offset applied in partition p). A batch is handled like
the machine side: apply, send the records and wait, then write the site watermarks, the windows,
and last the offset marker — one changelog partition keeps that order, so after a crash either the marker is
durable (the re-delivered partials are skipped) or the partials are applied again, which
changes nothing (a partial with an older `seq` never replaces a newer one). A jump past the
marker's next offset means Faust skipped partials: they are read again first (gaps.py). A window whose site
record was emitted final and whose end is older than the site watermark minus the retention is
forgotten; `site|wm` also keeps, per window kind, the end of the newest forgotten window, and a
partial for a window at or before it is ignored and counted (`too_old_partials`).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from brain import logs
from brain.plant import Plant
from processors.gaps import ReadRange, TailWatch, fill_gap, highwater
from processors.kpi import Context
from processors.machine_agent import Sender, stage_table
from processors.messages import dumps, loads, record_key
from processors.options import ProcessorOptions
from processors.rollup_state import RollupWindow, SiteRollup

log = logging.getLogger("brain.process")


class RollupWorker:
    def __init__(
        self,
        app: Any,
        plant: Plant,
        opts: ProcessorOptions,
        *,
        table: Any,
        topics: dict,
        read_range: ReadRange,
    ) -> None:
        self.app, self.opts, self.table = app, opts, table
        self.read_range = read_range
        self.tail = TailWatch(read_range, "rollup")
        self.topics: dict[str, str] = {k: t.get_topic_name() for k, t in topics.items()}
        ctx = Context.from_plant(plant)
        self.sites = {s.id: SiteRollup(s, ctx, opts.grace_ms, opts.rollup_wait_ms) for s in plant.sites}
        self.windows: dict[str, RollupWindow] = {}
        self.wms: dict[str, dict[str, int]] = {}  # site -> "line/machine" -> machine watermark
        self.gone: dict[str, dict[str, int]] = {}  # site -> kind -> end of the newest forgotten window
        self.marker: dict[int, int] = {}
        self.open: dict[int, set[str]] = {}
        self._indexed: set[int] = set()
        self.stats: Counter[str] = Counter()
        self._stats_at = time.monotonic()

    def reset(self) -> None:
        self.windows.clear()
        self.wms.clear()
        self.gone.clear()
        self.marker.clear()
        self.open.clear()
        self._indexed.clear()
        self.tail.reset()

    def _get(self, key: str) -> Any:
        raw = self.table.get(key.encode())
        return None if raw is None else loads(raw)

    def _partition_open(self, partition: int) -> set[str]:
        keys = self.open.setdefault(partition, set())
        if partition not in self._indexed:
            self._indexed.add(partition)
            for k, raw in list(self.table.items()):
                name = k.decode() if isinstance(k, bytes) else k
                if "@" in name and "|" in name and loads(raw).get("p") == partition:
                    keys.add(name)
            self.marker[partition] = (self._get(f"@{partition}") or {}).get("off", -1)
        return keys

    def _window(self, key: str) -> RollupWindow | None:
        w = self.windows.get(key)
        if w is None:
            data = self._get(key)
            if data is not None:
                w = self.windows[key] = RollupWindow.from_dict(data)
        return w

    def _wms(self, site: str) -> dict[str, int]:
        wms = self.wms.get(site)
        if wms is None:
            meta = self._get(f"{site}|wm") or {}
            wms = self.wms[site] = meta.get("wms", {})
            self.gone[site] = meta.get("gone", {})
        return wms

    def _wm(self, site: str) -> int:
        """The site watermark: the lowest watermark of the machines that ever sent (a machine
        that falls silent keeps moving on its idle timeout), so one machine running ahead does
        not make the others' windows look silent."""
        wms = self._wms(site)
        return min(wms.values()) if wms else -(2**62)

    async def handle(self, events: list[Any]) -> None:
        now = time.time() * 1000
        send = Sender(self.app, self.opts.send_timeout_s + 5, self.stats)
        by_part: dict[int, list[Any]] = {}
        for ev in events:
            by_part.setdefault(ev.message.partition, []).append(ev)
        writes = []
        for partition, evs in by_part.items():
            open_keys = self._partition_open(partition)
            last = self.marker[partition]
            changed: set[str] = set()
            sites: set[str] = set()
            ticked = False
            values: list[bytes | None] = []
            for ev in evs:
                if ev.message.topic == self.opts.rollup_ticks:
                    ticked = True
                    continue
                offset = ev.message.offset
                if offset <= last:
                    self.stats["duplicates"] += 1
                    continue
                if last >= 0 and offset > last + 1:  # partials Faust never handed over (gaps.py)
                    missed = await fill_gap(self.read_range, self.opts.partials, partition, last + 1,
                                            offset, self.stats, "rollup")  # fmt: skip
                    values.extend(m.value for m in missed)
                values.append(ev.value)
                last = offset
            if ticked:  # partials lost at the partition's end
                high = highwater(self.app.consumer, self.opts.partials, partition)
                for m in await self.tail.check(self.opts.partials, partition, last if last >= 0 else None,
                                               high, self.stats):  # fmt: skip
                    values.append(m.value)
                    last = m.offset
            for value in values:
                key = self._apply(loads(value), sites)
                if key is not None:
                    changed.add(key)
                    open_keys.add(key)
            dropped = self._emit(open_keys, now, send, changed, sites)
            writes.append((evs[-1], partition, last, changed, dropped, sites))
        await send.flush()
        state_send = Sender(self.app, self.opts.send_timeout_s + 5, self.stats)
        for event, partition, last, changed, dropped, sites in writes:
            items: list[tuple[bytes, bytes | None]] = []
            for site in sites:
                meta = {"wms": self.wms[site], "gone": self.gone[site], "p": partition}
                items.append((f"{site}|wm".encode(), dumps(meta)))
            for key in sorted(changed - dropped):
                state = self.windows[key].to_dict()
                state["p"] = partition
                items.append((key.encode(), dumps(state)))
            items.extend((key.encode(), None) for key in sorted(dropped))
            if last > self.marker[partition]:
                items.append((f"@{partition}".encode(), dumps({"off": last})))
                self.marker[partition] = last
            stage_table(self.table, event, items, state_send)
        await state_send.flush()
        self._log_stats()

    def _apply(self, msg: dict[str, Any], sites: set[str]) -> str | None:
        site = msg.get("site")
        if site not in self.sites:
            self.stats["unknown_site"] += 1
            return None
        wms = self._wms(site)
        if "kind" not in msg:  # a machine's watermark, sent after all partials of one emission
            lm = f"{msg['line']}/{msg['machine']}"
            if msg["wm"] > wms.get(lm, -(2**62)):
                wms[lm] = msg["wm"]
                sites.add(site)
            return None
        key = f"{site}|{msg['kind']}@{msg['start']}"
        w = self._window(key)
        if w is None:
            if msg["end"] <= self.gone[site].get(msg["kind"], -(2**62)):
                self.stats["too_old_partials"] += 1
                logs.event(
                    log, "process.too_old_partial", logging.WARNING, window=key, machine=msg["machine"]
                )
                return None
            w = self.windows[key] = RollupWindow(msg["kind"], msg["start"], msg["end"], msg["shift"])
        w.apply(msg["line"], msg["machine"], msg["seq"], msg["final"], msg["p"])
        self.stats["partials"] += 1
        return key

    def _emit(
        self, open_keys: set[str], now: float, send: Sender, changed: set[str], sites: set[str]
    ) -> set[str]:
        dropped = set()
        for key in sorted(open_keys):
            w = self._window(key)
            if w is None:
                open_keys.discard(key)
                continue
            site = key.split("|", 1)[0]
            wm = self._wm(site)
            recs = self.sites[site].emit(w, wm, now, self.opts.emit_interval_ms)
            for rec in recs:
                send.add(self.topics["out"], record_key(rec), dumps(rec))
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
        return dropped

    def _log_stats(self) -> None:
        t = time.monotonic()
        if t - self._stats_at >= self.opts.stats_interval_s:
            self._stats_at = t
            logs.event(log, "process.stats", agent="rollup", t=round(t, 3), **dict(self.stats))
