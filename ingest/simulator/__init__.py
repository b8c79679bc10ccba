"""`brain simulate`: a realistic, deterministic factory (docs/SIMULATOR.md).

Pure model: `Simulation` (plan.py) runs one `MachineSim` (model.py) per configured machine over
the shift calendar (schedule.py) with parameters by line type or a profile (params.py);
`Encoder` (encode.py) turns samples into v1 JSON / Sparkplug B messages; `BadMaker` (bad.py)
adds bad messages. The only I/O is in publish.py (paho-mqtt) and cli.py.
"""

from ingest.simulator.bad import BAD_KINDS, BadMaker, BadMessage
from ingest.simulator.encode import FORMS, Encoder, Message
from ingest.simulator.params import (
    DEFAULT_PERIODS,
    EMPTY_PROFILE,
    MachineParams,
    Profile,
    ProfileError,
    load_profile,
    parse_profile,
    resolve,
)
from ingest.simulator.plan import METRIC_ORDER, JsonlWriter, Simulation

__all__ = [
    "BAD_KINDS",
    "DEFAULT_PERIODS",
    "EMPTY_PROFILE",
    "FORMS",
    "METRIC_ORDER",
    "BadMaker",
    "BadMessage",
    "Encoder",
    "JsonlWriter",
    "MachineParams",
    "Message",
    "Profile",
    "ProfileError",
    "Simulation",
    "load_profile",
    "parse_profile",
    "resolve",
]
