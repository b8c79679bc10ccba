"""Delivering one event to one receiver: rate limit, retries with exponential backoff, verdict.

`Deliverer.deliver(receiver, event)` returns an `Outcome`; the caller dead-letters a failure.
The HTTP call, the clock and the sleep are injected (tests use fakes for backoff timing). Logs
name the receiver and its kind, never its URL or secret: the URL carries the robot's token.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from brain import logs
from processors.notify.config import Receiver
from processors.notify.formats import Request, accepted, build_request

log = logging.getLogger("brain.notify")

Post = Callable[[Request, float], tuple[int, bytes]]
Build = Callable[[str, "str | None", int], Request]  # (url, secret, now_ms) -> the request


def http_post(request: Request, timeout_s: float) -> tuple[int, bytes]:
    """POST with urllib; (status, body). Network errors raise OSError without the URL in it."""
    req = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read() if exc.fp else b""
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OSError(f"{type(exc).__name__}: {type(reason).__name__}") from None


def backoff_delays(receiver: Receiver) -> list[float]:
    """Seconds to wait before attempts 2..N: backoff, 2×backoff, 4×... capped at backoff_max."""
    return [min(receiver.backoff_s * 2**i, receiver.backoff_max_s) for i in range(receiver.max_attempts - 1)]


@dataclass
class RateLimiter:
    """Token bucket: `rate_per_min` sends a minute, bursts up to the same number."""

    rate_per_min: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = max(1.0, self.rate_per_min)
        self.updated = self.clock()

    def wait_time(self) -> float:
        """Seconds until a token is free (0 now); does not take it."""
        now = self.clock()
        self.tokens = min(
            max(1.0, self.rate_per_min), self.tokens + (now - self.updated) * self.rate_per_min / 60
        )
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) * 60 / self.rate_per_min

    def take(self) -> None:
        self.tokens -= 1


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    attempts: int
    reason: str = ""  # notify.failed | notify.rate_limited | notify.secret_missing
    detail: str = ""


class Deliverer:
    def __init__(
        self,
        *,
        post: Post = http_post,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        env: dict[str, str] | None = None,
    ) -> None:
        self.post, self.sleep, self.clock, self.wall_ms, self.env = post, sleep, clock, wall_ms, env
        self.limits: dict[str, RateLimiter] = {}

    def deliver(self, receiver: Receiver, event: dict[str, Any]) -> Outcome:
        """One alert event to one receiver."""
        ident = {"id": event.get("id"), "state": event.get("state")}

        def build(url: str, secret: str | None, now_ms: int) -> Request:
            return build_request(receiver.kind, event, url, secret, now_ms, receiver.lang)

        return self.send(receiver, build, ident)

    def send(self, receiver: Receiver, build: Build, ident: dict[str, Any]) -> Outcome:
        """One request to one receiver: rate limit, then up to `max_attempts` tries with backoff.
        `build(url, secret, now_ms)` makes the request anew for every attempt (signatures carry
        the time); `ident` names what is sent in the log lines (never the URL or the secret)."""
        limiter = self.limits.setdefault(receiver.name, RateLimiter(receiver.rate_per_min, self.clock))
        wait = limiter.wait_time()
        if wait > receiver.max_wait_s:
            self._log("notify.rate_limited", receiver, ident, logging.WARNING, wait_s=round(wait, 1))
            return Outcome(
                False, 0, "notify.rate_limited", f"receiver {receiver.name}: rate limit, {wait:.0f}s wait"
            )
        if wait > 0:
            self.sleep(wait)
            limiter.wait_time()
        limiter.take()
        try:
            url, secret = receiver.url(self.env), receiver.secret(self.env)
        except KeyError as exc:
            detail = f"receiver {receiver.name}: environment variable {exc.args[0]} is not set"
            return Outcome(False, 0, "notify.secret_missing", detail)
        delays = [0.0, *backoff_delays(receiver)]
        detail = ""
        for attempt, delay in enumerate(delays, start=1):
            if delay:
                self.sleep(delay)
            request = build(url, secret, self.wall_ms())
            try:
                status, body = self.post(request, receiver.timeout_s)
            except OSError as exc:
                detail = f"network error ({exc})"
            else:
                if accepted(receiver.kind, status, body):
                    self._log("notify.sent", receiver, ident, attempt=attempt, status=status)
                    return Outcome(True, attempt)
                detail = f"HTTP {status}{_answer(body)}"
            self._log("notify.retry", receiver, ident, logging.WARNING, attempt=attempt, error=detail)
        detail = f"receiver {receiver.name} ({receiver.kind}): {detail} after {len(delays)} attempts"
        self._log("notify.failed", receiver, ident, logging.ERROR, attempts=len(delays))
        return Outcome(False, len(delays), "notify.failed", detail)

    @staticmethod
    def _log(name: str, r: Receiver, ident: dict[str, Any], level: int = logging.INFO, **fields: Any) -> None:
        logs.event(log, name, level, receiver=r.name, kind=r.kind, **ident, **fields)


def _answer(body: bytes) -> str:
    """A short, printable piece of the answer (robots explain errors there; no secrets in it)."""
    text = body[:120].decode("utf-8", "replace").strip()
    return f": {text}" if text else ""
