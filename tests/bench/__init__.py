"""``make bench``: Lawlink's throughput, latency, read-model and long-timer figures, measured in
one run against a private stack and against the raw ceilings of Temporal and JetStream.

Run ``python -m tests.bench [--quick]``; nothing here is a pytest test (no ``test_*`` names).
"""
