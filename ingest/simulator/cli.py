"""`brain simulate`: a realistic, deterministic factory on MQTT and/or in a JSON Lines file.

See docs/SIMULATOR.md. Examples:

    brain simulate --config examples/suzhou-demo.yaml                       # live, to BRAIN_MQTT_URL
    brain simulate --config plant.yaml --speed 0 --duration 24h --seed 7 \\
        --start 2026-03-02T00:00:00+08:00 --out day.jsonl --no-mqtt          # a day, into a file
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import secrets
import signal
import sys
import threading
import time

from brain import logs

log = logging.getLogger("brain.simulate")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration(text: str) -> int:
    """`8h`, `3m`, `90s`, `1d`, `1h30m`, `250ms` -> milliseconds."""
    pos, total = 0, 0.0
    text = text.strip()
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_MS[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text or total <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 8h, 3m, 90s, 1h30m, found {text!r}")
    return int(total)


def parse_start(text: str) -> int:
    """RFC 3339 (with an offset or Z) or epoch milliseconds -> epoch ms."""
    text = text.strip()
    if re.fullmatch(r"\d{10,}", text):
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"expected RFC 3339 with an offset (2026-03-02T08:00:00+08:00) or epoch ms, found {text!r}"
        )
    return int(when.timestamp() * 1000)


def parse_periods(text: str) -> dict[str, float]:
    from ingest.simulator.params import ProfileError
    from ingest.simulator.params import parse_periods as parse

    data: dict[str, float] = {}
    for part in filter(None, text.split(",")):
        key, _, value = part.partition("=")
        try:
            data[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected GROUP=SECONDS, found {part!r}") from None
    try:
        out = parse(data, "--period")
    except ProfileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return {k: v for k, v in out.items() if k in data}


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], found {text}")
    return value


def _speed(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a speed >= 0 (0 = as fast as possible), found {text}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.description = (parser.description or "") + " (docs/SIMULATOR.md)"
    parser.add_argument(
        "--config",
        default=env("BRAIN_PLANT_CONFIG"),
        required=not env("BRAIN_PLANT_CONFIG"),
        help="plant config YAML (env BRAIN_PLANT_CONFIG)",
    )
    parser.add_argument(
        "--profile", help="simulation parameters YAML (docs/SIMULATOR.md); default: by line type"
    )
    parser.add_argument(
        "--seed", type=int, help="same seed + same --start -> identical readings; default random"
    )
    parser.add_argument(
        "--start",
        type=parse_start,
        help="simulated start, RFC 3339 or epoch ms; default now at --speed 1, "
        "else now minus --duration (backfill that ends now)",
    )
    parser.add_argument(
        "--duration", type=parse_duration, default=parse_duration("8h"), help="e.g. 8h, 3m (default 8h)"
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="simulated seconds per real second; 0 = as fast as possible (default 1)",
    )
    parser.add_argument(
        "--period",
        type=parse_periods,
        default={},
        metavar="GROUP=S,...",
        help="sample periods in seconds: state=0 (on change),counters=5,energy=5,power=5",
    )
    parser.add_argument(
        "--form",
        choices=("metric", "batch", "mixed"),
        default="batch",
        help="v1 JSON per metric, batch per machine, or a per-machine mix (default batch)",
    )
    parser.add_argument(
        "--sparkplug-share",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="fraction of machines published as Sparkplug B devices (one edge node per line)",
    )
    parser.add_argument("--out", help="write the good readings as Reading v1 JSON Lines ('-' = stdout)")
    parser.add_argument("--no-mqtt", dest="mqtt", action="store_false", help="do not publish (file only)")
    parser.add_argument(
        "--mqtt-url", default=env("BRAIN_MQTT_URL"), help="default BRAIN_MQTT_URL (mqtt[s]://...)"
    )
    parser.add_argument("--client-id", default=f"brain-sim-{os.getpid()}", help="MQTT client id prefix")
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1)
    parser.add_argument(
        "--bad-rate",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="bad messages per sample (malformed JSON, NaN, ...); 0.01 = 1 %%",
    )
    parser.add_argument(
        "--bad-out", help="write the bad messages (kind, expected reason, topic, payload) here"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    parser.add_argument("--log-level", default=env("BRAIN_LOG_LEVEL", "INFO"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from brain.plant import PlantConfigError, load_plant
    from brain.settings import Settings, SettingsError
    from ingest.simulator.bad import BadMaker
    from ingest.simulator.encode import Encoder
    from ingest.simulator.params import EMPTY_PROFILE, ProfileError, load_profile
    from ingest.simulator.plan import Simulation
    from ingest.simulator.publish import MqttOut, Progress, PublishError
    from ingest.simulator.publish import run as drive

    try:
        plant = load_plant(args.config)
        profile = load_profile(args.profile) if args.profile else EMPTY_PROFILE
        url = args.mqtt_url or Settings.from_env().mqtt_url
    except (PlantConfigError, ProfileError, SettingsError) as exc:
        print(f"brain simulate: {exc}", file=sys.stderr)
        return 2
    if not args.mqtt and not args.out:
        print("brain simulate: --no-mqtt needs --out (nothing to do otherwise)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    now = int(time.time()) * 1000
    start = args.start if args.start is not None else (now if args.speed == 1.0 else now - args.duration)
    if args.start is None and 0 < args.speed < 1:
        start = now
    sim = Simulation(
        plant, seed=seed, start=start, end=start + args.duration, profile=profile, periods=args.period
    )
    encoder = Encoder(
        sim.keys,
        sim.machines,
        form=args.form,
        sparkplug_share=args.sparkplug_share,
        rng=sim.rng("forms"),
        start=start,
    )
    bad = BadMaker(sim.keys, args.bad_rate, sim.rng("bad")) if args.bad_rate > 0 else None
    logs.event(
        log,
        "simulate.start",
        seed=seed,
        start=start,
        end=sim.end,
        speed=args.speed,
        form=args.form,
        machines=len(sim.keys),
        sparkplug_nodes=len(encoder.nodes),
        out=args.out or "",
        mqtt=url if args.mqtt else "off",
        periods=",".join(f"{k}={v:g}" for k, v in sim.periods.items()),
    )
    mqtt = None
    if args.mqtt:
        wills = {name: encoder.will(name) for name in encoder.nodes}
        mqtt = MqttOut(url, args.client_id, wills=wills, qos=args.qos)
        try:
            mqtt.connect()
        except PublishError as exc:
            print(f"brain simulate: {exc}", file=sys.stderr)
            return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    out = bad_out = None
    try:
        if args.out:
            out = sys.stdout.buffer if args.out == "-" else open(args.out, "wb", buffering=1 << 20)  # noqa: SIM115
        if args.bad_out:
            bad_out = open(args.bad_out, "wb")  # noqa: SIM115
        progress = None if args.quiet else Progress(sys.stderr, start, sim.end, plant.tz)
        stats = drive(
            sim,
            encoder=encoder,
            mqtt=mqtt,
            out=out,
            bad=bad if (mqtt or bad_out) else None,
            bad_out=bad_out,
            speed=args.speed,
            stop=stop,
            progress=progress,
        )
    finally:
        if mqtt is not None:
            mqtt.close(5.0)
        for fh in (out, bad_out):
            if fh is not None and fh is not sys.stdout.buffer:
                fh.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    logs.event(
        log,
        "simulate.done",
        seed=seed,
        samples=stats.samples,
        readings=stats.readings,
        messages=stats.messages,
        bad=stats.bad,
        elapsed_s=round(stats.elapsed_s, 3),
        readings_per_s=round(stats.readings_per_s),
        interrupted=stats.interrupted,
        unacked=stats.unacked,
    )
    return 130 if stats.interrupted else (1 if stats.unacked else 0)
