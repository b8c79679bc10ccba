"""`brain reports`: each shift's (and day's, month's) report, made once its records are final and
delivered to the subscribed receivers — once, even after a restart.

Why `brain.kpis` and not the clock: only the processors know when a shift's records are final
(watermark + grace, late data, a processor that was down and catches up); a final `shift` (or
`day`) record of the subscribed scope is exactly "the shift is over and its numbers will not
change". The sink writes InfluxDB asynchronously, so the service then waits until InfluxDB holds
the period's final points for the scope and all its lines and machines (what the report reads,
what the dashboards show), at most `settle_s`, and makes the report from InfluxDB.

Once per report: the state of every report (which receivers have it) is a record in a compacted
Kafka topic (`brain.reports`, key = report id), read whole at start and written after every
receiver. A report already delivered is skipped (a processor re-sending a final record, the
service restarted and reading its input again); after a crash in the middle, only the receivers
not yet recorded get it (at least once per receiver; one may get it twice if the crash falls
between its delivery and the record). Offsets of `brain.kpis` are committed after each batch.
InfluxDB unreachable: retried with backoff (a log line per attempt), the service keeps running.
A receiver that still fails after its retries gets a dead letter (`brain.deadletter`, reason
`report.failed`), recorded as done for that receiver.
"""

from __future__ import annotations

import base64
import calendar as _calendar
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brain import logs
from brain import settings as _s
from brain.kafka_admin import kafka_python_client
from brain.plant import Plant
from brain.report.build import Written, make
from brain.report.data import InfluxSource
from brain.report.deliver import deliver
from brain.report.influx import InfluxReader, InfluxUnavailable, kpi_query, records_from_rows
from brain.report.messages import report_summary
from brain.report.period import Period, Scope, month_period, period_of_record
from brain.settings import Settings
from processors.kpi import Calendar
from processors.notify.config import NotifyConfig
from processors.notify.delivery import Deliverer, Outcome

log = logging.getLogger("brain.reports")
TOPIC_REPORTS = "brain.reports"


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    kpis_topic: str = _s.TOPIC_KPIS
    state_topic: str = TOPIC_REPORTS
    deadletter_topic: str = _s.TOPIC_DEADLETTER
    group: str = "brain-reports"
    out: Path = Path("reports")
    settle_s: float = 600.0
    retry_max_s: float = 60.0
    offset_reset: str = "latest"
    with_png: bool = True


@dataclass(frozen=True, slots=True)
class Job:
    report_id: str
    period: Period
    scope: Scope
    lang: str
    receivers: tuple[str, ...]


def jobs_for(record: dict[str, Any], plant: Plant, config: NotifyConfig, cal: Calendar) -> list[Job]:
    """The reports a final KPI record completes (pure): its shift or day, and the month when it is
    the month's last day — for every subscription of its scope."""
    if not record.get("final") or record.get("scope") not in ("site", "line"):
        return []
    period = period_of_record(plant, record, cal)
    if period is None:
        return []
    line = record.get("line") if record["scope"] == "line" else None
    periods = [period]
    if period.kind == "day":
        day = cal.local(period.start).date()
        if day.day == _calendar.monthrange(day.year, day.month)[1]:
            periods.append(month_period(plant, f"{day.year:04d}-{day.month:02d}", cal))
    merged: dict[str, Job] = {}
    for p in periods:
        for sub in config.reports.subscriptions:
            if not sub.matches(record["site"], line, p.kind):
                continue
            scope = Scope(record["site"], line)
            rid = f"{scope.label}:{p.label}:{sub.lang}"
            old = merged.get(rid)
            names = tuple(dict.fromkeys((*(old.receivers if old else ()), *sub.receivers)))
            merged[rid] = Job(rid, p, scope, sub.lang, names)
    return list(merged.values())


def expected_points(plant: Plant, scope: Scope) -> int:
    """Final records the period needs in InfluxDB: the scope, its lines (for a site), its machines."""
    site = next(s for s in plant.sites if s.id == scope.site)
    lines = [ln for ln in site.lines if scope.line is None or ln.id == scope.line]
    return len(lines) + sum(len(ln.machines) for ln in lines) + (1 if scope.line is None else 0)


