"""Settings of the notifier (one pydantic-settings class, names match the environment)."""

from __future__ import annotations

from pydantic import Field

from services.settings import StackSettings


class NotifierSettings(StackSettings):
    """Delivery knobs of the notifier; tests shrink the webhook delays to fractions of a second.

    The durable consumer name is a setting so that tests on a shared nats-server do not share a
    consumer; in a deployment it stays ``notifier`` (DESIGN.md pitfall: an existing durable keeps
    its old ``ack_wait``/``max_deliver``, so changing them means recreating it).
    """

    notifier_durable: str = Field(default="notifier", alias="NOTIFIER_DURABLE")
    notifier_ack_wait_seconds: float = Field(default=60.0, alias="NOTIFIER_ACK_WAIT")
    notifier_max_deliver: int = Field(default=20, alias="NOTIFIER_MAX_DELIVER")
    notifier_batch: int = Field(default=100, ge=1, alias="NOTIFIER_BATCH")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, alias="WEBHOOK_TIMEOUT")
    webhook_backoff_seconds: tuple[float, ...] = Field(
        default=(2.0, 10.0, 60.0, 300.0),
        alias="WEBHOOK_BACKOFF",
        description="Pause before each retry; the number of attempts is len(backoff) + 1.",
    )
