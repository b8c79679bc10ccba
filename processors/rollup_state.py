"""Line and site records from machine partials (pure: no faust, no kafka).

Machine workers send, for every window they emit, the machine's partial (additive sums, see
processors/kpi/aggregate.py) keyed by site. Here one window of one site collects the latest
partial of each machine and sums them per line and for the site — never averaging ratios.

- A partial replaces the machine's previous one for that window unless its `seq` is older
  (re-delivered after a crash), so applying the same messages twice changes nothing.
- A line window is final when every configured machine of the line sent a final partial; a
  machine that sent nothing for the window counts as silent (its partial is the calendar's: all
  unknown, like `brain kpi` computes it) once the site watermark passed end + grace + wait, and
  this rollup has been seeing the site for at least `wait` of wall-clock time: the site watermark
  only knows the machines that sent, so when one partition is consumed ahead of another (start-up,
  catch-up after downtime, replay), a machine whose data is merely still behind must not be taken
  for silent — its windows would be final without it, then dropped, and its partials refused.
  The site window is final when all its lines are.
"""

from __future__ import annotations

from typing import Any

from brain.plant import Machine, Site
from processors.kpi import Context, machine_partial, merge_all, to_record

__all__ = ["RollupWindow", "SiteRollup"]


class RollupWindow:
    __slots__ = ("dirty", "emitted_at", "end", "fin", "kind", "m", "shift", "start")

    def __init__(self, kind: str, start: int, end: int, shift: str | None) -> None:
        self.kind, self.start, self.end, self.shift = kind, start, end, shift
        self.m: dict[str, list[Any]] = {}  # "line/machine" -> [seq, final, partial]
        self.fin: dict[str, bool] = {}  # line id (or "" for the site) -> final emitted
        self.dirty: set[str] = set()  # lines changed since the last emission
        self.emitted_at = 0.0  # wall clock, in memory only

    def apply(self, line: str, machine: str, seq: int, final: bool, partial: dict[str, Any]) -> bool:
        key = f"{line}/{machine}"
        cur = self.m.get(key)
        if cur is not None and seq < cur[0]:
            return False
        self.m[key] = [seq, final, partial]
        self.dirty.add(line)
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "w": [self.kind, self.start, self.end, self.shift],
            "m": self.m,
            "fin": self.fin,
            "d": sorted(self.dirty),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RollupWindow:
        w = cls(*data["w"])
        w.m, w.fin, w.dirty = data["m"], data["fin"], set(data["d"])
        return w


class SiteRollup:
    """The lines and machines of one site, and how a window of it becomes records."""

    def __init__(self, site: Site, ctx: Context, grace_ms: int, wait_ms: int) -> None:
        self.site, self.ctx, self.grace_ms, self.wait_ms = site, ctx, grace_ms, wait_ms
        self.lines: list[tuple[str, list[Machine]]] = [(ln.id, list(ln.machines)) for ln in site.lines]
        self.seen_at: float | None = None  # wall clock (ms) of the first emit call; in memory only

    def _partials(self, w: RollupWindow, line: str, machines: list[Machine], silent: bool) -> list[Any]:
        out = []
        for m in machines:
            cur = w.m.get(f"{line}/{m.id}")
            if cur is not None:
                out.append(cur[2])
            else:  # nothing from this machine for this window: the calendar's partial (unknown)
                out.append(machine_partial({}, [], w.start, w.end, m, self.ctx))
        return out

    def _line_final(
        self, w: RollupWindow, line: str, machines: list[Machine], site_wm: int, now_ms: float
    ) -> bool:
        assert self.seen_at is not None
        silent_ok = site_wm >= w.end + self.grace_ms + self.wait_ms and now_ms - self.seen_at >= self.wait_ms
        for m in machines:
            cur = w.m.get(f"{line}/{m.id}")
            if cur is None:
                if not silent_ok:
                    return False
            elif not cur[1]:
                return False
        return True

    def emit(
        self, w: RollupWindow, site_wm: int, now_ms: float, interval_ms: int, force: bool = False
    ) -> list[dict[str, Any]]:
        """Records to (re-)emit for this window now: newly final lines/site at once, changed ones
        at most every `interval_ms` (`force`: whatever changed, and the site made final)."""
        if self.seen_at is None:
            self.seen_at = now_ms
        finals = {line: self._line_final(w, line, ms, site_wm, now_ms) or force for line, ms in self.lines}
        site_final = all(finals.values())
        newly = [line for line, f in finals.items() if f and not w.fin.get(line)]
        site_newly = site_final and not w.fin.get("")
        if not newly and not site_newly and not (w.dirty and (force or now_ms - w.emitted_at >= interval_ms)):
            return []
        present = {key.split("/", 1)[0] for key in w.m}
        out_lines = [line for line, _ in self.lines if line in newly or (line in w.dirty and line in present)]
        rec = []
        all_parts: list[Any] = []
        for line, machines in self.lines:
            parts = self._partials(w, line, machines, finals[line])
            all_parts.extend(parts)
            if line in out_lines:
                rec.append(self._record(merge_all(parts), "line", line, finals[line], w))
                if finals[line]:
                    w.fin[line] = True
        rec.insert(0, self._record(merge_all(all_parts), "site", None, site_final, w))
        if site_final:
            w.fin[""] = True
        w.dirty.clear()
        w.emitted_at = now_ms
        return rec

    def _record(self, p: dict[str, Any], scope: str, line: str | None, final: bool, w: RollupWindow) -> dict:
        return to_record(
            p,
            scope=scope,
            site=self.site.id,
            line=line,
            machine=None,
            window=w.kind,
            start=w.start,
            end=w.end,
            shift=w.shift,
            final=final,
            ctx=self.ctx,
        )
