"""The full-length faults, as ``make chaos`` and the full-length test in ``make test`` run them.

The services keep production delivery settings; only the NATS reconnect wait is bounded
(1-2 s), so the client's old give-up of 60 attempts would come within 120 s and the 150 s
outage outlasts it. The worker stays away past an event's whole delivery schedule with the
default settings (about 150 s: five deliveries of 20 s update timeouts and the back-off).
"""

from __future__ import annotations

from tests.chaos.stack import Timing

FULL_TIMING = Timing(reconnect_wait=1.0, reconnect_max_wait=2.0)
NATS_OUTAGE = 150.0
TEMPORAL_PAUSE = 180.0
WORKER_OUTAGE = 180.0

assert NATS_OUTAGE > FULL_TIMING.old_give_up_seconds
