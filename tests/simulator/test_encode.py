"""Messages parse back (ingest's own parsers) into exactly the simulated readings; bad ones into
their named dead-letter reasons. Pure: no broker."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ingest import SparkplugState, parse_message
from ingest.config import IngestConfig
from ingest.plantconfig import ingest_config
from ingest.simulator import BAD_KINDS, BadMaker, Encoder, Simulation
from ingest.simulator.bad import make
from tests.simulator.plants import plant

MON9 = 1772413200000  # 2026-03-02T09:00:00+08:00


def _core(r) -> tuple:
    return (r.site, r.line, r.machine, r.metric, r.value, r.ts)


def _roundtrip(form: str, share: float) -> tuple[Counter, Counter, Encoder]:
    p = plant()
    sim = Simulation(p, seed=3, start=MON9, end=MON9 + 2 * 3_600_000, periods={"counters": 10})
    enc = Encoder(
        sim.keys, sim.machines, form=form, sparkplug_share=share, rng=sim.rng("forms"), start=sim.start
    )
    cfg = ingest_config(p, IngestConfig(backfill=True))
    spb = SparkplugState()
    now = MON9 + 3 * 3_600_000
    expected = Counter(tuple(r.values()) for r in sim.readings())
    got: Counter = Counter()
    messages = enc.node_births() + [m for s in sim.samples() for m in enc.encode(s)] + enc.deaths(sim.end)
    for m in messages:
        out = parse_message(m.topic, m.payload, now, cfg, spb)
        assert not out.dead_letters, (m.topic, out.dead_letters)
        assert not out.actions, m.topic  # no rebirth request: births, seq and aliases are right
        if "DEATH" in m.topic:
            assert {r.value for r in out.readings} <= {"offline"}
            continue
        assert len(out.readings) == m.readings
        got.update(_core(r) for r in out.readings)
    return expected, got, enc


@pytest.mark.parametrize(("form", "share"), [("batch", 0.0), ("metric", 0.0), ("mixed", 0.5), ("batch", 1.0)])
def test_messages_parse_into_exactly_the_readings(form: str, share: float) -> None:
    expected, got, enc = _roundtrip(form, share)
    assert got == expected
    forms = set(enc.forms)
    if share == 1.0:
        assert forms == {"sparkplug"} and len(enc.nodes) == 3  # one edge node per line
    elif form == "mixed":
        assert "sparkplug" in forms and len(forms) >= 2
    else:
        assert forms == {form}


def test_state_codes_go_out_as_codes() -> None:
    p = plant()
    sim = Simulation(p, seed=3, start=MON9, end=MON9 + 600_000)
    enc = Encoder(sim.keys, sim.machines, form="metric", rng=random.Random(1), start=sim.start)
    vmc = sim.keys.index(("sim", "cnc1", "vmc1"))
    first = next(s for s in sim.samples() if s[1] == vmc)
    state_msg = next(m for m in enc.encode(first) if m.topic.endswith("/state"))
    assert state_msg.payload.startswith(b'{"value":2,')  # running = 2 in the cnc1 code map


@pytest.mark.parametrize("kind", list(BAD_KINDS))
def test_each_bad_kind_gets_its_dead_letter_reason(kind: str) -> None:
    p = plant()
    cfg = ingest_config(p, IngestConfig(backfill=True))
    for base in ("brain/v1/sim/smt1/printer", "brain/v1/sim/cnc1/vmc1"):
        bad = make(kind, base, MON9, random.Random(kind))
        out = parse_message(bad.topic, bad.payload, MON9 + 1000, cfg)
        assert not out.readings
        assert [d.reason for d in out.dead_letters] == [BAD_KINDS[kind].value], (kind, bad)


def test_bad_maker_rate_and_rotation() -> None:
    maker = BadMaker([("s", "l", "m")], 0.05, random.Random(9))
    made = [b for i in range(20_000) if (b := maker.maybe(MON9 + i, 0)) is not None]
    assert 800 < len(made) < 1200
    assert Counter(b.kind for b in made).keys() == set(BAD_KINDS)
