"""A 3-node JetStream cluster on loopback with the production settings, and Lawlink with every
consuming service twice on it: what ``deploy/`` runs, on one machine, for the cluster test and
``make bench``'s cluster figures.

Production settings, as ``deploy/compose/nats/nats.conf`` and ``deploy/k8s/helm/nats-values.yaml``
have them: JetStream file store with ``sync_interval: always`` (fsync before every ack), three
copies of every stream (``LAWLINK_STREAM_REPLICAS=3``), routes between all nodes. TLS and the
per-agency users are left out: they guard the network, which here is loopback.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors

from tests.bench.stack import BenchStack
from tests.servers import binary, free_port, stop_process, wait_for_port


@dataclass
class NatsNode:
    """One nats-server of the cluster: its ports, store and process."""

    name: str
    port: int
    cluster_port: int
    store: Path
    config: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class NatsCluster:
    """``size`` JetStream nodes routed to each other on loopback."""

    workdir: Path
    size: int = 3
    sync_always: bool = True
    nodes: list[NatsNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for i in range(1, self.size + 1):
            name = f"n{i}"
            self.nodes.append(
                NatsNode(
                    name=name,
                    port=free_port(),
                    cluster_port=free_port(),
                    store=self.workdir / name,
                    config=self.workdir / f"{name}.conf",
                )
            )
        for node in self.nodes:
            node.config.write_text(self.render(node), encoding="utf-8")

    @property
    def url(self) -> str:
        """Every node, as ``NATS_URL`` takes a cluster: comma-separated."""
        return ",".join(node.url for node in self.nodes)

    def render(self, node: NatsNode) -> str:
        """The node's configuration file (checked by ``nats-server -t`` in the test)."""
        routes = "\n".join(f"    nats-route://127.0.0.1:{n.cluster_port}" for n in self.nodes)
        sync = "  sync_interval: always\n" if self.sync_always else ""
        return (
            f"server_name: {node.name}\n"
            f"listen: 127.0.0.1:{node.port}\n"
            "jetstream {\n"
            f'  store_dir: "{node.store}"\n'
            f"{sync}"
            "}\n"
            "cluster {\n"
            "  name: lawlink-test\n"
            f"  listen: 127.0.0.1:{node.cluster_port}\n"
            f"  routes: [\n{routes}\n  ]\n"
            "}\n"
        )

    def start(self) -> NatsCluster:
        for i in range(len(self.nodes)):
            self.start_node(i)
        return self

    def start_node(self, i: int) -> None:
        """Node ``i`` (again) on its ports and store."""
        node = self.nodes[i]
        log = self.workdir / f"{node.name}.log"
        node.proc = subprocess.Popen(
            [binary("nats-server"), "-c", str(node.config)], stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        wait_for_port(node.port)

    def kill_node(self, i: int) -> None:
        """``kill -9`` of node ``i``: no goodbye to its peers, its store stays on disk."""
        node = self.nodes[i]
        assert node.proc is not None
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(10)
        node.proc = None

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                stop_process(node.proc)
                node.proc = None

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Until JetStream answers through the cluster (a meta leader is elected)."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                nc = await nats.connect(self.url.split(","), connect_timeout=2, allow_reconnect=False)
                try:
                    info = await nc.jetstream(timeout=2).account_info()
                    if info is not None:
                        return
                finally:
                    await nc.close()
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                last = exc
            await asyncio.sleep(0.5)
        raise TimeoutError(f"the JetStream cluster did not elect a leader in {timeout:.0f} s: {last!r}")


# Each consuming service twice (intake's, the registry's and the notifier's replicas split the
# cases, services/partition.py); two workers poll one task queue.
REPLICATED: dict[str, tuple[str, str]] = {
    "intake": ("asgi", "services.intake.app:app"),
    "worker": ("python", "services.worker"),
    "registry": ("asgi", "services.registry.app:app"),
    "notifier": ("asgi", "services.notifier.app:app"),
}


class ClusterStack:
    """The cluster, the Temporal dev server and ``replicas`` of every Lawlink service (``counts``
    overrides the number for some, e.g. one intake beside two of everything else)."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None = None,
        replicas: int = 2,
        counts: dict[str, int] | None = None,
    ) -> None:
        self.nats = NatsCluster(workdir / "nats")
        self.counts = {service: replicas for service in REPLICATED} | (counts or {})
        extra = {
            "NATS_URL": self.nats.url,
            "LAWLINK_STREAM_REPLICAS": "3",
            "NATS_RECONNECT_WAIT": "0.2",
            "NATS_RECONNECT_MAX_WAIT": "1",
            "LAWLINK_SHUTDOWN_TIMEOUT": "3",
        }
        self.bench = BenchStack(workdir, task_queue="lawlink-cluster", extra_env=extra)
        self.database_url = database_url or self.bench.database_url
        extra["DATABASE_URL"] = self.database_url

    def names(self, service: str) -> list[str]:
        return [f"{service}-{i}" for i in range(self.counts[service])]

    def start(self) -> None:
        """Cluster, engine, schema (``lawlink db upgrade``, once), then every replica, healthy."""
        from services.readmodel.db import migrate

        self.nats.start()
        asyncio.run(self.nats.wait_ready())
        self.bench.start_servers(nats=False)
        migrate(self.database_url)
        for service in REPLICATED:
            for i in range(self.counts[service]):
                self.start_replica(service, i)
        self.wait_healthy()

    def start_replica(self, service: str, i: int) -> None:
        kind, target = REPLICATED[service]
        name = f"{service}-{i}"
        env = {"LAWLINK_REPLICA_INDEX": str(i), "LAWLINK_REPLICA_COUNT": str(self.counts[service])}
        if kind == "asgi":
            self.bench.spawn_asgi(name, target, env=env)
        else:
            self.bench.spawn_python(name, target, env=env)

    def kill_replica(self, service: str, i: int) -> None:
        """``kill -9`` of one replica: no drain, no ack, no goodbye."""
        replica = self.bench.services.pop(f"{service}-{i}")
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(10)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for service, (kind, _) in REPLICATED.items():
            for name in self.names(service):
                if kind == "asgi":
                    self.bench.wait_healthy(name, max(1.0, deadline - time.monotonic()))
                else:
                    self.bench.services[name].check_alive()

    def stop(self) -> None:
        self.bench.stop()
        self.nats.stop()
