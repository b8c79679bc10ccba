"""E-mail over SMTP: STARTTLS, login from the environment, retries with backoff like the webhooks.

`report_message(...)` builds the MIME message (pure): an HTML body whose images are related
parts (`cid:`; mail clients do not show data URIs), a plain-text alternative, and attachments.
`send_email(receiver, message)` delivers it: connect, STARTTLS (certificate checked against the
system CAs or the receiver's `ca_file`), login with `username_env`/`password_env`, send; a failure
is retried `max_attempts` times with the receiver's backoff, one log line per attempt, and the
`Outcome` says why it finally failed (the caller dead-letters it). Logs name the receiver and the
server, never the password.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from brain import logs
from processors.notify.config import Receiver
from processors.notify.delivery import Outcome, backoff_delays

log = logging.getLogger("brain.notify")


def report_message(
    receiver: Receiver,
    *,
    subject: str,
    text: str,
    html: str,
    related: dict[str, bytes],
    attachments: list[tuple[str, bytes, str]],
) -> EmailMessage:
    """multipart/mixed[ related[ alternative[text, html], images ], attachments ]."""
    opts = receiver.email
    assert opts is not None, f"receiver {receiver.name} is not an email receiver"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = opts.sender
    msg["To"] = ", ".join(opts.to)
    if opts.cc:
        msg["Cc"] = ", ".join(opts.cc)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=opts.sender.split("@", 1)[1])
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    for cid, data in related.items():
        html_part.add_related(data, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid}.png")
    for name, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def send_email(
    receiver: Receiver,
    message: EmailMessage,
    *,
    env: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    smtp: Callable[..., smtplib.SMTP] = smtplib.SMTP,
    ident: dict[str, object] | None = None,
) -> Outcome:
    opts = receiver.email
    assert opts is not None, f"receiver {receiver.name} is not an email receiver"
    env = dict(os.environ if env is None else env)
    user = env.get(opts.username_env) if opts.username_env else None
    password = env.get(opts.password_env) if opts.password_env else None
    if opts.username_env and (not user or not password):
        missing = opts.username_env if not user else opts.password_env
        return Outcome(False, 0, "notify.secret_missing", f"receiver {receiver.name}: {missing} is not set")
    fields = {
        "receiver": receiver.name,
        "kind": "email",
        "server": f"{opts.host}:{opts.port}",
        **(ident or {}),
    }
    delays = [0.0, *backoff_delays(receiver)]
    detail = ""
    for attempt, delay in enumerate(delays, start=1):
        if delay:
            sleep(delay)
        try:
            with smtp(opts.host, opts.port, timeout=receiver.timeout_s) as client:
                client.ehlo()
                if opts.starttls:
                    client.starttls(context=_context(opts.ca_file))
                    client.ehlo()
                if user:
                    client.login(user, password or "")
                refused = client.send_message(message)
            if refused:
                detail = f"recipients refused: {', '.join(sorted(refused))}"
            else:
                logs.event(log, "notify.sent", attempt=attempt, **fields)
                return Outcome(True, attempt)
        except smtplib.SMTPAuthenticationError as exc:
            detail = f"login refused ({exc.smtp_code})"
        except UnicodeEncodeError:
            detail = "the login has non-ASCII characters (SMTP AUTH sends ASCII only)"
        except (smtplib.SMTPException, OSError, ssl.SSLError, ValueError) as exc:
            detail = f"{type(exc).__name__}: {str(exc)[:160]}"
        logs.event(log, "notify.retry", logging.WARNING, attempt=attempt, error=detail, **fields)
    detail = f"receiver {receiver.name} (email): {detail} after {len(delays)} attempts"
    logs.event(log, "notify.failed", logging.ERROR, attempts=len(delays), **fields)
    return Outcome(False, len(delays), "notify.failed", detail)