@dataclass
class ReportService:
    plant: Plant
    config: NotifyConfig
    settings: Settings
    opts: ServiceOptions = field(default_factory=ServiceOptions)
    deliverer: Deliverer = field(default_factory=Deliverer)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {"reports": 0, "sent": 0, "dead": 0, "skipped": 0})

    def __post_init__(self) -> None:
        self.cal = Calendar.from_plant(self.plant)
        self.reader = InfluxReader(self.settings)
        self.producer: Any = None

    # --- durable state -------------------------------------------------------------------------
    def load_state(self) -> None:
        """Read the compacted state topic whole (creating it if missing)."""
        from kafka import KafkaConsumer, TopicPartition

        _ensure_compacted(self.settings, self.opts.state_topic)
        consumer = KafkaConsumer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            **self.settings.kafka_kwargs(),
        )
        try:
            parts = [
                TopicPartition(self.opts.state_topic, p)
                for p in sorted(consumer.partitions_for_topic(self.opts.state_topic) or [0])
            ]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = consumer.end_offsets(parts)
            while any(consumer.position(tp) < ends[tp] for tp in parts):
                for records in consumer.poll(timeout_ms=500).values():
                    for rec in records:
                        if rec.value:
                            self.state[rec.key.decode()] = json.loads(rec.value)
        finally:
            consumer.close()
        logs.event(log, "reports.state_loaded", reports=len(self.state), topic=self.opts.state_topic)

    def _save(self, report_id: str) -> None:
        value = json.dumps(self.state[report_id], ensure_ascii=False).encode()
        self.producer.send(self.opts.state_topic, key=report_id.encode(), value=value).get(30)

    # --- one report ----------------------------------------------------------------------------
    def _retry(self, what: str, stop: threading.Event, fn: Any) -> Any:
        """fn() until it does not raise InfluxUnavailable: backoff 1 s doubling to retry_max_s."""
        delay, attempt = 1.0, 1
        while True:
            try:
                return fn()
            except InfluxUnavailable as exc:
                logs.event(
                    log,
                    "reports.influx_retry",
                    logging.WARNING,
                    what=what,
                    attempt=attempt,
                    retry_in_s=delay,
                    error=str(exc)[:200],
                )
                if stop.wait(delay):
                    raise
                delay, attempt = min(delay * 2, self.opts.retry_max_s), attempt + 1

    def _settled(self, job: Job, stop: threading.Event) -> int:
        """Wait until InfluxDB has the period's final points for the scope (at most settle_s)."""
        if job.period.kind == "month":
            return 0
        want = expected_points(self.plant, job.scope)
        deadline = time.monotonic() + self.opts.settle_s
        query = kpi_query(
            site=job.scope.site,
            window=job.period.window,
            start=job.period.start,
            stop=job.period.start + 1,
            scopes=("machine", "line", "site"),
            line=job.scope.line,
        )
        while True:
            rows = self._retry("settle", stop, lambda: self.reader.query(query))
            have = sum(1 for r in records_from_rows(rows, self.plant) if r["final"])
            if have >= want or time.monotonic() >= deadline or stop.is_set():
                if have < want:
                    logs.event(
                        log,
                        "reports.not_settled",
                        logging.WARNING,
                        report=job.report_id,
                        have=have,
                        want=want,
                    )
                return want - have
            logs.event(log, "reports.waiting", report=job.report_id, have=have, want=want)
            stop.wait(2.0)

    def _deadletters(self, job: Job) -> int | None:
        from brain.report.deadletters import count_deadletters

        try:
            return count_deadletters(
                self.settings,
                job.scope.site,
                job.period.start,
                job.period.end,
                sparkplug=self.plant.sparkplug,
                timeout_s=10,
            )
        except Exception as exc:
            logs.event(log, "reports.deadletters_unavailable", logging.WARNING, error=repr(exc)[:200])
            return None

    def handle(self, job: Job, stop: threading.Event) -> None:
        state = self.state.get(job.report_id, {"id": job.report_id, "receivers": {}, "done": False})
        todo = [n for n in job.receivers if n not in state["receivers"]]
        if state.get("done") and not todo:
            self.counts["skipped"] += 1
            logs.event(log, "reports.already_delivered", report=job.report_id)
            return
        missing = self._settled(job, stop)
        dead = self._deadletters(job)
        source = InfluxSource(self.plant, self.reader)
        written: Written = self._retry(
            "report",
            stop,
            lambda: make(
                self.plant,
                job.period,
                job.scope,
                source,
                self.opts.out,
                lang=job.lang,
                deadletters=dead,
                with_png=self.opts.with_png,
            ),
        )
        self.counts["reports"] += 1
        logs.event(log, "reports.written", report=job.report_id, dir=str(written.directory), missing=missing)
        state.update(dir=str(written.directory), period=job.period.label, scope=job.scope.label)
        self.state[job.report_id] = state
        for name in todo:
            receiver = self.config.receivers[name]
            try:
                outcome = deliver(
                    written,
                    job.report_id,
                    receiver,
                    deliverer=self.deliverer,
                    out_root=self.opts.out,
                    files_url=self.config.reports.files_url,
                )
            except Exception as exc:  # a bug or a bad file must not stop the service: dead-letter it
                outcome = Outcome(False, 0, "report.error", f"receiver {name}: {type(exc).__name__}: {exc}")
                logs.event(
                    log,
                    "reports.deliver_error",
                    logging.ERROR,
                    report=job.report_id,
                    receiver=name,
                    error=repr(exc)[:300],
                )
            if outcome.ok:
                self.counts["sent"] += 1
                state["receivers"][name] = "sent"
            else:
                self.counts["dead"] += 1
                self._dead_letter(job, written, name, outcome.reason, outcome.detail)
                state["receivers"][name] = "dead-lettered"
            self._save(job.report_id)
        state["done"] = True
        state["ts"] = int(time.time() * 1000)
        self._save(job.report_id)
        logs.event(log, "reports.delivered", report=job.report_id, receivers=",".join(todo) or "-")

    def _dead_letter(self, job: Job, written: Written, receiver: str, reason: str, detail: str) -> None:
        summary = json.dumps(report_summary(written.model, job.report_id), ensure_ascii=False).encode()
        letter = {
            "topic": self.opts.state_topic,
            "payload": base64.b64encode(summary).decode("ascii"),
            "reason": "report.failed",
            "cause": reason,
            "detail": detail,
            "received_ts": int(time.time() * 1000),
            "source": "reports",
            "receiver": receiver,
            "site": job.scope.site,
            "report": job.report_id,
        }
        value = json.dumps(letter, ensure_ascii=False).encode()
        self.producer.send(self.opts.deadletter_topic, key=job.report_id.encode(), value=value).get(30)
        logs.event(
            log, "reports.deadletter", logging.ERROR, report=job.report_id, receiver=receiver, cause=reason
        )

    # --- the loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        from kafka import KafkaConsumer, KafkaProducer
        from kafka.errors import KafkaError

        self.producer = KafkaProducer(
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            **self.settings.kafka_kwargs(),
        )
        self.load_state()
        consumer = KafkaConsumer(
            self.opts.kpis_topic,
            kafka_client=kafka_python_client(),
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.opts.group,
            enable_auto_commit=False,
            auto_offset_reset=self.opts.offset_reset,
            max_poll_interval_ms=86_400_000,
            **self.settings.kafka_kwargs(),
        )
        logs.event(
            log,
            "reports.start",
            topic=self.opts.kpis_topic,
            group=self.opts.group,
            subscriptions=len(self.config.reports.subscriptions),
            out=str(self.opts.out),
        )
        try:
            while not stop.is_set():
                try:
                    batches = consumer.poll(timeout_ms=500, max_records=500)
                except KafkaError as exc:
                    logs.event(log, "reports.kafka_unavailable", logging.WARNING, error=repr(exc)[:200])
                    stop.wait(1.0)
                    continue
                jobs: dict[str, Job] = {}
                for records in batches.values():
                    for rec in records:
                        try:
                            value = json.loads(rec.value or b"null")
                        except ValueError:
                            continue
                        if isinstance(value, dict):
                            for job in jobs_for(value, self.plant, self.config, self.cal):
                                jobs[job.report_id] = job
                for job in jobs.values():
                    try:
                        self.handle(job, stop)
                    except InfluxUnavailable:
                        return  # stopping while InfluxDB is down: the offsets stay uncommitted
                if batches:
                    try:
                        consumer.commit()
                    except KafkaError as exc:
                        logs.event(log, "reports.commit_failed", logging.WARNING, error=repr(exc)[:200])
        finally:
            consumer.close()
            self.producer.close()


def _ensure_compacted(settings: Settings, topic: str) -> None:
    """The delivered-reports topic: one partition, compacted, with the settings' replication."""
    from brain.kafka_admin import TopicSpec, ensure_topics

    ensure_topics(settings, {topic: TopicSpec(1, compact=True)})


__all__ = ["Job", "ReportService", "ServiceOptions", "expected_points", "jobs_for"]
