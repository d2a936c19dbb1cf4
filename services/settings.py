"""Configuration of the services, read from the environment (``.lawlink/stack.env`` in dev).

One class per concern; names match the variables ``make run`` writes, so a sourced
``stack.env`` configures every command.
"""

from __future__ import annotations

import os

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_ENVS: frozenset[str] = frozenset({"development", "test"})


class StackSettings(BaseSettings):
    """Where the shared servers are."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    nats_url: str = Field(default="nats://127.0.0.1:4322", alias="NATS_URL")
    nats_user: str | None = Field(default=None, alias="NATS_USER")
    nats_password: str | None = Field(default=None, alias="NATS_PASSWORD")
    temporal_address: str = Field(default="127.0.0.1:7333", alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    # A real cluster: TLS (server CA, or the system's roots), a client certificate for mutual TLS
    # (self-hosted, Temporal Cloud's certificate auth) or an API key (Temporal Cloud), read by
    # services/connections.py temporal_tls_config. Paths, so secrets stay in mounted files.
    temporal_tls: bool = Field(default=False, alias="TEMPORAL_TLS")
    temporal_tls_ca: str | None = Field(default=None, alias="TEMPORAL_TLS_CA")
    temporal_tls_cert: str | None = Field(default=None, alias="TEMPORAL_TLS_CERT")
    temporal_tls_key: str | None = Field(default=None, alias="TEMPORAL_TLS_KEY")
    temporal_tls_server_name: str | None = Field(default=None, alias="TEMPORAL_TLS_SERVER_NAME")
    temporal_api_key: str | None = Field(default=None, alias="TEMPORAL_API_KEY", repr=False)
    # The CA that signed the NATS servers' certificates (a tls:// NATS_URL); unset: the system's roots.
    nats_tls_ca: str | None = Field(default=None, alias="NATS_TLS_CA")
    # Copies of every stream on a JetStream cluster: 3 on a 3-node cluster (a node may fail
    # without losing an acknowledged message), 1 on a single server such as `make run`'s.
    stream_replicas: int = Field(default=1, ge=1, le=5, alias="LAWLINK_STREAM_REPLICAS")
    # Replicas of one consuming service (intake, registry, notifier) split the cases between
    # them: each replica takes the cases whose partition is its index, so one case's events are
    # handled by one process, in order (services/partition.py). The index is a number, or a
    # StatefulSet pod's name ending in ``-<ordinal>``.
    replica_index: str = Field(default="0", alias="LAWLINK_REPLICA_INDEX")
    replica_count: int = Field(default=1, ge=1, le=64, alias="LAWLINK_REPLICA_COUNT")
    # host:port where the Temporal SDK serves its own metrics for Prometheus (the worker's
    # /metrics: task latencies, pollers, failures); unset: not served.
    temporal_metrics_address: str | None = Field(default=None, alias="TEMPORAL_METRICS_ADDRESS")
    temporal_ui_url: str = Field(default="http://127.0.0.1:8333", alias="TEMPORAL_UI_URL")
    task_queue: str = Field(default="lawlink", alias="LAWLINK_TASK_QUEUE")
    database_url: str = Field(default="sqlite:///.lawlink/lawlink.db", alias="DATABASE_URL")
    console_url: str = Field(default="http://127.0.0.1:8380", alias="CONSOLE_URL")
    registry_url: str = Field(default="http://127.0.0.1:8382", alias="REGISTRY_URL")
    intake_url: str = Field(default="http://127.0.0.1:8381", alias="INTAKE_URL")
    notifier_url: str = Field(default="http://127.0.0.1:8383", alias="NOTIFIER_URL")
    # Outside development and test no secret has a default (services/service_auth.py, the console).
    env: str = Field(default="production", alias="LAWLINK_ENV")

    @property
    def nats_servers(self) -> list[str]:
        """``NATS_URL`` as the client's server list: one URL, or a cluster's nodes separated by
        commas (the client also learns the others from the one it reaches)."""
        return [url.strip() for url in self.nats_url.split(",") if url.strip()]

    @property
    def development(self) -> bool:
        """True for ``LAWLINK_ENV`` ``development`` or ``test``: the only settings with defaults for secrets."""
        return self.env in DEV_ENVS

    # The secret of the registry's and the notifier's HTTP APIs; callers derive their credential
    # from it (services/service_auth.py). ``make run`` generates it into .lawlink/secrets.env.
    service_token: str | None = Field(default=None, alias="LAWLINK_SERVICE_TOKEN", repr=False)
    # Reconnecting to NATS never stops; the wait between attempts doubles from the first value
    # up to the second, with jitter, so a restarted cluster is not hit by every client at once.
    nats_reconnect_wait_seconds: float = Field(default=1.0, gt=0, alias="NATS_RECONNECT_WAIT")
    nats_reconnect_max_wait_seconds: float = Field(default=30.0, gt=0, alias="NATS_RECONNECT_MAX_WAIT")
    # SIGTERM must stop a service even while NATS or Temporal is unreachable: draining the
    # consumers and closing the connection are cut off after this many seconds.
    shutdown_timeout_seconds: float = Field(default=10.0, gt=0, alias="LAWLINK_SHUTDOWN_TIMEOUT")
    # How long /healthz waits for a dependency's answer before calling it down.
    health_timeout_seconds: float = Field(default=2.0, gt=0, alias="LAWLINK_HEALTH_TIMEOUT")


class IntakeSettings(StackSettings):
    """Intake's delivery knobs (DESIGN.md pitfalls: set them explicitly)."""

    intake_max_deliver: int = Field(default=5, alias="INTAKE_MAX_DELIVER")
    intake_ack_wait_seconds: float = Field(default=30.0, alias="INTAKE_ACK_WAIT")
    # Messages in flight to Temporal at once. Starts are bound by the server's round trips, not
    # by intake's CPU, so enough of them must be in flight to keep the server busy; one case's
    # events still go one at a time (Intake._case_lock).
    intake_concurrency: int = Field(default=64, alias="INTAKE_CONCURRENCY")
    intake_backoff_seconds: tuple[float, ...] = Field(default=(1.0, 5.0, 15.0, 30.0), alias="INTAKE_BACKOFF")
    intake_update_timeout_seconds: float = Field(default=20.0, alias="INTAKE_UPDATE_TIMEOUT")
    # While Temporal or NATS is unreachable a message is held and retried (it is not an event's
    # fault); the wait between retries doubles up to this, with jitter.
    intake_engine_retry_max_seconds: float = Field(default=15.0, gt=0, alias="INTAKE_ENGINE_RETRY_MAX")
    # Workflow tasks waiting while no worker has polled the task queue for this long count as an
    # engine outage (the workers are gone), so the message is held, not spent.
    intake_worker_silence_seconds: float = Field(default=5.0, gt=0, alias="INTAKE_WORKER_SILENCE")
    # How far ahead of intake's clock an event's occurred_at may be (clock skew between agency
    # systems); a later date is refused naming occurred_at, since no deadline may start in the future.
    intake_max_future_seconds: float = Field(default=300.0, ge=0, alias="LAWLINK_MAX_FUTURE_SECONDS")
    # The largest envelope either door takes. It must stay well under the bus's max payload
    # (NATS: 1 MiB by default): intake republishes an HTTP body with headers, and a workflow
    # republishes the payload inside a domain event.
    max_envelope_bytes: int = Field(
        default=256 * 1024, ge=1024, le=768 * 1024, alias="LAWLINK_MAX_ENVELOPE_BYTES"
    )
    # HTTP intake's agency credentials (services/intake/credentials.py). The key-encryption key
    # seals every agency key's secret at rest; ``make run`` generates it into .lawlink/secrets.env.
    credential_kek: str | None = Field(default=None, alias="LAWLINK_CREDENTIAL_KEK", repr=False)
    # How far a signed request's timestamp may be from intake's clock; a signature is remembered
    # (and refused a second time) for twice this long, across every intake replica. At most an
    # hour (services/intake/credentials.py MAX_SKEW_SECONDS sizes the signatures' bucket).
    http_signature_skew_seconds: int = Field(default=300, ge=1, le=3600, alias="LAWLINK_HTTP_SIGNATURE_SKEW")
    # How long intake trusts a key record it read: a revoked key stops working within this.
    credential_cache_seconds: float = Field(
        default=5.0, ge=0, le=60, alias="LAWLINK_CREDENTIAL_CACHE_SECONDS"
    )


RULE_SETTING_PREFIXES = (
    "LAWLINK_RULE_",
    "LAWLINK_STATE_COUNCIL_DAYS",
    "LAWLINK_MONTH_LIMITS",
    "LAWLINK_DELEGATION_REVIEW_PERIOD_SECONDS",
)


def rule_settings_from_env() -> dict[str, str]:
    """The operator's deadline settings, handed to every new workflow (see workflows/deadlines)."""
    return {k: v for k, v in os.environ.items() if k.startswith(RULE_SETTING_PREFIXES)}
