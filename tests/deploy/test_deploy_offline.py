"""deploy/ validated without a Docker engine or a cluster (this machine and CI have neither).

- The "Check before you deploy" block of deploy/README.md runs as it stands: the compose file
  against the compose spec (check-jsonschema), the NATS node config with ``nats-server -t`` on the
  files ``lawlink deploy init`` generates, ``kubectl kustomize deploy/k8s`` and the generated
  Secrets through ``kubernetes-validate --strict``. Each tool is shown to refuse a broken input,
  so a passing check means something.
- The production settings are where they must be: ``sync_interval: always``, three nodes with
  TLS routes, three stream replicas for every service, Temporal's external PostgreSQL stores and
  history shards, one image and one command per service, probes, resources and budgets, and
  every Secret a manifest mounts is one ``lawlink deploy k8s-secrets`` makes.
- The NATS config really serves: a node started from it (ports moved to free ones) takes a TLS
  client that trusts the generated CA with the service password, and no other.
- Every ``lawlink`` command and every deploy/ path the README names exists.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.deploy_init import SERVICE_SECRET_KEYS, init, k8s_secrets
from services.devstack import render_nats_authorization
from services.serve import SERVICES, command_line
from tests.servers import binary, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
README = DEPLOY / "README.md"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
NATS_CONF = DEPLOY / "compose" / "nats" / "nats.conf"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.timeout(300)


def _kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip(
            "kubectl is not installed (it comes with this kind of machine's image): kustomize not checked"
        )
    return found


def _env(check_dir: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "CHECK_DIR": str(check_dir)}


def _readme_block(marker: str) -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(re.escape(marker) + r"\s*\n```sh\n(.*?)\n```", text, re.S)
    assert match, f"deploy/README.md has no sh block after {marker!r}"
    return match.group(1)


def _run(
    args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env or _env(cwd), capture_output=True, text=True, timeout=240)


def test_the_readmes_offline_checks_pass_as_written(tmp_path: Path) -> None:
    _kubectl()
    block = _readme_block("<!-- tested: the offline checks -->")
    done = _run(["bash", "-euo", "pipefail", "-c", block], env=_env(tmp_path))
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "is valid" in done.stdout + done.stderr  # nats-server -t
    rendered = list(yaml.safe_load_all((tmp_path / "lawlink.yaml").read_text()))
    assert {doc["kind"] for doc in rendered} >= {
        "Deployment",
        "StatefulSet",
        "Service",
        "Job",
        "PodDisruptionBudget",
    }


def test_each_validator_refuses_a_broken_input(tmp_path: Path) -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    compose["services"]["intake"]["restart_policy"] = "always"  # not a compose key
    bad_compose = tmp_path / "compose.yaml"
    bad_compose.write_text(yaml.safe_dump(compose))
    checked = _run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(bad_compose)]
    )
    assert checked.returncode != 0 and "restart_policy" in checked.stdout + checked.stderr

    deployment = next(yaml.safe_load_all((DEPLOY / "k8s" / "lawlink" / "intake.yaml").read_text()))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # misspelt
    bad_manifest = tmp_path / "intake.yaml"
    bad_manifest.write_text(yaml.safe_dump(deployment))
    validated = _run([str(BIN / "kubernetes-validate"), "--strict", "--quiet", str(bad_manifest)])
    assert validated.returncode != 0 and "readinesProbe" in validated.stdout + validated.stderr

    init(tmp_path / "secrets", nats_hosts=["nats", "localhost"], temporal_hosts=["temporal"])
    (tmp_path / "nats.conf").write_text(
        NATS_CONF.read_text().replace("sync_interval: always", "sync_interval: often")
    )
    tested = _run([binary("nats-server"), "-t", "-c", "nats.conf"], cwd=tmp_path)
    assert tested.returncode != 0 and "sync_interval" in tested.stdout + tested.stderr


def test_nats_runs_three_durable_nodes_with_tls_and_the_generated_users(tmp_path: Path) -> None:
    text = NATS_CONF.read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.M)
    assert re.findall(r"nats-route://(nats-\d):6222", text) == ["nats-1", "nats-2", "nats-3"]
    cluster = text[text.index("cluster {") :]
    assert "verify: true" in cluster and "ca_file" in cluster  # routes: mutual TLS
    assert "include ./secrets/nats-auth.conf" in text

    compose = yaml.safe_load(COMPOSE.read_text())
    nodes = {name: svc for name, svc in compose["services"].items() if name.startswith("nats-")}
    assert sorted(nodes) == ["nats-1", "nats-2", "nats-3"]
    for name, node in nodes.items():
        assert node["command"][-2:] == ["--name", name]
        assert node["networks"]["default"]["aliases"] == ["nats"]
        assert f"{name}:/data" in node["volumes"]  # each node its own store

    values = init(tmp_path / "s", nats_hosts=["nats"], temporal_hosts=["temporal"])
    generated = (tmp_path / "s" / "nats-auth.conf").read_text()
    # One generator for development and production: the same users and permissions.
    assert generated == render_nats_authorization(
        values["NATS_PASSWORD"], json.loads(values["LAWLINK_AGENCY_PASSWORDS"])
    )
    assert 'allow: ["lawlink.in.rz-scjgj.*.*"]' in generated and 'deny: ["$JS.API.>"]' in generated

    helm = yaml.safe_load((DEPLOY / "k8s" / "helm" / "nats-values.yaml").read_text())
    assert helm["config"]["cluster"] == {**helm["config"]["cluster"], "enabled": True, "replicas": 3}
    assert helm["config"]["cluster"]["tls"]["enabled"] and helm["config"]["nats"]["tls"]["enabled"]
    jetstream = helm["config"]["jetstream"]
    assert (
        jetstream["enabled"]
        and jetstream["fileStore"]["enabled"]
        and jetstream["fileStore"]["pvc"]["enabled"]
    )
    assert jetstream["merge"]["sync_interval"] == "always"
    assert helm["config"]["merge"]["00$include"].endswith("auth.conf")
    mounted = helm["podTemplate"]["patch"][0]["value"]["secret"]["secretName"]
    assert mounted == "lawlink-nats-auth"


def test_temporal_runs_on_external_postgresql_with_chosen_shards() -> None:
    helm = yaml.safe_load((DEPLOY / "k8s" / "helm" / "temporal-values.yaml").read_text())
    persistence = helm["server"]["config"]["persistence"]
    assert persistence["numHistoryShards"] == 512
    compose = yaml.safe_load(COMPOSE.read_text())
    assert compose["services"]["temporal"]["environment"]["NUM_HISTORY_SHARDS"] == "512"  # the same choice
    for store, database in (("default", "temporal"), ("visibility", "temporal_visibility")):
        sql = persistence["datastores"][store]["sql"]
        assert sql["pluginName"] == "postgres12" and sql["databaseName"] == database
        assert sql["existingSecret"] == "lawlink-temporal-db" and "password" not in sql
        assert sql["manageSchema"] is True and sql["createDatabase"] is False
    assert "shards" in README.read_text() and "History shards" in README.read_text()
    images = {name: svc["image"] for name, svc in compose["services"].items() if "temporal" in name}
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert compose["services"]["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )


def test_compose_runs_every_service_from_the_one_image_after_the_migration() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    lawlink = {name: services[name] for name in (*SERVICES, "migrate", "secrets")}
    assert {svc["image"] for svc in lawlink.values()} == {"${LAWLINK_IMAGE:-lawlink:0.1.0}"}
    assert all(svc["build"]["dockerfile"] == "deploy/Dockerfile" for svc in lawlink.values())
    for name in SERVICES:
        assert services[name]["command"] == ["serve", name]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["environment"]["LAWLINK_STREAM_REPLICAS"] == "3"
        assert services[name]["environment"]["NATS_URL"].startswith("tls://")
        assert services[name]["environment"]["TEMPORAL_TLS_CERT"] == "/secrets/tls/client.crt"
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["secrets"]["command"][:3] == ["deploy", "init", "/secrets"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    # Never the registry, notifier or UI; the codec server is the UI's, called by the browser.
    assert published == {"console", "intake", "nats-1", "codec-server"}


def test_the_image_is_multi_stage_non_root_and_installs_the_pins() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) == 2
    assert "pip install -c constraints.txt ." in dockerfile
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["lawlink"\]$', dockerfile, re.M)
    for source in re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which does not exist"
            assert f"!{path}" in (DEPLOY / "Dockerfile.dockerignore").read_text().replace("/\n", "\n")
    for service in SERVICES:
        module = command_line(service, "0.0.0.0", 8080)
        target = module[3].split(":")[0] if service != "worker" else module[2]
        assert (ROOT / (target.replace(".", "/") + ".py")).exists(), target
    with pytest.raises(ValueError, match="^service: "):
        command_line("scheduler", "0.0.0.0", 8080)


def _rendered() -> list[dict[str, Any]]:
    done = _run([_kubectl(), "kustomize", str(DEPLOY / "k8s")])
    assert done.returncode == 0, done.stderr
    return list(yaml.safe_load_all(done.stdout))


def test_kubernetes_manifests_have_probes_resources_budgets_and_only_generated_secrets(
    tmp_path: Path,
) -> None:
    docs = _rendered()
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "lawlink"
    # The consuming services split the cases between their replicas: StatefulSets, each pod
    # told its ordinal and the replica count (services/partition.py).
    partitioned = {f"lawlink-{s}" for s in ("intake", "registry", "notifier")}
    assert set(by_kind["StatefulSet"]) == partitioned
    for name in partitioned:
        spec = by_kind["StatefulSet"][name]["spec"]
        env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
        assert env["LAWLINK_REPLICA_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["LAWLINK_REPLICA_COUNT"]["value"] == str(spec["replicas"])
    deployments = {**by_kind["Deployment"], **by_kind["StatefulSet"]}
    assert sorted(deployments) == sorted(f"lawlink-{s}" for s in SERVICES)
    for service in SERVICES:
        pod = deployments[f"lawlink-{service}"]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == ["serve", service]
        assert container["image"] == "registry.example.org/lawlink:0.1.0"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert (
            pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
        )
        if service != "worker":
            assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
            assert "tcpSocket" in container["livenessProbe"]  # a dependency's outage never restarts it
            assert f"lawlink-{service}" in by_kind["Service"]
        if service in ("registry", "notifier", "console", "codec-server"):
            assert pod["initContainers"][0]["args"] == ["db", "current"]  # waits for the Job
        assert by_kind["PodDisruptionBudget"][f"lawlink-{service}"]["spec"]["minAvailable"] == 1
    # Not the partitioned services: their replica count is part of their configuration.
    assert set(by_kind["HorizontalPodAutoscaler"]) == {"lawlink-worker", "lawlink-console"}
    job = by_kind["Job"]["lawlink-migrate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["db", "upgrade"]
    config = by_kind["ConfigMap"]["lawlink-config"]["data"]
    assert config["LAWLINK_STREAM_REPLICAS"] == "3" and config["NATS_URL"].startswith("tls://")

    # Every Secret a manifest or chart values name is one `lawlink deploy k8s-secrets` makes.
    init(tmp_path / "s", nats_hosts=["nats"], temporal_hosts=["temporal-frontend"])
    generated = {
        doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(k8s_secrets(tmp_path / "s", "lawlink"))
    }
    assert set(generated["lawlink-secrets"]["data"]) == set(SERVICE_SECRET_KEYS)
    referenced: set[str] = set()
    text = "\n".join(json.dumps(doc) for doc in docs)
    referenced |= set(re.findall(r'"secretName": "([^"]+)"', text))
    referenced |= set(re.findall(r'"secretRef": \{"name": "([^"]+)"', text))
    referenced |= set(re.findall(r'"secretKeyRef": \{"name": "([^"]+)"', text))
    for values in ("temporal-values.yaml", "nats-values.yaml"):
        helm_text = (DEPLOY / "k8s" / "helm" / values).read_text()
        referenced |= set(re.findall(r"(?:secretName|existingSecret): (\S+)", helm_text))
    assert referenced and referenced <= set(generated), referenced - set(generated)


def _start_node(directory: Path) -> subprocess.Popen[bytes]:
    """nats-server on ``directory``/nats.conf as node nats-1 (its routes to the others simply retry)."""
    log = directory / "nats.log"
    return subprocess.Popen(
        [binary("nats-server"), "-c", "nats.conf", "--name", "nats-1", "-l", str(log)], cwd=directory
    )


async def test_a_node_from_the_nats_config_takes_tls_clients_that_trust_the_ca_with_a_password(
    tmp_path: Path,
) -> None:
    from faststream.nats import NatsBroker
    from nats.errors import Error as NatsError

    from services.connections import connect_nats, nats_connect_kwargs
    from services.settings import StackSettings

    values = init(tmp_path / "secrets", nats_hosts=["nats", "localhost"], temporal_hosts=["temporal"])
    port, http = free_port(), free_port()
    conf = (
        NATS_CONF.read_text()
        .replace("0.0.0.0:4222", f"127.0.0.1:{port}")
        .replace("0.0.0.0:8222", f"127.0.0.1:{http}")
    )
    conf = conf.replace("0.0.0.0:6222", f"127.0.0.1:{free_port()}").replace(
        '"/data"', shlex.quote(str(tmp_path / "js"))
    )
    (tmp_path / "nats.conf").write_text(conf)
    server = _start_node(tmp_path)
    try:
        wait_for_port(port, timeout=20)
        base = {
            "NATS_URL": f"tls://localhost:{port}",
            "NATS_USER": "lawlink",
            "NATS_PASSWORD": values["NATS_PASSWORD"],
            "NATS_TLS_CA": str(tmp_path / "secrets" / "tls" / "ca.crt"),
        }
        nc = await connect_nats(StackSettings(**base), "deploy-check", persistent=False)
        try:

            async def echo(msg: Any) -> None:
                await msg.respond(msg.data)

            sub = await nc.subscribe("check.echo", cb=echo)
            assert (await nc.request("check.echo", b"hello", timeout=5)).data == b"hello"
            await sub.unsubscribe()
        finally:
            await nc.close()
        # FastStream's broker (registry, notifier, intake) connects the same way.
        broker = NatsBroker(base["NATS_URL"], **nats_connect_kwargs(StackSettings(**base), "deploy-check"))
        await broker.connect()
        await broker.stop()

        settings = StackSettings(**{**base, "NATS_PASSWORD": "wrong"})  # not a generated user
        with pytest.raises(NatsError, match="Authorization Violation"):
            await connect_nats(settings, "deploy-check", persistent=False)
        # Without the deployment's CA the server is not trusted; a plain nats:// URL is upgraded
        # to TLS (the server requires it) and fails the same way, never connects in the clear.
        for url in (f"tls://localhost:{port}", f"nats://localhost:{port}"):
            settings = StackSettings(**{**base, "NATS_URL": url, "NATS_TLS_CA": ""})
            with pytest.raises(ssl.SSLCertVerificationError):
                await connect_nats(settings, "deploy-check", persistent=False)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_every_lawlink_command_and_deploy_path_the_readme_names_exists() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = "\n".join(re.findall(r"^[ \t]*```sh\n(.*?)\n[ \t]*```", text, re.S | re.M)).replace("\\\n", " ")
    # `lawlink` as a command (at the start of a line or after a pipe), not `-n lawlink`.
    commands = {
        tuple(w for w in match if w)
        for match in re.findall(r"(?:^\s*|[|&;(]\s*)lawlink ([a-z][\w-]*)(?: ([a-z][\w-]*))?", blocks, re.M)
    }
    inline = set(re.findall(r"`lawlink ([a-z-]+) ([a-z-]+)", text))
    assert {("deploy", "init"), ("deploy", "k8s-secrets"), ("db", "upgrade")} <= commands | inline
    lawlink = str(BIN / "lawlink")
    for words in commands | inline:
        done = _run([lawlink, *words, "--help"])
        if done.returncode != 0:  # `lawlink serve worker`: the second word is an argument
            done = _run([lawlink, words[0], "--help"])
        assert done.returncode == 0, f"`lawlink {' '.join(words)}` in deploy/README.md: {done.stderr}"
    # Repository paths (not kubectl's `deploy/<name>` shorthand for a Deployment).
    for path in set(re.findall(r"deploy/(?:compose|k8s|Dockerfile|README)[\w./-]*\w", text)) | {
        f"deploy/{p}" for p in re.findall(r"\]\(([\w./-]+)\)", text)
    }:
        assert (ROOT / path).exists(), f"deploy/README.md names {path}, which does not exist"


def test_deploy_init_keeps_what_it_made_and_shares_it_with_one_group(tmp_path: Path) -> None:
    from services.env_file import read_env_file

    target = tmp_path / "secrets"
    lawlink = str(BIN / "lawlink")
    first = _run([lawlink, "deploy", "init", str(target), "--group", str(os.getgid())])
    assert first.returncode == 0, first.stderr
    values = read_env_file(target / "secrets.env")
    certificate = (target / "tls" / "nats.crt").read_bytes()
    assert (
        values["DATABASE_URL"]
        == f"postgresql://lawlink:{values['LAWLINK_DB_PASSWORD']}@postgres:5432/lawlink"
    )
    for path in (target, *target.rglob("*")):
        assert path.stat().st_mode & 0o777 == (0o750 if path.is_dir() else 0o640), path
        assert path.stat().st_gid == os.getgid()

    again = _run([lawlink, "deploy", "init", str(target), "--database-host", "db.internal"])
    assert again.returncode == 0, again.stderr
    kept = read_env_file(target / "secrets.env")
    assert {k: v for k, v in kept.items() if k != "DATABASE_URL"} == {
        k: v for k, v in values.items() if k != "DATABASE_URL"
    }
    assert kept["DATABASE_URL"].endswith("@db.internal:5432/lawlink")
    assert (target / "tls" / "nats.crt").read_bytes() == certificate  # not reissued
