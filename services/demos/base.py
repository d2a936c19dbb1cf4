"""What a demo gets: connections to the running stack and helpers to send and show."""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from nats.aio.client import Client as NatsClient
from rich.console import Console
from temporalio.client import Client

from contracts import subjects

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "contracts" / "examples"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class DemoContext:
    """Connections and output of a demo run."""

    nc: NatsClient
    temporal: Client
    registry_url: str
    registry_headers: dict[str, str]
    console_url: str
    task_queue: str
    out: Console

    def envelope(self, process: str, name: str, case_id: str, **payload_changes: Any) -> dict[str, Any]:
        """An example envelope for ``case_id`` with a fresh event_id and the time now."""
        data = copy.deepcopy(json.loads((EXAMPLES / process / f"{name}.json").read_text(encoding="utf-8")))
        data["event_id"] = str(uuid.uuid4())
        data["case_id"] = case_id
        # Full precision: a step the demo sends right after a coordinator's decision must not
        # look dated before it (deadlines and order count from occurred_at).
        data["occurred_at"] = datetime.now(SHANGHAI).isoformat()
        data["payload"].update(payload_changes)
        return data

    async def send(self, data: dict[str, Any], pause: float = 0.5) -> None:
        """Publish as the agency would, then give the stack a moment."""
        js = self.nc.jetstream()
        await js.publish(
            subjects.inbound(data["source_agency"], data["type"]),
            json.dumps(data, ensure_ascii=False).encode(),
            stream=subjects.STREAM_IN,
            headers={"Nats-Msg-Id": data["event_id"]},
        )
        self.out.print(f"  → [cyan]{data['type']}[/] from {data['source_agency']}")
        await asyncio.sleep(pause)

    async def wait_for_state(self, case_id: str, process: str, state: str, timeout: float = 30.0) -> None:
        """Wait until the registry shows the case in ``state``."""
        end = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(
            base_url=self.registry_url, headers=self.registry_headers, timeout=5
        ) as http:
            while asyncio.get_running_loop().time() < end:
                resp = await http.get(f"/api/cases/{case_id}", params={"process": process})
                if resp.status_code == 200 and resp.json()["case"]["state"] == state:
                    return
                await asyncio.sleep(0.3)
        raise TimeoutError(f"{process} case {case_id} did not reach state {state!r} in {timeout}s")

    def case_id(self, prefix: str) -> str:
        """A new demo case id."""
        return f"{prefix}-DEMO-{uuid.uuid4().hex[:6].upper()}"

    def show_links(self, process: str, case_id: str) -> None:
        self.out.print(
            f"  timeline: [bold]lawlink timeline {case_id}[/]   console: {self.console_url}/cases/{process}/{case_id}"
        )


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
