"""What tracing costs: the same judged ingest with every span sampled and exported over OTLP,
then with tracing off, on the same stack in the same run.

The services are restarted for each half (tracing is configured at start from the standard
``OTEL_*`` variables, as in production); the spans go to a local OTLP/HTTP sink that counts what
it receives, so "on" is proven to have exported, not only to have been asked to.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.bench.stack import BenchStack

LAWLINK = ("worker", "intake", "registry")


class SpanSink:
    """An OTLP/HTTP endpoint that accepts trace exports and counts requests and bytes."""

    def __init__(self) -> None:
        self.requests = 0
        self.bytes = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                sink.requests += 1
                sink.bytes += length
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        """The base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def _restart(stack: BenchStack, extra: dict[str, str]) -> None:
    for name in LAWLINK:
        stack.stop_service(name)
    stack.extra_env = extra
    stack.spawn_python("worker", "services.worker")
    stack.spawn_asgi("intake", "services.intake.app:app")
    stack.spawn_asgi("registry", "services.registry.app:app")
    for name in ("intake", "registry"):
        stack.wait_healthy(name)
    stack.apply_layout(stack.layout)


async def tracing_cost(
    stack: BenchStack, ingest: Callable[[str], Awaitable[dict[str, Any]]]
) -> dict[str, Any]:
    """Run ``ingest(tag)`` (a judged ingest) with tracing on at 100 % sampling, then off."""
    base = dict(stack.extra_env)
    sink = SpanSink()
    try:
        _restart(
            stack,
            {
                **base,
                "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_TRACES_SAMPLER": "always_on",
                "OTEL_BSP_SCHEDULE_DELAY": "500",
            },
        )
        on = await ingest("traced")
        _restart(stack, base)  # flushes the exporters (SIGTERM) before the count below
        exported = {"requests": sink.requests, "bytes": sink.bytes}
        off = await ingest("untraced")
    finally:
        sink.close()
        stack.extra_env = base
    return {
        "on": on,
        "off": off,
        "exported": exported,
        "rate_ratio_on_to_off": round(on["rate"] / off["rate"], 3),
        "raw_ratio_on": on["ratio_to_raw_start"],
        "raw_ratio_off": off["ratio_to_raw_start"],
        # The machine's pace moves between the halves (the raw starts beside each differ), so
        # the cost is read from the ratios to the raw starts and from CPU per event.
        "judged_ratio_on_to_off": round(on["ratio_to_raw_start"] / off["ratio_to_raw_start"], 3),
        "cpu_ms_per_event_added": {
            name: round(on["cpu_ms_per_event"].get(name, 0.0) - off["cpu_ms_per_event"].get(name, 0.0), 2)
            for name in LAWLINK
        },
    }
