"""Deliver a written report to one receiver: the notifier's webhook machinery (rate limit, retries
with backoff, signatures; processors/notify/delivery.py) or e-mail over SMTP (processors/notify/email.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brain.report import html
from brain.report.build import Written
from brain.report.messages import MIME, email_text, links, webhook_builds
from processors.notify.config import Receiver
from processors.notify.delivery import Deliverer, Outcome
from processors.notify.email import report_message, send_email


def files_of(written: Written) -> dict[str, bytes]:
    return {name: written.path(name).read_bytes() for name in MIME if written.path(name).exists()}


def deliver(
    written: Written,
    report_id: str,
    receiver: Receiver,
    *,
    deliverer: Deliverer,
    out_root: Path,
    files_url: str | None = None,
    env: dict[str, str] | None = None,
    email_send: Any = send_email,
) -> Outcome:
    files = files_of(written)
    try:
        relative = str(written.directory.resolve().relative_to(out_root.resolve()))
    except ValueError:
        relative = written.directory.name
    urls = links(files_url, relative)
    ident = {"report": report_id}
    if receiver.kind == "email":
        model = written.model
        message = report_message(
            receiver,
            subject=model["title"],
            text=email_text(model, urls),
            html=html.render(model, written.charts, cid=True),
            related={f"chart-{name}": data for name, data in written.charts.items()},
            attachments=[(n, files[n], MIME[n]) for n in ("report.png", "report.xlsx") if n in files],
        )
        return email_send(receiver, message, env=env, ident=ident)
    outcome = Outcome(True, 0)
    for build in webhook_builds(receiver.kind, written.model, report_id, files, urls):
        outcome = deliverer.send(receiver, build, ident)
        if not outcome.ok:
            return outcome
    return outcome
