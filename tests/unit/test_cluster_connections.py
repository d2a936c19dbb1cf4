"""Connection settings for real clusters (services/connections.py): the streams' replica count,
Temporal over TLS with a client certificate or an API key (self-hosted or Temporal Cloud), and a
private CA for NATS over TLS. Each bad setting names its variable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import TLSConfig

from services import connections
from services.connections import (
    connect_temporal,
    ensure_streams,
    nats_tls_kwargs,
    stream_configs,
    temporal_tls_config,
)
from services.settings import StackSettings


class _RecordingJetStream:
    def __init__(self) -> None:
        self.added: list[Any] = []

    async def add_stream(self, config: Any) -> None:
        self.added.append(config)


def test_every_stream_gets_the_configured_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {c.num_replicas for c in stream_configs()} == {1}
    assert {c.num_replicas for c in stream_configs(3)} == {3}
    assert len({c.name for c in stream_configs(3)}) == len(stream_configs())


async def test_ensure_streams_reads_lawlink_stream_replicas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAWLINK_STREAM_REPLICAS", "3")
    js = _RecordingJetStream()
    await ensure_streams(js)  # type: ignore[arg-type]
    assert js.added and {c.num_replicas for c in js.added} == {3}
    monkeypatch.setenv("LAWLINK_STREAM_REPLICAS", "0")
    with pytest.raises(ValueError, match="LAWLINK_STREAM_REPLICAS"):
        await ensure_streams(_RecordingJetStream())  # type: ignore[arg-type]


def _pem(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(f"-----BEGIN TEST {name}-----\n".encode())
    return str(path)


def _settings(monkeypatch: pytest.MonkeyPatch, **values: str) -> StackSettings:
    for name in (
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_CA",
        "TEMPORAL_TLS_CERT",
        "TEMPORAL_TLS_KEY",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_API_KEY",
        "NATS_TLS_CA",
    ):
        monkeypatch.delenv(name, raising=False)
    return StackSettings(**values)


def test_plain_by_default_tls_for_an_api_key_and_mutual_tls_from_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert temporal_tls_config(_settings(monkeypatch)) is False  # the dev server
    # Temporal Cloud with an API key: TLS against the system's roots.
    assert temporal_tls_config(_settings(monkeypatch, TEMPORAL_API_KEY="k")) is True
    assert temporal_tls_config(_settings(monkeypatch, TEMPORAL_TLS="true")) is True
    # Self-hosted with mutual TLS: the cluster's CA, Lawlink's client certificate and key.
    ca, cert, key = _pem(tmp_path, "ca"), _pem(tmp_path, "cert"), _pem(tmp_path, "key")
    tls = temporal_tls_config(
        _settings(
            monkeypatch,
            TEMPORAL_TLS_CA=ca,
            TEMPORAL_TLS_CERT=cert,
            TEMPORAL_TLS_KEY=key,
            TEMPORAL_TLS_SERVER_NAME="temporal",
        )
    )
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == Path(ca).read_bytes() and tls.domain == "temporal"
    assert tls.client_cert == Path(cert).read_bytes() and tls.client_private_key == Path(key).read_bytes()


def test_bad_tls_settings_name_their_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert = _pem(tmp_path, "cert")
    with pytest.raises(ValueError, match="^TEMPORAL_TLS_KEY: "):
        temporal_tls_config(_settings(monkeypatch, TEMPORAL_TLS_CERT=cert))
    with pytest.raises(ValueError, match="^TEMPORAL_TLS_CERT: "):
        temporal_tls_config(_settings(monkeypatch, TEMPORAL_TLS_KEY=cert))
    with pytest.raises(ValueError, match="^TEMPORAL_TLS_CA: cannot read"):
        temporal_tls_config(_settings(monkeypatch, TEMPORAL_TLS_CA=str(tmp_path / "missing.crt")))
    with pytest.raises(ValueError, match="^NATS_TLS_CA: "):
        nats_tls_kwargs(_settings(monkeypatch, NATS_TLS_CA=str(tmp_path / "missing.crt")))


async def test_connect_temporal_hands_the_namespace_tls_and_api_key_to_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}

    async def connect(address: str, **kwargs: Any) -> str:
        seen.update(kwargs, address=address)
        return "client"

    monkeypatch.setattr(Client, "connect", connect)
    settings = _settings(
        monkeypatch,
        TEMPORAL_ADDRESS="lawlink.a1b2c.tmprl.cloud:7233",
        TEMPORAL_NAMESPACE="lawlink.a1b2c",
        TEMPORAL_API_KEY="secret-key",
    )
    assert await connect_temporal(settings) == "client"
    assert seen["address"] == "lawlink.a1b2c.tmprl.cloud:7233"
    assert seen["namespace"] == "lawlink.a1b2c" and seen["api_key"] == "secret-key" and seen["tls"] is True
    assert "secret-key" not in repr(settings)


def test_a_private_nats_ca_verifies_the_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.deploy_init import write_tls

    tls = write_tls(tmp_path, nats_hosts=["nats"], temporal_hosts=["temporal"])
    kwargs = nats_tls_kwargs(_settings(monkeypatch, NATS_TLS_CA=str(tls.ca_cert)))
    context = kwargs["tls"]
    assert context.check_hostname and context.get_ca_certs()[0]["subject"][0][0][1] == "Lawlink deployment CA"
    # FastStream's broker takes the same context inside its security object.
    settings = _settings(monkeypatch, NATS_TLS_CA=str(tls.ca_cert), NATS_USER="lawlink", NATS_PASSWORD="p")
    security = connections.nats_connect_kwargs(settings, "registry")["security"]
    assert security.ssl_context.get_ca_certs() == context.get_ca_certs()  # type: ignore[attr-defined]
